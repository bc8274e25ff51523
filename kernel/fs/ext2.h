/* ext2.h: what the parts of the ext2 driver share (ext2.c mounts and
 * fills the tree, ext2_alloc.c allocates blocks and inodes, ext2_inode.c
 * maps and writes file data and inodes, ext2_dir.c edits directories).
 *
 * Layout (the ext2 spec, "The Second Extended File System"): superblock at
 * byte 1024, group descriptors in the block after it, per group a block
 * bitmap, an inode bitmap and an inode table; block maps with 12 direct
 * pointers and single, double and triple indirect ones. */
#ifndef FS_EXT2_H
#define FS_EXT2_H

#include "kernel.h"
#include "fs/bcache.h"

struct inode;
struct vblk;

#define EXT2_DIRECT 12
#define EXT2_NODE_BUCKETS 256

struct ext2 {
	struct vblk *disk;
	struct bcache *cache;
	uint32_t block_size, blocks, inodes, inodes_per_group, blocks_per_group;
	uint32_t inode_size, groups, first_data, first_ino, gdt_blocks;
	bool large_files, filetype, writable;
	bool in_use;               /* marked so on the disk: changes began */
	uint8_t *sb;               /* the superblock as on disk (1024 bytes) */
	uint8_t *gdt;              /* the group descriptors as on disk */
	bool gdt_dirty;            /* group counts changed since the last sync */
	/* Blocks that dirty file data will need at write-back (ext2_inode.c):
	 * counted against the free blocks so that write() gets ENOSPC, not a
	 * later fsync. */
	uint64_t pending;
	struct ext2_node *dirty;   /* nodes with unwritten data or attributes */
	struct ext2_node *queued;  /* nodes whose data is queued (ext2_node_queue), not sent */
	uint64_t dirty_since;      /* monotonic ns: when the list last became non-empty */
	struct ext2_node *nodes[EXT2_NODE_BUCKETS];  /* by inode number */
	unsigned index;            /* of the disk: /dev/vda is 0 */
	struct ext2 *next;         /* all mounted file systems */
};

/* What a tmpfs inode of a mounted tree stands for. */
struct ext2_node {
	struct ext2 *fs;
	struct inode *in;
	uint32_t ino;
	uint32_t links;            /* on disk: may count names not yet listed */
	uint32_t blocks_512;       /* i_blocks */
	uint32_t flags;            /* i_flags */
	uint32_t block[15];
	uint64_t dir_size;         /* directories: i_size */
	bool listed;               /* directories: entries in the tree */
	bool attrs_dirty, on_dirty_list;
	bool map_dirty;            /* size, links or block map: fdatasync writes them */
	uint64_t *dirty;           /* regular files: blocks with unwritten data */
	uint64_t dirty_bits;       /* capacity of dirty, in blocks */
	uint64_t pending;          /* dirty blocks not allocated yet (its share of fs->pending) */
	bool queued;               /* on fs->queued */
	struct ext2_node *hnext, *dnext, *qnext;
};

static inline uint32_t le32(const uint8_t *p)
{
	return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline uint16_t le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static inline void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v, p[1] = (uint8_t)(v >> 8), p[2] = (uint8_t)(v >> 16), p[3] = (uint8_t)(v >> 24);
}

static inline void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v, p[1] = (uint8_t)(v >> 8);
}

static inline uint8_t *ext2_gd(struct ext2 *fs, uint32_t group)
{
	return fs->gdt + group * 32;
}

/* Whether a block number read from the disk can be a data block. */
static inline bool ext2_valid_block(const struct ext2 *fs, uint32_t blk)
{
	return blk > fs->first_data && blk < fs->blocks;
}

/* ---- ext2_alloc.c ---- */
/* A free block, preferably goal or after it; 0 when the disk is full. */
uint32_t ext2_alloc_block(struct ext2 *fs, uint32_t goal, int *err);
int ext2_free_block(struct ext2 *fs, uint32_t blk);
/* A free inode number near the group of dir_ino; 0 when none is left. */
uint32_t ext2_alloc_inode(struct ext2 *fs, uint32_t dir_ino, bool is_dir, int *err);
int ext2_free_inode(struct ext2 *fs, uint32_t ino, bool is_dir);
uint64_t ext2_free_blocks(const struct ext2 *fs);
uint32_t ext2_free_inodes(const struct ext2 *fs);

/* ---- ext2_inode.c ---- */
/* Zeroes a newly allocated metadata block in the cache, and on the disk
 * at once: the disk must never hold a pointer to its old contents. */
int ext2_fresh_block(struct ext2 *fs, uint32_t blk, enum bcache_pass pass);
/* The on-disk inode record of ino in the block cache. */
uint8_t *ext2_inode_raw(struct ext2 *fs, uint32_t ino, uint32_t *blk, int *err);
/* The disk block of file block fblk, allocating it (and indirect blocks)
 * if alloc; *out is 0 for a hole. */
int ext2_bmap(struct ext2_node *n, uint64_t fblk, bool alloc, uint32_t *out);
/* Frees every block of the file from block keep on. */
int ext2_free_from(struct ext2_node *n, uint64_t keep);
/* Puts n on the list of nodes the next sync writes: its record changed
 * in what reading its data depends on (size, block map, links). */
void ext2_node_dirty(struct ext2_node *n);
/* The same for a change fdatasync may leave for later (times, mode,
 * owner). */
void ext2_node_touch(struct ext2_node *n);
/* The data queued by ext2_node_queue is on the disk (vblk_wait returned):
 * its blocks are clean now. */
void ext2_data_sent(struct ext2 *fs);
/* Writes n's data and then its inode record into the cache. */
int ext2_node_write(struct ext2_node *n);
/* The same, but n's data is only queued (vblk_queue): the caller sends it
 * before any metadata. With datasync, a record whose only changes are
 * times, mode or owner stays dirty. */
int ext2_node_queue(struct ext2_node *n, bool datasync);
/* Reads file pages [first, first + count), none of them in memory, into
 * the node's inode (the read_pages hook). */
int ext2_read_pages(struct ext2_node *n, uint64_t first, uint64_t count);
/* Marks [off, off+len) of a regular file to be written; -ENOSPC if the
 * disk could not take it. */
int ext2_data_dirty(struct ext2_node *n, uint64_t off, uint64_t len);
/* Reads [off, off + len), whole blocks, straight into a program's buffer
 * (faulted in for writing), not through the file's pages. */
int ext2_read_direct(struct ext2_node *n, uint64_t off, void *buf, size_t len);
/* Whether a file page holds dirty blocks (the page_dirty hook). */
bool ext2_page_dirty(struct ext2_node *n, uint64_t page);
/* Forgets unwritten data from block keep on (truncate). */
void ext2_data_drop(struct ext2_node *n, uint64_t keep);
/* Frees an inode without names and its blocks on the disk. */
int ext2_inode_delete(struct ext2_node *n);
/* Fills a fresh on-disk inode record. */
int ext2_inode_init(struct ext2 *fs, uint32_t ino, unsigned mode);

/* ---- ext2_dir.c ---- */
/* Adds name -> ino to directory dir; type is the S_IFMT of ino. */
int ext2_dir_add(struct ext2_node *dir, const char *name, size_t len, uint32_t ino,
		 unsigned type);
int ext2_dir_remove(struct ext2_node *dir, const char *name, size_t len);
/* Points an existing name at ino (rename over a name). */
int ext2_dir_set(struct ext2_node *dir, const char *name, size_t len, uint32_t ino,
		 unsigned type);
/* The first block of a new directory: "." and "..". */
int ext2_dir_init(struct ext2_node *dir, uint32_t parent_ino);
/* Calls fn for each entry (name, ino) of the directory; stops at an error. */
int ext2_dir_each(struct ext2_node *dir,
		  int (*fn)(struct ext2_node *dir, const char *name, size_t len, uint32_t ino));

#endif
