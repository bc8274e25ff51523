/* ext2_inode.c: block maps, file data write-back and inode records.
 *
 * A regular file's data is in the pages of its tmpfs inode (fdata.h),
 * read from the disk as they are used; what changed is a bit per block
 * (n->dirty), and a dirty block's page stays in memory. A sync writes those blocks, allocating the
 * missing ones then, next to the file's previous block, so that a file
 * written in order lands in order. A dirty block that is unmapped and all
 * zeros stays a hole: sparse files cost nothing. */
#include <linux/stat.h>
#include "clock.h"
#include "drivers/virtio_blk.h"
#include "fs/bcache.h"
#include "fs/ext2.h"
#include "fs/vfs.h"
#include "lib/string.h"
#include "mm/kmalloc.h"
#include "mm/page.h"
#include "mm/uaccess.h"

#define RUN_MAX (1024 * 1024)    /* bytes per data request */
#define RUN_SEGS 32              /* pieces per request: 4 requests fill the queue */
#define I_MODE 0
#define I_UID 2
#define I_SIZE 4
#define I_ATIME 8
#define I_CTIME 12
#define I_MTIME 16
#define I_DTIME 20
#define I_GID 24
#define I_LINKS 26
#define I_BLOCKS 28
#define I_FLAGS 32
#define I_BLOCK 40
#define I_SIZE_HIGH 108
#define I_UID_HIGH 120
#define I_GID_HIGH 122
#define I_EXTRA_ISIZE 128
#define I_CRTIME 144
#define EXTRA_ISIZE 32           /* what e2fsprogs writes for new inodes */

uint8_t *ext2_inode_raw(struct ext2 *fs, uint32_t ino, uint32_t *blk, int *err)
{
	uint32_t group, table;
	uint64_t byte;
	uint8_t *b;

	if (ino < 1 || ino > fs->inodes) {
		*err = -EIO;
		return NULL;
	}
	group = (ino - 1) / fs->inodes_per_group;
	byte = (uint64_t)((ino - 1) % fs->inodes_per_group) * fs->inode_size;
	table = le32(ext2_gd(fs, group) + 8);
	*blk = table + (uint32_t)(byte / fs->block_size);
	if (!ext2_valid_block(fs, table) || *blk >= fs->blocks) {
		*err = -EIO;
		return NULL;
	}
	b = bcache_get(fs->cache, *blk, false, err);
	return b ? b + byte % fs->block_size : NULL;
}

int ext2_inode_init(struct ext2 *fs, uint32_t ino, unsigned mode)
{
	uint32_t blk, now = (uint32_t)(vfs_now() / 1000000000);
	int err = 0;
	uint8_t *raw = ext2_inode_raw(fs, ino, &blk, &err);

	if (!raw)
		return err;
	memset(raw, 0, fs->inode_size);
	put16(raw + I_MODE, (uint16_t)mode);
	if (fs->inode_size >= 128 + EXTRA_ISIZE) {
		put16(raw + I_EXTRA_ISIZE, EXTRA_ISIZE);
		put32(raw + I_CRTIME, now);
	}
	bcache_dirty(fs->cache, blk, BCACHE_INODES);
	return 0;
}

int ext2_fresh_block(struct ext2 *fs, uint32_t blk, enum bcache_pass pass)
{
	int err = 0;

	if (!bcache_get(fs->cache, blk, true, &err))
		return err;
	bcache_dirty(fs->cache, blk, pass);
	return bcache_write(fs->cache, blk);
}

void ext2_node_dirty(struct ext2_node *n)
{
	n->map_dirty = true;
	ext2_node_touch(n);
}

void ext2_node_touch(struct ext2_node *n)
{
	n->attrs_dirty = true;
	if (!n->on_dirty_list) {
		if (!n->fs->dirty)
			n->fs->dirty_since = clock_monotonic_ns();
		n->on_dirty_list = true;
		n->dnext = n->fs->dirty;
		n->fs->dirty = n;
	}
}

/* ---------------------------------------------------------------- maps */

/* Allocates a block for the pointer at slot (in block slot_blk of the
 * cache, or 0: in the inode), near goal if goal is not 0. */
static int alloc_into(struct ext2_node *n, uint8_t *slot, uint32_t slot_blk, bool indirect,
		      uint32_t goal, uint32_t *out)
{
	struct ext2 *fs = n->fs;
	uint32_t group = (n->ino - 1) / fs->inodes_per_group;
	uint32_t blk;
	int err;

	if (!goal)
		goal = n->block[0] ? n->block[0] : le32(ext2_gd(fs, group) + 8);
	if (!(blk = ext2_alloc_block(fs, goal, &err)))
		return err;
	/* A new indirect block is zeroed on the disk before anything can
	 * point at it there: its old contents would read as block numbers. */
	if (indirect && (err = ext2_fresh_block(fs, blk, BCACHE_MAPS)))
		return err;
	put32(slot, blk);
	if (slot_blk)
		bcache_dirty(fs->cache, slot_blk, BCACHE_MAPS);
	n->blocks_512 += fs->block_size / VBLK_SECTOR;
	ext2_node_dirty(n);
	*out = blk;
	return 0;
}

/* ext2_bmap, allocating a data block near goal (0: anywhere sensible). */
static int bmap_goal(struct ext2_node *n, uint64_t fblk, bool alloc, uint32_t goal,
		     uint32_t *out)
{
	struct ext2 *fs = n->fs;
	uint64_t per = fs->block_size / 4, span = 1;
	uint32_t slot_blk = 0;
	uint8_t *slot;
	int depth = 0, err;

	if (fblk < EXT2_DIRECT) {
		slot = (uint8_t *)&n->block[fblk];
	} else {
		fblk -= EXT2_DIRECT;
		for (depth = 1, span = per; fblk >= span; depth++, span *= per) {
			if (depth == 3)
				return -EFBIG;
			fblk -= span;
		}
		slot = (uint8_t *)&n->block[EXT2_DIRECT + depth - 1];
	}
	for (;; depth--) {
		uint32_t blk = le32(slot);
		uint8_t *ptrs;

		if (!blk) {
			*out = 0;
			if (!alloc)
				return 0;
			if ((err = alloc_into(n, slot, slot_blk, depth > 0, depth ? 0 : goal, &blk)))
				return err;
		} else if (!ext2_valid_block(fs, blk)) {
			return -EIO;
		}
		if (!depth) {
			*out = blk;
			return 0;
		}
		span /= per;
		if (!(ptrs = bcache_get(fs->cache, blk, false, &err)))
			return err;
		slot = ptrs + 4 * (fblk / span);
		fblk %= span;
		slot_blk = blk;
	}
}

int ext2_bmap(struct ext2_node *n, uint64_t fblk, bool alloc, uint32_t *out)
{
	return bmap_goal(n, fblk, alloc, 0, out);
}

static uint64_t span_of(const struct ext2 *fs, int depth)
{
	uint64_t span = 1;

	while (depth-- > 0)
		span *= fs->block_size / 4;
	return span;
}

static int release(struct ext2_node *n, uint8_t *slot, uint32_t slot_blk)
{
	int err = ext2_free_block(n->fs, le32(slot));

	put32(slot, 0);
	if (slot_blk)
		bcache_dirty(n->fs->cache, slot_blk, BCACHE_MAPS);
	n->blocks_512 -= MIN(n->blocks_512, n->fs->block_size / VBLK_SECTOR);
	ext2_node_dirty(n);
	return err;
}

/* Frees what lies at file blocks >= keep under the pointer at slot, which
 * covers file blocks from base on, depth levels of indirection above the
 * data. */
static int free_tree(struct ext2_node *n, uint8_t *slot, uint32_t slot_blk, int depth,
		     uint64_t base, uint64_t keep)
{
	uint32_t blk = le32(slot), per = n->fs->block_size / 4;
	uint64_t child = span_of(n->fs, depth - 1);
	uint8_t *ptrs;
	int err = 0;

	if (!blk)
		return 0;
	if (!depth)
		return base >= keep ? release(n, slot, slot_blk) : 0;
	if (!ext2_valid_block(n->fs, blk))
		return -EIO;
	if (!(ptrs = bcache_get(n->fs->cache, blk, false, &err)))
		return err;
	for (uint32_t i = 0; i < per && !err; i++)
		if (base + (i + 1) * child > keep)
			err = free_tree(n, ptrs + 4 * i, blk, depth - 1, base + i * child, keep);
	if (!err && base >= keep)
		err = release(n, slot, slot_blk);
	return err;
}

int ext2_free_from(struct ext2_node *n, uint64_t keep)
{
	uint64_t base = EXT2_DIRECT;
	int err = 0;

	for (uint64_t i = keep; i < EXT2_DIRECT && !err; i++)
		if (n->block[i])
			err = release(n, (uint8_t *)&n->block[i], 0);
	for (int depth = 1; depth <= 3 && !err; depth++) {
		uint64_t span = span_of(n->fs, depth);

		if (base + span > keep)
			err = free_tree(n, (uint8_t *)&n->block[EXT2_DIRECT + depth - 1], 0, depth,
					base, keep);
		base += span;
	}
	return err;
}

/* ---------------------------------------------------------- dirty data */

/* Bytes of file data, on every disk, changed and not written back. */
static uint64_t dirty_bytes;

static bool test_bit(const uint64_t *map, uint64_t i)
{
	return map[i / 64] >> (i % 64) & 1;
}

static void clear_dirty(struct ext2_node *n, uint64_t i)
{
	n->dirty[i / 64] &= ~(1ull << (i % 64));
	dirty_bytes -= MIN(dirty_bytes, n->fs->block_size);
}

uint64_t ext2_dirty_bytes(void)
{
	return dirty_bytes;
}

bool ext2_page_dirty(struct ext2_node *n, uint64_t page)
{
	uint32_t per = PAGE_SIZE / n->fs->block_size;

	for (uint64_t i = page * per; i < (page + 1) * per && i < n->dirty_bits; i++)
		if (test_bit(n->dirty, i))
			return true;
	return false;
}

static int grow_dirty(struct ext2_node *n, uint64_t bits)
{
	uint64_t cap = n->dirty_bits ? n->dirty_bits : 64;
	uint64_t *map;

	if (bits <= n->dirty_bits)
		return 0;
	while (cap < bits)
		cap *= 2;
	if (!(map = krealloc(n->dirty, cap / 8)))
		return -ENOMEM;
	memset((uint8_t *)map + n->dirty_bits / 8, 0, (cap - n->dirty_bits) / 8);
	n->dirty = map;
	n->dirty_bits = cap;
	return 0;
}

/* Blocks a write-back of pending data blocks may need: the blocks, the
 * indirect blocks over them, and a few to spare. */
static uint64_t needed(const struct ext2 *fs, uint64_t pending)
{
	return pending + pending / (fs->block_size / 4) + 4;
}

int ext2_data_dirty(struct ext2_node *n, uint64_t off, uint64_t len)
{
	struct ext2 *fs = n->fs;
	uint64_t first = off / fs->block_size, last, fresh = 0;
	uint32_t blk;
	int err;

	if (!len)
		return 0;
	last = (off + len - 1) / fs->block_size;
	if ((err = grow_dirty(n, last + 1)))
		return err;
	for (uint64_t i = first; i <= last; i++)
		if (!test_bit(n->dirty, i)) {
			if ((err = ext2_bmap(n, i, false, &blk)))
				return err;
			fresh += !blk;
		}
	if (fresh && needed(fs, fs->pending + fresh) > ext2_free_blocks(fs))
		return -ENOSPC;
	for (uint64_t i = first; i <= last; i++)
		if (!test_bit(n->dirty, i)) {
			n->dirty[i / 64] |= 1ull << (i % 64);
			dirty_bytes += fs->block_size;
		}
	fs->pending += fresh;
	n->pending += fresh;
	ext2_node_touch(n);  /* the data needs a sync; the record only if it grows */
	return 0;
}

/* A dirty block that was not allocated is allocated now, or dropped. */
static void unpend(struct ext2_node *n)
{
	if (n->pending) {
		n->pending--;
		n->fs->pending -= !!n->fs->pending;
	}
}

void ext2_data_drop(struct ext2_node *n, uint64_t keep)
{
	uint32_t blk;

	for (uint64_t i = keep; i < n->dirty_bits; i++) {
		if (!test_bit(n->dirty, i))
			continue;
		clear_dirty(n, i);
		if (!ext2_bmap(n, i, false, &blk) && !blk)
			unpend(n);
	}
}

#define READ_CHUNK 256  /* pages read before they go into the file: 1 MiB */

/* A run of consecutive disk blocks, going to or from memory in pieces
 * (pages, merged where they are adjacent), sent as one request. */
struct run {
	uint32_t blk, len;         /* first disk block, blocks */
	unsigned nseg;
	struct vblk_seg seg[RUN_SEGS];
};

static int run_send(struct ext2 *fs, struct run *r, bool write)
{
	int err = 0;

	if (r->len && vblk_queue(fs->disk, (uint64_t)r->blk * (fs->block_size / VBLK_SECTOR),
				 r->seg, r->nseg, write))
		err = -EIO;
	r->len = r->nseg = 0;
	return err;
}

/* Sends what is left of the run unless err says an earlier step failed;
 * the run is empty afterwards either way. Returns err or run_send's. */
static int run_flush(struct ext2 *fs, struct run *r, int err, bool write)
{
	if (!err)
		return run_send(fs, r, write);
	r->len = r->nseg = 0;
	return err;
}

/* Adds disk block blk, whose data is in the pieces (one, or two where it
 * crosses a page of a program's buffer), sending the run first if blk
 * does not continue it. */
static int run_add(struct ext2 *fs, struct run *r, uint32_t blk, const struct vblk_seg *piece,
		   unsigned npieces, bool write)
{
	int err;

	if (r->len && (blk != r->blk + r->len || (uint64_t)(r->len + 1) * fs->block_size > RUN_MAX ||
		       r->nseg + npieces > RUN_SEGS) && (err = run_send(fs, r, write)))
		return err;
	if (!r->len)
		r->blk = blk;
	for (unsigned i = 0; i < npieces; i++) {
		struct vblk_seg *last = r->nseg ? &r->seg[r->nseg - 1] : NULL;

		if (last && (char *)last->buf + last->len == (char *)piece[i].buf)
			last->len += piece[i].len;
		else
			r->seg[r->nseg++] = piece[i];
	}
	r->len++;
	return 0;
}

static int run_add_buf(struct ext2 *fs, struct run *r, uint32_t blk, void *buf, bool write)
{
	struct vblk_seg piece = { buf, fs->block_size };

	return run_add(fs, r, blk, &piece, 1, write);
}

/* Where file block i is in memory, or NULL if its page is not. */
static uint8_t *block_data(struct ext2_node *n, uint64_t i)
{
	uint32_t bs = n->fs->block_size;
	uint8_t *page = fdata_page(n->in, i * bs / PAGE_SIZE);

	return page ? page + i * bs % PAGE_SIZE : NULL;
}

/* Reads file page idx into a new page, unless all of it is a hole: then
 * *out is NULL. The transfers are queued on r. */
static int read_page(struct ext2_node *n, uint64_t idx, struct run *r, uint8_t **out)
{
	struct ext2 *fs = n->fs;
	uint32_t bs = fs->block_size, per = PAGE_SIZE / bs, blk[PAGE_SIZE / 1024] = { 0 };
	uint64_t size = n->in->size, start = idx * PAGE_SIZE;
	bool mapped = false;
	uint8_t *page;
	int err;

	*out = NULL;
	for (uint32_t k = 0; k < per && start + k * bs < size; k++) {
		if ((err = ext2_bmap(n, idx * per + k, false, &blk[k])))
			return err;
		mapped |= blk[k] != 0;
	}
	if (!mapped)
		return 0;
	if (!(page = *out = page_alloc()))
		return -ENOMEM;
	for (uint32_t k = 0; k < per; k++)
		if (!blk[k])
			memset(page + k * bs, 0, bs);
		else if ((err = run_add_buf(fs, r, blk[k], page + k * bs, false)))
			return err;
	return 0;
}

/* Reads up to READ_CHUNK pages, then puts them into the file. */
static int read_chunk(struct ext2_node *n, uint64_t first, uint64_t count)
{
	static uint8_t *pages[READ_CHUNK];
	static struct run r;
	uint64_t got = 0;
	int err = 0;

	while (got < count && !err)
		err = read_page(n, first + got, &r, &pages[got]), got++;
	err = run_flush(n->fs, &r, err, false);
	if (vblk_wait(n->fs->disk) && !err)
		err = -EIO;
	for (uint64_t i = 0; i < got; i++) {
		uint64_t start = (first + i) * PAGE_SIZE, size = n->in->size;

		/* The disk may hold old bytes past the end: the page must not. */
		if (pages[i] && start + PAGE_SIZE > size)
			memset(pages[i] + (size - start), 0, start + PAGE_SIZE - size);
		if (pages[i] && (err || (err = fdata_add(n->in, first + i, pages[i]))))
			page_free(pages[i]);
	}
	return err;
}

int ext2_read_pages(struct ext2_node *n, uint64_t first, uint64_t count)
{
	int err = 0;

	for (uint64_t done = 0, k; done < count && !err; done += k) {
		k = MIN(count - done, READ_CHUNK);
		err = read_chunk(n, first + done, k);
	}
	return err;
}

int ext2_read_direct(struct ext2_node *n, uint64_t off, void *buf, size_t len)
{
	struct ext2 *fs = n->fs;
	uint32_t bs = fs->block_size;
	static struct run r;
	int err = 0;

	for (uint64_t done = 0; done < len && !err; done += bs) {
		uint8_t *u = (uint8_t *)buf + done;
		struct vblk_seg piece[2];
		unsigned np = 0;
		uint32_t blk;

		if ((err = ext2_bmap(n, (off + done) / bs, false, &blk)))
			break;
		if (!blk) {
			memset(u, 0, bs);  /* a hole; the buffer is faulted in */
			continue;
		}
		for (uint32_t at = 0, k; at < bs && !err; at += k) {
			k = MIN(bs - at, PAGE_SIZE - ((uintptr_t)(u + at) & (PAGE_SIZE - 1)));
			if (!(piece[np].buf = user_to_kernel(u + at)))
				err = -EFAULT;
			piece[np++].len = k;
		}
		if (!err)
			err = run_add(fs, &r, blk, piece, np, false);
	}
	err = run_flush(fs, &r, err, false);
	if (vblk_wait(fs->disk) && !err)
		err = -EIO;
	return err;
}

static bool all_zero(const uint8_t *p, uint64_t len)
{
	for (uint64_t i = 0; i < len; i++)
		if (p[i])
			return false;
	return true;
}

/* Maps file block i, whose data is at buf, for writing, next to prev (the
 * disk block of file block i - 1, or 0 if not known); *blk 0 means it
 * stays a hole. */
static int map_for_write(struct ext2_node *n, uint64_t i, const uint8_t *buf, uint32_t prev,
			 uint32_t *blk)
{
	struct ext2 *fs = n->fs;
	int err = ext2_bmap(n, i, false, blk);

	if (err || *blk)
		return err;
	unpend(n);
	if (all_zero(buf, fs->block_size))
		return 0;
	if (!prev && i && (err = ext2_bmap(n, i - 1, false, &prev)))
		return err;
	return bmap_goal(n, i, true, prev ? prev + 1 : 0, blk);
}

/* The blocks write-back looks at: those with a dirty bit within the size. */
static uint64_t dirty_span(const struct ext2_node *n)
{
	uint32_t bs = n->fs->block_size;

	return MIN(n->dirty_bits, ALIGN_UP(n->in->size, bs) / bs);
}

/* The first dirty block of n from i on, or end if there is none before:
 * clean words of the map are passed 64 blocks at a time. */
static uint64_t next_dirty(const struct ext2_node *n, uint64_t i, uint64_t end)
{
	while (i < end && !test_bit(n->dirty, i))
		i = n->dirty[i / 64] ? i + 1 : (i | 63) + 1;
	return MIN(i, end);
}

/* Queues n's dirty blocks; the caller sends them (vblk_wait) before
 * anything that points at them, then calls ext2_data_sent. Until then a
 * queued block stays dirty, so that its page, which the device still has
 * to read, cannot be dropped when memory runs out. A dirty block whose
 * page is not in memory (a write that ran out of memory half-way) was
 * never changed: it stays as the disk has it. */
static int queue_data(struct ext2_node *n)
{
	struct ext2 *fs = n->fs;
	uint64_t nblk = dirty_span(n);
	static struct run r;
	uint32_t blk, prev = 0;
	int err = 0;

	for (uint64_t i = next_dirty(n, 0, nblk), after = 0; i < nblk && !err;
	     after = i + 1, i = next_dirty(n, i + 1, nblk)) {
		uint8_t *buf;

		if (i != after)
			prev = 0;  /* clean blocks before i: where i - 1 is, is not known */
		if (!(buf = block_data(n, i))) {
			clear_dirty(n, i);
			if (!(err = ext2_bmap(n, i, false, &blk)) && !blk)
				unpend(n);
			prev = 0;
			continue;
		}
		if ((err = map_for_write(n, i, buf, prev, &blk)))
			break;
		prev = blk;
		if (!blk)
			clear_dirty(n, i);  /* all zeros: it stays a hole */
		else if (!(err = run_add_buf(fs, &r, blk, buf, true)) && !n->queued) {
			n->queued = true;
			n->qnext = fs->queued;
			fs->queued = n;
		}
	}
	return run_flush(fs, &r, err, true);
}

void ext2_data_sent(struct ext2 *fs)
{
	for (struct ext2_node *n; (n = fs->queued); fs->queued = n->qnext) {
		uint64_t nblk = dirty_span(n);

		for (uint64_t i = next_dirty(n, 0, nblk); i < nblk; i = next_dirty(n, i + 1, nblk))
			clear_dirty(n, i);
		n->queued = false;
	}
}

/* ------------------------------------------------------------- records */

static uint32_t seconds(int64_t ns)
{
	return ns < 0 ? 0 : (uint32_t)(ns / 1000000000);
}

static uint64_t disk_size(const struct ext2_node *n)
{
	return S_ISDIR(n->in->mode) ? n->dir_size : n->in->size;
}

/* Writes n's record into the cache; dtime is 0 but for a deleted inode. */
static int pack_inode(struct ext2_node *n, uint32_t dtime)
{
	struct ext2 *fs = n->fs;
	struct inode *in = n->in;
	uint64_t size = disk_size(n);
	uint32_t blk;
	int err = 0;
	uint8_t *raw = ext2_inode_raw(fs, n->ino, &blk, &err);

	if (!raw)
		return err;
	put16(raw + I_MODE, (uint16_t)in->mode);
	put16(raw + I_UID, (uint16_t)in->uid);
	put16(raw + I_UID_HIGH, (uint16_t)(in->uid >> 16));
	put16(raw + I_GID, (uint16_t)in->gid);
	put16(raw + I_GID_HIGH, (uint16_t)(in->gid >> 16));
	put32(raw + I_SIZE, (uint32_t)size);
	if (S_ISREG(in->mode))
		put32(raw + I_SIZE_HIGH, (uint32_t)(size >> 32));
	put32(raw + I_ATIME, seconds(in->atime_ns));
	put32(raw + I_CTIME, seconds(in->ctime_ns));
	put32(raw + I_MTIME, seconds(in->mtime_ns));
	put32(raw + I_DTIME, dtime);
	put16(raw + I_LINKS, (uint16_t)n->links);
	put32(raw + I_BLOCKS, n->blocks_512);
	put32(raw + I_FLAGS, n->flags);
	memcpy(raw + I_BLOCK, n->block, sizeof(n->block));  /* a fast symlink's target too */
	bcache_dirty(fs->cache, blk, BCACHE_INODES);
	n->attrs_dirty = n->map_dirty = false;
	return 0;
}

int ext2_node_queue(struct ext2_node *n, bool datasync)
{
	int err = 0;

	if (S_ISREG(n->in->mode) && n->dirty && n->links)
		err = queue_data(n);
	if (!err && n->attrs_dirty && (n->map_dirty || !datasync))
		err = pack_inode(n, 0);
	return err;
}

int ext2_node_write(struct ext2_node *n)
{
	int err = ext2_node_queue(n, false);

	if (vblk_wait(n->fs->disk) && !err)
		err = -EIO;  /* the data is on the disk before any pointer to it */
	ext2_data_sent(n->fs);
	return err;
}

int ext2_inode_delete(struct ext2_node *n)
{
	bool is_dir = S_ISDIR(n->in->mode);
	bool fast_link = S_ISLNK(n->in->mode) && !n->blocks_512;
	int err = 0;

	ext2_data_drop(n, 0);
	if (!fast_link)
		err = ext2_free_from(n, 0);
	n->in->size = n->dir_size = 0;
	n->links = 0;
	if (!err)
		err = pack_inode(n, seconds(vfs_now()));
	if (!err)
		err = ext2_free_inode(n->fs, n->ino, is_dir);
	return err;
}
