/* image.c: resolve the program and its libraries, walk --add trees, emit a cpio archive. */
#define _GNU_SOURCE
#include "image.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "bundle.h"
#include "cpio_index.h"
#include "deps.h"
#include "elf.h"
#include "hash.h"
#include "io.h"
#include "manifest.h"
#include "pathset.h"

#define IMAGE_DEFAULT_PATH "/bin:/usr/bin"
#define IMAGE_MAX_DEPTH 64

enum kind { K_DIR = 1, K_OTHER = 2 };

struct builder {
	struct cpio *cpio;
	struct pathset set;   /* guest paths already in the archive, so that parents
			       * are emitted once and overlapping --add trees do not
			       * produce duplicates */
	struct deps deps;
	struct manifest *inputs;   /* image->inputs */
	const char *spec;     /* current --add spec for messages */
	const struct bundle_set *bundle;   /* skip list while adding its dirs */
	size_t root_len;      /* length of the bundle dir being added */
	char *err;
	size_t errlen;
};

static int fail(struct builder *b, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(b->err, b->errlen, fmt, ap);
	va_end(ap);
	return -1;
}

/* Returns 1 if path is new (caller emits it), 0 if it already exists with a
 * compatible kind (first one wins), -1 on a file/directory clash. */
static int claim(struct builder *b, const char *path, enum kind k)
{
	int have = pathset_find(&b->set, path);

	if (have == 0)
		return pathset_insert(&b->set, path, (uint8_t)k) < 0 ? fail(b, "out of memory") : 1;
	if (have != (int)k)
		return fail(b, "%s%sguest path %s is both a directory and a file",
			    b->spec ? b->spec : "", b->spec ? ": " : "", path);
	return 0;
}

/* Directories wisp makes up (parents, /tmp) get the time of packing. */
static int add_dir(struct builder *b, const char *path, uint32_t perm, uint32_t mtime)
{
	int rc;

	if (strcmp(path, "/") == 0)
		return 0;   /* the root exists already; its mode is the kernel's */
	rc = claim(b, path, K_DIR);

	if (rc <= 0)
		return rc;
	return cpio_add_dir(b->cpio, path, perm, mtime) < 0 ? fail(b, "out of memory") : 0;
}

static int add_parents(struct builder *b, const char *path)
{
	char tmp[PATH_MAX];
	size_t n = strlen(path);

	if (n >= sizeof(tmp))
		return fail(b, "guest path too long: %s", path);
	memcpy(tmp, path, n + 1);
	for (char *c = tmp + 1; *c; c++) {
		if (*c != '/')
			continue;
		*c = '\0';
		if (add_dir(b, tmp, 0755, (uint32_t)time(NULL)) < 0)
			return -1;
		*c = '/';
	}
	return 0;
}

int image_read_file(const char *path, uint8_t **data, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st = { 0 };
	size_t done = 0, size;
	uint8_t *buf;

	if (fd < 0)
		return -1;
	if (fstat(fd, &st) < 0 || (uint64_t)st.st_size >= UINT32_MAX) {
		int e = errno;

		if (e == 0 || (uint64_t)st.st_size >= UINT32_MAX)
			e = EFBIG;
		close(fd);
		errno = e;
		return -1;
	}
	size = (size_t)st.st_size;
	buf = malloc(size + 1);
	while (buf && done < size) {
		ssize_t n = read(fd, buf + done, size - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			free(buf);
			buf = NULL;
		}
		if (n <= 0)
			break;   /* a file that shrank while we read it: keep what we got */
		done += (size_t)n;
	}
	close(fd);
	if (!buf)
		return -1;
	*data = buf;
	*len = done;
	return 0;
}

static int add_host_file(struct builder *b, const char *host, const char *guest,
			 const struct stat *st)
{
	const uint8_t *data;
	size_t len;
	int rc = claim(b, guest, K_OTHER), fd;

	if (rc <= 0)
		return rc;
	if ((uint64_t)st->st_size >= UINT32_MAX)
		return fail(b, "%s: %s: %s", b->spec, host, strerror(EFBIG));
	fd = open(host, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return fail(b, "%s: %s: %s", b->spec, host, strerror(errno));
	data = cpio_add_file_fd(b->cpio, guest, st->st_mode & 07777, (uint32_t)st->st_mtime,
				fd, (size_t)st->st_size, &len);
	if (!data && !b->cpio->failed)
		rc = fail(b, "%s: %s: %s", b->spec, host, strerror(errno));
	close(fd);
	if (!data)
		return b->cpio->failed ? fail(b, "out of memory building the guest image") : rc;
	if (len > 4 && memcmp(data, ELFMAG, SELFMAG) == 0)
		deps_add_object(&b->deps, host, data, len);
	return 0;
}

static int add_host_symlink(struct builder *b, const char *host, const char *guest)
{
	char target[PATH_MAX];
	ssize_t n = readlink(host, target, sizeof(target) - 1);
	int rc;

	if (n < 0)
		return fail(b, "%s: %s: %s", b->spec, host, strerror(errno));
	target[n] = '\0';
	rc = claim(b, guest, K_OTHER);
	if (rc <= 0)
		return rc;
	return cpio_add_symlink(b->cpio, guest, target) < 0 ? fail(b, "out of memory") : 0;
}

static int add_tree(struct builder *b, const char *host, const char *guest, int depth);

static int add_child(struct builder *b, const char *host, const char *guest,
		     const char *name, int depth)
{
	char hp[PATH_MAX], gp[PATH_MAX];

	if (snprintf(hp, sizeof(hp), "%s/%s", host, name) >= (int)sizeof(hp) ||
	    snprintf(gp, sizeof(gp), "%s/%s", strcmp(guest, "/") ? guest : "",
		     name) >= (int)sizeof(gp))
		return fail(b, "%s: %s/%s: path too long", b->spec, host, name);
	if (b->bundle && bundle_skip(b->bundle, hp + b->root_len + 1))
		return 0;
	return add_tree(b, hp, gp, depth + 1);
}

static int add_children(struct builder *b, const char *host, const char *guest, int depth)
{
	struct dirent **names;
	int n = scandir(host, &names, NULL, alphasort), rc = 0;

	if (n < 0)
		return fail(b, "%s: %s: %s", b->spec, host, strerror(errno));
	for (int i = 0; i < n; i++) {
		const char *name = names[i]->d_name;

		if (rc == 0 && strcmp(name, ".") && strcmp(name, ".."))
			rc = add_child(b, host, guest, name, depth);
		free(names[i]);
	}
	free(names);
	return rc;
}

/* Symlinks inside a tree are copied as symlinks; only the top is followed. */
static int add_tree(struct builder *b, const char *host, const char *guest, int depth)
{
	struct stat st;

	if ((depth == 0 ? stat(host, &st) : lstat(host, &st)) < 0)
		return fail(b, "%s: %s: %s", b->spec, host, strerror(errno));
	if (depth > IMAGE_MAX_DEPTH)
		return fail(b, "%s: %s: directories nested too deeply", b->spec, host);
	manifest_note(b->inputs, host, depth == 0, &st);
	if (S_ISDIR(st.st_mode)) {
		if (add_dir(b, guest, st.st_mode & 07777, (uint32_t)st.st_mtime) < 0)
			return -1;
		return add_children(b, host, guest, depth);
	}
	if (S_ISREG(st.st_mode))
		return add_host_file(b, host, guest, &st);
	if (S_ISLNK(st.st_mode))
		return add_host_symlink(b, host, guest);
	if (depth == 0)
		return fail(b, "%s: %s: not a regular file or directory", b->spec, host);
	return 0;   /* devices, sockets, fifos inside a tree make no sense in the guest */
}

static int search_path(const char *name, char *out, size_t outlen, char *err, size_t errlen)
{
	const char *path = getenv("PATH");
	bool denied = false;

	if (!path)
		path = IMAGE_DEFAULT_PATH;
	for (;;) {
		const char *end = strchrnul(path, ':');
		int dlen = (int)(end - path);
		struct stat st;

		/* An empty PATH entry means the current directory, as for execvp. */
		snprintf(out, outlen, "%.*s/%s", dlen ? dlen : 1, dlen ? path : ".", name);
		if (stat(out, &st) == 0 && S_ISREG(st.st_mode)) {
			if (access(out, X_OK) == 0)
				return 0;
			denied = true;
		}
		if (!*end)
			break;
		path = end + 1;
	}
	snprintf(err, errlen, "%s: %s", name, denied ? "Permission denied" : "command not found in PATH");
	return -1;
}

static int check_program(const char *typed, const char *path, char **real,
			 uint8_t **data, size_t *len, char *err, size_t errlen)
{
	struct stat st;
	char why[256];

	if (stat(path, &st) < 0) {
		snprintf(err, errlen, "%s: %s", typed, strerror(errno));
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s: not a regular file", typed);
		return -1;
	}
	*real = realpath(path, NULL);
	if (!*real || image_read_file(path, data, len) < 0) {
		snprintf(err, errlen, "%s: %s", typed, strerror(errno));
		free(*real);
		*real = NULL;
		return -1;
	}
	if (elf_check_program(*data, *len, why, sizeof(why)) < 0) {
		snprintf(err, errlen, "%s: %s", typed, why);
		free(*real);
		free(*data);
		*real = NULL;
		*data = NULL;
		return -1;
	}
	return 0;
}

int image_load_program(const char *typed, char **real, uint8_t **data, size_t *len,
		       char *err, size_t errlen)
{
	char found[PATH_MAX];

	*real = NULL;
	*data = NULL;
	if (typed[0] == '\0') {
		snprintf(err, errlen, "'': No such file or directory");
		return -1;
	}
	if (!strchr(typed, '/')) {
		if (search_path(typed, found, sizeof(found), err, errlen) < 0)
			return -1;
		return check_program(typed, found, real, data, len, err, errlen);
	}
	return check_program(typed, typed, real, data, len, err, errlen);
}

static int add_base(struct builder *b)
{
	static const struct { const char *path; uint32_t perm; } dirs[] = {
		{ "/dev", 0755 }, { "/etc", 0755 }, { "/proc", 0755 }, { "/tmp", 01777 },
	};

	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++)
		if (add_dir(b, dirs[i].path, dirs[i].perm, (uint32_t)time(NULL)) < 0)
			return -1;
	return 0;
}

static int add_program(struct builder *b, const struct cli_opts *o, struct image *img)
{
	uint8_t *data;
	size_t len;
	struct stat st;
	int rc;

	if (image_load_program(o->program, &img->prog_path, &data, &len, b->err, b->errlen) < 0)
		return -1;
	rc = deps_add_program(&b->deps, o->program, img->prog_path, data, len, b->err, b->errlen);
	if (stat(img->prog_path, &st) < 0)
		st.st_mtime = 0;
	else
		manifest_note(b->inputs, img->prog_path, true, &st);
	if (rc == 0)
		rc = add_parents(b, img->prog_path);
	if (rc == 0)
		rc = claim(b, img->prog_path, K_OTHER);
	if (rc == 1 && cpio_add_file(b->cpio, img->prog_path, 0755, (uint32_t)st.st_mtime,
				     data, len) < 0)
		rc = fail(b, "out of memory building the guest image");
	free(data);
	return rc < 0 ? -1 : 0;
}

/* True if some directory above path is already a file or symlink in the
 * archive: then nothing can be put at path itself. */
static bool parent_taken(const struct builder *b, const char *path)
{
	char tmp[PATH_MAX];
	size_t n = strlen(path);

	if (n >= sizeof(tmp))
		return true;
	memcpy(tmp, path, n + 1);
	for (char *c = tmp + 1; *c; c++) {
		if (*c != '/')
			continue;
		*c = '\0';
		if (pathset_find(&b->set, tmp) == K_OTHER)
			return true;
		*c = '/';
	}
	return false;
}

/* The directories a known interpreter needs (bundle.c), at their host
 * paths, with the symlinks that lead to them. */
static int add_bundles(struct builder *b, const char *prog, const char *typed)
{
	struct bundle_set set;
	int rc = 0;

	if (bundle_find(prog, &set) < 0)
		return fail(b, "out of memory");
	b->spec = typed;
	b->bundle = &set;
	for (size_t i = 0; i < set.n && rc == 0; i++) {
		char *real = deps_resolve(&b->deps, set.dirs[i]);

		/* Several patterns may lead to one dir (perl/5.36 -> 5.36.0). */
		if (!real || pathset_find(&b->set, real) != 0 || parent_taken(b, real)) {
			free(real);
			continue;
		}
		b->root_len = strlen(real);
		rc = add_parents(b, real);
		if (rc == 0)
			rc = add_tree(b, real, real, 0);
		free(real);
	}
	b->bundle = NULL;
	bundle_free(&set);
	return rc;
}

/* Libraries and their symlinks. What is there already (from --add) wins. */
static int add_deps(struct builder *b, const char *typed)
{
	if (deps_finish(&b->deps, b->err, b->errlen) < 0)
		return -1;
	b->spec = typed;
	for (size_t i = 0; i < b->deps.n; i++) {
		const struct deps_entry *e = &b->deps.v[i];
		struct stat st;
		int rc;

		if (pathset_find(&b->set, e->path) != 0 || parent_taken(b, e->path))
			continue;
		rc = add_parents(b, e->path);
		if (e->target)
			manifest_note(b->inputs, e->path, false, NULL);
		if (rc == 0 && e->target && claim(b, e->path, K_OTHER) == 1 &&
		    cpio_add_symlink(b->cpio, e->path, e->target) < 0)
			rc = fail(b, "out of memory building the guest image");
		if (rc == 0 && !e->target) {
			if (stat(e->path, &st) < 0)
				return fail(b, "%s: %s: %s", typed, e->path, strerror(errno));
			manifest_note(b->inputs, e->path, true, &st);
			rc = add_host_file(b, e->path, e->path, &st);
		}
		if (rc < 0)
			return -1;
	}
	return 0;
}

static int add_etc(struct builder *b)
{
	for (size_t i = 0; i < bundle_netc; i++) {
		const struct bundle_file *f = &bundle_etc[i];

		if (pathset_find(&b->set, f->path) != 0 || parent_taken(b, f->path))
			continue;
		if (claim(b, f->path, K_OTHER) < 0 ||
		    cpio_add_file(b->cpio, f->path, 0644, 0, f->text, strlen(f->text)) < 0)
			return fail(b, "out of memory building the guest image");
	}
	return 0;
}

/* The absolute, lexically normalised path PROGRAM was found at, or NULL. */
static char *typed_abs_path(const char *typed)
{
	char found[PATH_MAX], joined[2 * PATH_MAX + 2], cwd[PATH_MAX], err[8];

	if (!strchr(typed, '/')) {
		if (search_path(typed, found, sizeof(found), err, sizeof(err)) < 0)
			return NULL;
		typed = found;
	}
	if (typed[0] == '/')
		return cli_guest_path(typed);
	if (!getcwd(cwd, sizeof(cwd)))
		return NULL;
	snprintf(joined, sizeof(joined), "%s/%s", cwd, typed);
	return cli_guest_path(joined);
}

/* With a merged /usr, /bin/busybox is really /usr/bin/busybox. The program
 * sits at its realpath; the symlinks on the way from the path the user named
 * (/bin -> usr/bin) are recreated by add_deps (see add_all). Where --add put
 * a directory in their place, a symlink at the typed path itself keeps
 * scripts that use that path working. */
static int add_alias(struct builder *b, const struct cli_opts *o, const char *real)
{
	char *alias = typed_abs_path(o->program);
	int rc = 0;

	b->spec = NULL;
	if (alias && strcmp(alias, real) != 0 && pathset_find(&b->set, alias) == 0 &&
	    !parent_taken(b, alias)) {
		rc = add_parents(b, alias);
		if (rc == 0 && claim(b, alias, K_OTHER) == 1 &&
		    cpio_add_symlink(b->cpio, alias, real) < 0)
			rc = fail(b, "out of memory building the guest image");
	}
	free(alias);
	return rc;
}

/* The guest's LD_LIBRARY_PATH and LD_PRELOAD come from -e, never from the
 * host's environment: they are what the guest's ld.so will see. */
static const char *env_get(const struct cli_opts *o, const char *name)
{
	size_t n = strlen(name);

	for (size_t i = 0; i < o->nenv; i++)
		if (strncmp(o->env[i], name, n) == 0 && o->env[i][n] == '=')
			return o->env[i] + n + 1;
	return NULL;
}

static int add_adds(struct builder *b, const struct cli_opts *o)
{
	for (size_t i = 0; i < o->nadds; i++) {
		b->spec = o->adds[i].spec;
		if (add_parents(b, o->adds[i].guest) < 0 ||
		    add_tree(b, o->adds[i].host, o->adds[i].guest, 0) < 0)
			return -1;
	}
	return 0;
}

/* --add comes before the libraries and generated files so that the user's
 * files win where paths collide. */
static int add_all(struct builder *b, const struct cli_opts *o, struct image *img)
{
	char *typed;

	if (add_base(b) < 0 || add_program(b, o, img) < 0 || add_adds(b, o) < 0 ||
	    add_bundles(b, img->prog_path, o->program) < 0)
		return -1;
	typed = typed_abs_path(o->program);
	if (typed)
		free(deps_resolve(&b->deps, typed));   /* records the symlinks */
	free(typed);
	if (add_deps(b, o->program) < 0 ||
	    add_etc(b) < 0 || add_alias(b, o, img->prog_path) < 0)
		return -1;
	if (cpio_finish(b->cpio) < 0)
		return fail(b, "out of memory building the guest image");
	return 0;
}

int image_build(const struct cli_opts *o, struct image *img, char *err, size_t errlen)
{
	struct deps_config cfg = {
		.ld_library_path = env_get(o, "LD_LIBRARY_PATH"),
		.ld_preload = env_get(o, "LD_PRELOAD"),
	};
	struct builder b = { .inputs = img->inputs, .err = err, .errlen = errlen };
	int rc;

	deps_init(&b.deps, &cfg);
	b.deps.inputs = img->inputs;
	b.cpio = &img->cpio;
	rc = add_all(&b, o, img);
	pathset_free(&b.set);
	deps_free(&b.deps);
	if (rc < 0)
		image_free(img);
	return rc;
}

static void key_field(FILE *f, const char *name, const char *value)
{
	fprintf(f, "%s=%s", name, value ? value : "");
	fputc(value ? '\0' : '\1', f);   /* an unset value differs from an empty one */
}

/* Relative paths (PROGRAM, --add, library search dirs) mean something else
 * in another directory. */
static bool key_needs_cwd(const struct cli_opts *o)
{
	bool rel = strchr(o->program, '/') && o->program[0] != '/';

	for (size_t i = 0; i < o->nadds; i++)
		rel |= o->adds[i].host[0] != '/';
	return rel || env_get(o, "LD_LIBRARY_PATH") || env_get(o, "LD_PRELOAD");
}

/* PROGRAM as typed only matters through where it is found (the alias),
 * unless typed_abs_path could not say. */
static int key_fields(FILE *f, const struct cli_opts *o, const char *found, const char *real)
{
	char cwd[PATH_MAX];
	struct bundle_set set;

	key_field(f, found ? "found" : "program", found ? found : o->program);
	key_field(f, "real", real);
	if (key_needs_cwd(o))
		key_field(f, "cwd", getcwd(cwd, sizeof(cwd)));
	key_field(f, "LD_LIBRARY_PATH", env_get(o, "LD_LIBRARY_PATH"));
	key_field(f, "LD_PRELOAD", env_get(o, "LD_PRELOAD"));
	for (size_t i = 0; i < o->nadds; i++) {
		key_field(f, "add-host", o->adds[i].host);
		key_field(f, "add-guest", o->adds[i].guest);
	}
	if (bundle_find(real, &set) < 0) {
		bundle_free(&set);
		return -1;
	}
	for (size_t i = 0; i < set.n; i++)
		key_field(f, "bundle", set.dirs[i]);
	bundle_free(&set);
	return 0;
}

char *image_key(const struct cli_opts *o, size_t *len)
{
	char *found = typed_abs_path(o->program), *real = NULL, *key = NULL;
	FILE *f = NULL;

	/* typed_abs_path refuses "..": a PROGRAM with a '/' is found all the same. */
	if (found || strchr(o->program, '/'))
		real = realpath(found ? found : o->program, NULL);
	if (real)
		f = open_memstream(&key, len);
	if (f) {
		bool bad;

		bad = key_fields(f, o, found, real) < 0;
		bad |= ferror(f);
		if (fclose(f) != 0 || bad) {
			free(key);
			key = NULL;
		}
	}
	free(found);
	free(real);
	return key;
}

void image_init(struct image *img, uint8_t *buf, size_t cap)
{
	memset(img, 0, sizeof(*img));
	if (buf)
		cpio_init_fixed(&img->cpio, buf, cap);
	else
		cpio_init(&img->cpio);
}

void image_free(struct image *img)
{
	cpio_free(&img->cpio);
	free(img->prog_path);
	free(img->index);
	img->prog_path = NULL;
	img->index = NULL;
	img->index_len = 0;
}

int image_index(struct image *img)
{
	if (img->index ||
	    cpio_index_build(img->cpio.buf, img->cpio.len, &img->index, &img->index_len) == 0)
		return 0;
	return errno == ENOMEM ? -1 : 0;
}

/* ---- image files (wisp build / wisp run --image), see docs/image-format.md ---- */

#define IMAGE_MAGIC "WISPIMG1"
#define IMAGE_VERSION 1
#define IMAGE_ALIGN 4096
/* What wisp writes, for huge pages (see ENTRY_ALIGN in imgcache.c). */
#define IMAGE_ARCHIVE_ALIGN (2ull << 20)
#define IMAGE_META_MAX (1u << 20)
#define IMAGE_TRAILER_LEN 124   /* the newc "TRAILER!!!" entry, padded */

struct image_hdr {
	char magic[8];
	uint32_t version;
	uint32_t hdr_size;
	uint64_t file_size;
	uint64_t meta_off, meta_len;
	uint64_t cpio_off, cpio_len;
	uint32_t argc, nenv;
	uint64_t meta_hash;
};

_Static_assert(sizeof(struct image_hdr) == 72, "the image header is 72 bytes on disk");

/* The strings block: prog, argv..., env..., each NUL-terminated. */
static char *meta_pack(const struct image_meta *m, size_t *len)
{
	size_t n = strlen(m->prog) + 1, o = 0;
	char *buf;

	for (size_t i = 0; i < m->argc; i++)
		n += strlen(m->argv[i]) + 1;
	for (size_t i = 0; i < m->nenv; i++)
		n += strlen(m->env[i]) + 1;
	buf = malloc(n);
	if (!buf)
		return NULL;
	o += (size_t)sprintf(buf, "%s", m->prog) + 1;
	for (size_t i = 0; i < m->argc; i++)
		o += (size_t)sprintf(buf + o, "%s", m->argv[i]) + 1;
	for (size_t i = 0; i < m->nenv; i++)
		o += (size_t)sprintf(buf + o, "%s", m->env[i]) + 1;
	*len = n;
	return buf;
}

/* A regular file is written next to the target and renamed over it, so a
 * reader never sees a half-written image; anything else (a pipe,
 * /dev/null) is written in place. */
static int save_to(const char *path, const struct image_hdr *h, const char *meta,
		   const struct cpio *c)
{
	const struct iovec parts[] = {
		{ (void *)h, sizeof(*h) }, { (void *)meta, h->meta_len },
		{ NULL, h->cpio_off - h->meta_off - h->meta_len }, { c->buf, c->len },
	};
	struct stat st;
	int fd, e;

	if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
		fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
		if (fd < 0)
			return -1;
		e = io_write_parts(fd, parts, 4);
		return close(fd) < 0 || e < 0 ? -1 : 0;
	}
	return io_replace_file(path, parts, 4);
}

int image_save(const char *path, const struct image *img, const struct image_meta *m,
	       char *err, size_t errlen)
{
	struct image_hdr h = { .version = IMAGE_VERSION, .hdr_size = sizeof(h) };
	size_t meta_len;
	char *meta = meta_pack(m, &meta_len);
	int rc;

	if (!meta) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	memcpy(h.magic, IMAGE_MAGIC, sizeof(h.magic));
	h.meta_off = sizeof(h);
	h.meta_len = meta_len;
	h.cpio_off = (h.meta_off + meta_len + IMAGE_ARCHIVE_ALIGN - 1) & ~(IMAGE_ARCHIVE_ALIGN - 1);
	h.cpio_len = img->cpio.len;
	h.file_size = h.cpio_off + h.cpio_len;
	h.argc = (uint32_t)m->argc;
	h.nenv = (uint32_t)m->nenv;
	h.meta_hash = fnv64(meta, meta_len);
	rc = save_to(path, &h, meta, &img->cpio);
	if (rc < 0)
		snprintf(err, errlen, "cannot write image: %s: %s", path, strerror(errno));
	free(meta);
	return rc;
}

static int bad_image(char *err, size_t errlen, const char *path, const char *why)
{
	snprintf(err, errlen, "image %s: %s", path, why);
	return -1;
}

static const char *check_hdr(const struct image_hdr *h, uint64_t size)
{
	if (memcmp(h->magic, IMAGE_MAGIC, sizeof(h->magic)) != 0)
		return "not a wisp image (made by wisp build)";
	if (h->version != IMAGE_VERSION)
		return "unsupported wisp image version (rebuild it with this wisp)";
	if (h->hdr_size != sizeof(*h) || h->meta_off != sizeof(*h) ||
	    h->meta_len > IMAGE_META_MAX || h->meta_len == 0 ||
	    h->cpio_off < h->meta_off + h->meta_len || h->cpio_off % IMAGE_ALIGN ||
	    h->cpio_len < IMAGE_TRAILER_LEN || h->cpio_len >= UINT32_MAX ||
	    h->argc == 0 || h->argc > IMAGE_META_MAX || h->nenv > IMAGE_META_MAX)
		return "corrupt wisp image: bad header";
	if (h->file_size != size || h->cpio_off + h->cpio_len != size)
		return "truncated or corrupt wisp image: wrong size";
	return NULL;
}

/* Splits the strings block into prog, argv and env after checking that it
 * holds exactly that many strings. */
static const char *meta_unpack(struct image_meta *m, const struct image_hdr *h)
{
	size_t want = 1 + (size_t)h->argc + h->nenv, n = 0;
	char *p = m->block, *end = m->block + h->meta_len;

	if (fnv64(m->block, h->meta_len) != h->meta_hash)
		return "corrupt wisp image: bad checksum";
	if (end[-1] != '\0')
		return "corrupt wisp image: bad strings";
	m->argv = calloc(h->argc + 1, sizeof(char *));
	m->env = calloc(h->nenv + 1, sizeof(char *));
	if (!m->argv || !m->env)
		return "out of memory";
	for (; p < end; p += strlen(p) + 1, n++) {
		if (n >= want)
			return "corrupt wisp image: bad strings";
		if (n == 0)
			m->prog = p;
		else if (n <= h->argc)
			m->argv[n - 1] = p;
		else
			m->env[n - 1 - h->argc] = p;
	}
	if (n != want || m->prog[0] != '/')
		return "corrupt wisp image: bad strings";
	m->argc = h->argc;
	m->nenv = h->nenv;
	return NULL;
}

static const char *check_cpio(const struct cpio *c)
{
	const uint8_t *t = c->buf + c->len - IMAGE_TRAILER_LEN;

	if (memcmp(c->buf, "070701", 6) != 0 || memcmp(t, "070701", 6) != 0 ||
	    memcmp(t + CPIO_HDR_LEN, CPIO_TRAILER, sizeof(CPIO_TRAILER)) != 0)
		return "corrupt wisp image: the archive is not a cpio newc archive";
	return NULL;
}

/* Into guest RAM (a fixed, page-aligned buffer) the archive is mapped from
 * the file rather than read: no copy, no zeroed pages, and the page cache
 * is shared by every run of the image. The mapping is private, so what the
 * guest (or image_append) writes stays in this VM; the image file must not
 * change while a VM runs from it. */
static int read_archive(int fd, const struct cpio *c, uint64_t off, uint64_t len)
{
	long page = sysconf(_SC_PAGESIZE);

	if (c->fixed && page > 0 && (uintptr_t)c->buf % (uintptr_t)page == 0 &&
	    off % (uint64_t)page == 0 &&
	    mmap(c->buf, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_FIXED, fd,
		 (off_t)off) != MAP_FAILED)
		return 0;
	return io_pread_exact(fd, c->buf, len, off);
}

const char *image_read_archive(int fd, struct image *img, uint64_t off, uint64_t len)
{
	struct cpio *c = &img->cpio;

	if (len < IMAGE_TRAILER_LEN || len >= UINT32_MAX)
		return "corrupt wisp image: the archive is not a cpio newc archive";
	if (c->fixed && len > c->cap) {
		c->overflow = true;
		return "too large for guest memory";
	}
	if (!c->fixed && !(c->buf = malloc(len)))
		return "out of memory";
	c->len = len;
	if (!c->fixed)
		c->cap = len;
	if (read_archive(fd, c, off, len) < 0)
		return strerror(errno);
	return check_cpio(c);
}

static int load_parts(int fd, const char *path, struct image *img, struct image_meta *m,
		      char *err, size_t errlen)
{
	struct image_hdr h;
	struct stat st;
	const char *why;

	if (fstat(fd, &st) < 0 || io_pread_exact(fd, &h, sizeof(h), 0) < 0)
		return bad_image(err, errlen, path, errno == EIO ? "not a wisp image (too short)"
								 : strerror(errno));
	why = check_hdr(&h, (uint64_t)st.st_size);
	if (why)
		return bad_image(err, errlen, path, why);
	m->block = malloc(h.meta_len);
	if (!m->block)
		return bad_image(err, errlen, path, "out of memory");
	if (io_pread_exact(fd, m->block, h.meta_len, h.meta_off) < 0)
		return bad_image(err, errlen, path, strerror(errno));
	why = meta_unpack(m, &h);
	if (!why)
		why = image_read_archive(fd, img, h.cpio_off, h.cpio_len);
	if (why)
		return bad_image(err, errlen, path, why);
	img->prog_path = strdup(m->prog);
	return img->prog_path ? 0 : bad_image(err, errlen, path, "out of memory");
}

int image_load(const char *path, struct image *img, struct image_meta *m, char *err,
	       size_t errlen)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), rc;

	memset(m, 0, sizeof(*m));
	if (fd < 0)
		return bad_image(err, errlen, path, strerror(errno));
	rc = load_parts(fd, path, img, m, err, errlen);
	close(fd);
	if (rc < 0) {
		image_free(img);
		image_meta_free(m);
	}
	return rc;
}

void image_meta_free(struct image_meta *m)
{
	free(m->block);
	free(m->argv);
	free(m->env);
	memset(m, 0, sizeof(*m));
}

/* run --image with --add: the new entries go after the stored ones (a later
 * cpio entry replaces an earlier one, directories merge), then a new trailer. */
int image_append(struct image *img, const struct cli_opts *o, char *err, size_t errlen)
{
	struct builder b = { .cpio = &img->cpio, .err = err, .errlen = errlen };
	int rc;

	if (o->nadds == 0)
		return 0;
	deps_init(&b.deps, NULL);
	img->cpio.len -= IMAGE_TRAILER_LEN;
	img->cpio.next_ino = 1u << 30;   /* clear of the stored entries' numbers */
	rc = add_adds(&b, o);
	if (rc == 0 && cpio_finish(&img->cpio) < 0)
		rc = fail(&b, "out of memory building the guest image");
	pathset_free(&b.set);
	deps_free(&b.deps);
	return rc;
}
