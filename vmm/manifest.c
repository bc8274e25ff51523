/* manifest.c: the host files an archive was built from, and whether they changed.
 *
 * A record is a struct mf_rec followed by path_len bytes of path (no NUL),
 * in host byte order: a manifest is only read back on the host that wrote it. */
#include "manifest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct mf_rec {
	uint32_t path_len;
	uint8_t follow, present;
	uint16_t pad;
	uint32_t mode;
	uint32_t pad2;
	uint64_t dev, ino, size;
	int64_t mtime_ns, ctime_ns;
};

static int64_t ns(const struct timespec *t)
{
	return (int64_t)t->tv_sec * 1000000000 + t->tv_nsec;
}

static void fill(struct mf_rec *r, const struct stat *st)
{
	r->present = 1;
	r->mode = st->st_mode;
	r->dev = st->st_dev;
	r->ino = st->st_ino;
	r->size = (uint64_t)st->st_size;
	r->mtime_ns = ns(&st->st_mtim);
	r->ctime_ns = ns(&st->st_ctim);
}

static int append(struct manifest *m, const struct mf_rec *r, const char *path)
{
	size_t need = m->len + sizeof(*r) + r->path_len;

	if (need > m->cap) {
		size_t cap = m->cap ? m->cap * 2 : 64 * 1024;
		uint8_t *nb;

		while (cap < need)
			cap *= 2;
		nb = realloc(m->buf, cap);
		if (!nb)
			return -1;
		m->buf = nb;
		m->cap = cap;
	}
	memcpy(m->buf + m->len, r, sizeof(*r));
	memcpy(m->buf + m->len + sizeof(*r), path, r->path_len);
	m->len = need;
	m->n++;
	return 0;
}

/* Search dirs and symlinks are met again and again: each is noted once. */
static bool seen_before(struct manifest *m, const char *path, bool follow)
{
	if (pathset_find(&m->seen[follow], path))
		return true;
	if (pathset_insert(&m->seen[follow], path, 1) < 0)
		return m->failed = true;
	return false;
}

void manifest_note(struct manifest *m, const char *path, bool follow, const struct stat *st)
{
	struct mf_rec r = { .path_len = (uint32_t)strlen(path), .follow = follow };
	struct stat now;

	if (!m || m->failed || seen_before(m, path, follow))
		return;
	if (!st && (follow ? stat(path, &now) : lstat(path, &now)) == 0)
		st = &now;
	if (st) {
		fill(&r, st);
		if (r.mtime_ns > m->newest_ns)
			m->newest_ns = r.mtime_ns;
		if (r.ctime_ns > m->newest_ns)
			m->newest_ns = r.ctime_ns;
	}
	if (append(m, &r, path) < 0)
		m->failed = true;
}

void manifest_note_dir_of(struct manifest *m, const char *path)
{
	const char *slash = strrchr(path, '/');
	char dir[4096];

	if (slash)
		snprintf(dir, sizeof(dir), "%.*s", slash == path ? 1 : (int)(slash - path), path);
	else
		snprintf(dir, sizeof(dir), ".");
	manifest_note(m, dir, true, NULL);
}

static bool rec_unchanged(const struct mf_rec *r, const char *path)
{
	struct mf_rec now = { .path_len = r->path_len, .follow = r->follow };
	struct stat st;

	if ((r->follow ? stat(path, &st) : lstat(path, &st)) == 0)
		fill(&now, &st);
	return memcmp(&now, r, sizeof(now)) == 0;
}

bool manifest_unchanged(const uint8_t *buf, size_t len)
{
	char path[4096];

	for (size_t off = 0; off < len;) {
		struct mf_rec r;

		if (len - off < sizeof(r))
			return false;
		memcpy(&r, buf + off, sizeof(r));
		off += sizeof(r);
		if (r.path_len >= sizeof(path) || r.path_len > len - off)
			return false;
		memcpy(path, buf + off, r.path_len);
		path[r.path_len] = '\0';
		off += r.path_len;
		if (!rec_unchanged(&r, path))
			return false;
	}
	return true;
}

void manifest_free(struct manifest *m)
{
	pathset_free(&m->seen[0]);
	pathset_free(&m->seen[1]);
	free(m->buf);
	memset(m, 0, sizeof(*m));
}
