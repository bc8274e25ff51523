/* imgcache.h: packed images kept under $XDG_CACHE_HOME/wisp, so that `wisp run
 * PROGRAM` maps the archive an earlier run packed, as run --image does,
 * instead of packing it again. */
#ifndef WISP_IMGCACHE_H
#define WISP_IMGCACHE_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cli.h"
#include "image.h"
#include "manifest.h"

#define IMGCACHE_MAX_ENTRIES 16
#define IMGCACHE_MAX_BYTES (1ull << 30)

struct imgcache {
	bool enabled;
	bool verbose;            /* $WISP_VERBOSE: say on stderr what the cache does */
	char dir[PATH_MAX];
	char path[PATH_MAX + 32];   /* the entry for this run's key */
	char *key;               /* wisp's own identity, then image_key() */
	size_t key_len;
	int64_t pack_start_ns;   /* set by a miss: packing starts then */
};

/* Sets c up for run o (cli_parse'd, no --image). c->enabled stays false
 * with --no-cache, $WISP_NO_CACHE set (not to "" or "0"), no absolute
 * $XDG_CACHE_HOME or $HOME, or a program that cannot be found. */
void imgcache_open(struct imgcache *c, const struct cli_opts *o);

/* Puts the archive of c's entry into img (image_init first), with
 * img->prog_path, if the entry is whole, was made for this key and none of
 * its inputs changed: returns 1. Returns 0 on a miss (img then needs
 * image_free and image_init again), -1 with img->cpio.overflow set if the
 * archive does not fit img's fixed buffer. */
int imgcache_load(struct imgcache *c, struct image *img);

/* Stores img's archive, built after a miss from the inputs noted in m,
 * then evicts old entries. Nothing is stored if m is incomplete or an input
 * changed within a second of packing (its next change might keep its size
 * and timestamps). Failures are silent but for a $WISP_VERBOSE line. */
void imgcache_store(struct imgcache *c, const struct image *img, const struct manifest *m);

/* Removes the least recently used entries (by mtime) of dir until at most
 * max_entries of at most max_bytes in all are left, and temporary files
 * that writers which died left behind. */
void imgcache_evict(const char *dir, size_t max_entries, uint64_t max_bytes);

void imgcache_close(struct imgcache *c);

#endif
