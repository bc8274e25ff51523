/* mm.c: memory syscalls: brk, mmap, msync, munmap, mprotect, madvise, mremap. */
#include "kernel.h"
#include "fs/vfs.h"
#include "lib/string.h"
#include "mm/vm.h"
#include "sched/proc.h"
#include "syscalls/syscall.h"
#include <linux/fcntl.h>
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

/* syscall-partial: mmap: a MAP_SHARED file mapping reaches the file on msync and munmap, and is shared only with forks (another mmap of the file gets its own copy) */
/* The file behind a mapping: a regular file opened for reading (and for
 * writing, to write through a shared mapping). */
static long mapped_file(int fd, bool shared_write, struct inode **out)
{
	struct file *f = fd_get(fd);

	if (!f)
		return -EBADF;
	if (!f->inode || !S_ISREG(f->inode->mode))
		return -ENODEV;
	if ((f->flags & O_ACCMODE) == O_WRONLY ||
	    (shared_write && (f->flags & O_ACCMODE) != O_RDWR))
		return -EACCES;
	*out = f->inode;
	return 0;
}

/* A private file mapping is a copy of the file's pages. */
static long map_private(struct mm *mm, uint64_t addr, size_t len, unsigned prot,
			struct inode *in, off_t off)
{
	long err = vm_map_fixed(mm, addr, len, prot);

	if (!err && in)
		err = vm_copy_file(mm, addr, in, off, len);
	return err;
}

static long sys_mmap(unsigned long addr, size_t len, unsigned long prot,
		     unsigned long flags, int fd, off_t off)
{
	struct mm *mm = current()->mm;
	struct inode *in = NULL;
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
	if (!(flags & MAP_ANONYMOUS) &&
	    (err = mapped_file(fd, (flags & MAP_SHARED) && (prot & PROT_WRITE), &in)))
		return err;
	if (flags & MAP_SHARED)
		err = vm_map_shared(mm, addr, len, vm_prot(prot), in, off);
	else
		err = map_private(mm, addr, len, vm_prot(prot), in, off);
	if (err) {
		vm_unmap(mm, addr, len);
		return err;
	}
	return addr;
}

/* Shared file mappings write back at once, so every flag means the same. */
static long sys_msync(unsigned long addr, size_t len, int flags)
{
	if (flags & ~(MS_ASYNC | MS_SYNC | MS_INVALIDATE) ||
	    ((flags & MS_ASYNC) && (flags & MS_SYNC)))
		return -EINVAL;
	return vm_sync(current()->mm, addr, len);
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
SYSCALL(msync, sys_msync, "xux");
SYSCALL(mprotect, sys_mprotect, "xux");
SYSCALL(madvise, sys_madvise, "xud");
SYSCALL(mremap, sys_mremap, "xuuxx");
