/* mm.c: memory syscalls: brk, mmap, munmap, mprotect, madvise. */
#include "kernel.h"
#include "fs/vfs.h"
#include "lib/string.h"
#include "mm/vm.h"
#include "sched/proc.h"
#include "syscalls/syscall.h"
#include <linux/mman.h>
#include <linux/stat.h>

static unsigned vm_prot(unsigned long prot)
{
	return (prot & PROT_READ ? VM_READ : 0) | (prot & PROT_WRITE ? VM_WRITE : 0) |
	       (prot & PROT_EXEC ? VM_EXEC : 0);
}

static long sys_brk(unsigned long addr)
{
	return vm_brk(current()->mm, addr);
}

/* syscall-partial: mmap: file mappings are private copies (MAP_SHARED writes do not reach the file) */
/* File mappings are private copies: the image lives in memory already and
 * nothing in the VM shares it writably. */
static long map_file(struct mm *mm, uint64_t addr, size_t len, int fd, off_t off)
{
	struct file *f = fd_get(fd);
	struct inode *ino = f ? f->inode : NULL;

	if (!f)
		return -EBADF;
	if (!ino || !S_ISREG(ino->mode))
		return -ENODEV;
	if ((uint64_t)off >= ino->size)
		return 0;
	return vm_copy_in(mm, addr, ino->data + off, MIN(len, ino->size - off));
}

static long sys_mmap(unsigned long addr, size_t len, unsigned long prot,
		     unsigned long flags, int fd, off_t off)
{
	struct mm *mm = current()->mm;
	long err;

	if (!len || (off & (PAGE_SIZE - 1)) || len > USER_SPACE_END)
		return -EINVAL;
	len = ALIGN_UP(len, PAGE_SIZE);
	if (flags & (MAP_FIXED | MAP_FIXED_NOREPLACE)) {
		if (addr & (PAGE_SIZE - 1) || addr + len > USER_SPACE_END || addr + len < addr)
			return -EINVAL;
	} else {
		addr = vm_find_free(mm, len);
		if (!addr)
			return -ENOMEM;
	}
	err = vm_map_fixed(mm, addr, len, vm_prot(prot));
	if (!err && !(flags & MAP_ANONYMOUS))
		err = map_file(mm, addr, len, fd, off);
	if (err) {
		vm_unmap(mm, addr, len);
		return err;
	}
	return addr;
}

static long sys_munmap(unsigned long addr, size_t len)
{
	return vm_unmap(current()->mm, addr, len);
}

static long sys_mprotect(unsigned long addr, size_t len, unsigned long prot)
{
	return vm_protect(current()->mm, addr, len, vm_prot(prot));
}

/* syscall-partial: madvise: only MADV_DONTNEED acts (pages read back as zeros) */
/* Only MADV_DONTNEED changes what the program sees: the pages read back
 * as zeros. The other advice is a hint we may ignore. */
static long sys_madvise(unsigned long addr, size_t len, int advice)
{
	if (addr & (PAGE_SIZE - 1))
		return -EINVAL;
	if (advice == MADV_DONTNEED)
		return vm_discard(current()->mm, addr, len);
	return 0;
}

/* syscall-partial: mremap: MREMAP_DONTUNMAP and duplicating a mapping (old_size 0) are EINVAL */
static long sys_mremap(unsigned long addr, size_t old_len, size_t new_len,
		       unsigned long flags, unsigned long new_addr)
{
	return vm_remap(current()->mm, addr, old_len, new_len, flags, new_addr);
}

SYSCALL(brk, sys_brk, "x");
SYSCALL(mmap, sys_mmap, "xuxxfx");
SYSCALL(munmap, sys_munmap, "xu");
SYSCALL(mprotect, sys_mprotect, "xux");
SYSCALL(madvise, sys_madvise, "xud");
SYSCALL(mremap, sys_mremap, "xuuxx");
