/* ext2.c: ext2 file systems on the virtio disks, read and written.
 *
 * The mounted tree lives in tmpfs like everything else, filled from the
 * disk as it is used: a directory reads its entries at the first lookup,
 * listing or change (the tmpfs refresh hook), a regular file its pages as
 * they are read (fs_hooks.read_pages). Each inode of the tree points at an
 * ext2_node, and tmpfs tells this file (struct fs_hooks) of every change
 * before it makes it: names and allocations are edited in the block cache
 * at once, file data is marked dirty, and a sync (fsync, sync, O_SYNC,
 * unmount at exit) writes data first, then metadata, then the superblock,
 * then asks the host to flush. Everything read from the disk is checked
 * before use: a corrupt file system gives EIO, never a kernel fault. */
#include <asm/statfs.h>
#include <linux/limits.h>
#include <linux/magic.h>
#include <linux/stat.h>
#include "clock.h"
#include "drivers/virtio_blk.h"
#include "fs/bcache.h"
#include "fs/ext2.h"
#include "fs/vfs.h"
#include "lib/string.h"
#include "mm/kmalloc.h"
#include "mm/page.h"

#define SB_OFFSET 1024
#define ROOT_INO 2
#define INODE_MIN 128
#define FILE_MAX (1ull << 40)   /* as tmpfs's: offsets stay far from overflow */
#define LARGE_FILE_MIN (1ull << 31)  /* sizes from here need large_file */
#define RO_COMPAT_LARGE_FILE 0x2
#define LINKS_MAX 65000         /* as Linux's ext2 */
#define STATE_CLEAN 1
#define STATE_ERRORS 2
#define INCOMPAT_FILETYPE 0x2
#define RO_COMPAT_WRITABLE 0x3  /* sparse_super, large_file */
#define SB_MTIME 44
#define SB_WTIME 48
#define SB_MNT_COUNT 52
#define SB_STATE 58
/* Unsynced changes older than this are written back without a sync, as
 * Linux's flusher does (it waits 30 s): a crash of wisp then loses seconds
 * of them, not a whole run's. */
#define WRITEBACK_AGE_NS (5ull * 1000000000)
/* Dirty file data may take up to 1/DIRTY_SHARE of guest memory. */
#define DIRTY_SHARE 4

/* st_dev of a disk's files: 254:0, 254:16, ... as Linux numbers vda, vdb. */
#define DISK_DEV(index) (0xfe00 + 16 * (index))

static const struct fs_hooks ext2_hooks;
static struct ext2 *mounted;

static struct ext2_node *node_of(const struct inode *in)
{
	return in->fs_node;
}

/* Queues a read of n blocks from blk, which must lie in the file system. */
static int queue_read(struct ext2 *fs, uint32_t blk, uint32_t n, void *buf)
{
	struct vblk_seg seg = { buf, n * fs->block_size };

	if (blk >= fs->blocks || n > fs->blocks - blk)
		return -EIO;
	return vblk_queue(fs->disk, (uint64_t)blk * (fs->block_size / VBLK_SECTOR), &seg, 1,
			  false) ? -EIO : 0;
}

static int read_blocks(struct ext2 *fs, uint32_t blk, uint32_t n, void *buf)
{
	int err = queue_read(fs, blk, n, buf);

	return vblk_wait(fs->disk) ? -EIO : err;
}

/* The superblock, read or written at once (fs->sb, 1024 bytes at byte
 * 1024). */
static int super_rw(struct ext2 *fs, bool write)
{
	int err = vblk_rw(fs->disk, SB_OFFSET / VBLK_SECTOR, fs->sb, 1024 / VBLK_SECTOR, write);

	return err ? -EIO : 0;
}

/* ----------------------------------------------------- nodes by number */

static struct ext2_node **bucket(struct ext2 *fs, uint32_t ino)
{
	return &fs->nodes[ino % EXT2_NODE_BUCKETS];
}

static struct ext2_node *node_find(struct ext2 *fs, uint32_t ino)
{
	for (struct ext2_node *n = *bucket(fs, ino); n; n = n->hnext)
		if (n->ino == ino)
			return n;
	return NULL;
}

/* Gives in its node. */
static void node_attach(struct ext2_node *n, struct inode *in)
{
	n->in = in;
	n->hnext = *bucket(n->fs, n->ino);
	*bucket(n->fs, n->ino) = n;
	in->fs_node = n;
	in->hooks = &ext2_hooks;
	in->read_only = !n->fs->writable;
	in->dev = DISK_DEV(n->fs->index);
}

static void node_free(struct ext2_node *n)
{
	struct ext2_node **pp;

	for (pp = bucket(n->fs, n->ino); *pp && *pp != n; pp = &(*pp)->hnext)
		;
	if (*pp)
		*pp = n->hnext;
	for (pp = &n->fs->dirty; n->on_dirty_list && *pp; pp = &(*pp)->dnext)
		if (*pp == n) {
			*pp = n->dnext;
			break;
		}
	for (pp = &n->fs->queued; n->queued && *pp; pp = &(*pp)->qnext)
		if (*pp == n) {
			*pp = n->qnext;
			break;
		}
	n->in->fs_node = NULL;
	ext2_data_drop(n, 0);  /* what a failed write-back left: out of the dirty count */
	kfree(n->dirty);
	kfree(n);
}

static void list_dir(struct inode *dir);

static void set_attrs(struct inode *in, const uint8_t *raw)
{
	in->uid = le16(raw + 2) | (uint32_t)le16(raw + 120) << 16;
	in->gid = le16(raw + 24) | (uint32_t)le16(raw + 122) << 16;
	in->atime_ns = (int64_t)le32(raw + 8) * 1000000000;
	in->ctime_ns = (int64_t)le32(raw + 12) * 1000000000;
	in->mtime_ns = (int64_t)le32(raw + 16) * 1000000000;
}

/* A long symlink target: size bytes from the node's first blocks. */
static int read_slow_target(struct ext2_node *n, uint64_t size, uint8_t **out)
{
	uint32_t bs = n->fs->block_size, blk;
	uint8_t *data = kzalloc(ALIGN_UP(size, bs));
	int err = data ? 0 : -ENOMEM;

	for (uint64_t i = 0; i * bs < size && !err; i++)
		if (!(err = ext2_bmap(n, i, false, &blk)) && blk)
			err = queue_read(n->fs, blk, 1, data + i * bs);
	if (data && vblk_wait(n->fs->disk) && !err)
		err = -EIO;
	if (err)
		kfree(data);
	else
		*out = data;
	return err;
}

/* A symlink's target: in i_block if short ("fast"), else in its block. */
static int read_target(struct ext2_node *n, uint64_t size, struct inode *in)
{
	uint8_t *data = NULL;
	int err;

	if (size >= PATH_MAX)
		return -EIO;
	if (!n->blocks_512 && size <= sizeof(n->block))
		data = (uint8_t *)n->block;
	else if ((err = read_slow_target(n, size, &data)))
		return err;
	in->data = kstrndup((const char *)data, size);
	if (data != (uint8_t *)n->block)
		kfree(data);
	if (!in->data)
		return -ENOMEM;
	in->size = strlen(in->data);
	return 0;
}

/* A new tmpfs inode for disk inode ino; NULL *out for a kind of file wisp
 * has no use for (devices). */
static int node_read(struct ext2 *fs, uint32_t ino, struct inode **out)
{
	uint32_t blk;
	int err = 0;
	uint8_t *raw = ext2_inode_raw(fs, ino, &blk, &err);
	unsigned mode;
	uint64_t size;
	struct ext2_node *n;
	struct inode *in;

	*out = NULL;
	if (!raw)
		return err;
	mode = le16(raw);
	size = le32(raw + 4);
	if (S_ISREG(mode) && fs->large_files)
		size |= (uint64_t)le32(raw + 108) << 32;
	if (S_ISCHR(mode) || S_ISBLK(mode))
		return 0;
	if (!S_ISREG(mode) && !S_ISDIR(mode) && !S_ISLNK(mode) && !S_ISFIFO(mode) &&
	    !S_ISSOCK(mode))
		return -EIO;
	if (!(n = kzalloc(sizeof(*n))) || !(in = inode_new(mode))) {
		kfree(n);
		return -ENOMEM;
	}
	*n = (struct ext2_node){ .fs = fs, .ino = ino, .links = le16(raw + 26),
				 .blocks_512 = le32(raw + 28), .flags = le32(raw + 32) };
	memcpy(n->block, raw + 40, sizeof(n->block));
	set_attrs(in, raw);
	if (S_ISLNK(mode) && (err = read_target(n, size, in))) {
		kfree(n);
		kfree(in);
		return err;
	}
	if (S_ISDIR(mode)) {
		in->nlink = 1;  /* its "."; tmpfs counts the rest as it goes */
		in->refresh = list_dir;
		n->dir_size = size;
	} else if (S_ISREG(mode)) {
		in->size = size;  /* the data comes page by page: ext2_read */
	}
	node_attach(n, in);
	*out = in;
	return 0;
}

/* One directory entry, as a tmpfs name: a second name of an inode already
 * in the tree is a hard link to it. */
static int add_listed(struct ext2_node *dir, const char *name, size_t len, uint32_t ino)
{
	struct ext2_node *known = node_find(dir->fs, ino);
	struct inode *in;
	int err;

	if (known)
		return S_ISDIR(known->in->mode) ? -EIO : tmpfs_add(dir->in, name, len, known->in);
	if ((err = node_read(dir->fs, ino, &in)) || !in)
		return err;
	if ((err = tmpfs_add(dir->in, name, len, in))) {
		node_free(node_of(in));
		kfree(in->data);
		kfree(in);
	}
	return err;
}

/* The tmpfs refresh hook: reads a directory's entries, once. */
static void list_dir(struct inode *dir)
{
	struct ext2_node *n = node_of(dir);
	int err;

	if (!n || n->listed)
		return;
	n->listed = true;
	bcache_trim(n->fs->cache);
	err = ext2_dir_each(n, add_listed);
	if (err)
		kprintf("ext2 %s: directory inode %u: %s\n", vblk_mount(n->fs->disk), n->ino,
			err == -ENOMEM ? "out of memory" : "unreadable (corrupt file system?)");
}

/* ---------------------------------------------------- syncing, superblock */

/* Queues the group descriptors: their free counts must match the bitmaps
 * for e2fsck. */
static int queue_gdt(struct ext2 *fs)
{
	struct vblk_seg gdt = { fs->gdt, fs->gdt_blocks * fs->block_size };
	int err = vblk_queue(fs->disk, (uint64_t)(fs->first_data + 1) * (fs->block_size / VBLK_SECTOR),
			     &gdt, 1, true);

	if (!err)
		fs->gdt_dirty = false;
	return err ? -EIO : 0;
}

/* The superblock's free counts may lag behind, as Linux's ext2 lets them
 * (e2fsck recounts them silently): it is written when the disk is marked
 * in use and at the unmount, not at every sync. */
static int queue_super(struct ext2 *fs)
{
	struct vblk_seg sb = { fs->sb, 1024 };
	int err = queue_gdt(fs);

	put32(fs->sb + SB_WTIME, (uint32_t)(vfs_now() / 1000000000));
	if (!err && vblk_queue(fs->disk, SB_OFFSET / VBLK_SECTOR, &sb, 1, true))
		err = -EIO;
	return err;
}

/* Data, then the metadata pointing at it, then the counts, then (if
 * durable) the host's flush. */
static int write_back(struct ext2 *fs, bool durable, bool datasync)
{
	struct ext2_node *n, *left = NULL;
	int err = 0, e;

	if (!fs->in_use)
		return 0;
	/* Every file's data and the bitmaps go out as one batch. A node stays
	 * marked as listed while it is queued: the blocks its data gets now
	 * dirty it again, and put back on the list it would be queued twice,
	 * its data with it (its blocks stay dirty until ext2_data_sent). */
	while ((n = fs->dirty)) {
		fs->dirty = n->dnext;
		if ((e = ext2_node_queue(n, datasync)) && !err)
			err = e;
		if (n->attrs_dirty) {  /* left for later by datasync */
			n->dnext = left;
			left = n;
		} else {
			n->on_dirty_list = false;
		}
	}
	fs->dirty = left;
	/* The counts need no order: they go out with the inodes. */
	for (unsigned pass = 0; pass < BCACHE_PASSES; pass++) {
		if ((e = bcache_queue(fs->cache, pass)) && !err)
			err = e;
		if (pass == BCACHE_INODES && fs->gdt_dirty && (e = queue_gdt(fs)) && !err)
			err = e;
		if (vblk_wait(fs->disk) && !err)
			err = -EIO;
		if (pass == 0)
			ext2_data_sent(fs);  /* the data went with the first batch */
	}
	if (durable && vblk_flush(fs->disk) && !err)
		err = -EIO;
	bcache_trim(fs->cache);
	if (err)
		kprintf("ext2 %s: writing back failed (%s)\n", vblk_mount(fs->disk),
			err == -ENOSPC ? "disk full" : err == -ENOMEM ? "out of memory" : "I/O error");
	return err;
}

static int sync_fs(struct ext2 *fs)
{
	return write_back(fs, true, false);
}

uint64_t ext2_write_back_old(void)
{
	uint64_t next = 0;

	for (struct ext2 *fs = mounted; fs; fs = fs->next) {
		if (fs->dirty && clock_monotonic_ns() - fs->dirty_since >= WRITEBACK_AGE_NS)
			write_back(fs, false, false);
		if (fs->dirty && (!next || fs->dirty_since + WRITEBACK_AGE_NS < next))
			next = fs->dirty_since + WRITEBACK_AGE_NS;
	}
	return next;
}

bool ext2_write_back_dirty(void)
{
	uint64_t dirty = ext2_dirty_bytes();

	for (struct ext2 *fs = mounted; fs; fs = fs->next)
		if (fs->dirty)
			write_back(fs, false, false);
	return ext2_dirty_bytes() < dirty;
}

void ext2_balance_dirty(size_t more)
{
	uint64_t total = page_total_count(), dirty = ext2_dirty_bytes() / PAGE_SIZE;
	uint64_t need = ALIGN_UP(more, PAGE_SIZE) / PAGE_SIZE + total / 16;

	/* Short of memory, writing back helps only if much of it is dirty:
	 * clean pages go without it when needed. */
	if (dirty > total / DIRTY_SHARE || (page_free_count() < need && dirty >= need))
		ext2_write_back_dirty();
}

int ext2_sync_all(void)
{
	int err = 0, e;

	for (struct ext2 *fs = mounted; fs; fs = fs->next)
		if ((e = sync_fs(fs)) && !err)
			err = e;
	return err;
}

void ext2_unmount_all(void)
{
	for (struct ext2 *fs = mounted; fs; fs = fs->next) {
		if (!fs->in_use || sync_fs(fs))
			continue;  /* a failed write-back leaves the disk marked unclean */
		put16(fs->sb + SB_STATE, le16(fs->sb + SB_STATE) | STATE_CLEAN);
		if (!queue_super(fs))
			vblk_flush(fs->disk);
	}
}

/* ------------------------------------------------------------- hooks */

/* Before the first change, the disk is marked in use, as Linux does at
 * mount: a crash leaves it "not clean". A run that changes nothing leaves
 * the image as it was. */
static int mark_in_use(struct ext2 *fs)
{
	uint16_t state = le16(fs->sb + SB_STATE);

	if (!(state & STATE_CLEAN))
		kprintf("ext2 %s: was not cleanly unmounted; running e2fsck -f on the image is advisable\n",
			vblk_mount(fs->disk));
	else if (state & STATE_ERRORS)
		kprintf("ext2 %s: has errors; running e2fsck -f on the image is advisable\n",
			vblk_mount(fs->disk));
	put16(fs->sb + SB_STATE, state & ~STATE_CLEAN);
	put16(fs->sb + SB_MNT_COUNT, (uint16_t)(le16(fs->sb + SB_MNT_COUNT) + 1));
	put32(fs->sb + SB_MTIME, (uint32_t)(vfs_now() / 1000000000));
	if (super_rw(fs, true))
		return -EIO;
	fs->in_use = true;
	return 0;
}

/* Every change starts here; no pointer into the cache is held yet. */
static int begin_change(struct ext2 *fs)
{
	bcache_trim(fs->cache);
	return fs->in_use ? 0 : mark_in_use(fs);
}


static struct ext2_node *new_node(struct ext2 *fs, uint32_t ino, uint32_t links)
{
	struct ext2_node *n = kzalloc(sizeof(*n));

	if (n)
		*n = (struct ext2_node){ .fs = fs, .ino = ino, .links = links, .listed = true };
	return n;
}

/* A symlink's target: in i_block if it fits, else in a block of its own. */
static int write_target(struct ext2_node *n, const struct inode *in)
{
	uint32_t blk;
	uint8_t *b;
	int err;

	if (in->size < sizeof(n->block)) {
		memcpy(n->block, in->data, in->size);
		return 0;
	}
	if (in->size >= n->fs->block_size)
		return -ENAMETOOLONG;
	if ((err = ext2_bmap(n, 0, true, &blk)) || !(b = bcache_get(n->fs->cache, blk, true, &err)))
		return err;
	memcpy(b, in->data, in->size);
	bcache_dirty(n->fs->cache, blk, BCACHE_MAPS);
	return 0;
}

/* What a new inode holds before its name goes in. */
static int fill_new(struct ext2_node *n, struct ext2_node *dir, struct inode *in)
{
	int err = ext2_inode_init(n->fs, n->ino, in->mode);

	if (!err && S_ISDIR(in->mode))
		err = ext2_dir_init(n, dir->ino);
	if (!err && S_ISLNK(in->mode))
		err = write_target(n, in);
	return err;
}

static int ext2_create(struct inode *dir, const char *name, size_t len, struct inode *in)
{
	struct ext2_node *dn = node_of(dir), *n;
	struct ext2 *fs = dn->fs;
	bool is_dir = S_ISDIR(in->mode);
	uint32_t ino;
	int err;

	if (S_ISCHR(in->mode) || S_ISBLK(in->mode))
		return -EPERM;
	if (is_dir && dn->links >= LINKS_MAX)
		return -EMLINK;
	if ((err = begin_change(fs)))
		return err;
	if (!(ino = ext2_alloc_inode(fs, dn->ino, is_dir, &err)))
		return err;
	if (!(n = new_node(fs, ino, is_dir ? 2 : 1))) {
		ext2_free_inode(fs, ino, is_dir);
		return -ENOMEM;
	}
	n->in = in;
	if ((err = fill_new(n, dn, in)) || (err = ext2_dir_add(dn, name, len, ino, in->mode))) {
		if (n->blocks_512)  /* else a fast symlink's block[] is its target */
			ext2_free_from(n, 0);
		ext2_free_inode(fs, ino, is_dir);
		node_free(n);  /* allocating put it on the dirty list */
		return err;
	}
	if (is_dir) {
		dn->links++;
		ext2_node_dirty(dn);
		in->refresh = list_dir;
	}
	node_attach(n, in);
	ext2_node_dirty(n);
	return 0;
}

static int ext2_link(struct inode *dir, const char *name, size_t len, struct inode *in)
{
	struct ext2_node *dn = node_of(dir), *n = node_of(in);
	int err;

	if (n->fs != dn->fs)
		return -EXDEV;
	if (n->links >= LINKS_MAX)
		return -EMLINK;
	if ((err = begin_change(dn->fs)))
		return err;
	if ((err = ext2_dir_add(dn, name, len, n->ino, in->mode)))
		return err;
	n->links++;
	ext2_node_dirty(n);
	return 0;
}

static int ext2_unlink(struct inode *dir, const char *name, size_t len, struct inode *in)
{
	struct ext2_node *dn = node_of(dir), *n = node_of(in);
	int err;

	if ((err = begin_change(dn->fs)) || (err = ext2_dir_remove(dn, name, len)))
		return err;
	if (S_ISDIR(in->mode)) {
		n->links = 0;
		dn->links--;
		ext2_node_dirty(dn);
	} else if (n->links) {
		n->links--;
	}
	ext2_node_dirty(n);
	return 0;
}

/* The moved inode, with its data, and then the new name reach the disk
 * before the old name goes: a crash in between leaves both names (e2fsck
 * fixes the count), never neither, and never a name for an inode that is
 * not written yet (the write-then-rename idiom without an fsync). Over an
 * existing name, the entry is repointed in place. */
static int ext2_rename(struct inode *odir, const char *oname, size_t olen, struct inode *ndir,
		       const char *nname, size_t nlen, struct inode *in, struct inode *victim)
{
	struct ext2_node *on = node_of(odir), *nn = node_of(ndir), *n = node_of(in);
	struct ext2 *fs = on->fs;
	int err;

	if (nn->fs != fs)
		return -EXDEV;
	if ((err = begin_change(fs)) || (err = ext2_node_write(n)))
		return err;
	err = victim ? ext2_dir_set(nn, nname, nlen, n->ino, in->mode)
		     : ext2_dir_add(nn, nname, nlen, n->ino, in->mode);
	if (!err)
		err = bcache_flush(fs->cache);
	if (!err)
		err = ext2_dir_remove(on, oname, olen);
	if (!err && S_ISDIR(in->mode) && on != nn)
		err = ext2_dir_set(n, "..", 2, nn->ino, S_IFDIR);
	if (err)
		return err;
	if (victim) {
		struct ext2_node *v = node_of(victim);

		v->links = S_ISDIR(victim->mode) ? 0 : v->links - !!v->links;
		nn->links -= S_ISDIR(victim->mode);
		ext2_node_dirty(v);
	}
	if (S_ISDIR(in->mode) && on != nn) {
		on->links--;
		nn->links++;
	}
	ext2_node_dirty(on);
	ext2_node_dirty(nn);
	ext2_node_dirty(n);
	return 0;
}

/* A file of 2 GiB or more needs the large_file feature (i_size_high):
 * set it, as Linux does, before any such inode can reach the disk. */
static int allow_size(struct ext2 *fs, uint64_t size)
{
	if (size < LARGE_FILE_MIN || fs->large_files)
		return 0;
	if (!le32(fs->sb + 76))
		return -EFBIG;  /* revision 0 has no feature flags */
	put32(fs->sb + 100, le32(fs->sb + 100) | RO_COMPAT_LARGE_FILE);
	fs->large_files = true;
	return super_rw(fs, true);
}

static int ext2_write(struct inode *in, uint64_t off, uint64_t len)
{
	struct ext2_node *n = node_of(in);
	uint32_t bs = n->fs->block_size;
	int err;

	if ((err = begin_change(n->fs)) || (err = allow_size(n->fs, off + len)))
		return err;
	/* Growing past a partial last block: its tail must reach the disk as
	 * the zeros it now reads as. */
	if (off + len > in->size && in->size % bs && (err = ext2_data_dirty(n, in->size, 1)))
		return err;
	if ((err = ext2_data_dirty(n, off, len)))
		return err;
	if (off + len > in->size)
		ext2_node_dirty(n);  /* the size */
	return 0;
}

static int ext2_truncate(struct inode *in, uint64_t size)
{
	struct ext2_node *n = node_of(in);
	uint32_t bs = n->fs->block_size;
	uint64_t keep = ALIGN_UP(size, bs) / bs;
	int err = begin_change(n->fs);

	if (err || (err = allow_size(n->fs, size)))
		return err;
	if (size < in->size) {
		ext2_data_drop(n, keep);
		err = ext2_free_from(n, keep);
	} else if (size > in->size && in->size % bs) {
		err = ext2_data_dirty(n, in->size, 1);
	}
	ext2_node_dirty(n);
	return err;
}

static void ext2_setattr(struct inode *in)
{
	struct ext2_node *n = node_of(in);

	if (!begin_change(n->fs))
		ext2_node_touch(n);
}

static int ext2_sync(struct inode *in, bool datasync)
{
	return write_back(node_of(in)->fs, true, datasync);
}

static void ext2_statfs(struct inode *in, struct statfs *sf)
{
	struct ext2 *fs = node_of(in)->fs;
	uint64_t free = ext2_free_blocks(fs), reserved = le32(fs->sb + 8);

	free -= MIN(free, fs->pending);
	memset(sf, 0, sizeof(*sf));
	sf->f_type = EXT2_SUPER_MAGIC;
	sf->f_bsize = sf->f_frsize = fs->block_size;
	sf->f_blocks = fs->blocks - fs->first_data;
	sf->f_bfree = free;
	sf->f_bavail = free - MIN(free, reserved);
	sf->f_files = fs->inodes;
	sf->f_ffree = ext2_free_inodes(fs);
	sf->f_namelen = NAME_MAX;
	sf->f_flags = fs->writable ? 0 : 1 /* ST_RDONLY */;
}

/* The last name and user are gone: an inode with no names on the disk
 * either is freed there; one with names elsewhere is written back. */
static void ext2_evict(struct inode *in)
{
	struct ext2_node *n = node_of(in);
	int err = 0;

	if (!n)
		return;
	if (n->fs->writable && !n->links)
		err = ext2_inode_delete(n);
	else if (n->fs->writable)
		err = ext2_node_write(n);
	if (err)
		kprintf("ext2 %s: inode %u: %s\n", vblk_mount(n->fs->disk), n->ino,
			"could not be written back");
	node_free(n);
}

/* i_blocks, and the data blocks write-back will add (delayed allocation:
 * du sees what the file will take, as on Linux). */
static uint64_t ext2_blocks(struct inode *in)
{
	struct ext2_node *n = node_of(in);

	return n->blocks_512 + n->pending * (n->fs->block_size / 512);
}

static int ext2_read(struct inode *in, uint64_t first, uint64_t count)
{
	return ext2_read_pages(node_of(in), first, count);
}

static int ext2_direct(struct inode *in, uint64_t off, void *buf, size_t len)
{
	return ext2_read_direct(node_of(in), off, buf, len);
}

static bool ext2_dirty_page(struct inode *in, uint64_t page)
{
	return ext2_page_dirty(node_of(in), page);
}

static const struct fs_hooks ext2_hooks = {
	.read_pages = ext2_read, .read_direct = ext2_direct, .page_dirty = ext2_dirty_page,
	.create = ext2_create, .link = ext2_link, .unlink = ext2_unlink,
	.rename = ext2_rename, .write = ext2_write, .truncate = ext2_truncate,
	.setattr = ext2_setattr, .sync = ext2_sync, .statfs = ext2_statfs,
	.blocks = ext2_blocks, .evict = ext2_evict,
};

/* ------------------------------------------------------------- mounting */

/* Why the file system cannot be written, or NULL. */
static const char *read_only_reason(struct ext2 *fs, uint32_t rev)
{
	if (vblk_read_only(fs->disk))
		return "";
	if (rev && (le32(fs->sb + 100) & ~RO_COMPAT_WRITABLE))
		return "it uses read-only-compatible features wisp cannot keep";
	return NULL;
}

static const char *read_super(struct ext2 *fs)
{
	uint8_t *sb = fs->sb;
	uint32_t log, per_group, rev;

	if (super_rw(fs, false))
		return "cannot read the superblock";
	fs->inodes = le32(sb);
	fs->blocks = le32(sb + 4);
	fs->first_data = le32(sb + 20);
	log = le32(sb + 24);
	per_group = fs->blocks_per_group = le32(sb + 32);
	fs->inodes_per_group = le32(sb + 40);
	rev = le32(sb + 76);
	fs->first_ino = rev ? le32(sb + 84) : 11;
	fs->inode_size = rev ? le16(sb + 88) : INODE_MIN;
	fs->large_files = rev && (le32(sb + 100) & 0x2);
	fs->filetype = rev && (le32(sb + 96) & INCOMPAT_FILETYPE);
	if (le16(sb + 56) != EXT2_SUPER_MAGIC)
		return "not an ext2 file system";
	if (log > 6 || !per_group || !fs->inodes_per_group || fs->blocks <= fs->first_data ||
	    fs->first_ino < 3 || fs->first_ino > fs->inodes)
		return "corrupt superblock";
	if (rev && (le32(sb + 96) & ~INCOMPAT_FILETYPE))
		return "uses features wisp does not support";
	fs->block_size = 1024u << log;
	if (fs->inode_size < INODE_MIN || fs->inode_size > fs->block_size ||
	    fs->inode_size & (fs->inode_size - 1))
		return "corrupt superblock (inode size)";
	if ((uint64_t)fs->blocks * fs->block_size > vblk_sectors(fs->disk) * VBLK_SECTOR)
		return "the file system is larger than its disk";
	fs->groups = (fs->blocks - fs->first_data + per_group - 1) / per_group;
	if ((uint64_t)fs->groups * fs->inodes_per_group < fs->inodes)
		return "corrupt superblock (inode count)";
	fs->gdt_blocks = (fs->groups * 32 + fs->block_size - 1) / fs->block_size;
	if (!(fs->gdt = kmalloc((size_t)fs->gdt_blocks * fs->block_size)))
		return "out of memory";
	if (read_blocks(fs, fs->first_data + 1, fs->gdt_blocks, fs->gdt))
		return "cannot read the group descriptors";
	fs->writable = !read_only_reason(fs, rev);
	return NULL;
}

/* The mount point: an empty directory, made if missing. */
static struct inode *mount_point(const char *path, const char **why)
{
	struct vfs_name nm;
	struct inode *dir;
	const char *rel = path + (path[0] == '/');

	*why = "cannot create the mount point";
	if (vfs_make_parents(rel) || vfs_parent_from(vfs_root(), rel, &nm))
		return NULL;
	dir = tmpfs_lookup(nm.dir, nm.name, nm.len);
	if (!dir && tmpfs_mknod(nm.dir, nm.name, nm.len, S_IFDIR | 0755, &dir))
		return NULL;
	*why = "the mount point is not an empty directory in the image";
	if (!S_ISDIR(dir->mode) || dir->children || dir->refresh)
		return NULL;
	return dir;
}

static const char *mount(struct ext2 *fs)
{
	struct inode *dir, *root;
	const char *why;
	int err;

	if ((why = read_super(fs)))
		return why;
	if (!(fs->cache = bcache_new(fs->disk, fs->block_size)))
		return "out of memory";
	if ((err = node_read(fs, ROOT_INO, &root)) || !root || !S_ISDIR(root->mode))
		return "its root directory is unreadable";
	if (!(dir = mount_point(vblk_mount(fs->disk), &why)))
		return why;
	/* The mount point takes the place of the root inode read. */
	dir->mode = root->mode;
	dir->uid = root->uid;
	dir->gid = root->gid;
	dir->atime_ns = root->atime_ns;
	dir->mtime_ns = root->mtime_ns;
	dir->ctime_ns = root->ctime_ns;
	dir->refresh = list_dir;
	node_of(root)->in = dir;
	dir->fs_node = root->fs_node;
	dir->hooks = &ext2_hooks;
	dir->read_only = !fs->writable;
	dir->dev = root->dev;
	kfree(root);
	return NULL;
}

void ext2_mount_all(void)
{
	struct ext2 **last = &mounted;
	struct vblk *d;

	for (unsigned i = 0; (d = vblk_get(i)); i++) {
		struct ext2 *fs = kzalloc(sizeof(*fs));
		const char *why = fs ? NULL : "out of memory";

		if (fs && !(fs->sb = kmalloc(1024)))
			why = "out of memory";
		if (!why) {
			fs->disk = d;
			fs->index = i;
			why = mount(fs);
		}
		if (why) {
			kprintf("ext2 %s: not mounted: %s\n", vblk_mount(d), why);
			continue;  /* what it allocated stays: the disk is out of use */
		}
		if (!fs->writable && !vblk_read_only(d))
			kprintf("ext2 %s: mounted read-only: %s\n", vblk_mount(d),
				read_only_reason(fs, le32(fs->sb + 76)));
		*last = fs;
		last = &fs->next;
	}
}

const char *ext2_mounted(unsigned i, unsigned *disk, bool *writable)
{
	struct ext2 *fs = mounted;

	while (fs && i--)
		fs = fs->next;
	if (!fs)
		return NULL;
	*disk = fs->index;
	*writable = fs->writable;
	return vblk_mount(fs->disk);
}
