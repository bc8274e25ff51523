/* disk.h: open, lock and check the ext2 images given with run --disk. */
#ifndef WISP_DISK_H
#define WISP_DISK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cli.h"

struct disk {
	int fd;             /* -1 when closed */
	uint64_t size;      /* bytes, a multiple of 512 */
	bool read_only;
	const char *image;  /* point into the struct cli_disk it was opened from */
	const char *mount;
};

/* Opens c->image read-write (read-only with :ro), locks it against other
 * writers and checks that it holds an ext2 file system wisp can use. Returns
 * 0, or -1 with d->fd == -1 and a one-line reason starting with the image
 * path in err (without the "wisp: " prefix). */
int disk_open(struct disk *d, const struct cli_disk *c, char *err, size_t errlen);
/* Closes d (which drops its lock); a closed disk is left alone. */
void disk_close(struct disk *d);

/* Opens o->disks[0..o->ndisks) into disks[], in order. On failure closes
 * those it opened and returns -1 with err set as by disk_open. */
int disk_open_all(struct disk *disks, const struct cli_opts *o, char *err, size_t errlen);

#endif
