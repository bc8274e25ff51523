/* imgcache.c: packed images kept under $XDG_CACHE_HOME/wisp for later runs.
 *
 * An entry is one file, KEYHASH.wimg, written whole and renamed into place
 * (io_replace_file), so readers see an old entry or a new one, never part
 * of one; a reader keeps the inode it opened even if another run replaces
 * or evicts it meanwhile. Layout (host byte order, like the manifest):
 *
 *   struct entry_hdr | key | prog_path | manifest | index | hole to 2 MiB | archive
 *
 * The index is the archive's initramfs index (cpio_index.h), stored so that
 * a hit need not read the header in every file of the archive again; like
 * the archive it is not checksummed, and the kernel bounds-checks it too.
 * Everything before the archive is checked (sizes against the file's,
 * checksum, the key byte for byte, every manifest input stat'ed again)
 * before the archive is used. The archive is not checksummed, as reading
 * all of it is what the cache avoids: it only has to start and end like a
 * newc archive, and the guest kernel bounds-checks every entry. */
#define _GNU_SOURCE
#include "imgcache.h"
#include "clock.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "hash.h"
#include "io.h"

#define ENTRY_MAGIC "WISPCCH1"
#define ENTRY_VERSION 3
/* The archive starts on a 2 MiB boundary of the entry, as it does in guest
 * RAM: the host can then map the file's large page-cache folios with huge
 * pages, and KVM the guest's direct map of them, so that the kernel's first
 * touch of each page of it costs no shadow page fault of its own (11 us a
 * page with 4 KiB host pages here, 1 us with huge ones). */
#define ENTRY_ALIGN (2u << 20)
#define ENTRY_SUFFIX ".wimg"
#define ENTRY_META_MAX (64u << 20)
#define STALE_TMP_SECONDS 3600
/* An input changed this recently may change again within one tick of its
 * file system's clock, keeping its size and times: such archives are not
 * stored. One second covers file systems with whole-second times. */
#define RACY_NS 1000000000ll

struct entry_hdr {
	char magic[8];
	uint32_t version;
	uint32_t hdr_size;
	uint64_t file_size;
	uint32_t key_len, prog_len;
	uint64_t man_len;
	uint64_t index_len;
	uint64_t cpio_off, cpio_len;
	uint64_t meta_hash;      /* FNV-1a of key, prog_path and manifest */
};

static void say(const struct imgcache *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void say(const struct imgcache *c, const char *fmt, ...)
{
	va_list ap;

	if (!c->verbose)
		return;
	va_start(ap, fmt);
	fputs("wisp: image cache: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

static bool env_on(const char *name)
{
	const char *v = getenv(name);

	return v && v[0] && strcmp(v, "0") != 0;
}

/* $XDG_CACHE_HOME/wisp, else ~/.cache/wisp; relative values are ignored,
 * as the XDG spec says. */
static int cache_dir(char *out, size_t len)
{
	const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
	int n;

	if (xdg && xdg[0] == '/')
		n = snprintf(out, len, "%s/wisp", xdg);
	else if (home && home[0] == '/')
		n = snprintf(out, len, "%s/.cache/wisp", home);
	else
		return -1;
	return n < (int)len ? 0 : -1;
}

/* A rebuilt wisp may pack differently (bundle lists, /etc files, layout):
 * its executable's identity is part of every key. */
static void key_wisp(FILE *f)
{
	struct stat st = { 0 };

	stat("/proc/self/exe", &st);
	fprintf(f, "wisp-imgcache %d", ENTRY_VERSION);
	fputc('\0', f);
	fprintf(f, "exe=%llu:%llu:%lld:%lld.%09ld:%lld.%09ld", (unsigned long long)st.st_dev,
		(unsigned long long)st.st_ino, (long long)st.st_size,
		(long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec,
		(long long)st.st_ctim.tv_sec, st.st_ctim.tv_nsec);
	fputc('\0', f);
}

static char *make_key(const struct cli_opts *o, size_t *len)
{
	size_t ilen;
	char *image = image_key(o, &ilen), *key = NULL;
	FILE *f = image ? open_memstream(&key, len) : NULL;
	bool bad;

	if (!f) {
		free(image);
		return NULL;
	}
	key_wisp(f);
	fwrite(image, 1, ilen, f);
	free(image);
	bad = ferror(f);
	if (fclose(f) != 0 || bad) {
		free(key);
		return NULL;
	}
	return key;
}

void imgcache_open(struct imgcache *c, const struct cli_opts *o)
{
	memset(c, 0, sizeof(*c));
	c->verbose = env_on("WISP_VERBOSE");
	if (o->no_cache || env_on("WISP_NO_CACHE")) {
		say(c, "off (%s)", o->no_cache ? "--no-cache" : "WISP_NO_CACHE");
		return;
	}
	if (cache_dir(c->dir, sizeof(c->dir)) < 0) {
		say(c, "off (no absolute XDG_CACHE_HOME or HOME)");
		return;
	}
	c->key = make_key(o, &c->key_len);
	if (!c->key)
		return;   /* no such program: image_build says so */
	snprintf(c->path, sizeof(c->path), "%s/%016llx%s", c->dir,
		 (unsigned long long)fnv64(c->key, c->key_len), ENTRY_SUFFIX);
	c->enabled = true;
}

void imgcache_close(struct imgcache *c)
{
	free(c->key);
	memset(c, 0, sizeof(*c));
}

/* ---- reading an entry ---- */

/* Where the index starts: after key, prog_path and manifest. */
static uint64_t index_off(const struct entry_hdr *h)
{
	return sizeof(*h) + (uint64_t)h->key_len + h->prog_len + h->man_len;
}

static const char *check_hdr(const struct entry_hdr *h, const struct imgcache *c,
			     uint64_t size)
{
	uint64_t meta_end = index_off(h) + h->index_len;

	if (memcmp(h->magic, ENTRY_MAGIC, sizeof(h->magic)) != 0)
		return "not a wisp cache entry";
	if (h->version != ENTRY_VERSION || h->hdr_size != sizeof(*h))
		return "another version";
	if (h->key_len != c->key_len)
		return "made for another key";
	if (h->prog_len == 0 || h->prog_len >= PATH_MAX || h->man_len > ENTRY_META_MAX ||
	    h->index_len > ENTRY_META_MAX ||
	    h->cpio_off % ENTRY_ALIGN || h->cpio_off < meta_end || h->cpio_off > size ||
	    h->file_size != size || h->cpio_off + h->cpio_len != size)
		return "truncated or corrupt";
	return NULL;
}

/* The header and what follows it up to the index; *meta (caller frees)
 * holds key, prog_path and manifest. */
static const char *read_meta(int fd, const struct imgcache *c, struct entry_hdr *h,
			     char **meta)
{
	struct stat st;
	size_t len;
	const char *why;

	if (fstat(fd, &st) < 0 || io_pread_exact(fd, h, sizeof(*h), 0) < 0)
		return "truncated or unreadable";
	why = check_hdr(h, c, (uint64_t)st.st_size);
	if (why)
		return why;
	len = h->key_len + h->prog_len + h->man_len;
	*meta = malloc(len);
	if (!*meta)
		return "out of memory";
	if (io_pread_exact(fd, *meta, len, sizeof(*h)) < 0)
		return "truncated or unreadable";
	if (fnv64(*meta, len) != h->meta_hash)
		return "corrupt (bad checksum)";
	if (memcmp(*meta, c->key, c->key_len) != 0)
		return "made for another key";
	return NULL;
}

static const char *read_index(int fd, const struct entry_hdr *h, struct image *img)
{
	if (!(img->index = malloc(h->index_len)))
		return "out of memory";
	img->index_len = h->index_len;
	return io_pread_exact(fd, img->index, h->index_len, index_off(h)) < 0 ?
	       "truncated or unreadable" : NULL;
}

static const char *load_fd(int fd, const struct imgcache *c, struct image *img)
{
	struct entry_hdr h;
	char *meta = NULL;
	const char *why = read_meta(fd, c, &h, &meta);

	if (!why && !manifest_unchanged((uint8_t *)meta + h.key_len + h.prog_len, h.man_len))
		why = "an input changed";
	if (!why)
		why = image_read_archive(fd, img, h.cpio_off, h.cpio_len);
	if (!why && !(img->prog_path = strndup(meta + h.key_len, h.prog_len)))
		why = "out of memory";
	if (!why && h.index_len)
		why = read_index(fd, &h, img);
	free(meta);
	return why;
}

int imgcache_load(struct imgcache *c, struct image *img)
{
	int fd = open(c->path, O_RDONLY | O_CLOEXEC);
	const char *why;

	c->pack_start_ns = (int64_t)clock_ns(CLOCK_REALTIME);
	if (fd < 0) {
		say(c, "miss %s (%s)", c->path, strerror(errno));
		return 0;
	}
	why = load_fd(fd, c, img);
	if (!why)
		futimens(fd, NULL);   /* recently used: evicted last */
	close(fd);
	if (img->cpio.overflow)
		return -1;
	if (why) {
		say(c, "miss %s (%s)", c->path, why);
		c->pack_start_ns = (int64_t)clock_ns(CLOCK_REALTIME);
		return 0;
	}
	say(c, "hit %s", c->path);
	return 1;
}

/* ---- writing an entry ---- */

static int mkdir_p(const char *dir)
{
	char tmp[PATH_MAX];

	snprintf(tmp, sizeof(tmp), "%s", dir);
	for (char *s = tmp + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(tmp, 0700) < 0 && errno != EEXIST)
			return -1;
		*s = '/';
	}
	return mkdir(tmp, 0700) < 0 && errno != EEXIST ? -1 : 0;
}

static const char *why_not_store(const struct imgcache *c, const struct image *img,
				 const struct manifest *m)
{
	if (m->failed)
		return "out of memory";
	if (m->newest_ns >= c->pack_start_ns - RACY_NS)
		return "an input changed less than a second before packing";
	if (img->cpio.len > IMGCACHE_MAX_BYTES)
		return "larger than the cache";
	return NULL;
}

static int write_entry(const struct imgcache *c, const struct image *img,
		       const struct manifest *m)
{
	const char *prog = img->prog_path;
	struct entry_hdr h = {
		.version = ENTRY_VERSION, .hdr_size = sizeof(h),
		.key_len = (uint32_t)c->key_len, .prog_len = (uint32_t)strlen(prog),
		.man_len = m->len, .index_len = img->index_len, .cpio_len = img->cpio.len,
	};
	uint64_t meta_end = index_off(&h) + h.index_len;
	struct iovec parts[] = {
		{ &h, sizeof(h) }, { c->key, c->key_len }, { (void *)prog, h.prog_len },
		{ m->buf, m->len }, { img->index, img->index_len }, { NULL, 0 },
		{ img->cpio.buf, img->cpio.len },
	};

	memcpy(h.magic, ENTRY_MAGIC, sizeof(h.magic));
	h.cpio_off = (meta_end + ENTRY_ALIGN - 1) & ~(uint64_t)(ENTRY_ALIGN - 1);
	h.file_size = h.cpio_off + h.cpio_len;
	parts[5].iov_len = h.cpio_off - meta_end;
	h.meta_hash = fnv64_more(fnv64_more(fnv64(c->key, c->key_len), prog, h.prog_len),
				 m->buf, m->len);
	return io_replace_file(c->path, parts, 7);
}

void imgcache_store(struct imgcache *c, const struct image *img, const struct manifest *m)
{
	const char *why = why_not_store(c, img, m);

	if (why) {
		say(c, "not stored (%s)", why);
		return;
	}
	if (mkdir_p(c->dir) < 0 || write_entry(c, img, m) < 0) {
		say(c, "not stored: %s: %s", c->path, strerror(errno));
		return;
	}
	say(c, "stored %s", c->path);
	imgcache_evict(c->dir, IMGCACHE_MAX_ENTRIES, IMGCACHE_MAX_BYTES);
}

/* ---- eviction ---- */

struct victim {
	char name[NAME_MAX + 1];
	uint64_t size;
	int64_t mtime_ns;
};

static bool is_entry(const char *name, bool *tmp)
{
	const char *s = strstr(name, ENTRY_SUFFIX);

	if (!s || s == name)
		return false;
	*tmp = s[strlen(ENTRY_SUFFIX)] != '\0';   /* KEY.wimg.XXXXXX from io_replace_file */
	return true;
}

static int newest_first(const void *a, const void *b)
{
	const struct victim *x = a, *y = b;

	return x->mtime_ns < y->mtime_ns ? 1 : x->mtime_ns > y->mtime_ns ? -1 : 0;
}

/* The entries of dir, and what is left of writers that died long ago gone. */
static struct victim *list_entries(int dfd, DIR *d, size_t *n)
{
	struct victim *v = NULL;
	size_t cap = 0;
	struct dirent *e;
	int64_t stale = (int64_t)clock_ns(CLOCK_REALTIME) - STALE_TMP_SECONDS * 1000000000ll;

	*n = 0;
	while ((e = readdir(d))) {
		struct stat st;
		bool tmp;

		if (!is_entry(e->d_name, &tmp) || fstatat(dfd, e->d_name, &st,
							  AT_SYMLINK_NOFOLLOW) < 0 ||
		    !S_ISREG(st.st_mode))
			continue;
		if (tmp) {
			if ((int64_t)st.st_mtim.tv_sec * 1000000000 < stale)
				unlinkat(dfd, e->d_name, 0);
			continue;
		}
		if (*n == cap) {
			struct victim *nv = reallocarray(v, cap ? cap * 2 : 32, sizeof(*nv));

			if (!nv)
				break;
			v = nv;
			cap = cap ? cap * 2 : 32;
		}
		snprintf(v[*n].name, sizeof(v[*n].name), "%s", e->d_name);
		v[*n].size = (uint64_t)st.st_size;
		v[*n].mtime_ns = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
		(*n)++;
	}
	return v;
}

void imgcache_evict(const char *dir, size_t max_entries, uint64_t max_bytes)
{
	DIR *d = opendir(dir);
	struct victim *v;
	uint64_t total = 0;
	size_t n;

	if (!d)
		return;
	v = list_entries(dirfd(d), d, &n);
	if (n)
		qsort(v, n, sizeof(*v), newest_first);
	for (size_t i = 0; i < n; i++) {
		total += v[i].size;
		if (i >= max_entries || total > max_bytes)
			unlinkat(dirfd(d), v[i].name, 0);
	}
	free(v);
	closedir(d);
}
