/* cmdline.h: build the escaped guest kernel command line (see abi.h). */
#ifndef WISP_CMDLINE_H
#define WISP_CMDLINE_H

#include <stdbool.h>
#include <stddef.h>

struct disk;

struct cmdline_in {
	char *const *env;       /* NAME=VALUE */
	size_t nenv;
	bool trace;
	const char *prog;       /* guest path of the file to execute */
	char *const *argv;      /* argv[0] is what the user typed */
	size_t argc;
	/* For a VMM without boot info (QEMU): the disks, sent as words
	 * disk=MOUNT or disk=MOUNT:ro in order. */
	const struct disk *disks;
	size_t ndisks;
};

/* Returns a malloc'd "env=A=B ... trace=1 prog=/p -- argv0 argv1 ..." whose
 * length is below WISP_CMDLINE_MAX, or NULL with the reason in err. An empty
 * argument is sent as the word "" (see cmdline.c). */
char *cmdline_build(const struct cmdline_in *in, char *err, size_t errlen);

/* Appends s to out (capacity cap, NUL kept) with the abi.h escaping.
 * Returns the new length, or cap if it does not fit. */
size_t cmdline_escape(char *out, size_t len, size_t cap, const char *s);

#endif
