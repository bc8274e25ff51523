/* manifest.h: the host files an archive was built from, with what stat said
 * of each, so that a later run can tell whether any of them changed. */
#ifndef WISP_MANIFEST_H
#define WISP_MANIFEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include "pathset.h"

/* The notes, already in their stored form (records, see manifest.c), so
 * that saving them is one write. A zeroed struct is an empty manifest. */
struct manifest {
	uint8_t *buf;
	size_t len, cap;
	size_t n;
	struct pathset seen[2];      /* each path once per kind: lstat, stat */
	int64_t newest_ns;           /* latest mtime or ctime noted */
	bool failed;                 /* out of memory: incomplete, must not be used */
};

/* Notes path as stat (follow) or lstat sees it now, or as st if given (the
 * stat the caller made before reading the file). A path whose stat fails is
 * noted as missing: it must still be missing later. m may be NULL. */
void manifest_note(struct manifest *m, const char *path, bool follow, const struct stat *st);

/* Notes the directory that holds path (a glob pattern's, say): whatever
 * appears in it or leaves it changes its mtime. */
void manifest_note_dir_of(struct manifest *m, const char *path);

/* True if buf (len bytes, as in a struct manifest) is well formed and every
 * path in it still stats the same: type and mode, device and inode, size,
 * mtime and ctime to the nanosecond. */
bool manifest_unchanged(const uint8_t *buf, size_t len);

void manifest_free(struct manifest *m);

#endif
