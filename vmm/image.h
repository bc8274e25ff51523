/* image.h: collect the guest's files (program, libraries, --add entries) into a cpio; image files. */
#ifndef WISP_IMAGE_H
#define WISP_IMAGE_H

#include <stddef.h>
#include <stdint.h>

#include "cli.h"
#include "cpio.h"
#include "manifest.h"

struct image {
	struct cpio cpio;        /* finished newc archive */
	uint8_t *index;          /* its initramfs index (cpio_index.h), once made */
	size_t index_len;
	char *prog_path;         /* guest path of the program (its host realpath) */
	struct manifest *inputs; /* if set, image_build notes in it every host
				  * file and directory it reads or looks for */
};

/* Finds PROGRAM like execvp, checks it is a static x86-64 ELF and returns its
 * contents and realpath. Messages name the program as typed. */
int image_load_program(const char *typed, char **real, uint8_t **data, size_t *len,
		       char *err, size_t errlen);

/* Empties img; its archive will go into buf (cap bytes, e.g. guest RAM)
 * or, if buf is NULL, into a heap buffer. */
void image_init(struct image *img, uint8_t *buf, size_t cap);
/* Builds the initramfs for o into img (image_init first): base directories,
 * the program at its realpath (mode 0755) and every --add entry. Returns -1
 * with a reason in err; img->cpio.overflow if only a fixed buffer was too
 * small. */
int image_build(const struct cli_opts *o, struct image *img, char *err, size_t errlen);
void image_free(struct image *img);

/* Makes img's initramfs index unless it has one or its archive is
 * malformed (the kernel then says what is wrong with it, as it does when
 * booted by qemu). Returns -1 only if memory ran out. */
int image_index(struct image *img);

/* What image_build's archive for o depends on besides the host files it
 * notes in img->inputs: the absolute path PROGRAM is found at (PATH
 * search) and its realpath, the --add specs, LD_LIBRARY_PATH and LD_PRELOAD, the
 * interpreter directories (bundle.c) there are, and the current directory
 * if any of these is relative. Two runs with the same key and unchanged
 * inputs get the same archive, up to the times of the directories wisp
 * makes up. Returns *len bytes (with NULs inside; caller frees) or NULL if
 * the program is not found (image_build says why) or memory ran out. */
char *image_key(const struct cli_opts *o, size_t *len);

/* What an image file stores besides the archive. */
struct image_meta {
	const char *prog;        /* guest path of the program */
	char **argv;             /* argv[0] as typed at build time, then the args */
	size_t argc;
	char **env;              /* NAME=VALUE */
	size_t nenv;
	char *block;             /* image_load: the strings above point into it */
};

/* Writes img and m to path as a wisp image (docs/image-format.md), through a
 * temporary file and rename. Returns -1 with a reason in err. */
int image_save(const char *path, const struct image *img, const struct image_meta *m,
	       char *err, size_t errlen);

/* Reads an image into img (image_init first; overflow as for image_build):
 * img->cpio gets the archive as stored (no re-packing),
 * img->prog_path and m the rest. Any inconsistency is an error in err,
 * starting with path. */
int image_load(const char *path, struct image *img, struct image_meta *m, char *err,
	       size_t errlen);
void image_meta_free(struct image_meta *m);

/* Puts the archive stored at off, len bytes, in fd into img (image_init
 * first): mapped from the file into a fixed page-aligned buffer (guest
 * RAM), so that it is neither copied nor zeroed first, else read; then
 * checks that it starts and ends as a newc archive. NULL, or why not; sets
 * img->cpio.overflow if a fixed buffer is too small. */
const char *image_read_archive(int fd, struct image *img, uint64_t off, uint64_t len);

/* Adds o's --add entries to a loaded image's archive. */
int image_append(struct image *img, const struct cli_opts *o, char *err, size_t errlen);

/* Reads a whole host file (at most 4 GiB - 1, the cpio limit). */
int image_read_file(const char *path, uint8_t **data, size_t *len);

#endif
