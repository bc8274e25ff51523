/* tmpfs.c: the in-memory filesystem: inodes, directory entries and file data. */
#include <linux/fcntl.h>
#include <linux/fs.h>
#include <linux/stat.h>
#include "fs/vfs.h"
#include "clock.h"
#include "lib/string.h"
#include "mm/kmalloc.h"
#include "mm/vm.h"

/* Lookups go through one global hash on (directory, name), so large
 * directories cost no linear scans; per-directory lists serve getdents. */
#define DCACHE_BUCKETS 4096
/* Bigger files than this are -EFBIG; keeps offset arithmetic far from overflow. */
#define MAX_FILE_SIZE (1ULL << 40)

static struct inode *root;
static unsigned long next_ino = 1;
static uint64_t next_cookie = DIR_POS_CHILDREN + 1;
static struct dentry *dcache[DCACHE_BUCKETS];

struct inode *vfs_root(void)
{
	return root;
}

int64_t vfs_now(void)
{
	return (int64_t)clock_realtime_ns();
}

struct inode *inode_new(unsigned mode)
{
	struct inode *in = kzalloc(sizeof(*in));

	if (!in)
		return NULL;
	in->ino = next_ino++;
	in->mode = mode;
	in->atime_ns = in->mtime_ns = in->ctime_ns = vfs_now();
	return in;
}

static void inode_maybe_free(struct inode *in)
{
	if (in->nlink || in->refs > 0)
		return;
	if (in->hooks)
		in->hooks->evict(in);
	if (S_ISDIR(in->mode) && in->parent != in)
		inode_put(in->parent);
	if (S_ISREG(in->mode))
		fdata_free(in);
	else if (!in->borrowed)
		kfree(in->data);
	kfree(in);
}

void inode_get(struct inode *in)
{
	in->refs++;
}

void inode_put(struct inode *in)
{
	in->refs--;
	inode_maybe_free(in);
}

static void touch_dir(struct inode *dir)
{
	dir->mtime_ns = dir->ctime_ns = vfs_now();
}

static uint32_t name_hash(const struct inode *dir, const char *name, size_t len)
{
	uint32_t h = 2166136261u ^ (uint32_t)((uintptr_t)dir >> 4);

	for (size_t i = 0; i < len; i++)
		h = (h ^ (unsigned char)name[i]) * 16777619u;
	return h;
}

static struct dentry *dentry_find(struct inode *dir, const char *name, size_t len)
{
	uint32_t h = name_hash(dir, name, len);

	for (struct dentry *d = dcache[h % DCACHE_BUCKETS]; d; d = d->hnext)
		if (d->hash == h && d->dir == dir && d->len == len &&
		    !memcmp(d->name, name, len))
			return d;
	return NULL;
}

struct inode *tmpfs_lookup(struct inode *dir, const char *name, size_t len)
{
	struct dentry *d;

	if (dir->refresh)
		dir->refresh(dir);
	d = dentry_find(dir, name, len);
	return d ? d->inode : NULL;
}

struct dentry *tmpfs_name_of(struct inode *in)
{
	for (size_t i = 0; i < DCACHE_BUCKETS; i++)
		for (struct dentry *d = dcache[i]; d; d = d->hnext)
			if (d->inode == in)
				return d;
	return NULL;
}

/* Allocated apart from dentry_attach so callers can fail before changing anything. */
static struct dentry *dentry_alloc(const char *name, size_t len)
{
	struct dentry *d = kmalloc(sizeof(*d) + len + 1);

	if (!d)
		return NULL;
	d->name = (char *)(d + 1);
	memcpy(d->name, name, len);
	d->name[len] = '\0';
	d->len = len;
	return d;
}

/* Links in under dir; a directory gets dir as its ".." (holding a ref). */
static void dentry_attach(struct dentry *d, struct inode *dir, struct inode *in)
{
	struct dentry **bucket;

	d->dir = dir;
	d->inode = in;
	d->hash = name_hash(dir, d->name, d->len);
	d->cookie = next_cookie++;
	d->next = dir->children;
	dir->children = d;
	bucket = &dcache[d->hash % DCACHE_BUCKETS];
	d->hnext = *bucket;
	*bucket = d;
	in->nlink++;
	if (S_ISDIR(in->mode)) {
		dir->nlink++;
		inode_get(dir);
		if (in->parent)
			inode_put(in->parent);
		in->parent = dir;
	}
	touch_dir(dir);
}

/* Unlinks and frees d; the inode is left for the caller to free. */
static void dentry_remove(struct dentry *d)
{
	struct inode *dir = d->dir;
	struct dentry **pp = &dir->children;

	while (*pp != d)
		pp = &(*pp)->next;
	*pp = d->next;
	for (pp = &dcache[d->hash % DCACHE_BUCKETS]; *pp != d; pp = &(*pp)->hnext)
		;
	*pp = d->hnext;
	d->inode->nlink--;
	d->inode->ctime_ns = vfs_now();
	if (S_ISDIR(d->inode->mode))
		dir->nlink--;
	touch_dir(dir);
	kfree(d);
}

/* A directory of a disk about to change has all its entries in the tree.
 * Not procfs's: its refresh hook itself adds entries with tmpfs_mknod. */
static void dir_ready(struct inode *dir)
{
	if (dir->hooks && dir->refresh)
		dir->refresh(dir);
}

/* Adds in under dir as name; hook (dir's create or link, or NULL) runs
 * once nothing else can fail. */
static int add_name(struct inode *dir, const char *name, size_t len, struct inode *in,
		    int (*hook)(struct inode *, const char *, size_t, struct inode *))
{
	struct dentry *d;
	int err;

	if (!dir->nlink)
		return -ENOENT;  /* dir was removed */
	if (dentry_find(dir, name, len))
		return -EEXIST;
	d = dentry_alloc(name, len);
	if (!d)
		return -ENOMEM;
	if (hook && (err = hook(dir, name, len, in))) {
		kfree(d);
		return err;
	}
	dentry_attach(d, dir, in);
	return 0;
}

int tmpfs_add(struct inode *dir, const char *name, size_t len, struct inode *in)
{
	return add_name(dir, name, len, in, NULL);
}

/* Adds a fresh inode, telling dir's filesystem. */
static int add_new(struct inode *dir, const char *name, size_t len, struct inode *in)
{
	dir_ready(dir);
	return add_name(dir, name, len, in, dir->hooks ? dir->hooks->create : NULL);
}

int tmpfs_mknod(struct inode *dir, const char *name, size_t len, unsigned mode,
		struct inode **out)
{
	struct inode *in;
	int err;

	if (dir->read_only)
		return -EROFS;
	in = inode_new(mode);

	if (!in)
		return -ENOMEM;
	if (S_ISDIR(mode))
		in->nlink = 1;  /* its own "." */
	err = add_new(dir, name, len, in);
	if (err) {
		kfree(in);
		return err;
	}
	if (out)
		*out = in;
	return 0;
}

int tmpfs_symlink(struct inode *dir, const char *name, size_t len,
		  const char *target, size_t tlen, struct inode **out)
{
	struct inode *in;
	int err = -ENOMEM;

	if (dir->read_only)
		return -EROFS;
	in = inode_new(S_IFLNK | 0777);
	if (!in || !(in->data = kstrndup(target, tlen)))
		goto fail;
	/* A target with a NUL in it ends there, as a C string would. */
	in->size = strlen(in->data);
	err = add_new(dir, name, len, in);
	if (err)
		goto fail;
	if (out)
		*out = in;
	return 0;
fail:
	if (in)
		kfree(in->data);
	kfree(in);
	return err;
}

int tmpfs_link(struct inode *dir, const char *name, size_t len, struct inode *in)
{
	if (dir->read_only)
		return -EROFS;
	if (S_ISDIR(in->mode))
		return -EPERM;
	if (dir->hooks != in->hooks)
		return -EXDEV;
	dir_ready(dir);
	return add_name(dir, name, len, in, dir->hooks ? dir->hooks->link : NULL);
}

int tmpfs_unlink(struct inode *dir, const char *name, size_t len, bool rmdir)
{
	struct dentry *d;
	struct inode *in;
	int err;

	if (dir->read_only)
		return -EROFS;
	dir_ready(dir);
	if (!(d = dentry_find(dir, name, len)))
		return -ENOENT;
	in = d->inode;
	if (rmdir && !S_ISDIR(in->mode))
		return -ENOTDIR;
	if (rmdir && in->hooks && !dir->hooks)
		return -EBUSY;  /* a mount point */
	if (rmdir)
		dir_ready(in);
	if (rmdir && in->children)
		return -ENOTEMPTY;
	if (!rmdir && S_ISDIR(in->mode))
		return -EISDIR;
	if (dir->hooks && (err = dir->hooks->unlink(dir, name, len, in)))
		return err;
	dentry_remove(d);
	if (rmdir)
		in->nlink = 0;  /* drops its "." too */
	inode_maybe_free(in);
	return 0;
}

/* Is dir the same as or below anc? Moving anc there would detach a loop. */
static bool is_within(struct inode *dir, struct inode *anc)
{
	for (;; dir = dir->parent) {
		if (dir == anc)
			return true;
		if (dir == root)
			return false;
	}
}

/* Can src replace dst in a rename? */
static int check_replace(struct inode *src, struct inode *dst)
{
	if (S_ISDIR(src->mode) && !S_ISDIR(dst->mode))
		return -ENOTDIR;
	if (S_ISDIR(src->mode) && dst->children)
		return -ENOTEMPTY;
	if (!S_ISDIR(src->mode) && S_ISDIR(dst->mode))
		return -EISDIR;
	return 0;
}

int tmpfs_rename(struct inode *odir, const char *oname, size_t olen,
		 struct inode *ndir, const char *nname, size_t nlen, unsigned flags)
{
	struct dentry *od, *nd, *d;
	struct inode *in, *victim;
	int err;

	if (odir->read_only || ndir->read_only)
		return -EROFS;
	if (odir->hooks != ndir->hooks)
		return -EXDEV;
	dir_ready(odir);
	dir_ready(ndir);
	od = dentry_find(odir, oname, olen);
	nd = dentry_find(ndir, nname, nlen);
	if (!od || !ndir->nlink)
		return -ENOENT;
	in = od->inode;
	if ((in->hooks && !odir->hooks) || (nd && nd->inode->hooks && !ndir->hooks))
		return -EBUSY;  /* a mount point */
	if (nd && (flags & RENAME_NOREPLACE))
		return -EEXIST;
	if (nd && nd->inode == in)
		return 0;
	if (S_ISDIR(in->mode) && is_within(ndir, in))
		return -EINVAL;
	if (nd && S_ISDIR(nd->inode->mode))
		dir_ready(nd->inode);
	if (nd && (err = check_replace(in, nd->inode)))
		return err;
	if (!(d = dentry_alloc(nname, nlen)))
		return -ENOMEM;
	if (odir->hooks && (err = odir->hooks->rename(odir, oname, olen, ndir, nname, nlen, in,
						      nd ? nd->inode : NULL))) {
		kfree(d);
		return err;
	}
	if (nd) {
		victim = nd->inode;
		dentry_remove(nd);
		if (S_ISDIR(victim->mode))
			victim->nlink = 0;
		inode_maybe_free(victim);
	}
	dentry_remove(od);
	dentry_attach(d, ndir, in);
	return 0;
}

int tmpfs_write_back(struct inode *in, uint64_t off, const void *buf, size_t len)
{
	char old[256];
	int err;

	if (off >= in->size)
		return 0;
	len = MIN(len, in->size - off);
	/* Only what changed is written: the rest stays clean on a disk. */
	for (size_t n, done = 0; done < len; done += n) {
		n = MIN(sizeof(old), len - done);
		if ((err = fdata_read(in, off + done, old, n)))
			return err;
		if (!memcmp(old, (const char *)buf + done, n))
			continue;
		if (in->hooks && (err = in->hooks->write(in, off + done, n)))
			return err;
		if (fdata_write(in, off + done, (const char *)buf + done, n) != (ssize_t)n)
			return -ENOSPC;
		in->mtime_ns = in->ctime_ns = vfs_now();
	}
	return 0;
}

int tmpfs_truncate(struct inode *in, uint64_t size)
{
	int err;

	if (in->read_only)
		return -EROFS;
	if (size > MAX_FILE_SIZE)
		return -EFBIG;
	/* The disk marks the changed blocks dirty first, so that the pages
	 * fdata_resize reads for them cannot be dropped meanwhile. */
	if (in->hooks && (err = in->hooks->truncate(in, size)))
		return err;
	if ((err = fdata_resize(in, size)))
		return err;
	in->size = size;
	in->mtime_ns = in->ctime_ns = vfs_now();
	return 0;
}

static ssize_t file_read(struct file *f, void *buf, size_t len, off_t *pos)
{
	struct inode *in = f->inode;
	size_t n;
	int err;

	if ((uint64_t)*pos >= in->size)
		return 0;
	n = MIN(len, in->size - *pos);
	err = (uint64_t)buf < USER_SPACE_END ? fdata_read_user(in, *pos, buf, n)
					     : fdata_read(in, *pos, buf, n);
	if (err)
		return err;
	*pos += n;
	return n;
}

/* One piece of a write at pos: the disk is told first (it may refuse, and
 * the blocks it marks dirty stay in memory from then on). */
static ssize_t write_piece(struct inode *in, const void *buf, size_t len, uint64_t pos)
{
	uint64_t end = pos + len;
	ssize_t n;
	int err;

	if (in->hooks && (err = in->hooks->write(in, pos, len)))
		return err;
	if (end > in->size && (err = fdata_resize(in, end)))
		return err;
	/* Past the end, the pages read as zeros: a hole needs nothing. */
	if ((n = fdata_write(in, pos, buf, len)) > 0)
		in->size = MAX(in->size, pos + n);
	return n;
}

/* Writes to a disk go in pieces, each after dirty data is written back if
 * it fills memory: a file may be larger than guest memory. */
#define WRITE_PIECE (1u << 20)

static ssize_t file_write(struct file *f, const void *buf, size_t len, off_t *pos)
{
	struct inode *in = f->inode;
	size_t done = 0;
	ssize_t n = 0;
	int err;

	if (in->read_only)
		return -EROFS;
	if (f->flags & O_APPEND)
		*pos = in->size;
	if (!len)
		return 0;
	if ((uint64_t)*pos > MAX_FILE_SIZE || len > MAX_FILE_SIZE - *pos)
		return -EFBIG;
	while (done < len) {
		size_t piece = in->hooks ? MIN(len - done, WRITE_PIECE) : len - done;

		if (in->hooks)
			ext2_balance_dirty(piece);
		if ((n = write_piece(in, (const char *)buf + done, piece, *pos + done)) <= 0)
			break;
		done += n;
		if ((size_t)n < piece)
			break;
	}
	if (!done)
		return n;
	in->mtime_ns = in->ctime_ns = vfs_now();
	*pos += done;
	/* O_SYNC is __O_SYNC | O_DSYNC. */
	if ((f->flags & O_DSYNC) && (err = inode_sync(in, !(f->flags & __O_SYNC))))
		return err;
	return done;
}

static ssize_t dir_read(struct file *f, void *buf, size_t len, off_t *pos)
{
	(void)f, (void)buf, (void)len, (void)pos;
	return -EISDIR;
}

void inode_changed(struct inode *in)
{
	if (in->hooks)
		in->hooks->setattr(in);
}

int inode_sync(struct inode *in, bool datasync)
{
	return in->hooks ? in->hooks->sync(in, datasync) : 0;
}

const struct file_ops tmpfs_file_ops = {
	.read = file_read, .write = file_write, .seekable = true,
};

const struct file_ops tmpfs_dir_ops = {
	.read = dir_read, .seekable = true,
};

struct dentry *tmpfs_readdir(struct inode *dir, uint64_t pos)
{
	struct dentry *d;

	if (pos <= DIR_POS_CHILDREN && dir->refresh)
		dir->refresh(dir);  /* once, as a listing starts */
	d = dir->children;
	if (pos > DIR_POS_CHILDREN)
		while (d && d->cookie >= pos)
			d = d->next;
	return d;
}

void vfs_init(void)
{
	fdata_init();
	root = inode_new(S_IFDIR | 0755);
	if (!root)
		panic("vfs: out of memory");
	root->nlink = 2;
	root->parent = root;
	if (tmpfs_mknod(root, "tmp", 3, S_IFDIR | 01777, NULL))
		panic("vfs: cannot create /tmp");
	devices_init();
}
