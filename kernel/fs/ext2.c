/* ext2.c: ext2 file systems on the virtio disks, mounted read-only.
 *
 * The mounted tree lives in tmpfs like everything else, filled from the
 * disk as it is used: a directory reads its entries at the first lookup or
 * listing (the tmpfs refresh hook), a regular file its data at the first
 * open or exec (inode->load). Every inode is read_only, so nothing in the
 * tree can change. Everything read from the disk is checked before use: a
 * corrupt file system gives EIO, never a kernel fault.
 *
 * Layout (the ext2 spec, "The Second Extended File System"): superblock at
 * byte 1024, group descriptors in the block after it, inode tables, block
 * maps with 12 direct pointers and single, double and triple indirect ones.
 */
#include <linux/limits.h>
#include <linux/stat.h>
#include "drivers/virtio_blk.h"
#include "fs/vfs.h"
#include "lib/string.h"
#include "mm/kmalloc.h"

#define SB_OFFSET 1024
#define SB_MAGIC 0xef53
#define ROOT_INO 2
#define GD_SIZE 32
#define DIRECT_BLOCKS 12
#define INODE_MIN 128
#define FILE_MAX (1ull << 32)   /* loaded whole into memory: keep it sane */
#define RUN_MAX (256 * 1024)    /* bytes per disk request when loading */

struct ext2 {
	struct vblk *disk;
	uint32_t block_size, blocks, inodes, inodes_per_group, inode_size, groups;
	bool large_files;
	uint8_t *gdt;               /* the group descriptors */
	/* The inode-table block read last: a directory's entries are mostly
	 * neighbours in it, and nothing on a read-only mount changes it. */
	uint32_t itable_blk;        /* 0: none yet (block 0 is never a table) */
	uint8_t *itable;
};

/* What a tmpfs inode of the mounted tree stands for. */
struct ext2_node {
	struct ext2 *fs;
	uint32_t ino;
	bool listed;                /* directories: entries already read */
};

/* The fields of an on-disk inode that wisp uses. */
struct ext2_inode {
	uint16_t mode;
	uint32_t uid, gid;
	uint64_t size;
	uint32_t atime, mtime, ctime;
	uint32_t blocks_512;        /* i_blocks: 0 for a fast symlink */
	uint32_t block[15];
	uint8_t raw_block[60];      /* i_block as bytes (fast symlink target) */
};

static uint32_t le32(const uint8_t *p)
{
	return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint16_t le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static int read_blocks(struct ext2 *fs, uint32_t blk, uint32_t n, void *buf)
{
	uint32_t per = fs->block_size / VBLK_SECTOR;

	if (blk >= fs->blocks || n > fs->blocks - blk)
		return -EIO;
	return vblk_rw(fs->disk, (uint64_t)blk * per, buf, n * per, false) ? -EIO : 0;
}

static int read_inode(struct ext2 *fs, uint32_t ino, struct ext2_inode *out)
{
	uint32_t group, index, blk;
	uint64_t byte;
	uint8_t *raw;
	int err;

	if (ino < 1 || ino > fs->inodes)
		return -EIO;
	group = (ino - 1) / fs->inodes_per_group;
	index = (ino - 1) % fs->inodes_per_group;
	if (group >= fs->groups)
		return -EIO;
	byte = (uint64_t)index * fs->inode_size;
	blk = le32(fs->gdt + group * GD_SIZE + 8) + (uint32_t)(byte / fs->block_size);
	if (!fs->itable && !(fs->itable = kmalloc(fs->block_size)))
		return -ENOMEM;
	if (blk != fs->itable_blk) {
		fs->itable_blk = 0;
		if ((err = read_blocks(fs, blk, 1, fs->itable)))
			return err;
		fs->itable_blk = blk;
	}
	raw = fs->itable + byte % fs->block_size;
	out->mode = le16(raw);
	out->uid = le16(raw + 2) | (uint32_t)le16(raw + 120) << 16;
	out->gid = le16(raw + 24) | (uint32_t)le16(raw + 122) << 16;
	out->size = le32(raw + 4);
	if (S_ISREG(out->mode) && fs->large_files)
		out->size |= (uint64_t)le32(raw + 108) << 32;
	out->atime = le32(raw + 8);
	out->ctime = le32(raw + 12);
	out->mtime = le32(raw + 16);
	out->blocks_512 = le32(raw + 28);
	memcpy(out->raw_block, raw + 40, sizeof(out->raw_block));
	for (int i = 0; i < 15; i++)
		out->block[i] = le32(raw + 40 + 4 * i);
	return 0;
}

/* Reading a file: consecutive disk blocks go out as one request. */
struct reader {
	struct ext2 *fs;
	uint8_t *dst;               /* the file's buffer */
	uint64_t done, want;        /* bytes placed, bytes wanted (rounded up) */
	uint32_t run_start, run_len;/* pending run of disk blocks */
	uint8_t *run_dst;
};

static int flush_run(struct reader *r)
{
	int err = r->run_len ? read_blocks(r->fs, r->run_start, r->run_len, r->run_dst) : 0;

	r->run_len = 0;
	return err;
}

static int add_block(struct reader *r, uint32_t blk)
{
	uint8_t *at = r->dst + r->done;
	int err = 0;

	if (!blk) {             /* a hole reads as zeros */
		err = flush_run(r);
		memset(at, 0, r->fs->block_size);
	} else if (r->run_len && blk == r->run_start + r->run_len &&
		   (r->run_len + 1) * r->fs->block_size <= RUN_MAX) {
		r->run_len++;
	} else {
		err = flush_run(r);
		r->run_start = blk;
		r->run_len = 1;
		r->run_dst = at;
	}
	r->done += r->fs->block_size;
	return err;
}

/* The blocks under pointer blk, depth levels of indirection down. */
static int walk(struct reader *r, uint32_t blk, int depth)
{
	uint32_t per = r->fs->block_size / 4;
	uint8_t *ptrs;
	int err = 0;

	if (depth == 0)
		return add_block(r, blk);
	if (!blk) {
		uint64_t span = r->fs->block_size;

		for (int i = 0; i < depth; i++)
			span *= per;
		while (span && r->done < r->want && !err) {
			err = add_block(r, 0);
			span -= r->fs->block_size;
		}
		return err;
	}
	if (!(ptrs = kmalloc(r->fs->block_size)))
		return -ENOMEM;
	err = read_blocks(r->fs, blk, 1, ptrs);
	for (uint32_t i = 0; i < per && r->done < r->want && !err; i++)
		err = walk(r, le32(ptrs + 4 * i), depth - 1);
	kfree(ptrs);
	return err;
}

/* Reads the whole of an inode's data into a new buffer (rounded up to a
 * block, zero-padded). */
static int read_data(struct ext2 *fs, const struct ext2_inode *in, uint8_t **out)
{
	struct reader r = { .fs = fs };
	int err = 0;

	if (in->size > FILE_MAX)
		return -EFBIG;
	r.want = ALIGN_UP(in->size, fs->block_size);
	if (!(r.dst = kmalloc(r.want ? r.want : 1)))
		return -ENOMEM;
	for (int i = 0; i < DIRECT_BLOCKS && r.done < r.want && !err; i++)
		err = add_block(&r, in->block[i]);
	for (int depth = 1; depth <= 3 && r.done < r.want && !err; depth++)
		err = walk(&r, in->block[DIRECT_BLOCKS + depth - 1], depth);
	if (!err)
		err = flush_run(&r);
	if (err) {
		kfree(r.dst);
		return err;
	}
	*out = r.dst;
	return 0;
}

static int load_file(struct inode *in)
{
	struct ext2_node *n = in->priv;
	struct ext2_inode raw;
	uint8_t *data;
	int err = read_inode(n->fs, n->ino, &raw);

	if (!err)
		err = read_data(n->fs, &raw, &data);
	if (err)
		return err;
	in->data = (char *)data;
	in->capacity = ALIGN_UP(raw.size, n->fs->block_size);
	return 0;
}

static void set_attrs(struct inode *in, const struct ext2_inode *raw)
{
	in->mode = (in->mode & S_IFMT) | (raw->mode & 07777);
	in->uid = raw->uid;
	in->gid = raw->gid;
	in->atime_ns = (int64_t)raw->atime * 1000000000;
	in->mtime_ns = (int64_t)raw->mtime * 1000000000;
	in->ctime_ns = (int64_t)raw->ctime * 1000000000;
}

static void list_dir(struct inode *dir);

static int make_symlink(struct ext2 *fs, struct inode *dir, const char *name, size_t len,
			const struct ext2_inode *raw, struct inode **out)
{
	uint8_t *data = NULL;
	int err;

	if (raw->size >= PATH_MAX)
		return -EIO;
	if (raw->blocks_512 == 0 && raw->size <= sizeof(raw->raw_block))
		return tmpfs_symlink(dir, name, len, (const char *)raw->raw_block, raw->size, out);
	if ((err = read_data(fs, raw, &data)))
		return err;
	err = tmpfs_symlink(dir, name, len, (const char *)data, raw->size, out);
	kfree(data);
	return err;
}

/* One directory entry, as a tmpfs node. */
static int add_entry(struct ext2 *fs, struct inode *dir, uint32_t ino, const char *name,
		     size_t len)
{
	struct ext2_inode raw;
	struct ext2_node *n;
	struct inode *in;
	int err = read_inode(fs, ino, &raw);

	if (err)
		return err;
	if (S_ISLNK(raw.mode))
		err = make_symlink(fs, dir, name, len, &raw, &in);
	else if (S_ISDIR(raw.mode) || S_ISREG(raw.mode))
		err = tmpfs_mknod(dir, name, len, raw.mode & S_IFMT, &in);
	else
		return 0;  /* devices, fifos, sockets: wisp has no use for them */
	if (err)
		return err;
	set_attrs(in, &raw);
	in->read_only = true;
	if (S_ISLNK(raw.mode))
		return 0;
	if (!(n = kzalloc(sizeof(*n))))
		return -ENOMEM;
	*n = (struct ext2_node){ .fs = fs, .ino = ino };
	in->priv = n;
	if (S_ISDIR(raw.mode))
		in->refresh = list_dir;
	else {
		in->size = raw.size;
		in->load = load_file;
	}
	return 0;
}

static int read_entries(struct ext2 *fs, struct inode *dir, uint32_t ino)
{
	struct ext2_inode raw;
	uint8_t *data;
	uint64_t off = 0;
	int err = read_inode(fs, ino, &raw);

	if (!err && !S_ISDIR(raw.mode))
		err = -EIO;
	if (err || (err = read_data(fs, &raw, &data)))
		return err;
	while (off + 8 <= raw.size && !err) {
		uint8_t *e = data + off;
		uint32_t child = le32(e);
		uint16_t rec_len = le16(e + 4);
		uint8_t name_len = e[6];

		if (rec_len < 8 || rec_len % 4 || off + rec_len > raw.size || 8u + name_len > rec_len) {
			err = -EIO;
			break;
		}
		if (child && name_len && !(name_len <= 2 && !memcmp(e + 8, "..", name_len)))
			err = add_entry(fs, dir, child, (const char *)e + 8, name_len);
		off += rec_len;
	}
	kfree(data);
	return err;
}

/* The tmpfs refresh hook: reads a directory's entries, once. */
static void list_dir(struct inode *dir)
{
	struct ext2_node *n = dir->priv;
	int err;

	if (n->listed)
		return;
	n->listed = true;
	dir->read_only = false;  /* only while its entries go in */
	err = read_entries(n->fs, dir, n->ino);
	dir->read_only = true;
	if (err)
		kprintf("ext2 %s: directory inode %u: %s\n", vblk_mount(n->fs->disk), n->ino,
			err == -ENOMEM ? "out of memory" : "unreadable (corrupt file system?)");
}

static const char *read_super(struct ext2 *fs)
{
	uint8_t *sb = kmalloc(1024);
	uint32_t log, first_data, per_group, rev, gdt_blocks;
	const char *why = NULL;

	if (!sb)
		return "out of memory";
	if (vblk_rw(fs->disk, SB_OFFSET / VBLK_SECTOR, sb, 1024 / VBLK_SECTOR, false)) {
		kfree(sb);
		return "cannot read the superblock";
	}
	fs->inodes = le32(sb);
	fs->blocks = le32(sb + 4);
	first_data = le32(sb + 20);
	log = le32(sb + 24);
	per_group = le32(sb + 32);
	fs->inodes_per_group = le32(sb + 40);
	rev = le32(sb + 76);
	fs->inode_size = rev ? le16(sb + 88) : INODE_MIN;
	fs->large_files = rev && (le32(sb + 100) & 0x2);
	if (le16(sb + 56) != SB_MAGIC)
		why = "not an ext2 file system";
	else if (log > 6 || !per_group || !fs->inodes_per_group || fs->blocks <= first_data)
		why = "corrupt superblock";
	else if (rev && (le32(sb + 96) & ~0x2u))
		why = "uses features wisp does not support";
	kfree(sb);
	if (why)
		return why;
	fs->block_size = 1024u << log;
	if (fs->inode_size < INODE_MIN || fs->inode_size > fs->block_size ||
	    fs->inode_size & (fs->inode_size - 1))
		return "corrupt superblock (inode size)";
	if ((uint64_t)fs->blocks * fs->block_size > vblk_sectors(fs->disk) * VBLK_SECTOR)
		return "the file system is larger than its disk";
	fs->groups = (fs->blocks - first_data + per_group - 1) / per_group;
	gdt_blocks = (fs->groups * GD_SIZE + fs->block_size - 1) / fs->block_size;
	if (!(fs->gdt = kmalloc((size_t)gdt_blocks * fs->block_size)))
		return "out of memory";
	if (read_blocks(fs, first_data + 1, gdt_blocks, fs->gdt))
		return "cannot read the group descriptors";
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

static const char *mount(struct vblk *d)
{
	struct ext2 *fs = kzalloc(sizeof(*fs));
	struct ext2_node *root = kzalloc(sizeof(*root));
	struct ext2_inode raw;
	struct inode *dir;
	const char *why;

	if (!fs || !root)
		return "out of memory";
	fs->disk = d;
	if ((why = read_super(fs)))
		return why;
	if (read_inode(fs, ROOT_INO, &raw) || !S_ISDIR(raw.mode))
		return "its root directory is unreadable";
	if (!(dir = mount_point(vblk_mount(d), &why)))
		return why;
	*root = (struct ext2_node){ .fs = fs, .ino = ROOT_INO };
	set_attrs(dir, &raw);
	dir->priv = root;
	dir->refresh = list_dir;
	dir->read_only = true;
	return NULL;
}

void ext2_mount_all(void)
{
	struct vblk *d;

	for (unsigned i = 0; (d = vblk_get(i)); i++) {
		const char *why = mount(d);

		if (why)
			kprintf("ext2 %s: not mounted: %s\n", vblk_mount(d), why);
		else if (!vblk_read_only(d))
			kprintf("ext2 %s: mounted read-only: writing to ext2 is not supported yet\n",
				vblk_mount(d));
	}
}
