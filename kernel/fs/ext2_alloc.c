/* ext2_alloc.c: block and inode allocation in the per-group bitmaps.
 *
 * Every allocation updates the bitmap (in the block cache), the group's
 * free count and the superblock's, so that a flush leaves counts that
 * e2fsck agrees with. */
#include "fs/bcache.h"
#include "fs/ext2.h"

#define GD_BLOCK_BITMAP 0
#define GD_INODE_BITMAP 4
#define GD_FREE_BLOCKS 12
#define GD_FREE_INODES 14
#define GD_USED_DIRS 16
#define SB_FREE_BLOCKS 12
#define SB_FREE_INODES 16

uint64_t ext2_free_blocks(const struct ext2 *fs)
{
	return le32(fs->sb + SB_FREE_BLOCKS);
}

uint32_t ext2_free_inodes(const struct ext2 *fs)
{
	return le32(fs->sb + SB_FREE_INODES);
}

/* Adds delta to a 16-bit group counter and the matching superblock one. */
static void count(struct ext2 *fs, uint32_t group, int gd_off, int sb_off, int delta)
{
	uint8_t *gd = ext2_gd(fs, group);

	put16(gd + gd_off, (uint16_t)(le16(gd + gd_off) + delta));
	if (sb_off >= 0)
		put32(fs->sb + sb_off, le32(fs->sb + sb_off) + (uint32_t)delta);
	fs->gdt_dirty = true;
}

static uint8_t *bitmap(struct ext2 *fs, uint32_t group, int gd_off, uint32_t *blk, int *err)
{
	*blk = le32(ext2_gd(fs, group) + gd_off);
	if (!ext2_valid_block(fs, *blk)) {
		*err = -EIO;
		return NULL;
	}
	return bcache_get(fs->cache, *blk, false, err);
}

/* The first clear bit in [from, n) of map, or n. */
static uint32_t find_clear(const uint8_t *map, uint32_t from, uint32_t n)
{
	for (uint32_t i = from; i < n; i++) {
		if (!(i & 7) && map[i / 8] == 0xff) {
			i += 7;
			continue;
		}
		if (!(map[i / 8] & (1u << (i & 7))))
			return i;
	}
	return n;
}

/* Takes a clear bit in [lo, n) of a group's bitmap, looking from from
 * on first; -1 if none. */
static int64_t take_bit(struct ext2 *fs, uint32_t group, int gd_off, uint32_t lo,
			uint32_t from, uint32_t n, int *err)
{
	uint32_t blk, bit;
	uint8_t *map = bitmap(fs, group, gd_off, &blk, err);

	if (!map)
		return -1;
	if ((bit = find_clear(map, from, n)) == n && (bit = find_clear(map, lo, from)) == from)
		return -1;
	map[bit / 8] |= (uint8_t)(1u << (bit & 7));
	bcache_dirty(fs->cache, blk, BCACHE_BITMAPS);
	return bit;
}

/* Blocks in group g (the last group may be short). */
static uint32_t group_blocks(const struct ext2 *fs, uint32_t g)
{
	uint32_t start = fs->first_data + g * fs->blocks_per_group;

	return MIN(fs->blocks_per_group, fs->blocks - start);
}

uint32_t ext2_alloc_block(struct ext2 *fs, uint32_t goal, int *err)
{
	uint32_t g0 = 0, from = 0;

	*err = 0;
	if (ext2_valid_block(fs, goal)) {
		g0 = (goal - fs->first_data) / fs->blocks_per_group;
		from = (goal - fs->first_data) % fs->blocks_per_group;
	}
	for (uint32_t i = 0; i < fs->groups; i++, from = 0) {
		uint32_t g = (g0 + i) % fs->groups;
		int64_t bit;

		if (!le16(ext2_gd(fs, g) + GD_FREE_BLOCKS))
			continue;
		bit = take_bit(fs, g, GD_BLOCK_BITMAP, 0, from, group_blocks(fs, g), err);
		if (*err)
			return 0;
		if (bit < 0)
			continue;  /* the counter was wrong: look on */
		count(fs, g, GD_FREE_BLOCKS, SB_FREE_BLOCKS, -1);
		return fs->first_data + g * fs->blocks_per_group + (uint32_t)bit;
	}
	*err = -ENOSPC;
	return 0;
}

/* Clears a bit that must be set; a clear one means a corrupt disk. */
static int clear_bit(struct ext2 *fs, uint32_t group, int gd_off, uint32_t bit)
{
	uint32_t blk;
	int err = 0;
	uint8_t *map = bitmap(fs, group, gd_off, &blk, &err);

	if (!map)
		return err;
	if (!(map[bit / 8] & (1u << (bit & 7))))
		return -EIO;
	map[bit / 8] &= (uint8_t)~(1u << (bit & 7));
	bcache_dirty(fs->cache, blk, BCACHE_BITMAPS);
	return 0;
}

int ext2_free_block(struct ext2 *fs, uint32_t blk)
{
	uint32_t g, bit;
	int err;

	if (!ext2_valid_block(fs, blk))
		return -EIO;
	g = (blk - fs->first_data) / fs->blocks_per_group;
	bit = (blk - fs->first_data) % fs->blocks_per_group;
	bcache_forget(fs->cache, blk);
	if ((err = clear_bit(fs, g, GD_BLOCK_BITMAP, bit)))
		return err;
	count(fs, g, GD_FREE_BLOCKS, SB_FREE_BLOCKS, 1);
	return 0;
}

uint32_t ext2_alloc_inode(struct ext2 *fs, uint32_t dir_ino, bool is_dir, int *err)
{
	uint32_t g0 = (dir_ino - 1) / fs->inodes_per_group;

	*err = 0;
	for (uint32_t i = 0; i < fs->groups; i++) {
		uint32_t g = (g0 + i) % fs->groups;
		uint32_t from = g ? 0 : fs->first_ino - 1;  /* the reserved inodes */
		int64_t bit;

		if (!le16(ext2_gd(fs, g) + GD_FREE_INODES))
			continue;
		bit = take_bit(fs, g, GD_INODE_BITMAP, from, from, fs->inodes_per_group, err);
		if (*err)
			return 0;
		if (bit < 0)
			continue;
		count(fs, g, GD_FREE_INODES, SB_FREE_INODES, -1);
		if (is_dir)
			count(fs, g, GD_USED_DIRS, -1, 1);
		return g * fs->inodes_per_group + (uint32_t)bit + 1;
	}
	*err = -ENOSPC;
	return 0;
}

int ext2_free_inode(struct ext2 *fs, uint32_t ino, bool is_dir)
{
	uint32_t g = (ino - 1) / fs->inodes_per_group;
	int err;

	if (ino < fs->first_ino || ino > fs->inodes)
		return -EIO;
	if ((err = clear_bit(fs, g, GD_INODE_BITMAP, (ino - 1) % fs->inodes_per_group)))
		return err;
	count(fs, g, GD_FREE_INODES, SB_FREE_INODES, 1);
	if (is_dir)
		count(fs, g, GD_USED_DIRS, -1, -1);
	return 0;
}
