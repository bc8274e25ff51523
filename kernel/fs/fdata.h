/* fdata.h: the data of regular files, in pages.
 *
 * A file's data is a radix tree of 4 KiB pages by page number, 512 slots a
 * node as in page tables, so a sparse file costs only the pages written and
 * a file may be far larger than its part in memory. A page that is not in
 * the tree reads as zeros, or, for a file on a disk (fs_hooks.read_pages),
 * is read from the disk when first used, with read-ahead. The bytes of the
 * last page past the end of the file are always zero.
 *
 * When memory runs out, the pages of files on disks that hold nothing the
 * disk lacks (fs_hooks.page_dirty) are dropped, the least recently read
 * or written file first: a file can be larger than guest memory.
 *
 * Files unpacked from the initramfs borrow the archive's bytes (in->data,
 * in->borrowed) and move into pages at their first change. */
#ifndef FS_FDATA_H
#define FS_FDATA_H

#include "kernel.h"

struct inode;

struct fdata {
	void *root;        /* a page when height is 0, else a node */
	unsigned height;   /* levels of nodes above the pages */
	uint64_t pages;    /* pages held, nodes not counted */
	uint64_t next_read;  /* the page after the last one read */
	/* Files on a disk holding pages, least recently grown first: when
	 * memory runs out, their clean pages go, as they can be read again. */
	struct fdata *older, *newer;
	bool listed;
};

/* Copies [off, off + len) of the file, which must lie inside it, to buf:
 * kernel memory, or user memory the syscall layer checked. 0 or -errno. */
int fdata_read(struct inode *in, uint64_t off, void *buf, size_t len);
/* fdata_read into a program's buffer, faulted in for writing: a large
 * part not in memory comes from the disk straight into it (read_direct),
 * and stays out of the file's pages. */
int fdata_read_user(struct inode *in, uint64_t off, void *buf, size_t len);
/* Copies buf to [off, off + len), adding pages as needed; the caller
 * updates the size. Returns the bytes copied, fewer if memory ran out
 * on the way, or -errno (-ENOSPC for no memory at all). */
ssize_t fdata_write(struct inode *in, uint64_t off, const void *buf, size_t len);
/* The data is about to become size bytes long: pages past it go, the rest
 * of the last one is zeroed. 0 or -errno. */
int fdata_resize(struct inode *in, uint64_t size);
/* Calls fn on [off, off + len) of the file piece by piece, in order (zeros
 * for holes), until fn returns non-zero; returns that, or -errno. */
int fdata_each(struct inode *in, uint64_t off, uint64_t len,
	       int (*fn)(void *arg, const void *p, size_t n), void *arg);
/* The whole file in one piece: the borrowed bytes, or a copy to give back
 * with fdata_unflat. NULL with *err set on failure. */
const char *fdata_flat(struct inode *in, int *err);
void fdata_unflat(struct inode *in, const char *flat);
void fdata_free(struct inode *in);
/* Pages held for files on disks (/proc/meminfo's Cached). */
uint64_t fdata_disk_pages(void);
/* Lets the page allocator drop clean pages when memory runs out. */
void fdata_init(void);

/* For the file systems on disks: the page at index, or NULL if not in
 * memory; and adding one they read (a page from page_alloc). */
void *fdata_page(struct inode *in, uint64_t index);
int fdata_add(struct inode *in, uint64_t index, void *page);

#endif
