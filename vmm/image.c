/* image.c: resolve the program, walk --add trees and emit them as a cpio archive. */
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
#include <sys/stat.h>
#include <unistd.h>

#include "elf.h"

#define IMAGE_DEFAULT_PATH "/bin:/usr/bin"
#define IMAGE_MAX_DEPTH 64

enum kind { K_DIR = 1, K_OTHER = 2 };

/* Open-addressing set of guest paths already in the archive, so that parents
 * are emitted once and overlapping --add trees do not produce duplicates. */
struct pathset {
	char **keys;
	uint8_t *kinds;
	size_t cap, n;
};

struct builder {
	struct cpio *cpio;
	struct pathset set;
	const char *spec;     /* current --add spec for messages */
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

static uint64_t hash(const char *s)
{
	uint64_t h = 1469598103934665603ull;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h;
}

static size_t set_slot(const struct pathset *s, const char *key)
{
	size_t i = (size_t)hash(key) & (s->cap - 1);

	while (s->keys[i] && strcmp(s->keys[i], key) != 0)
		i = (i + 1) & (s->cap - 1);
	return i;
}

static int set_grow(struct pathset *s)
{
	struct pathset ns = { .cap = s->cap ? s->cap * 2 : 256 };

	ns.keys = calloc(ns.cap, sizeof(*ns.keys));
	ns.kinds = calloc(ns.cap, 1);
	if (!ns.keys || !ns.kinds) {
		free(ns.keys);
		free(ns.kinds);
		return -1;
	}
	for (size_t i = 0; i < s->cap; i++) {
		if (s->keys[i]) {
			size_t j = set_slot(&ns, s->keys[i]);

			ns.keys[j] = s->keys[i];
			ns.kinds[j] = s->kinds[i];
		}
	}
	ns.n = s->n;
	free(s->keys);
	free(s->kinds);
	*s = ns;
	return 0;
}

static int set_find(const struct pathset *s, const char *key)
{
	return s->cap ? s->kinds[set_slot(s, key)] : 0;
}

static int set_insert(struct pathset *s, const char *key, enum kind k)
{
	size_t i;

	if ((s->n + 1) * 2 > s->cap && set_grow(s) < 0)
		return -1;
	i = set_slot(s, key);
	s->keys[i] = strdup(key);
	if (!s->keys[i])
		return -1;
	s->kinds[i] = (uint8_t)k;
	s->n++;
	return 0;
}

static void set_free(struct pathset *s)
{
	for (size_t i = 0; i < s->cap; i++)
		free(s->keys[i]);
	free(s->keys);
	free(s->kinds);
	memset(s, 0, sizeof(*s));
}

/* Returns 1 if path is new (caller emits it), 0 if it already exists with a
 * compatible kind (first one wins), -1 on a file/directory clash. */
static int claim(struct builder *b, const char *path, enum kind k)
{
	int have = set_find(&b->set, path);

	if (have == 0)
		return set_insert(&b->set, path, k) < 0 ? fail(b, "out of memory") : 1;
	if (have != (int)k)
		return fail(b, "%s%sguest path %s is both a directory and a file",
			    b->spec ? b->spec : "", b->spec ? ": " : "", path);
	return 0;
}

static int add_dir(struct builder *b, const char *path, uint32_t perm)
{
	int rc;

	if (strcmp(path, "/") == 0)
		return 0;   /* the root exists already; its mode is the kernel's */
	rc = claim(b, path, K_DIR);

	if (rc <= 0)
		return rc;
	return cpio_add_dir(b->cpio, path, perm) < 0 ? fail(b, "out of memory") : 0;
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
		if (add_dir(b, tmp, 0755) < 0)
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
	uint8_t *data;
	size_t len;
	int rc = claim(b, guest, K_OTHER);

	if (rc <= 0)
		return rc;
	if (image_read_file(host, &data, &len) < 0)
		return fail(b, "%s: %s: %s", b->spec, host, strerror(errno));
	rc = cpio_add_file(b->cpio, guest, st->st_mode & 07777, (uint32_t)st->st_mtime, data, len);
	free(data);
	return rc < 0 ? fail(b, "out of memory building the guest image") : 0;
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

static int add_children(struct builder *b, const char *host, const char *guest, int depth)
{
	struct dirent **names;
	int n = scandir(host, &names, NULL, alphasort), rc = 0;

	if (n < 0)
		return fail(b, "%s: %s: %s", b->spec, host, strerror(errno));
	for (int i = 0; i < n; i++) {
		const char *name = names[i]->d_name;
		char hp[PATH_MAX], gp[PATH_MAX];

		if (rc == 0 && strcmp(name, ".") && strcmp(name, "..")) {
			if (snprintf(hp, sizeof(hp), "%s/%s", host, name) >= (int)sizeof(hp) ||
			    snprintf(gp, sizeof(gp), "%s/%s", strcmp(guest, "/") ? guest : "",
				     name) >= (int)sizeof(gp))
				rc = fail(b, "%s: %s/%s: path too long", b->spec, host, name);
			else
				rc = add_tree(b, hp, gp, depth + 1);
		}
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
	if (S_ISDIR(st.st_mode)) {
		if (add_dir(b, guest, st.st_mode & 07777) < 0)
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
		if (add_dir(b, dirs[i].path, dirs[i].perm) < 0)
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
	if (stat(img->prog_path, &st) < 0)
		st.st_mtime = 0;
	rc = add_parents(b, img->prog_path);
	if (rc == 0)
		rc = claim(b, img->prog_path, K_OTHER);
	if (rc == 1 && cpio_add_file(b->cpio, img->prog_path, 0755, (uint32_t)st.st_mtime,
				     data, len) < 0)
		rc = fail(b, "out of memory building the guest image");
	free(data);
	return rc < 0 ? -1 : 0;
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
 * sits at its realpath; a symlink at the path the user named keeps
 * scripts that use that path working, unless --add put something there. */
static int add_alias(struct builder *b, const struct cli_opts *o, const char *real)
{
	char *alias = typed_abs_path(o->program);
	int rc = 0;

	b->spec = NULL;
	if (alias && strcmp(alias, real) != 0 && set_find(&b->set, alias) == 0) {
		rc = add_parents(b, alias);
		if (rc == 0 && claim(b, alias, K_OTHER) == 1 &&
		    cpio_add_symlink(b->cpio, alias, real) < 0)
			rc = fail(b, "out of memory building the guest image");
	}
	free(alias);
	return rc;
}

static int add_all(struct builder *b, const struct cli_opts *o, struct image *img)
{
	if (add_base(b) < 0 || add_program(b, o, img) < 0)
		return -1;
	for (size_t i = 0; i < o->nadds; i++) {
		b->spec = o->adds[i].spec;
		if (add_parents(b, o->adds[i].guest) < 0 ||
		    add_tree(b, o->adds[i].host, o->adds[i].guest, 0) < 0)
			return -1;
	}
	if (add_alias(b, o, img->prog_path) < 0)
		return -1;
	if (cpio_finish(b->cpio) < 0)
		return fail(b, "out of memory building the guest image");
	return 0;
}

int image_build(const struct cli_opts *o, struct image *img, char *err, size_t errlen)
{
	struct builder b = { .err = err, .errlen = errlen };
	int rc;

	memset(img, 0, sizeof(*img));
	cpio_init(&img->cpio);
	b.cpio = &img->cpio;
	rc = add_all(&b, o, img);
	set_free(&b.set);
	if (rc < 0)
		image_free(img);
	return rc;
}

void image_free(struct image *img)
{
	cpio_free(&img->cpio);
	free(img->prog_path);
	img->prog_path = NULL;
}
