/* cpio.h: build a cpio "newc" archive (the initramfs format) in memory. */
#ifndef WISP_CPIO_H
#define WISP_CPIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CPIO_HDR_LEN 110          /* "070701" and 13 fields of 8 hex digits */
#define CPIO_TRAILER "TRAILER!!!" /* the name of the last entry */

struct cpio {
	uint8_t *buf;
	size_t len;
	size_t cap;
	uint32_t next_ino;
	int failed;          /* set once an allocation failed; later calls no-op */
	bool fixed;          /* buf is the caller's and never grows */
	bool overflow;       /* a fixed buffer was too small */
};

/* An archive in a heap buffer that grows as needed. */
void cpio_init(struct cpio *c);
/* An archive written straight into buf (cap bytes; guest RAM, so that it
 * need not be copied there): an entry that does not fit fails the archive
 * with overflow set. cpio_free leaves buf alone. */
void cpio_init_fixed(struct cpio *c, uint8_t *buf, size_t cap);

/* name is the guest path; a leading '/' is dropped as newc archives use
 * relative names. mode includes the file type bits (S_IFREG, S_IFDIR...). */
int cpio_add(struct cpio *c, const char *name, uint32_t mode, uint32_t mtime,
	     const void *data, size_t size);
int cpio_add_dir(struct cpio *c, const char *name, uint32_t perm, uint32_t mtime);
int cpio_add_file(struct cpio *c, const char *name, uint32_t perm, uint32_t mtime,
		  const void *data, size_t size);
/* Adds a regular file of size bytes read straight from fd into the
 * archive. Returns its data in the archive (valid until the next add) and
 * sets *len to what was read, or NULL: an allocation failed (cpio_finish
 * will fail too) or, with errno set, the read did. */
const uint8_t *cpio_add_file_fd(struct cpio *c, const char *name, uint32_t perm,
				uint32_t mtime, int fd, size_t size, size_t *len);
int cpio_add_symlink(struct cpio *c, const char *name, const char *target);

/* Appends the TRAILER!!! entry. Returns -1 if any earlier call failed. */
int cpio_finish(struct cpio *c);
void cpio_free(struct cpio *c);

#endif
