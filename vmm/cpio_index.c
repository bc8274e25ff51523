/* cpio_index.c: parse a newc archive's headers into the guest's index.
 *
 * Reading the headers here costs host page-cache lookups; in the guest each
 * header's page would cost a shadow page fault (see include/wisp/abi.h). */
#include "cpio_index.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <wisp/abi.h>

#include "cpio.h"

#define NFIELDS 13

enum { F_INO, F_MODE, F_UID, F_GID, F_NLINK, F_MTIME, F_FILESIZE, F_NAMESIZE = 11 };

struct header {
	uint32_t f[NFIELDS];
	const char *name;     /* NUL-terminated, f[F_NAMESIZE] bytes with it */
	size_t data_off;
	size_t next;          /* offset of the following header */
};

struct buf {
	uint8_t *p;
	size_t len, cap;
};

static bool parse_hex8(const uint8_t *s, uint32_t *out)
{
	char digits[9];

	memcpy(digits, s, 8);
	digits[8] = '\0';
	if (strspn(digits, "0123456789abcdefABCDEF") != 8)
		return false;
	*out = (uint32_t)strtoul(digits, NULL, 16);
	return true;
}

static int parse_header(const uint8_t *a, size_t len, size_t off, struct header *h)
{
	size_t name_off = off + CPIO_HDR_LEN, namesize;

	if (len - off < CPIO_HDR_LEN || memcmp(a + off, "07070", 5) != 0 ||
	    (a[off + 5] != '1' && a[off + 5] != '2'))
		return -1;
	for (int i = 0; i < NFIELDS; i++)
		if (!parse_hex8(a + off + 6 + 8 * i, &h->f[i]))
			return -1;
	namesize = h->f[F_NAMESIZE];
	if (namesize == 0 || namesize > len - name_off || a[name_off + namesize - 1] != '\0' ||
	    memchr(a + name_off, '\0', namesize - 1))
		return -1;
	h->name = (const char *)a + name_off;
	h->data_off = (name_off + namesize + 3) & ~(size_t)3;
	if (h->data_off > len || h->f[F_FILESIZE] > len - h->data_off)
		return -1;
	h->next = (h->data_off + h->f[F_FILESIZE] + 3) & ~(size_t)3;
	return 0;
}

static int buf_put(struct buf *b, const void *p, size_t n)
{
	if (n == 0)
		return 0;
	if (b->cap - b->len < n) {
		size_t cap = b->cap ? b->cap : 64 * 1024;
		uint8_t *np;

		while (cap - b->len < n)
			cap *= 2;
		np = realloc(b->p, cap);
		if (!np) {
			errno = ENOMEM;
			return -1;
		}
		b->p = np;
		b->cap = cap;
	}
	memcpy(b->p + b->len, p, n);
	b->len += n;
	return 0;
}

/* "." then "/." repeated: the padding entries that align large files name
 * the root so, with up to a page of it. */
static bool is_root_name(const char *name)
{
	if (*name++ != '.')
		return false;
	for (; *name; name += 2)
		if (name[0] != '/' || name[1] != '.')
			return false;
	return true;
}

static struct wisp_index_entry index_entry(const struct header *h, uint64_t name_off)
{
	return (struct wisp_index_entry){
		.ino = h->f[F_INO], .mode = h->f[F_MODE], .uid = h->f[F_UID], .gid = h->f[F_GID],
		.nlink = h->f[F_NLINK], .mtime = h->f[F_MTIME], .size = h->f[F_FILESIZE],
		.name_len = h->f[F_NAMESIZE] - 1, .data_off = h->data_off, .name_off = name_off,
	};
}

/* Entries first, names after them: one pass sizes both. */
static int collect(const uint8_t *a, size_t len, struct buf *ents, struct buf *names)
{
	struct header h;

	for (size_t off = 0; ; off = h.next) {
		struct wisp_index_entry e;

		if (off >= len || parse_header(a, len, off, &h) < 0)
			return -1;
		if (strcmp(h.name, CPIO_TRAILER) == 0)
			return 0;
		if (is_root_name(h.name))
			h.name = ".", h.f[F_NAMESIZE] = 2;
		e = index_entry(&h, names->len);
		if (buf_put(ents, &e, sizeof(e)) < 0 || buf_put(names, h.name, h.f[F_NAMESIZE]) < 0)
			return -1;
	}
}

int cpio_index_build(const uint8_t *archive, size_t len, uint8_t **out, size_t *outlen)
{
	struct buf ents = { 0 }, names = { 0 }, all = { 0 };
	struct wisp_index_hdr hdr = { .magic = WISP_INDEX_MAGIC, .archive_size = len };
	size_t count, names_at;
	int rc = -1;

	errno = EINVAL;
	if (collect(archive, len, &ents, &names) < 0)
		goto out;
	count = ents.len / sizeof(struct wisp_index_entry);
	if (count > UINT32_MAX)
		goto out;
	hdr.count = (uint32_t)count;
	names_at = sizeof(hdr) + ents.len;
	for (size_t i = 0; i < count; i++)
		((struct wisp_index_entry *)ents.p)[i].name_off += names_at;
	if (buf_put(&all, &hdr, sizeof(hdr)) < 0 || buf_put(&all, ents.p, ents.len) < 0 ||
	    buf_put(&all, names.p, names.len) < 0)
		goto out;
	*out = all.p;
	*outlen = all.len;
	all.p = NULL;
	rc = 0;
out:
	free(ents.p);
	free(names.p);
	free(all.p);
	return rc;
}
