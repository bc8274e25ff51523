/* cpio.c: write cpio newc entries into a growing memory buffer. */
#include "cpio.h"
#include "io.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define CPIO_PAGE 4096
/* Files at least this large get their data on a page boundary of the
 * archive (which is loaded page-aligned), so that the guest kernel can map
 * their pages into programs instead of copying them; smaller ones would
 * waste too much of their size in padding. */
#define CPIO_ALIGN_MIN (32 * 1024)
/* The smallest padding entry: a header and the name ".". */
#define CPIO_PAD_MIN 112

void cpio_init(struct cpio *c)
{
	memset(c, 0, sizeof(*c));
	c->next_ino = 1;
}

void cpio_init_fixed(struct cpio *c, uint8_t *buf, size_t cap)
{
	cpio_init(c);
	c->buf = buf;
	c->cap = cap;
	c->fixed = true;
}

static int reserve(struct cpio *c, size_t more)
{
	size_t cap = c->cap ? c->cap : 64 * 1024;
	uint8_t *nb;

	if (c->failed || more > SIZE_MAX / 2 - c->len)
		return c->failed = 1, -1;
	if (c->len + more <= c->cap)
		return 0;
	if (c->fixed) {
		c->overflow = true;
		return c->failed = 1, -1;
	}
	while (cap < c->len + more)
		cap *= 2;
	nb = realloc(c->buf, cap);
	if (!nb)
		return c->failed = 1, -1;
	c->buf = nb;
	c->cap = cap;
	return 0;
}

static void put(struct cpio *c, const void *p, size_t n)
{
	memcpy(c->buf + c->len, p, n);
	c->len += n;
}

/* newc pads the header+name and the data each to a multiple of 4 bytes. */
static void pad4(struct cpio *c)
{
	while (c->len & 3)
		c->buf[c->len++] = 0;
}

static size_t padded(size_t n)
{
	return (n + 3) & ~(size_t)3;
}

/* Room for an entry of this name with up to size bytes of data. */
static int reserve_entry(struct cpio *c, const char *name, size_t size)
{
	size_t namesize = strlen(name) + 1;

	if (size > UINT32_MAX || namesize > UINT32_MAX)
		return c->failed = 1, -1;
	return reserve(c, padded(CPIO_HDR_LEN + namesize) + padded(size) + 4);
}

static void put_header(struct cpio *c, const char *name, uint32_t ino, uint32_t mode,
		       uint32_t nlink, uint32_t mtime, size_t size)
{
	size_t namesize = strlen(name) + 1;
	char hdr[CPIO_HDR_LEN + 1];

	snprintf(hdr, sizeof(hdr), "070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X",
		 ino, mode, 0u, 0u, nlink, mtime, (uint32_t)size, 0u, 0u, 0u, 0u,
		 (uint32_t)namesize, 0u);
	put(c, hdr, CPIO_HDR_LEN);
	put(c, name, namesize);
	pad4(c);
}

static int entry(struct cpio *c, const char *name, uint32_t ino, uint32_t mode,
		 uint32_t nlink, uint32_t mtime, const void *data, size_t size);

/* Puts the data of the next entry (named name, of size bytes) on a page
 * boundary when it is large. newc has no padding between entries, so the
 * gap is an entry of its own: the root directory, named "." then "/."
 * repeated to the length needed, with the root's usual mode; readers
 * (Linux, GNU cpio, wisp) merge it into the root. Its name stays under
 * PATH_MAX. */
static int align_data(struct cpio *c, const char *name, size_t size)
{
	size_t hdr = padded(CPIO_HDR_LEN + strlen(name) + 1);
	size_t gap = (CPIO_PAGE - (c->len + hdr) % CPIO_PAGE) % CPIO_PAGE;
	char pad[CPIO_PAGE + CPIO_PAD_MIN];
	size_t namelen;

	if (size < CPIO_ALIGN_MIN || gap == 0)
		return 0;
	if (gap < CPIO_PAD_MIN)
		gap += CPIO_PAGE;
	/* header + name + NUL == gap: a multiple of 4, so no name padding */
	namelen = gap - CPIO_HDR_LEN - 1;
	pad[0] = '.';
	for (size_t i = 1; i < namelen; i += 2)
		memcpy(pad + i, "/.", 2);
	pad[namelen] = '\0';
	return entry(c, pad, c->next_ino++, S_IFDIR | 0755, 2, (uint32_t)time(NULL), NULL, 0);
}

static int entry(struct cpio *c, const char *name, uint32_t ino, uint32_t mode,
		 uint32_t nlink, uint32_t mtime, const void *data, size_t size)
{
	if (S_ISREG(mode) && align_data(c, name, size) < 0)
		return -1;
	if (reserve_entry(c, name, size) < 0)
		return -1;
	put_header(c, name, ino, mode, nlink, mtime, size);
	if (size)
		put(c, data, size);
	pad4(c);
	return 0;
}

static const char *relative(const char *name)
{
	while (*name == '/')
		name++;
	return *name ? name : ".";
}

int cpio_add(struct cpio *c, const char *name, uint32_t mode, uint32_t mtime,
	     const void *data, size_t size)
{
	uint32_t nlink = S_ISDIR(mode) ? 2 : 1;

	if (c->failed)
		return -1;
	return entry(c, relative(name), c->next_ino++, mode, nlink, mtime, data, size);
}

int cpio_add_dir(struct cpio *c, const char *name, uint32_t perm, uint32_t mtime)
{
	return cpio_add(c, name, S_IFDIR | (perm & 07777), mtime, NULL, 0);
}

int cpio_add_file(struct cpio *c, const char *name, uint32_t perm, uint32_t mtime,
		  const void *data, size_t size)
{
	return cpio_add(c, name, S_IFREG | (perm & 07777), mtime, data, size);
}

const uint8_t *cpio_add_file_fd(struct cpio *c, const char *name, uint32_t perm,
				uint32_t mtime, int fd, size_t size, size_t *len)
{
	const char *rel = relative(name);
	size_t data;
	ssize_t n;

	if (c->failed || align_data(c, rel, size) < 0 || reserve_entry(c, rel, size) < 0)
		return NULL;
	data = c->len + padded(CPIO_HDR_LEN + strlen(rel) + 1);
	/* A file that shrank while being read keeps what it had. */
	n = io_pread_upto(fd, c->buf + data, size, 0);
	if (n < 0)
		return NULL;
	put_header(c, rel, c->next_ino++, S_IFREG | (perm & 07777), 1, mtime, (size_t)n);
	c->len = data + (size_t)n;
	pad4(c);
	*len = (size_t)n;
	return c->buf + data;
}

int cpio_add_symlink(struct cpio *c, const char *name, const char *target)
{
	return cpio_add(c, name, S_IFLNK | 0777, 0, target, strlen(target));
}

int cpio_finish(struct cpio *c)
{
	if (c->failed)
		return -1;
	return entry(c, CPIO_TRAILER, 0, 0, 1, 0, NULL, 0);
}

void cpio_free(struct cpio *c)
{
	bool overflow = c->overflow;  /* still tells why the archive failed */

	if (!c->fixed)
		free(c->buf);
	memset(c, 0, sizeof(*c));
	c->overflow = overflow;
}
