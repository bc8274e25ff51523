/* bcache.h: a disk's metadata blocks (bitmaps, inode tables, directories,
 * indirect blocks), cached and written back in block order on a flush. */
#ifndef FS_BCACHE_H
#define FS_BCACHE_H

#include "kernel.h"

struct vblk;
struct bcache;

struct bcache *bcache_new(struct vblk *disk, uint32_t block_size);
/* Block blk's cached contents, read from the disk the first time; fresh
 * means a newly allocated block whose old contents do not matter (it
 * starts zeroed). NULL with *err set on an I/O error or out of memory.
 * Pointers stay valid until bcache_trim. */
uint8_t *bcache_get(struct bcache *c, uint32_t blk, bool fresh, int *err);
/* A flush writes the dirty blocks pass by pass: for ext2, the allocation
 * bitmaps (which need no order: they go out with the file data), indirect
 * blocks, then inodes, then the names that lead to them, so that a crash
 * in the middle never leaves a name before its inode or a size or pointer
 * before the data it covers. */
enum bcache_pass { BCACHE_BITMAPS, BCACHE_MAPS, BCACHE_INODES, BCACHE_NAMES, BCACHE_PASSES };
/* Marks a block got with bcache_get as changed. */
void bcache_dirty(struct bcache *c, uint32_t blk, enum bcache_pass pass);
/* Writes blk now if it is dirty: an ordering point (rename). */
int bcache_write(struct bcache *c, uint32_t blk);
/* Writes every dirty block, pass by pass (each waited for before the
 * next), lowest first, neighbours as one request. */
int bcache_flush(struct bcache *c);
/* Queues the dirty blocks of one pass (vblk_queue) without waiting: the
 * caller adds its own writes to the batch and calls vblk_wait. */
int bcache_queue(struct bcache *c, enum bcache_pass pass);
/* Drops a freed block without writing it: it may hold file data next. */
void bcache_forget(struct bcache *c, uint32_t blk);
/* Drops clean blocks while the cache is over its size; callers hold no
 * pointers from bcache_get across it. */
void bcache_trim(struct bcache *c);

#endif
