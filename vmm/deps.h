/* deps.h: find a dynamic program's loader and shared libraries on the host, as ld.so would. */
#ifndef WISP_DEPS_H
#define WISP_DEPS_H

#include <stdbool.h>
#include <stddef.h>

#include "manifest.h"

/* Something to put in the guest at the same path as on the host: a regular
 * file (target NULL, read from path) or a symlink to target. Paths are
 * "physical": no component above the last one is a symlink, so their parent
 * directories can be created as plain directories. */
struct deps_entry {
	char *path;
	char *target;
};

struct deps_config {
	const char *ld_library_path;   /* the guest's LD_LIBRARY_PATH (from -e), or NULL */
	const char *ld_preload;        /* the guest's LD_PRELOAD (from -e), or NULL */
	const char *ld_so_conf;        /* NULL: /etc/ld.so.conf */
	const char *ld_so_cache;       /* NULL: /etc/ld.so.cache */
	const char *musl_path_file;    /* NULL: /etc/ld-musl-x86_64.path */
	const char *const *system_dirs;   /* NULL-terminated; NULL: glibc's x86-64 Debian dirs */
};

struct deps_obj;

struct deps {
	struct deps_config cfg;
	struct deps_entry *v;      /* what to pack, in order; may hold duplicates */
	size_t n, cap;
	struct deps_obj *objs;     /* every ELF object seen, by realpath */
	size_t nobjs, objcap, next;
	char **conf_dirs;          /* from ld.so.conf (or the musl path file) */
	size_t nconf, confcap;
	bool conf_loaded;
	int prog;                  /* index of the program in objs, or -1 */
	bool musl;                 /* the program's loader is musl's */
	bool need_conf_file;       /* a library came from a dir only ld.so.conf lists */
	int failed;                /* out of memory */
	struct manifest *inputs;   /* if set, every file looked for is noted in it */
};

void deps_init(struct deps *d, const struct deps_config *cfg);
void deps_free(struct deps *d);

/* For a program with a PT_INTERP: records its loader and every DT_NEEDED
 * library, recursively. real is its realpath, typed names it in messages.
 * A static program adds nothing. Returns -1 with a one-line reason in err
 * ("PROG: needs libx.so.1, which was not found on this host (searched: ...)"). */
int deps_add_program(struct deps *d, const char *typed, const char *real,
		     const void *elf, size_t len, char *err, size_t errlen);

/* An ELF file met inside a directory added to the guest (a Python
 * extension module, or a program the guest may exec): its libraries (and
 * loader) are added on a best-effort basis, as a library the host cannot
 * find would not load on the host either. Other files are ignored. */
void deps_add_object(struct deps *d, const char *path, const void *elf, size_t len);

/* Resolves the queued objects of deps_add_object. Returns -1 only when out
 * of memory. */
int deps_finish(struct deps *d, char *err, size_t errlen);

/* Resolves path like the kernel does, recording each symlink met (at its
 * physical path) as an entry; returns the realpath (caller frees) or NULL
 * with errno set. */
char *deps_resolve(struct deps *d, const char *path);

#endif
