/* cpio.c: unpacks the initramfs (cpio "newc") into tmpfs; file data stays in
 * the archive, which is never freed. The entries come from the archive's
 * headers or, under wisp-vmm, from its index of them (include/wisp/abi.h),
 * which spares touching a page of the archive for every file. */
#include <linux/limits.h>
#include <linux/stat.h>
#include <wisp/abi.h>
#include "fs/vfs.h"
#include "lib/string.h"
#include "mm/kmalloc.h"

#define HDR_LEN 110  /* "070701" and 13 fields of 8 hex digits */

enum {
	F_INO, F_MODE, F_UID, F_GID, F_NLINK, F_MTIME, F_FILESIZE, F_DEVMAJOR,
	F_DEVMINOR, F_RDEVMAJOR, F_RDEVMINOR, F_NAMESIZE, F_CHECK, NFIELDS
};

struct entry {
	uint32_t f[NFIELDS];
	const char *name;  /* NUL-terminated inside the archive */
	const char *data;
};

/* Where the entries come from; next is an archive offset or, with an
 * index, an entry number. */
struct source {
	const char *archive;
	size_t len;
	const struct wisp_index_hdr *index;  /* NULL: parse the headers */
	size_t index_len;
	size_t next;
};

/* Hard-linked files share an archive inode number (and only one of the
 * entries carries the data): the first one seen is remembered, with a ref. */
struct hardlinks {
	struct { uint32_t ino; struct inode *in; } *v;
	size_t n, cap;
};

static int parse_hex(const char *s, uint32_t *out)
{
	uint32_t v = 0;

	for (int i = 0; i < 8; i++) {
		char c = s[i];

		if (c >= '0' && c <= '9')
			v = v << 4 | (c - '0');
		else if (c >= 'a' && c <= 'f')
			v = v << 4 | (c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			v = v << 4 | (c - 'A' + 10);
		else
			return -EINVAL;
	}
	*out = v;
	return 0;
}

/* Parses the entry at off (off <= len), checking every length against the
 * archive; *next gets the offset of the following header. */
static int parse_entry(const char *base, size_t len, size_t off, struct entry *e,
		       size_t *next)
{
	const char *h = base + off;
	size_t name_off = off + HDR_LEN, data_off;
	uint32_t namesize, filesize;

	if (len - off < HDR_LEN || memcmp(h, "07070", 5) || (h[5] != '1' && h[5] != '2'))
		return -EINVAL;
	for (int i = 0; i < NFIELDS; i++)
		if (parse_hex(h + 6 + 8 * i, &e->f[i]))
			return -EINVAL;
	namesize = e->f[F_NAMESIZE];
	filesize = e->f[F_FILESIZE];
	if (!namesize || namesize > len - name_off)
		return -EINVAL;
	e->name = base + name_off;
	if (strnlen(e->name, namesize) != namesize - 1)
		return -EINVAL;
	data_off = ALIGN_UP(name_off + namesize, 4);
	if (data_off > len || filesize > len - data_off)
		return -EINVAL;
	e->data = base + data_off;
	/* The last entry's padding may be missing; the next parse then fails. */
	*next = MIN(ALIGN_UP(data_off + filesize, 4), len);
	return 0;
}

/* Fills e from index entry i, checking it against the index and archive. */
static int index_entry(const struct source *s, size_t i, struct entry *e)
{
	const struct wisp_index_entry *x = (const struct wisp_index_entry *)(s->index + 1) + i;
	const char *name = (const char *)s->index + x->name_off;

	if (x->name_off >= s->index_len || x->name_len >= s->index_len - x->name_off ||
	    name[x->name_len] || x->data_off > s->len || x->size > s->len - x->data_off)
		return -EINVAL;
	memset(e->f, 0, sizeof(e->f));
	e->f[F_INO] = x->ino;
	e->f[F_MODE] = x->mode;
	e->f[F_UID] = x->uid;
	e->f[F_GID] = x->gid;
	e->f[F_NLINK] = x->nlink;
	e->f[F_MTIME] = x->mtime;
	e->f[F_FILESIZE] = x->size;
	e->f[F_NAMESIZE] = x->name_len + 1;
	e->name = name;
	e->data = s->archive + x->data_off;
	return 0;
}

/* 1 with the next entry in e, 0 after the last, or -EINVAL. */
static int next_entry(struct source *s, struct entry *e)
{
	int err;

	if (s->index) {
		if (s->next == s->index->count)
			return 0;
		return (err = index_entry(s, s->next++, e)) ? err : 1;
	}
	if ((err = parse_entry(s->archive, s->len, s->next, e, &s->next)))
		return err;
	return strcmp(e->name, "TRAILER!!!") ? 1 : 0;
}

static int source_open(struct source *s, const void *archive, size_t len,
		       const void *index, size_t index_len)
{
	const struct wisp_index_hdr *h = index;

	*s = (struct source){ archive, len, h, index_len, 0 };
	if (!h)
		return 0;
	if (index_len < sizeof(*h) || h->magic != WISP_INDEX_MAGIC || h->archive_size != len ||
	    h->count > (index_len - sizeof(*h)) / sizeof(struct wisp_index_entry))
		return -EINVAL;
	return 0;
}

/* Archive names are relative ("bin/sh", "./bin/sh"), sometimes absolute. */
static const char *skip_root(const char *p)
{
	for (;;) {
		if (p[0] == '/')
			p++;
		else if (p[0] == '.' && p[1] == '/')
			p += 2;
		else if (p[0] == '.' && !p[1])
			p++;
		else
			return p;
	}
}

/* An entry replaces what its name held, except that directories merge;
 * *dir gets the directory to merge into. */
static int take_name(const struct vfs_name *nm, unsigned mode, struct inode **dir)
{
	struct inode *old = tmpfs_lookup(nm->dir, nm->name, nm->len);

	*dir = NULL;
	if (!old)
		return 0;
	if (S_ISDIR(old->mode) && S_ISDIR(mode)) {
		*dir = old;
		return 0;
	}
	return tmpfs_unlink(nm->dir, nm->name, nm->len, S_ISDIR(old->mode));
}

static struct inode *hardlink_find(const struct hardlinks *hl, uint32_t ino)
{
	for (size_t i = 0; i < hl->n; i++)
		if (hl->v[i].ino == ino)
			return hl->v[i].in;
	return NULL;
}

static int hardlink_add(struct hardlinks *hl, uint32_t ino, struct inode *in)
{
	if (hl->n == hl->cap) {
		size_t cap = MAX(hl->cap * 2, 16);
		void *v = krealloc(hl->v, cap * sizeof(*hl->v));

		if (!v)
			return -ENOMEM;
		hl->v = v;
		hl->cap = cap;
	}
	hl->v[hl->n].ino = ino;
	hl->v[hl->n++].in = in;
	inode_get(in);
	return 0;
}

static int unpack_file(const struct vfs_name *nm, const struct entry *e,
		       struct hardlinks *hl, struct inode **out)
{
	bool linked = e->f[F_NLINK] > 1;
	struct inode *in = linked ? hardlink_find(hl, e->f[F_INO]) : NULL;
	int err;

	if (in)
		err = tmpfs_link(nm->dir, nm->name, nm->len, in);
	else if (!(err = tmpfs_mknod(nm->dir, nm->name, nm->len, S_IFREG, &in)) && linked)
		err = hardlink_add(hl, e->f[F_INO], in);
	if (err)
		return err;
	if (e->f[F_FILESIZE]) {
		in->data = (char *)e->data;
		in->size = e->f[F_FILESIZE];
		in->borrowed = true;
	}
	*out = in;
	return 0;
}

static void set_attrs(struct inode *in, const struct entry *e)
{
	in->mode = (in->mode & S_IFMT) | (e->f[F_MODE] & 07777);
	in->uid = e->f[F_UID];
	in->gid = e->f[F_GID];
	in->atime_ns = in->mtime_ns = in->ctime_ns = (int64_t)e->f[F_MTIME] * 1000000000;
}

static int unpack_entry(const struct entry *e, struct hardlinks *hl)
{
	const char *path = skip_root(e->name);
	unsigned mode = e->f[F_MODE];
	struct inode *in;
	struct vfs_name nm;
	int err;

	/* Device nodes, fifos and sockets are not supported: /dev is built in. */
	if (!S_ISDIR(mode) && !S_ISREG(mode) && !S_ISLNK(mode))
		return 0;
	if (!*path) {
		if (S_ISDIR(mode))
			set_attrs(vfs_root(), e);
		return 0;
	}
	err = vfs_parent_from(vfs_root(), path, &nm);
	if (err == -ENOENT && !(err = vfs_make_parents(path)))
		err = vfs_parent_from(vfs_root(), path, &nm);
	if (err || vfs_name_is_dot(&nm) || (err = take_name(&nm, mode, &in)))
		return err;
	if (S_ISDIR(mode) && !in)
		err = tmpfs_mknod(nm.dir, nm.name, nm.len, S_IFDIR, &in);
	else if (S_ISREG(mode))
		err = unpack_file(&nm, e, hl, &in);
	else if (S_ISLNK(mode))
		err = tmpfs_symlink(nm.dir, nm.name, nm.len, e->data, e->f[F_FILESIZE], &in);
	if (!err)
		set_attrs(in, e);
	return err;
}

/* Creating entries in a directory updates its mtime, so directories get
 * theirs from the archive once everything is in place. */
static void restore_dir_times(struct source s)
{
	struct vfs_name nm;
	struct inode *in;
	struct entry e;

	while (next_entry(&s, &e) > 0) {
		const char *path = skip_root(e.name);

		if (!S_ISDIR(e.f[F_MODE]) || !*path || vfs_parent_from(vfs_root(), path, &nm))
			continue;
		in = tmpfs_lookup(nm.dir, nm.name, nm.len);
		if (in && S_ISDIR(in->mode))
			in->mtime_ns = (int64_t)e.f[F_MTIME] * 1000000000;
	}
}

int cpio_unpack(const void *archive, size_t len, const void *index, size_t index_len)
{
	struct hardlinks hl = { 0 };
	struct source s;
	struct entry e;
	int err;

	if ((err = source_open(&s, archive, len, index, index_len)))
		return err;
	while ((err = next_entry(&s, &e)) > 0)
		if ((err = unpack_entry(&e, &hl)))
			break;
	for (size_t i = 0; i < hl.n; i++)
		inode_put(hl.v[i].in);
	kfree(hl.v);
	if (!err) {
		s.next = 0;
		restore_dir_times(s);
	}
	return err;
}
