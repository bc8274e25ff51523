/* bcache.c: the metadata block cache of a disk.
 *
 * Every block is found through one hash on its number. Changes stay in
 * memory until bcache_flush (fsync, sync, unmount), which sorts the dirty
 * blocks and sends runs of neighbours as one request: each request is a
 * VM exit, so fewer and larger ones are what makes a flush cheap. */
#include "drivers/virtio_blk.h"
#include "fs/bcache.h"
#include "lib/string.h"
#include "mm/kmalloc.h"

#define BUCKETS 1024
#define KEEP_BLOCKS 4096          /* clean blocks kept past a trim */
#define RUN_BYTES (256 * 1024)    /* the largest request a flush sends */

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
	uint8_t *run;             /* RUN_BYTES to gather a run in, made once */
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
	if (!(e = kzalloc(sizeof(*e))) || !(e->data = kmalloc(c->block_size))) {
		kfree(e);
		*err = -ENOMEM;
		return NULL;
	}
	if (fresh)
		memset(e->data, 0, c->block_size);
	else if ((*err = transfer(c, blk, 1, e->data, false))) {
		kfree(e->data);
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
	kfree(e->data);
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

/* Writes a[0..n), consecutive blocks, as one request through buf. */
static int write_run(struct bcache *c, struct bentry **a, size_t n, uint8_t *buf)
{
	int err;

	if (n == 1)
		err = transfer(c, a[0]->blk, 1, a[0]->data, true);
	else {
		for (size_t i = 0; i < n; i++)
			memcpy(buf + i * c->block_size, a[i]->data, c->block_size);
		err = transfer(c, a[0]->blk, (uint32_t)n, buf, true);
	}
	for (size_t i = 0; !err && i < n; i++)
		a[i]->dirty = false;
	return err;
}

static int write_sorted(struct bcache *c, struct bentry **a, size_t n)
{
	size_t per_run = RUN_BYTES / c->block_size;
	int err = 0;

	if (!c->run && !(c->run = kmalloc(RUN_BYTES)))
		per_run = 1;
	for (size_t i = 0, len; !err && i < n; i += len) {
		for (len = 1; i + len < n && len < per_run &&
			      a[i + len]->blk == a[i]->blk + len; len++)
			;
		err = write_run(c, a + i, len, c->run);
	}
	return err;
}

static int flush_pass(struct bcache *c, unsigned pass)
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
			for (struct bentry *e = c->table[i]; e; e = e->next)
				if (e->pass == pass && (err = bcache_write(c, e->blk)))
					return err;
		return 0;
	}
	n = 0;
	for (uint32_t i = 0; i < BUCKETS; i++)
		for (struct bentry *e = c->table[i]; e; e = e->next)
			if (e->dirty && e->pass == pass)
				dirty[n++] = e;
	sort_entries(dirty, n);
	err = write_sorted(c, dirty, n);
	kfree(dirty);
	return err;
}

int bcache_flush(struct bcache *c)
{
	int err = 0;

	for (unsigned pass = 0; pass < BCACHE_PASSES && !err; pass++)
		err = flush_pass(c, pass);
	return err;
}
