/* fdata.c: the data of regular files, in pages (see fdata.h). */
#include "fs/fdata.h"
#include "fs/vfs.h"
#include "lib/string.h"
#include "mm/kmalloc.h"
#include "mm/page.h"

#define SHIFT 9                 /* 512 slots a node */
#define SLOTS (1u << SHIFT)
/* Pages read past what a read asks for, when they are on a disk: as
 * Linux's default of 128 KiB. */
#define READ_AHEAD 32

/* A read of this much of a file on a disk, none of it in memory, goes
 * from the disk straight into the program's buffer: fresh guest memory is
 * costly to fill (the host allocates it), a program's buffer is not. */
#define DIRECT_MIN (256 * 1024)
/* Pages loaded at once for a piece of a request: 1 MiB. */
#define FILL_MAX 256

static const char zeros[PAGE_SIZE] __attribute__((aligned(PAGE_SIZE)));
/* Files with pages on disks, for reclaim: oldest .. newest. */
static struct fdata *oldest, *newest;
/* What reclaim must leave alone: the tree slot() is walking down (its
 * nodes), and the page fdata_each is handing out. */
static struct fdata *growing;
static const void *in_use;
static uint64_t disk_pages;  /* pages of files on disks */

/* A file whose data a disk holds (ext2.c sets every hook). */
static bool on_disk(const struct inode *in)
{
	return in->hooks != NULL;
}

static struct inode *inode_of(struct fdata *fd)
{
	return (struct inode *)((char *)fd - offsetof(struct inode, pages));
}

static void unlist(struct fdata *fd)
{
	if (!fd->listed)
		return;
	*(fd->older ? &fd->older->newer : &oldest) = fd->newer;
	*(fd->newer ? &fd->newer->older : &newest) = fd->older;
	fd->older = fd->newer = NULL;
	fd->listed = false;
}

/* Marks a file on a disk as the most recently used. */
static void touch(struct inode *in)
{
	struct fdata *fd = &in->pages;

	if (!on_disk(in) || newest == fd)
		return;
	unlist(fd);
	fd->older = newest;
	*(newest ? &newest->newer : &oldest) = fd;
	newest = fd;
	fd->listed = true;
}

/* Pages a tree of this height covers. */
static uint64_t span(unsigned height)
{
	return 1ull << (SHIFT * height);
}

/* The slot of page idx; with create, adds the nodes on the way and grows
 * the tree. NULL if it is not there (or no memory for a node). */
static void **walk(struct fdata *fd, uint64_t idx, bool create);

static void **slot(struct fdata *fd, uint64_t idx, bool create)
{
	struct fdata *was = growing;
	void **p;

	growing = create ? fd : growing;
	p = walk(fd, idx, create);
	growing = was;
	return p;
}

static void **walk(struct fdata *fd, uint64_t idx, bool create)
{
	void **p;

	if (!fd->root)
		while (create && idx >= span(fd->height))
			fd->height++;
	while (idx >= span(fd->height)) {
		void **node;

		if (!create || !(node = page_zalloc()))
			return NULL;
		node[0] = fd->root;
		fd->root = node;
		fd->height++;
	}
	p = &fd->root;
	for (unsigned h = fd->height; h > 0; h--) {
		if (!*p && (!create || !(*p = page_zalloc())))
			return NULL;
		p = (void **)*p + ((idx >> (SHIFT * (h - 1))) & (SLOTS - 1));
	}
	return p;
}

/* Frees the pages from page first on under *p, a subtree of the given
 * height whose first page is base, and the nodes that end up empty. */
static void trim(struct fdata *fd, void **p, unsigned height, uint64_t base, uint64_t first)
{
	void **node = *p;

	if (!node || base + span(height) <= first)
		return;
	if (height == 0) {
		page_free(node);
		fd->pages--;
		disk_pages -= on_disk(inode_of(fd));
		*p = NULL;
		return;
	}
	for (unsigned i = 0; i < SLOTS; i++)
		trim(fd, &node[i], height - 1, base + i * span(height - 1), first);
	if (base >= first) {
		page_free(node);
		*p = NULL;
	}
}

void *fdata_page(struct inode *in, uint64_t index)
{
	void **s = slot(&in->pages, index, false);

	return s ? *s : NULL;
}

int fdata_add(struct inode *in, uint64_t index, void *page)
{
	void **s = slot(&in->pages, index, true);

	if (!s)
		return -ENOMEM;
	if (*s) {
		page_free(*s);
	} else {
		in->pages.pages++;
		disk_pages += on_disk(in);
	}
	*s = page;
	touch(in);
	return 0;
}

void fdata_free(struct inode *in)
{
	trim(&in->pages, &in->pages.root, in->pages.height, 0, 0);
	in->pages.height = 0;
	unlist(&in->pages);
}

/* ------------------------------------------------------------- reclaim */

struct dropping {
	struct inode *in;
	size_t freed, want;
	char *run;         /* adjacent dropped pages, freed as one block */
	size_t run_len;
};

static void drop_flush(struct dropping *d)
{
	if (d->run_len)
		page_free_n(d->run, d->run_len);
	d->run_len = 0;
}

/* Drops the clean pages under *p, a subtree of the given height from page
 * base on, until d has what it wants; frees nodes left empty. */
static void drop_clean(struct dropping *d, void **p, unsigned height, uint64_t base)
{
	void **node = *p;
	bool empty = true;

	if (!node)
		return;
	if (height == 0) {
		if (d->freed >= d->want || node == in_use || d->in->hooks->page_dirty(d->in, base))
			return;
		if (!d->run_len || (char *)node != d->run + d->run_len * PAGE_SIZE) {
			drop_flush(d);
			d->run = (char *)node;
		}
		d->run_len++;
		d->freed++;
		d->in->pages.pages--;
		disk_pages--;
		*p = NULL;
		return;
	}
	for (unsigned i = 0; i < SLOTS; i++) {
		drop_clean(d, &node[i], height - 1, base + i * span(height - 1));
		empty &= !node[i];
	}
	if (empty && &d->in->pages != growing) {
		page_free(node);
		*p = NULL;
	}
}

/* The page allocator's reclaim: clean file pages, oldest file first, at
 * least a megabyte at a time so that streaming a large file does not call
 * here for every page. */
static size_t reclaim(size_t pages)
{
	struct dropping d = { .want = MAX(pages, FILL_MAX) };

	for (struct fdata *fd = oldest, *next; fd && d.freed < d.want; fd = next) {
		next = fd->newer;
		d.in = inode_of(fd);
		drop_clean(&d, &fd->root, fd->height, 0);
		drop_flush(&d);
		if (!fd->root) {
			fd->height = 0;
			if (fd != growing)
				unlist(fd);
		}
	}
	return d.freed;
}

uint64_t fdata_disk_pages(void)
{
	return disk_pages;
}

void fdata_init(void)
{
	page_set_reclaim(reclaim);
}

/* ----------------------------------------------------------- file data */

/* Brings the pages of [first, last] a file on a disk has there but not
 * in memory: each missing run in one call, so the disk gets it batched. */
static int fill(struct inode *in, uint64_t first, uint64_t last)
{
	int err;

	if (!on_disk(in) || !in->size)
		return 0;
	last = MIN(last, (in->size - 1) / PAGE_SIZE);
	for (uint64_t i = first, j; i <= last; i = j) {
		if (fdata_page(in, i)) {
			j = i + 1;
			continue;
		}
		for (j = i + 1; j <= last && !fdata_page(in, j); j++)
			;
		if ((err = in->hooks->read_pages(in, i, j - i)))
			return err;
	}
	return 0;
}

/* A page for the file, from the allocator; says once that memory ran out,
 * since -ENOSPC alone would point at the disk. */
static void *new_page(struct inode *in)
{
	static bool told;
	void *p = page_alloc();

	if (!p && !told && on_disk(in)) {
		kprintf("out of guest memory for file data: try a larger --mem\n");
		told = true;
	}
	return p;
}

/* Page idx for reading, up to page last read in with it if it must come
 * from the disk; NULL for a hole. Memory may be short enough that loading
 * many pages drops the first again: then idx alone. */
static int page_for_read(struct inode *in, uint64_t idx, uint64_t last, const char **out)
{
	int err;

	if ((*out = fdata_page(in, idx)) || !on_disk(in))
		return 0;
	if ((err = fill(in, idx, MIN(last, idx + FILL_MAX - 1))))
		return err;
	if (!(*out = fdata_page(in, idx)) && last > idx && (err = fill(in, idx, idx)))
		return err;
	*out = fdata_page(in, idx);
	return 0;
}

/* fdata_each, reading ahead to page `ahead` when the disk is needed. */
static int each(struct inode *in, uint64_t off, uint64_t len, uint64_t ahead,
		int (*fn)(void *arg, const void *p, size_t n), void *arg)
{
	const void *was = in_use;
	int err = 0;

	if (in->borrowed)
		return fn(arg, in->data + off, len);
	while (len && !err) {
		size_t at = off % PAGE_SIZE, n = MIN(PAGE_SIZE - at, len);
		const char *page;

		if ((err = page_for_read(in, off / PAGE_SIZE, ahead, &page)))
			break;
		in_use = page;  /* fn may allocate, and so reclaim */
		err = fn(arg, (page ? page : zeros) + at, n);
		in_use = was;
		off += n;
		len -= n;
	}
	return err;
}

int fdata_each(struct inode *in, uint64_t off, uint64_t len,
	       int (*fn)(void *arg, const void *p, size_t n), void *arg)
{
	return len ? each(in, off, len, (off + len - 1) / PAGE_SIZE, fn, arg) : 0;
}

static int copy_out(void *arg, const void *p, size_t n)
{
	char **dst = arg;

	memcpy(*dst, p, n);
	*dst += n;
	return 0;
}

int fdata_read(struct inode *in, uint64_t off, void *buf, size_t len)
{
	uint64_t first = off / PAGE_SIZE, last = (off + len - 1) / PAGE_SIZE;
	/* Read-ahead for reads that go on from where the last one ended. */
	bool in_order = first == in->pages.next_read || first + 1 == in->pages.next_read;

	if (!len)
		return 0;
	in->pages.next_read = last + 1;
	return each(in, off, len, last + (in_order ? READ_AHEAD : 0), copy_out, &buf);
}

/* Whether none of pages [first, end) is in memory. */
static bool none_in_memory(struct inode *in, uint64_t first, uint64_t end)
{
	for (uint64_t i = first; i < end; i++)
		if (fdata_page(in, i))
			return false;
	return true;
}

int fdata_read_user(struct inode *in, uint64_t off, void *buf, size_t len)
{
	uint64_t a = ALIGN_UP(off, PAGE_SIZE), b = ALIGN_DOWN(off + len, PAGE_SIZE);
	char *at = buf;
	int err;

	if (in->borrowed || !on_disk(in) || b < a + DIRECT_MIN ||
	    !none_in_memory(in, a / PAGE_SIZE, b / PAGE_SIZE))
		return fdata_read(in, off, buf, len);
	if ((err = fdata_read(in, off, at, a - off)) ||
	    (err = in->hooks->read_direct(in, a, at + (a - off), b - a)))
		return err;
	return fdata_read(in, b, at + (b - off), off + len - b);
}

/* Moves borrowed bytes into pages of the file's own. */
static int unborrow(struct inode *in)
{
	const char *data = in->data;
	ssize_t n;

	if (!in->borrowed)
		return 0;
	in->borrowed = false;
	in->data = NULL;
	if ((n = fdata_write(in, 0, data, in->size)) == (ssize_t)in->size)
		return 0;
	fdata_free(in);
	in->borrowed = true;
	in->data = (char *)data;
	return n < 0 ? (int)n : -ENOSPC;
}

/* The page at idx ready for [at, at + n) to be written: what it holds
 * already is read in first unless all of it is overwritten. */
static int page_for_write(struct inode *in, uint64_t idx, size_t at, size_t n, char **out)
{
	bool whole = at == 0 && n == PAGE_SIZE;
	char *p = fdata_page(in, idx);
	int err;

	if (!p && !whole && idx * PAGE_SIZE < in->size && (err = page_for_read(in, idx, idx,
									  (const char **)&p)))
		return err;
	if (!p) {
		if (!(p = new_page(in)))
			return -ENOSPC;
		if (!whole)
			memset(p, 0, PAGE_SIZE);
		if ((err = fdata_add(in, idx, p))) {
			page_free(p);
			return err;
		}
	}
	*out = p;
	return 0;
}

ssize_t fdata_write(struct inode *in, uint64_t off, const void *buf, size_t len)
{
	size_t done = 0;
	int err;

	if ((err = unborrow(in)))
		return err;
	while (done < len) {
		size_t at = off % PAGE_SIZE, n = MIN(PAGE_SIZE - at, len - done);
		char *page;

		if ((err = page_for_write(in, off / PAGE_SIZE, at, n, &page)))
			return done ? (ssize_t)done : err;
		memcpy(page + at, (const char *)buf + done, n);
		off += n;
		done += n;
	}
	return (ssize_t)done;
}

int fdata_resize(struct inode *in, uint64_t size)
{
	uint64_t keep = ALIGN_UP(size, PAGE_SIZE) / PAGE_SIZE;
	char *last;
	int err;

	if (size > in->size) {
		/* The page holding the end must be in memory: its zeros past
		 * the end become data, to be written as such. */
		return (err = unborrow(in)) ? err : fill(in, in->size / PAGE_SIZE, in->size / PAGE_SIZE);
	}
	if (in->borrowed)
		return 0;  /* the archive stays mapped: shrinking needs no copy */
	trim(&in->pages, &in->pages.root, in->pages.height, 0, keep);
	if (size % PAGE_SIZE && (last = fdata_page(in, size / PAGE_SIZE)))
		memset(last + size % PAGE_SIZE, 0, PAGE_SIZE - size % PAGE_SIZE);
	return 0;
}

const char *fdata_flat(struct inode *in, int *err)
{
	char *flat, *at;

	if (in->borrowed)
		return in->data;
	if (!(flat = at = kmalloc(in->size ? in->size : 1))) {
		*err = -ENOMEM;
		return NULL;
	}
	if ((*err = fdata_each(in, 0, in->size, copy_out, &at))) {
		kfree(flat);
		return NULL;
	}
	return flat;
}

void fdata_unflat(struct inode *in, const char *flat)
{
	if (flat && flat != in->data)
		kfree((void *)flat);
}
