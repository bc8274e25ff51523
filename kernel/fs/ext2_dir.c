/* ext2_dir.c: directory blocks: linked lists of entries (inode, rec_len,
 * name_len, file type, name) that never cross a block. Every block is
 * checked before use, so a corrupt directory gives EIO. Directory blocks
 * go through the block cache like all metadata. */
#include <linux/stat.h>
#include "fs/bcache.h"
#include "fs/ext2.h"
#include "lib/string.h"

#define INDEX_FL 0x1000   /* hashed-tree index, which wisp does not keep */

static unsigned entry_size(size_t name_len)
{
	return 8 + (unsigned)ALIGN_UP(name_len, 4);
}

static uint8_t file_type(unsigned mode)
{
	switch (mode & S_IFMT) {
	case S_IFREG: return 1;
	case S_IFDIR: return 2;
	case S_IFCHR: return 3;
	case S_IFBLK: return 4;
	case S_IFIFO: return 5;
	case S_IFSOCK: return 6;
	case S_IFLNK: return 7;
	default: return 0;
	}
}

static bool block_valid(const struct ext2 *fs, const uint8_t *b)
{
	uint32_t off = 0;

	while (off < fs->block_size) {
		uint16_t rec = le16(b + off + 4);

		if (off + 8 > fs->block_size || rec < 8 || rec % 4 ||
		    off + rec > fs->block_size || 8u + b[off + 6] > rec)
			return false;
		off += rec;
	}
	return true;
}

/* Directory block fblk, checked; *blk gets its disk block. */
static uint8_t *dir_block(struct ext2_node *dir, uint64_t fblk, uint32_t *blk, int *err)
{
	uint8_t *b;

	if ((*err = ext2_bmap(dir, fblk, false, blk)))
		return NULL;
	if (!*blk || !(b = bcache_get(dir->fs->cache, *blk, false, err))) {
		*err = *err ? *err : -EIO;  /* directories have no holes */
		return NULL;
	}
	if (!block_valid(dir->fs, b)) {
		*err = -EIO;
		return NULL;
	}
	return b;
}

static uint64_t dir_blocks(const struct ext2_node *dir)
{
	return dir->dir_size / dir->fs->block_size;
}

/* Where a name is: its block, its entry and the entry before it in the
 * block (or NULL). */
struct place {
	uint32_t blk;
	uint8_t *entry, *prev;
};

static bool same_name(const uint8_t *e, const char *name, size_t len)
{
	return le32(e) && e[6] == len && !memcmp(e + 8, name, len);
}

static int find(struct ext2_node *dir, const char *name, size_t len, struct place *p)
{
	int err;

	for (uint64_t f = 0; f < dir_blocks(dir); f++) {
		uint8_t *b = dir_block(dir, f, &p->blk, &err), *prev = NULL;

		if (!b)
			return err;
		for (uint32_t off = 0; off < dir->fs->block_size; off += le16(b + off + 4)) {
			if (same_name(b + off, name, len)) {
				p->entry = b + off;
				p->prev = prev;
				return 0;
			}
			prev = b + off;
		}
	}
	return -EIO;  /* tmpfs has the name: the disk must have it too */
}

static void changed(struct ext2_node *dir, uint32_t blk)
{
	bcache_dirty(dir->fs->cache, blk, BCACHE_NAMES);
	if (dir->flags & INDEX_FL) {
		dir->flags &= ~INDEX_FL;
		ext2_node_dirty(dir);
	}
	ext2_node_touch(dir);  /* its times; a new block dirtied its map already */
}

static void fill(struct ext2 *fs, uint8_t *e, uint32_t ino, const char *name, size_t len,
		 unsigned type, uint16_t rec_len)
{
	put32(e, ino);
	put16(e + 4, rec_len);
	e[6] = (uint8_t)len;
	e[7] = fs->filetype ? file_type(type) : 0;
	memcpy(e + 8, name, len);
}

/* Puts the entry in the slack of an entry of block b, if one has room. */
static bool add_in_block(struct ext2 *fs, uint8_t *b, uint32_t ino, const char *name,
			 size_t len, unsigned type)
{
	unsigned need = entry_size(len);

	for (uint32_t off = 0; off < fs->block_size; off += le16(b + off + 4)) {
		uint8_t *e = b + off;
		uint16_t rec = le16(e + 4);
		unsigned used = le32(e) ? entry_size(e[6]) : 0;

		if (rec - used < need)
			continue;
		if (used) {
			put16(e + 4, (uint16_t)used);
			e += used;
		}
		fill(fs, e, ino, name, len, type, (uint16_t)(rec - used));
		return true;
	}
	return false;
}

int ext2_dir_add(struct ext2_node *dir, const char *name, size_t len, uint32_t ino,
		 unsigned type)
{
	struct ext2 *fs = dir->fs;
	uint64_t f;
	uint32_t blk;
	uint8_t *b;
	int err;

	for (f = 0; f < dir_blocks(dir); f++) {
		if (!(b = dir_block(dir, f, &blk, &err)))
			return err;
		if (add_in_block(fs, b, ino, name, len, type)) {
			changed(dir, blk);
			return 0;
		}
	}
	/* No room: one more block, on the disk first as a valid empty one
	 * (the inode may point at it before this entry is written). */
	if ((err = ext2_bmap(dir, f, true, &blk)))
		return err;
	if (!(b = bcache_get(fs->cache, blk, true, &err)))
		return err;
	put16(b + 4, (uint16_t)fs->block_size);
	bcache_dirty(fs->cache, blk, BCACHE_NAMES);
	if ((err = bcache_write(fs->cache, blk)))
		return err;
	fill(fs, b, ino, name, len, type, (uint16_t)fs->block_size);
	dir->dir_size += fs->block_size;
	changed(dir, blk);
	return 0;
}

int ext2_dir_remove(struct ext2_node *dir, const char *name, size_t len)
{
	struct place p;
	int err = find(dir, name, len, &p);

	if (err)
		return err;
	if (p.prev)
		put16(p.prev + 4, (uint16_t)(le16(p.prev + 4) + le16(p.entry + 4)));
	else
		put32(p.entry, 0);
	changed(dir, p.blk);
	return 0;
}

int ext2_dir_set(struct ext2_node *dir, const char *name, size_t len, uint32_t ino,
		 unsigned type)
{
	struct place p;
	int err = find(dir, name, len, &p);

	if (err)
		return err;
	put32(p.entry, ino);
	p.entry[7] = dir->fs->filetype ? file_type(type) : 0;
	changed(dir, p.blk);
	return 0;
}

int ext2_dir_init(struct ext2_node *dir, uint32_t parent_ino)
{
	struct ext2 *fs = dir->fs;
	uint32_t blk;
	uint8_t *b;
	int err;

	if ((err = ext2_bmap(dir, 0, true, &blk)))
		return err;
	if (!(b = bcache_get(fs->cache, blk, true, &err)))
		return err;
	fill(fs, b, dir->ino, ".", 1, S_IFDIR, 12);
	fill(fs, b + 12, parent_ino, "..", 2, S_IFDIR, (uint16_t)(fs->block_size - 12));
	dir->dir_size = fs->block_size;
	changed(dir, blk);
	return bcache_write(fs->cache, blk);  /* before the inode can point at it */
}

int ext2_dir_each(struct ext2_node *dir,
		  int (*fn)(struct ext2_node *dir, const char *name, size_t len, uint32_t ino))
{
	uint32_t blk;
	int err = 0;

	for (uint64_t f = 0; f < dir_blocks(dir) && !err; f++) {
		uint8_t *b = dir_block(dir, f, &blk, &err);

		for (uint32_t off = 0; b && !err && off < dir->fs->block_size;
		     off += le16(b + off + 4)) {
			const uint8_t *e = b + off;
			size_t len = e[6];

			if (le32(e) && len && !(len <= 2 && !memcmp(e + 8, "..", len)))
				err = fn(dir, (const char *)e + 8, len, le32(e));
		}
	}
	return err;
}
