/* image.h: collect the guest's files (program + --add entries) into a cpio. */
#ifndef WISP_IMAGE_H
#define WISP_IMAGE_H

#include <stddef.h>
#include <stdint.h>

#include "cli.h"
#include "cpio.h"

struct image {
	struct cpio cpio;        /* finished newc archive */
	char *prog_path;         /* guest path of the program (its host realpath) */
};

/* Finds PROGRAM like execvp, checks it is a static x86-64 ELF and returns its
 * contents and realpath. Messages name the program as typed. */
int image_load_program(const char *typed, char **real, uint8_t **data, size_t *len,
		       char *err, size_t errlen);

/* Builds the initramfs for o: base directories, the program at its realpath
 * (mode 0755) and every --add entry. Returns -1 with a reason in err. */
int image_build(const struct cli_opts *o, struct image *img, char *err, size_t errlen);
void image_free(struct image *img);

/* Reads a whole host file (at most 4 GiB - 1, the cpio limit). */
int image_read_file(const char *path, uint8_t **data, size_t *len);

#endif
