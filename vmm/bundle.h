/* bundle.h: what known interpreters need beyond their ELF dependencies, and generated /etc files. */
#ifndef WISP_BUNDLE_H
#define WISP_BUNDLE_H

#include <stdbool.h>
#include <stddef.h>

/* The host directories a program needs, each put in the guest at the same
 * path (e.g. /usr/lib/python3.11 for python3.11). */
struct bundle_set {
	char **dirs;
	size_t n;
	const char *const *skip;   /* fnmatch patterns, relative to a dir */
};

/* Fills set for the program at realpath prog (empty if it is no known
 * interpreter). Returns -1 only when out of memory. */
int bundle_find(const char *prog, struct bundle_set *set);
void bundle_free(struct bundle_set *set);

/* True if rel, a path relative to one of set's dirs, is left out. */
bool bundle_skip(const struct bundle_set *set, const char *rel);

/* Small generated files (/etc/passwd with root...) so that getpwuid(0) and
 * localhost work; --add'ed files at the same paths take precedence. */
struct bundle_file {
	const char *path;
	const char *text;
};

extern const struct bundle_file bundle_etc[];
extern const size_t bundle_netc;

#endif
