/* cpio.c: write cpio newc entries into a growing memory buffer. */
#include "cpio.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define CPIO_HDR_LEN 110

void cpio_init(struct cpio *c)
{
	memset(c, 0, sizeof(*c));
	c->next_ino = 1;
}

static int reserve(struct cpio *c, size_t more)
{
	size_t cap = c->cap ? c->cap : 64 * 1024;
	uint8_t *nb;

	if (c->failed || more > SIZE_MAX / 2 - c->len)
		return c->failed = 1, -1;
	if (c->len + more <= c->cap)
		return 0;
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

static int entry(struct cpio *c, const char *name, uint32_t ino, uint32_t mode,
		 uint32_t nlink, uint32_t mtime, const void *data, size_t size)
{
	size_t namesize = strlen(name) + 1;
	char hdr[CPIO_HDR_LEN + 1];

	if (size > UINT32_MAX || namesize > UINT32_MAX)
		return c->failed = 1, -1;
	if (reserve(c, padded(CPIO_HDR_LEN + namesize) + padded(size) + 4) < 0)
		return -1;
	snprintf(hdr, sizeof(hdr), "070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X",
		 ino, mode, 0u, 0u, nlink, mtime, (uint32_t)size, 0u, 0u, 0u, 0u,
		 (uint32_t)namesize, 0u);
	put(c, hdr, CPIO_HDR_LEN);
	put(c, name, namesize);
	pad4(c);
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

int cpio_add_symlink(struct cpio *c, const char *name, const char *target)
{
	return cpio_add(c, name, S_IFLNK | 0777, 0, target, strlen(target));
}

int cpio_finish(struct cpio *c)
{
	if (c->failed)
		return -1;
	return entry(c, "TRAILER!!!", 0, 0, 1, 0, NULL, 0);
}

void cpio_free(struct cpio *c)
{
	free(c->buf);
	memset(c, 0, sizeof(*c));
}
