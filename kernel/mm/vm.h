/* vm.h: user address spaces: mappings (VMAs), demand paging, brk and mmap. */
#ifndef MM_VM_H
#define MM_VM_H

#include "kernel.h"
#include "arch/x86_64/paging.h"

#define VM_READ 0x1
#define VM_WRITE 0x2
#define VM_EXEC 0x4
#define VM_KERNEL 0x8  /* pages of the kernel image (vDSO): never freed or copied */
#define VM_SHARED 0x10 /* MAP_SHARED: forks share the pages; file contents written back */

#define USER_STACK_TOP 0x7ffffffff000UL
#define USER_STACK_MAX (8UL << 20)
#define USER_MMAP_TOP 0x7f0000000000UL
#define USER_PIE_BASE 0x555555554000UL
#define USER_SPACE_END 0x800000000000UL

/* A mapped range [start, end) of a user address space, page aligned. */
struct inode;

struct vma {
	uint64_t start, end;
	unsigned prot;  /* VM_* */
	struct inode *file;  /* shared file mapping: written back on msync/munmap */
	uint64_t file_off;   /* file offset of start */
	struct vma *next;  /* sorted by start */
};

struct mm {
	int refs;           /* processes using it: vfork children share it */
	pte_t *root;
	struct vma *vmas;
	uint64_t brk_start, brk;
	uint64_t mmap_hint; /* next top-down mmap search point */
	/* Where execve put the argument and environment strings (each set
	 * contiguous, NUL-separated): /proc/PID/cmdline and environ. */
	uint64_t arg_start, arg_end, env_start, env_end;
};

struct mm *vm_create(void);
/* A copy of mm for fork: same mappings, pages shared copy-on-write. */
struct mm *vm_clone(struct mm *mm);
/* Drops a reference; the last one frees the pages and page tables. */
void vm_release(struct mm *mm);
/* Maps [start, start+len) with prot, replacing what was there. Pages are
 * allocated on first touch. Returns 0 or -errno. */
int vm_map_fixed(struct mm *mm, uint64_t start, uint64_t len, unsigned prot);
/* A MAP_SHARED mapping: every page is allocated now, so forks share them
 * all; with file, it starts with the file's contents from off, which
 * vm_sync writes back. Returns 0 or -errno. */
int vm_map_shared(struct mm *mm, uint64_t start, uint64_t len, unsigned prot,
		  struct inode *file, uint64_t off);
/* The physical address behind uaddr if it lies in MAP_SHARED memory (the
 * page is made present), else 0: shared futexes are keyed by it. */
uint64_t vm_shared_phys(struct mm *mm, uint64_t uaddr);
/* Writes shared file mappings overlapping [start, start+len) back to their
 * files (msync). */
int vm_sync(struct mm *mm, uint64_t start, uint64_t len);
/* Maps page-aligned kernel memory at start, read-only (plus VM_EXEC). */
int vm_map_kernel(struct mm *mm, uint64_t start, const void *kaddr, uint64_t len,
		  unsigned prot);
/* Finds a free range of len bytes below the mmap area top; 0 if none. */
uint64_t vm_find_free(struct mm *mm, uint64_t len);
int vm_unmap(struct mm *mm, uint64_t start, uint64_t len);
/* Drops the pages of [start, start+len): they read back as zeros. */
int vm_discard(struct mm *mm, uint64_t start, uint64_t len);
int vm_protect(struct mm *mm, uint64_t start, uint64_t len, unsigned prot);
/* Resolves a fault at addr; 0 if handled, -EFAULT if addr is not mapped
 * with the needed access. */
int vm_fault(struct mm *mm, uint64_t addr, bool write, bool exec);
/* Makes sure [addr, addr+len) is mapped and present for the access, so the
 * kernel can touch it without faulting. Returns 0 or -EFAULT. */
int vm_prefault(struct mm *mm, uint64_t addr, uint64_t len, bool write);
/* Copies data into user memory that may not be writable by the user (ELF
 * loading of read-only segments). The range must be mapped. */
int vm_copy_in(struct mm *mm, uint64_t addr, const void *src, size_t len);
/* The same from [off, off + len) of a regular file, as far as it goes. */
int vm_copy_file(struct mm *mm, uint64_t addr, struct inode *file, uint64_t off, size_t len);
uint64_t vm_brk(struct mm *mm, uint64_t new_brk);

/* mremap(2) in mm (remap.c): flags MREMAP_MAYMOVE and MREMAP_FIXED.
 * Returns the mapping's new address or -errno. */
long vm_remap(struct mm *mm, uint64_t old, uint64_t old_len, uint64_t new_len,
	      unsigned flags, uint64_t new_addr);

#endif
