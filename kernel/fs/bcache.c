/* bcache.c: the metadata block cache of a disk.
 *
 * Every block is found through one hash on its number. Changes stay in
 * memory until bcache_flush (fsync, sync, unmount), which sorts the dirty
 * blocks of a pass, makes each run of neighbours one request (a segment
 * per block, no copy) and sends the pass's requests together: a batch is
 * one VM exit, so that is what makes a flush cheap. */
#include "drivers/virtio_blk.h"
#include "fs/bcache.h"
#include "lib/string.h"
#include "mm/kmalloc.h"
#include "mm/page.h"

#define BUCKETS 1024
#define KEEP_BLOCKS 4096          /* clean blocks kept past a trim */
#define RUN_BLOCKS 64             /* the most blocks in one request */

struct bentry {
	uint32_t blk;
	bool dirty;
	uint8_t pass;           /* enum bcache_pass */
	uint8_t *data;
	struct bentry *next;
};

struct bcache {
	struct vblk *disk;
	uint32_t block_size;
	uint32_t count;
	struct bentry *table[BUCKETS];
};

struct bcache *bcache_new(struct vblk *disk, uint32_t block_size)
{
	struct bcache *c = kzalloc(sizeof(*c));

	if (c) {
		c->disk = disk;
		c->block_size = block_size;
	}
	return c;
}

static int transfer(struct bcache *c, uint32_t blk, uint32_t n, void *buf, bool write)
{
	uint32_t per = c->block_size / VBLK_SECTOR;

	return vblk_rw(c->disk, (uint64_t)blk * per, buf, n * per, write) ? -EIO : 0;
}

/* A block of a page's size takes one page: kmalloc's header in front of
 * it would make it two. */
static uint8_t *block_alloc(const struct bcache *c)
{
	return c->block_size == PAGE_SIZE ? page_alloc() : kmalloc(c->block_size);
}

static void block_free(const struct bcache *c, uint8_t *p)
{
	if (c->block_size == PAGE_SIZE)
		page_free(p);
	else
		kfree(p);
}

static struct bentry *find(struct bcache *c, uint32_t blk)
{
	for (struct bentry *e = c->table[blk % BUCKETS]; e; e = e->next)
		if (e->blk == blk)
			return e;
	return NULL;
}

uint8_t *bcache_get(struct bcache *c, uint32_t blk, bool fresh, int *err)
{
	struct bentry *e = find(c, blk);

	if (e) {
		if (fresh)
			memset(e->data, 0, c->block_size);
		return e->data;
	}
	if (!(e = kzalloc(sizeof(*e))) || !(e->data = block_alloc(c))) {
		kfree(e);
		*err = -ENOMEM;
		return NULL;
	}
	if (fresh)
		memset(e->data, 0, c->block_size);
	else if ((*err = transfer(c, blk, 1, e->data, false))) {
		block_free(c, e->data);
		kfree(e);
		return NULL;
	}
	e->blk = blk;
	e->next = c->table[blk % BUCKETS];
	c->table[blk % BUCKETS] = e;
	c->count++;
	return e->data;
}

void bcache_dirty(struct bcache *c, uint32_t blk, enum bcache_pass pass)
{
	struct bentry *e = find(c, blk);

	if (e) {
		e->dirty = true;
		e->pass = (uint8_t)pass;
	}
}

int bcache_write(struct bcache *c, uint32_t blk)
{
	struct bentry *e = find(c, blk);
	int err;

	if (!e || !e->dirty)
		return 0;
	if ((err = transfer(c, blk, 1, e->data, true)))
		return err;
	e->dirty = false;
	return 0;
}

static void unlink_entry(struct bcache *c, struct bentry **pp)
{
	struct bentry *e = *pp;

	*pp = e->next;
	block_free(c, e->data);
	kfree(e);
	c->count--;
}

void bcache_forget(struct bcache *c, uint32_t blk)
{
	for (struct bentry **pp = &c->table[blk % BUCKETS]; *pp; pp = &(*pp)->next)
		if ((*pp)->blk == blk) {
			unlink_entry(c, pp);
			return;
		}
}

void bcache_trim(struct bcache *c)
{
	for (uint32_t i = 0; i < BUCKETS && c->count > KEEP_BLOCKS; i++)
		for (struct bentry **pp = &c->table[i]; *pp;)
			if (!(*pp)->dirty)
				unlink_entry(c, pp);
			else
				pp = &(*pp)->next;
}

/* Heap sort by block number: no allocation, no recursion. */
static void sift_down(struct bentry **a, size_t root, size_t n)
{
	for (size_t child; (child = 2 * root + 1) < n; root = child) {
		if (child + 1 < n && a[child + 1]->blk > a[child]->blk)
			child++;
		if (a[root]->blk >= a[child]->blk)
			return;
		struct bentry *t = a[root];
		a[root] = a[child];
		a[child] = t;
	}
}

static void sort_entries(struct bentry **a, size_t n)
{
	for (size_t i = n / 2; i-- > 0;)
		sift_down(a, i, n);
	for (size_t end = n; end-- > 1;) {
		struct bentry *t = a[0];
		a[0] = a[end];
		a[end] = t;
		sift_down(a, 0, end);
	}
}

/* Queues a[0..n), consecutive blocks, as one request. */
static int queue_run(struct bcache *c, struct bentry **a, size_t n)
{
	struct vblk_seg segs[RUN_BLOCKS];
	uint32_t per = c->block_size / VBLK_SECTOR;

	for (size_t i = 0; i < n; i++)
		segs[i] = (struct vblk_seg){ a[i]->data, c->block_size };
	return vblk_queue(c->disk, (uint64_t)a[0]->blk * per, segs, (unsigned)n, true) ? -EIO : 0;
}

/* Queues a[0..n), sorted, as runs; they count as clean from now on (a
 * failed batch is an I/O error the caller reports). */
static int queue_sorted(struct bcache *c, struct bentry **a, size_t n)
{
	int err = 0;

	for (size_t i = 0, len; !err && i < n; i += len) {
		for (len = 1; i + len < n && len < RUN_BLOCKS && a[i + len]->blk == a[i]->blk + len; len++)
			;
		err = queue_run(c, a + i, len);
	}
	for (size_t i = 0; !err && i < n; i++)
		a[i]->dirty = false;
	return err;
}

int bcache_queue(struct bcache *c, enum bcache_pass pass)
{
	struct bentry **dirty;
	size_t n = 0;
	int err;

	for (uint32_t i = 0; i < BUCKETS; i++)
		for (struct bentry *e = c->table[i]; e; e = e->next)
			n += e->dirty && e->pass == pass;
	if (!n)
		return 0;
	if (!(dirty = kmalloc(n * sizeof(*dirty)))) {
		/* Unsorted, one by one, still better than losing them. */
		for (uint32_t i = 0; i < BUCKETS; i++)
			for (struct bentry *e = c->table[i]; e; e = e->next) {
				if (!e->dirty || e->pass != pass)
					continue;
				if ((err = queue_run(c, &e, 1)))
					return err;
				e->dirty = false;
			}
		return 0;
	}
	n = 0;
	for (uint32_t i = 0; i < BUCKETS; i++)
		for (struct bentry *e = c->table[i]; e; e = e->next)
			if (e->dirty && e->pass == pass)
				dirty[n++] = e;
	sort_entries(dirty, n);
	err = queue_sorted(c, dirty, n);
	kfree(dirty);
	return err;
}

int bcache_flush(struct bcache *c)
{
	int err = 0;

	for (unsigned pass = 0; pass < BCACHE_PASSES && !err; pass++) {
		err = bcache_queue(c, pass);
		if (vblk_wait(c->disk) && !err)
			err = -EIO;
	}
	return err;
}
