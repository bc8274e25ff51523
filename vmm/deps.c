/* deps.c: find a dynamic program's loader and shared libraries on the host, as ld.so would.
 *
 * The guest gets every object at the path where the host's ld.so would find
 * it, with the symlinks on the way recreated, so the guest's own ld.so finds
 * the same files by the same search without any configuration. */
#define _GNU_SOURCE
#include "deps.h"
#include "errmsg.h"

#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "elf.h"
#include "io.h"

#define DEPS_MAX_LINKS 40       /* as Linux's MAXSYMLINKS */
#define DEPS_CONF_DEPTH 8       /* nested ld.so.conf includes */
#define DEPS_SEARCHED_MAX 1024  /* how much of the search list an error shows */

/* glibc's built-in search path on Debian x86-64 (`ld.so --help`). */
static const char *const glibc_system_dirs[] = {
	"/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib", "/usr/lib", NULL,
};

/* musl's default when /etc/ld-musl-x86_64.path does not exist. */
static const char *const musl_system_dirs[] = { "/lib", "/usr/local/lib", "/usr/lib", NULL };

struct deps_obj {
	char *path;       /* where it was found: $ORIGIN is its directory */
	char *real;       /* realpath: one object per file */
	char *runpath, *rpath;
	int parent;       /* the object that needed it first; -1 for the program */
	bool fatal;       /* a missing library is an error (else it is skipped) */
	bool nodeflib;
};

struct strlist {
	char **v;
	size_t n, cap;
};

static void *grow(void *v, size_t *cap, size_t n, size_t size)
{
	size_t nc = *cap ? *cap * 2 : 16;
	void *nv;

	if (n < *cap)
		return v;
	nv = reallocarray(v, nc, size);
	if (nv)
		*cap = nc;
	return nv;
}

static int list_push(struct strlist *l, const char *s, size_t len)
{
	char **nv = grow(l->v, &l->cap, l->n, sizeof(*nv));
	char *copy;

	if (!nv)
		return -1;
	l->v = nv;
	copy = strndup(s, len);
	if (!copy)
		return -1;
	l->v[l->n++] = copy;
	return 0;
}

static void list_free(struct strlist *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	memset(l, 0, sizeof(*l));
}

void deps_init(struct deps *d, const struct deps_config *cfg)
{
	memset(d, 0, sizeof(*d));
	d->prog = -1;
	if (cfg)
		d->cfg = *cfg;
	if (!d->cfg.ld_so_conf)
		d->cfg.ld_so_conf = "/etc/ld.so.conf";
	if (!d->cfg.ld_so_cache)
		d->cfg.ld_so_cache = "/etc/ld.so.cache";
	if (!d->cfg.musl_path_file)
		d->cfg.musl_path_file = "/etc/ld-musl-x86_64.path";
}

void deps_free(struct deps *d)
{
	for (size_t i = 0; i < d->n; i++) {
		free(d->v[i].path);
		free(d->v[i].target);
	}
	for (size_t i = 0; i < d->nobjs; i++) {
		free(d->objs[i].path);
		free(d->objs[i].real);
		free(d->objs[i].runpath);
		free(d->objs[i].rpath);
	}
	for (size_t i = 0; i < d->nconf; i++)
		free(d->conf_dirs[i]);
	free(d->v);
	free(d->objs);
	free(d->conf_dirs);
	memset(d, 0, sizeof(*d));
}

static int entry_add(struct deps *d, const char *path, const char *target)
{
	struct deps_entry *nv = grow(d->v, &d->cap, d->n, sizeof(*nv));
	struct deps_entry e = { strdup(path), target ? strdup(target) : NULL };

	if (!nv || !e.path || (target && !e.target)) {
		free(e.path);
		free(e.target);
		d->failed = 1;
		return -1;
	}
	d->v = nv;
	d->v[d->n++] = e;
	return 0;
}

/* ---- symlink chains ---- */

/* Takes the first component off *rest into comp. */
static size_t next_component(const char **rest, const char **comp)
{
	const char *p = *rest;
	size_t n;

	while (*p == '/')
		p++;
	*comp = p;
	n = strcspn(p, "/");
	*rest = p + n;
	return n;
}

/* One step of the walk: cur (physical, "" for the root) grows by comp, or,
 * for a symlink, the target is put in front of what remains in todo. */
static int walk_step(struct deps *d, char *cur, const char *comp, size_t n,
		     char *todo, const char *rest, int *links)
{
	size_t clen = strlen(cur);
	char target[PATH_MAX], tmp[2 * PATH_MAX + 2];
	struct stat st;
	ssize_t tl;

	if (n == 2 && comp[0] == '.' && comp[1] == '.') {
		char *slash = strrchr(cur, '/');

		if (slash)
			*slash = '\0';
		return 0;
	}
	if (n == 1 && comp[0] == '.')
		return 0;
	if (clen + 1 + n >= PATH_MAX)
		return errno = ENAMETOOLONG, -1;
	cur[clen] = '/';
	memcpy(cur + clen + 1, comp, n);
	cur[clen + 1 + n] = '\0';
	if (lstat(cur, &st) < 0)
		return -1;
	if (!S_ISLNK(st.st_mode))
		return 0;
	if (++*links > DEPS_MAX_LINKS)
		return errno = ELOOP, -1;
	tl = readlink(cur, target, sizeof(target) - 1);
	if (tl < 0)
		return -1;
	target[tl] = '\0';
	if (entry_add(d, cur, target) < 0)
		return errno = ENOMEM, -1;
	if (snprintf(tmp, sizeof(tmp), "%s/%s", target, rest) >= PATH_MAX)
		return errno = ENAMETOOLONG, -1;
	strcpy(todo, tmp);
	cur[clen] = '\0';
	if (target[0] == '/')
		cur[0] = '\0';
	return 1;
}

char *deps_resolve(struct deps *d, const char *path)
{
	char cur[PATH_MAX] = "", todo[PATH_MAX];
	const char *rest, *comp;
	int links = 0;

	if (path[0] != '/' || strlen(path) >= sizeof(todo))
		return errno = EINVAL, NULL;
	strcpy(todo, path);
	rest = todo;
	for (;;) {
		size_t n = next_component(&rest, &comp);
		int rc;

		if (n == 0)
			break;
		rc = walk_step(d, cur, comp, n, todo, rest, &links);
		if (rc < 0)
			return NULL;
		if (rc == 1)
			rest = todo;
	}
	return strdup(cur[0] ? cur : "/");
}

/* ---- files ---- */

/* ld.so skips candidates of another class or machine and keeps searching;
 * so do we, remembering why for the error message. Returns 0 for a usable
 * x86-64 ELF, 1 for another ELF flavour, -1 if it is missing or not ELF. */
static int probe(const char *path, char *why, size_t whylen)
{
	unsigned char h[20];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;
	uint16_t machine;
	char tmp[32];

	if (fd < 0)
		return -1;
	n = pread(fd, h, sizeof(h), 0);
	close(fd);
	if (n != (ssize_t)sizeof(h) || memcmp(h, ELFMAG, SELFMAG) != 0)
		return -1;
	memcpy(&machine, h + 18, 2);   /* e_machine: the same offset in both classes */
	if (h[EI_CLASS] == ELFCLASS64 && h[EI_DATA] == ELFDATA2LSB && machine == EM_X86_64)
		return 0;
	snprintf(why, whylen, "%s is for %s%s, not x86-64", path,
		 h[EI_CLASS] == ELFCLASS32 ? "32-bit " : "",
		 elf_machine_name(machine, tmp, sizeof(tmp)));
	return 1;
}

/* ---- search paths ---- */

/* Expands one entry of a search list into out; 0 if it holds a token other
 * than $ORIGIN ($LIB, $PLATFORM), which we do not expand, or is too long. */
static size_t expand_entry(const char *p, size_t n, const char *origin, char *out, size_t cap)
{
	size_t o = 0;

	for (const char *end = p + n; p < end;) {
		size_t tok = strncmp(p, "$ORIGIN", 7) == 0 ? 7 :
			     strncmp(p, "${ORIGIN}", 9) == 0 ? 9 : 0;
		const char *piece = tok ? (origin ? origin : ".") : p;
		size_t len = tok ? strlen(piece) : 1;

		if (!tok && *p == '$')
			return 0;
		if (o + len >= cap)
			return 0;
		memcpy(out + o, piece, len);
		o += len;
		p += tok ? tok : 1;
	}
	out[o] = '\0';
	return o;
}

/* Adds the entries of a ':'-separated list, with $ORIGIN replaced by origin. */
static int add_path_list(struct strlist *l, const char *s, const char *origin)
{
	char buf[PATH_MAX];

	while (s && *s) {
		size_t n = strcspn(s, ":;");
		size_t len = expand_entry(s, n, origin, buf, sizeof(buf));

		if (len && list_push(l, buf, len) < 0)
			return -1;
		s += n + (s[n] != '\0');
	}
	return 0;
}

static int conf_add_dir(struct deps *d, const char *dir, size_t n)
{
	struct strlist l = { d->conf_dirs, d->nconf, d->confcap };

	while (n > 1 && dir[n - 1] == '/')
		n--;
	for (size_t i = 0; i < d->nconf; i++)
		if (strlen(d->conf_dirs[i]) == n && strncmp(d->conf_dirs[i], dir, n) == 0)
			return 0;
	if (list_push(&l, dir, n) < 0)
		return -1;
	d->conf_dirs = l.v;
	d->nconf = l.n;
	d->confcap = l.cap;
	return 0;
}

static int conf_read(struct deps *d, const char *path, int depth);

static int conf_include(struct deps *d, const char *conf, const char *pattern, int depth)
{
	char full[PATH_MAX];
	const char *slash = strrchr(conf, '/');
	glob_t g;
	int rc = 0;

	if (pattern[0] == '/' || !slash)
		snprintf(full, sizeof(full), "%s", pattern);
	else
		snprintf(full, sizeof(full), "%.*s/%s", (int)(slash - conf), conf, pattern);
	manifest_note_dir_of(d->inputs, full);
	if (glob(full, 0, NULL, &g) != 0)
		return 0;
	for (size_t i = 0; i < g.gl_pathc && rc == 0; i++)
		rc = conf_read(d, g.gl_pathv[i], depth + 1);
	globfree(&g);
	return rc;
}

/* ld.so.conf: one directory per line (or several, split by blanks, ':' or
 * ','), '#' comments, "include GLOB", and "hwcap" lines, which we ignore. */
static int conf_line(struct deps *d, const char *conf, char *line, int depth)
{
	static const char seps[] = " \t:,";
	char *hash = strchr(line, '#'), *word, *save;

	if (hash)
		*hash = '\0';
	word = strtok_r(line, " \t\n", &save);
	if (!word || strcmp(word, "hwcap") == 0)
		return 0;
	if (strcmp(word, "include") == 0) {
		while ((word = strtok_r(NULL, " \t\n", &save)))
			if (conf_include(d, conf, word, depth) < 0)
				return -1;
		return 0;
	}
	for (; word; word = strtok_r(NULL, seps, &save)) {
		size_t n = strcspn(word, "=\n");   /* libc5's "dir=TYPE" */

		if (word[0] == '/' && conf_add_dir(d, word, n) < 0)
			return -1;
	}
	return 0;
}

static int conf_read(struct deps *d, const char *path, int depth)
{
	FILE *f;
	char *line = NULL;
	size_t cap = 0;
	int rc = 0;

	if (depth > DEPS_CONF_DEPTH)
		return 0;
	manifest_note(d->inputs, path, true, NULL);
	if (!(f = fopen(path, "re")))
		return 0;   /* like ldconfig: a missing file adds nothing */
	while (rc == 0 && getline(&line, &cap, f) > 0)
		rc = conf_line(d, path, line, depth);
	free(line);
	fclose(f);
	return rc;
}

/* musl's path file lists directories separated by newlines or colons. */
static int conf_read_musl(struct deps *d, const char *path)
{
	FILE *f;
	char *line = NULL;
	size_t cap = 0;
	struct strlist l = { 0 };
	int rc = 0;

	manifest_note(d->inputs, path, true, NULL);
	if (!(f = fopen(path, "re")))
		return 1;
	while (rc == 0 && getline(&line, &cap, f) > 0) {
		line[strcspn(line, "\n")] = '\0';
		rc = add_path_list(&l, line, NULL);
	}
	for (size_t i = 0; i < l.n && rc == 0; i++)
		rc = conf_add_dir(d, l.v[i], strlen(l.v[i]));
	list_free(&l);
	free(line);
	fclose(f);
	return rc;
}

/* The dirs ld.so knows beyond its built-in ones: ld.so.conf (glibc, through
 * ld.so.cache) or the path file (musl, which replaces the defaults). */
static int conf_load(struct deps *d)
{
	int rc;

	if (d->conf_loaded)
		return 0;
	d->conf_loaded = true;
	if (!d->musl)
		return conf_read(d, d->cfg.ld_so_conf, 0);
	rc = conf_read_musl(d, d->cfg.musl_path_file);
	if (rc == 1) {
		for (const char *const *s = musl_system_dirs; *s; s++)
			if (conf_add_dir(d, *s, strlen(*s)) < 0)
				return -1;
		d->cfg.musl_path_file = NULL;   /* nothing to pack */
		rc = 0;
	}
	return rc;
}

static const char *const *system_dirs(const struct deps *d)
{
	return d->cfg.system_dirs ? d->cfg.system_dirs : glibc_system_dirs;
}

static bool is_system_dir(const struct deps *d, const char *dir)
{
	for (const char *const *s = system_dirs(d); *s; s++)
		if (strcmp(*s, dir) == 0)
			return true;
	return false;
}

static char *origin_of(const struct deps_obj *o, char *buf, size_t len)
{
	const char *slash = strrchr(o->path, '/');

	snprintf(buf, len, "%.*s", slash && slash != o->path ? (int)(slash - o->path) : 1,
		 slash ? o->path : ".");
	return buf;
}

/* musl: LD_LIBRARY_PATH, the rpath of the object and of each object above
 * it (DT_RUNPATH wins over DT_RPATH), then the system path. */
static int musl_search_list(struct deps *d, int idx, struct strlist *l)
{
	char origin[PATH_MAX];

	if (add_path_list(l, d->cfg.ld_library_path, NULL) < 0)
		return -1;
	for (int i = idx; i >= 0; i = d->objs[i].parent) {
		const struct deps_obj *o = &d->objs[i];

		if (add_path_list(l, o->runpath ? o->runpath : o->rpath,
				  origin_of(o, origin, sizeof(origin))) < 0)
			return -1;
	}
	return 0;
}

/* glibc: DT_RPATH of the object and its loaders (only while none has a
 * DT_RUNPATH), LD_LIBRARY_PATH, DT_RUNPATH, then ld.so.cache and the system
 * dirs (both skipped for DF_1_NODEFLIB). */
static int glibc_search_list(struct deps *d, int idx, struct strlist *l)
{
	const struct deps_obj *self = &d->objs[idx];
	char origin[PATH_MAX];

	if (!self->runpath) {
		for (int i = idx; i >= 0; i = d->objs[i].parent) {
			const struct deps_obj *o = &d->objs[i];

			if (!o->runpath && add_path_list(l, o->rpath,
					origin_of(o, origin, sizeof(origin))) < 0)
				return -1;
		}
	}
	if (add_path_list(l, d->cfg.ld_library_path, NULL) < 0 ||
	    add_path_list(l, self->runpath, origin_of(self, origin, sizeof(origin))) < 0)
		return -1;
	return 0;
}

/* *via_conf tells the caller the hit came from a dir only ld.so.conf names. */
static int search_list(struct deps *d, int idx, struct strlist *l, size_t *nconf_start)
{
	int rc = d->musl ? musl_search_list(d, idx, l) : glibc_search_list(d, idx, l);

	if (rc < 0 || conf_load(d) < 0)
		return -1;
	*nconf_start = l->n;
	if (d->objs[idx].nodeflib && !d->musl)
		return 0;
	for (size_t i = 0; i < d->nconf; i++)
		if (list_push(l, d->conf_dirs[i], strlen(d->conf_dirs[i])) < 0)
			return -1;
	if (d->musl)
		return 0;
	for (const char *const *s = system_dirs(d); *s; s++)
		if (list_push(l, *s, strlen(*s)) < 0)
			return -1;
	return 0;
}

struct lookup {
	char found[PATH_MAX];
	char bad[PATH_MAX + 64];      /* first candidate of the wrong flavour */
	char searched[DEPS_SEARCHED_MAX];
	bool via_conf;
};

/* Each dir once, in search order. */
static void searched_add(struct lookup *lk, const char *dir)
{
	size_t n = strlen(lk->searched), dlen = strlen(dir);

	for (const char *p = lk->searched; *p; p += strcspn(p, ":"), p += *p == ':') {
		if (strncmp(p, dir, dlen) == 0 && (p[dlen] == ':' || p[dlen] == '\0'))
			return;
	}
	snprintf(lk->searched + n, sizeof(lk->searched) - n, "%s%s", n ? ":" : "", dir);
}

static int find_in(struct deps *d, int idx, const char *name, struct lookup *lk)
{
	struct strlist l = { 0 };
	size_t nconf_start;
	int rc = -1;

	if (search_list(d, idx, &l, &nconf_start) < 0) {
		list_free(&l);
		d->failed = 1;
		return -1;
	}
	for (size_t i = 0; i < l.n && rc < 0; i++) {
		char why[PATH_MAX + 64];

		searched_add(lk, l.v[i]);
		if ((size_t)snprintf(lk->found, sizeof(lk->found), "%s/%s", l.v[i], name) >=
		    sizeof(lk->found))
			continue;
		switch (probe(lk->found, why, sizeof(why))) {
		case 0:
			rc = 0;
			lk->via_conf = i >= nconf_start && !is_system_dir(d, l.v[i]);
			break;
		case 1:
			if (!lk->bad[0])
				snprintf(lk->bad, sizeof(lk->bad), "%s", why);
			break;
		}
		/* A candidate passed over must stay missing or unusable. */
		if (rc < 0)
			manifest_note(d->inputs, lk->found, true, NULL);
	}
	list_free(&l);
	return rc;
}

/* ---- objects ---- */

static int obj_find(const struct deps *d, const char *real)
{
	for (size_t i = 0; i < d->nobjs; i++)
		if (strcmp(d->objs[i].real, real) == 0)
			return (int)i;
	return -1;
}

static int obj_add(struct deps *d, const char *path, const char *real, int parent, bool fatal)
{
	struct deps_obj *nv = grow(d->objs, &d->objcap, d->nobjs, sizeof(*nv));
	struct deps_obj o = { strdup(path), strdup(real), NULL, NULL, parent, fatal, false };

	if (!nv || !o.path || !o.real) {
		free(o.path);
		free(o.real);
		d->failed = 1;
		return -1;
	}
	d->objs = nv;
	d->objs[d->nobjs] = o;
	return (int)d->nobjs++;
}

/* musl's libc.so is also its loader and stands in for these names. */
static bool musl_builtin(const char *name)
{
	static const char *const names[] = { "c", "pthread", "rt", "m", "dl", "util",
					     "xnet", NULL };

	if (strncmp(name, "lib", 3) != 0)
		return false;
	for (const char *const *n = names; *n; n++) {
		size_t len = strlen(*n);

		if (strncmp(name + 3, *n, len) == 0 && strncmp(name + 3 + len, ".so", 3) == 0 &&
		    (name[6 + len] == '\0' || name[6 + len] == '.'))
			return true;
	}
	return false;
}

static int not_found(const struct deps *d, int idx, const char *typed, const char *name,
		     const struct lookup *lk, char *err, size_t errlen)
{
	char via[PATH_MAX + 16] = "";

	if (d->objs[idx].parent >= 0)
		snprintf(via, sizeof(via), " (for %s)", d->objs[idx].path);
	if (lk->bad[0])
		return errmsg(err, errlen, "%s: needs %s%s, but %s", typed, name, via, lk->bad);
	return errmsg(err, errlen, "%s: needs %s%s, which was not found on this host "
		    "(searched: %s)", typed, name, via, lk->searched);
}

/* Finds one DT_NEEDED name of object idx and queues the library. */
static int add_needed(struct deps *d, int idx, const char *name, const char *typed,
		      char *err, size_t errlen)
{
	static struct lookup lk;   /* large; the resolver is not reentrant anyway */
	char *real;

	if (d->musl && musl_builtin(name))
		return 0;
	memset(&lk, 0, sizeof(lk));
	if (strchr(name, '/')) {   /* a path: used as is, relative to the guest's cwd "/" */
		snprintf(lk.found, sizeof(lk.found), "%s%s", name[0] == '/' ? "" : "/", name);
		if (probe(lk.found, lk.bad, sizeof(lk.bad)) != 0) {
			snprintf(lk.searched, sizeof(lk.searched), "%.1000s", lk.found);
			return not_found(d, idx, typed, name, &lk, err, errlen);
		}
	} else if (find_in(d, idx, name, &lk) < 0) {
		return d->failed ? errmsg(err, errlen, "out of memory")
				 : not_found(d, idx, typed, name, &lk, err, errlen);
	}
	d->need_conf_file |= lk.via_conf;
	real = deps_resolve(d, lk.found);
	if (!real)
		return errmsg(err, errlen, "%s: needs %s: %s: %s", typed, name, lk.found,
			    strerror(errno));
	if (obj_find(d, real) < 0 &&
	    (obj_add(d, lk.found, real, idx, d->objs[idx].fatal) < 0 || entry_add(d, real, NULL) < 0)) {
		free(real);
		return errmsg(err, errlen, "out of memory");
	}
	free(real);
	return 0;
}

static int copy_paths(struct deps *d, int idx, const struct elf_dyn *dyn)
{
	struct deps_obj *o = &d->objs[idx];

	o->nodeflib = dyn->nodeflib;
	if ((dyn->runpath && !(o->runpath = strdup(dyn->runpath))) ||
	    (dyn->rpath && !(o->rpath = strdup(dyn->rpath))))
		return d->failed = 1, -1;
	return 0;
}

static int scan_needed(struct deps *d, int idx, const struct elf_dyn *dyn, const char *typed,
		       char *err, size_t errlen)
{
	if (copy_paths(d, idx, dyn) < 0)
		return errmsg(err, errlen, "out of memory");
	for (size_t i = 0; i < dyn->nneeded; i++)
		if (add_needed(d, idx, dyn->needed[i], typed, err, errlen) < 0)
			return -1;
	return 0;
}

/* Parses queued object idx from its file and queues what it needs. */
static int scan_obj(struct deps *d, int idx, const char *typed, char *err, size_t errlen)
{
	static struct elf_dyn dyn;
	char why[256];
	void *buf;
	size_t len;
	int rc;

	if (io_map_file(d->objs[idx].real, &buf, &len) < 0)
		return errmsg(err, errlen, "%s: %s: %s", typed, d->objs[idx].real, strerror(errno));
	/* Objects from added trees may be programs (for exec) as well. */
	rc = d->objs[idx].fatal ? elf_check_object(buf, len, why, sizeof(why))
				: elf_check_program(buf, len, why, sizeof(why));
	if (rc == 0)
		rc = elf_dynamic(buf, len, &dyn, why, sizeof(why));
	if (rc < 0)
		errmsg(err, errlen, "%s: %s: %s", typed, d->objs[idx].path, why);
	else
		rc = scan_needed(d, idx, &dyn, typed, err, errlen);
	munmap(buf, len);
	return rc;
}

/* Breadth first, so the order of the archive follows the load order. */
static int drain(struct deps *d, const char *typed, char *err, size_t errlen)
{
	char dummy[8];

	for (; d->next < d->nobjs; d->next++) {
		int idx = (int)d->next;
		bool fatal = d->objs[idx].fatal;

		if (scan_obj(d, idx, typed, fatal ? err : dummy, fatal ? errlen : sizeof(dummy)) < 0 &&
		    (fatal || d->failed))
			return d->failed ? errmsg(err, errlen, "out of memory") : -1;
	}
	return 0;
}

static int add_interp(struct deps *d, const char *typed, const char *interp, char *err,
		      size_t errlen)
{
	char why[PATH_MAX + 64];
	const char *base = strrchr(interp, '/');
	char *real;

	d->musl = base && strncmp(base + 1, "ld-musl-", 8) == 0;
	if (interp[0] != '/')
		return errmsg(err, errlen, "%s: its dynamic loader %s is not an absolute path",
			    typed, interp);
	switch (probe(interp, why, sizeof(why))) {
	case 1:
		return errmsg(err, errlen, "%s: needs the dynamic loader %s, but %s", typed,
			    interp, why);
	case -1:
		return errmsg(err, errlen, "%s: needs the dynamic loader %s, which %s on this host",
			    typed, interp, access(interp, F_OK) == 0 ? "is not an ELF file"
								     : "was not found");
	}
	real = deps_resolve(d, interp);
	if (!real)
		return errmsg(err, errlen, "%s: %s: %s", typed, interp, strerror(errno));
	if (entry_add(d, real, NULL) < 0 || obj_add(d, interp, real, -1, true) < 0) {
		free(real);
		return errmsg(err, errlen, "out of memory");
	}
	free(real);
	d->next = d->nobjs;   /* ld.so needs nothing itself */
	return 0;
}

/* LD_PRELOAD objects load as if the program needed them first. */
static int add_preload(struct deps *d, int prog, const char *typed, char *err, size_t errlen)
{
	const char *s = d->cfg.ld_preload;

	while (s && *s) {
		size_t n = strcspn(s, " :");
		char name[PATH_MAX];

		if (n && n < sizeof(name)) {
			memcpy(name, s, n);
			name[n] = '\0';
			if (add_needed(d, prog, name, typed, err, errlen) < 0)
				return -1;
		}
		s += n + (s[n] != '\0');
	}
	return 0;
}

/* The files ld.so reads besides the objects: ld.so.cache when a library
 * came from a directory only ld.so.conf names (the cache is how glibc's
 * ld.so knows those dirs), musl's path file when it exists. */
static int add_conf_file(struct deps *d)
{
	const char *f = d->musl ? d->cfg.musl_path_file : d->cfg.ld_so_cache;
	char *real;

	if (f && (d->musl || d->need_conf_file))
		manifest_note(d->inputs, f, true, NULL);
	if (!f || (!d->musl && !d->need_conf_file) || access(f, R_OK) < 0)
		return 0;
	real = deps_resolve(d, f);
	if (!real)
		return 0;
	entry_add(d, real, NULL);
	free(real);
	return d->failed ? -1 : 0;
}

int deps_add_program(struct deps *d, const char *typed, const char *real,
		     const void *elf, size_t len, char *err, size_t errlen)
{
	static struct elf_dyn dyn;
	char why[256];
	int prog;

	if (elf_dynamic(elf, len, &dyn, why, sizeof(why)) < 0)
		return errmsg(err, errlen, "%s: %s", typed, why);
	if (!dyn.interp)
		return 0;
	if (add_interp(d, typed, dyn.interp, err, errlen) < 0)
		return -1;
	prog = obj_add(d, real, real, -1, true);
	if (prog < 0)
		return errmsg(err, errlen, "out of memory");
	d->prog = prog;
	d->next = d->nobjs;
	if (add_preload(d, prog, typed, err, errlen) < 0 ||
	    scan_needed(d, prog, &dyn, typed, err, errlen) < 0 ||
	    drain(d, typed, err, errlen) < 0)
		return -1;
	return add_conf_file(d) < 0 ? errmsg(err, errlen, "out of memory") : 0;
}

static void add_extra_loader(struct deps *d, const char *interp)
{
	char why[PATH_MAX + 64], *real;

	if (interp[0] != '/' || probe(interp, why, sizeof(why)) != 0) {
		manifest_note(d->inputs, interp, true, NULL);
		return;
	}
	real = deps_resolve(d, interp);
	if (real && obj_find(d, real) < 0 && obj_add(d, interp, real, -1, false) >= 0)
		entry_add(d, real, NULL);
	free(real);
}

void deps_add_object(struct deps *d, const char *path, const void *elf, size_t len)
{
	static struct elf_dyn dyn;
	char why[256], *real;

	/* The file is parsed again from disk when the queue is drained: cheap,
	 * and it keeps one code path. */
	if (len < sizeof(Elf64_Ehdr) || memcmp(elf, ELFMAG, SELFMAG) != 0 ||
	    elf_check_program(elf, len, why, sizeof(why)) < 0 ||
	    elf_dynamic(elf, len, &dyn, why, sizeof(why)) < 0)
		return;
	if (dyn.interp)   /* a program the guest may exec: its loader too */
		add_extra_loader(d, dyn.interp);
	if (dyn.nneeded == 0)
		return;
	real = realpath(path, NULL);
	if (!real || obj_find(d, real) >= 0) {
		free(real);
		return;
	}
	/* dlopen() runs in the program, so its rpath applies as the loader's. */
	obj_add(d, path, real, d->prog, false);
	free(real);
}

int deps_finish(struct deps *d, char *err, size_t errlen)
{
	if (drain(d, "", err, errlen) < 0 || d->failed)
		return errmsg(err, errlen, "out of memory");
	return add_conf_file(d) < 0 ? errmsg(err, errlen, "out of memory") : 0;
}
