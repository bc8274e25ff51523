/* path.c: path name lookup: components, ".", "..", symlinks and dirfds. */
#include <linux/fcntl.h>
#include <linux/limits.h>
#include <linux/stat.h>
#include "fs/vfs.h"
#include "lib/string.h"
#include "mm/kmalloc.h"
#include "mm/uaccess.h"
#include "sched/proc.h"

static struct inode *cwd(void)
{
	struct proc *p = current();

	return p && p->cwd ? p->cwd : vfs_root();
}

int vfs_fd_inode(int dirfd, struct inode **out)
{
	struct file *f;

	if (dirfd == AT_FDCWD) {
		*out = cwd();
		return 0;
	}
	f = fd_get(dirfd);
	if (!f || !f->inode)
		return -EBADF;
	*out = f->inode;
	return 0;
}

/* Where a relative path starts: the cwd or the directory dirfd. */
static int start_dir(int dirfd, const char *path, struct inode **out)
{
	int err;

	if (path[0] == '/') {
		*out = vfs_root();
		return 0;
	}
	if ((err = vfs_fd_inode(dirfd, out)))
		return err;
	return S_ISDIR((*out)->mode) ? 0 : -ENOTDIR;
}

const char *vfs_link_target(struct inode *in, size_t *len)
{
	const char *t;

	if (in->get_link) {
		t = in->get_link(in);
		*len = t ? strlen(t) : 0;
		return t ? t : "";
	}
	*len = in->size;
	return in->data;
}

static struct inode *step(struct inode *dir, const char *name, size_t n)
{
	if (n == 1 && name[0] == '.')
		return dir;
	if (n == 2 && name[0] == '.' && name[1] == '.')
		return dir->parent;
	return tmpfs_lookup(dir, name, n);
}

/* Resolves p[0..len) from dir, counting symlinks in *links; a symlink in
 * the last component is followed if follow or the path ends in '/'. */
static int walk(struct inode *dir, const char *p, size_t len, bool follow, int *links,
		struct inode **out)
{
	const char *end = p + len, *name, *t;
	struct inode *next;
	size_t n, tlen;
	bool last, slash;
	int err;

	if (!len)
		return -ENOENT;
	if (*p == '/')
		dir = vfs_root();
	for (;;) {
		while (p < end && *p == '/')
			p++;
		if (p == end)
			break;
		for (name = p; p < end && *p != '/'; p++)
			;
		n = p - name;
		for (t = p; t < end && *t == '/'; t++)
			;
		last = t == end;
		slash = last && p != end;
		if (!S_ISDIR(dir->mode))
			return -ENOTDIR;
		if (n > NAME_MAX)
			return -ENAMETOOLONG;
		if (!(next = step(dir, name, n)))
			return -ENOENT;
		if (S_ISLNK(next->mode) && (!last || follow || slash)) {
			if (++*links > VFS_MAX_LINKS)
				return -ELOOP;
			t = vfs_link_target(next, &tlen);
			if ((err = walk(dir, t, tlen, true, links, &next)))
				return err;
		}
		if (slash && !S_ISDIR(next->mode))
			return -ENOTDIR;
		dir = next;
	}
	*out = dir;
	return 0;
}

int vfs_lookup_at(int dirfd, const char *path, bool follow, struct inode **out)
{
	struct inode *dir;
	size_t len = strnlen(path, PATH_MAX);
	int links = 0, err;

	if (len == PATH_MAX)
		return -ENAMETOOLONG;
	if (!len)
		return -ENOENT;
	if ((err = start_dir(dirfd, path, &dir)))
		return err;
	return walk(dir, path, len, follow, &links, out);
}

int vfs_parent_from(struct inode *start, const char *path, struct vfs_name *out)
{
	size_t len = strnlen(path, PATH_MAX), end = len, base;
	int links = 0, err;

	if (len == PATH_MAX)
		return -ENAMETOOLONG;
	if (!len)
		return -ENOENT;
	while (end && path[end - 1] == '/')
		end--;
	out->slash = end < len;
	if (!end) {
		/* "/" itself: callers treat it like "." in the root. */
		out->dir = vfs_root();
		out->name = ".";
		out->len = 1;
		return 0;
	}
	for (base = end; base && path[base - 1] != '/'; base--)
		;
	if (end - base > NAME_MAX)
		return -ENAMETOOLONG;
	out->name = path + base;
	out->len = end - base;
	out->dir = start;
	/* The prefix keeps its '/', so walk() insists on a directory. */
	if (base && (err = walk(start, path, base, true, &links, &out->dir)))
		return err;
	return S_ISDIR(out->dir->mode) ? 0 : -ENOTDIR;
}

int vfs_lookup_parent(int dirfd, const char *path, struct vfs_name *out)
{
	struct inode *dir;
	int err;

	if (!path[0])
		return -ENOENT;
	if ((err = start_dir(dirfd, path, &dir)))
		return err;
	return vfs_parent_from(dir, path, out);
}

/* The name dir has in its parent, or NULL. */
static struct dentry *name_in_parent(struct inode *dir)
{
	for (struct dentry *d = dir->parent->children; d; d = d->next)
		if (d->inode == dir)
			return d;
	return NULL;
}

int vfs_dir_path(struct inode *dir, char *buf, size_t size)
{
	size_t pos = size;
	struct dentry *d;

	if (size < 2)
		return -ERANGE;
	if (!dir->nlink)
		return -ENOENT;
	buf[--pos] = '\0';
	for (; dir != vfs_root(); dir = dir->parent) {
		if (!(d = name_in_parent(dir)))
			return -ENOENT;
		if (d->len + 1 > pos)
			return -ENAMETOOLONG;
		pos -= d->len;
		memcpy(buf + pos, d->name, d->len);
		buf[--pos] = '/';
	}
	if (pos == size - 1)
		buf[--pos] = '/';
	memmove(buf, buf + pos, size - pos);
	return size - pos - 1;
}

/* Copies a user path into a fresh kernel buffer (free with kfree), or
 * returns -errno as a pointer; "" is -ENOENT unless empty_ok. */
char *vfs_getname(const char *upath, bool empty_ok)
{
	char *buf = kmalloc(PATH_MAX);
	long n;

	if (!buf)
		return (char *)(long)-ENOMEM;
	n = strncpy_from_user(buf, upath, PATH_MAX);
	if (n < 0 || (!n && !empty_ok)) {
		kfree(buf);
		return (char *)(n ? n : -ENOENT);
	}
	return buf;
}

/* Resolves (dirfd, upath) for the *at calls: AT_EMPTY_PATH with "" (or
 * NULL) names dirfd itself; AT_SYMLINK_NOFOLLOW keeps a final symlink. */
long vfs_lookup_user(int dirfd, const char *upath, int flags, struct inode **out)
{
	char *path;
	long err;

	if (!upath && (flags & AT_EMPTY_PATH))
		return vfs_fd_inode(dirfd, out);
	path = vfs_getname(upath, flags & AT_EMPTY_PATH);
	if (IS_ERR_VALUE(path))
		return (long)path;
	if (path[0])
		err = vfs_lookup_at(dirfd, path, !(flags & AT_SYMLINK_NOFOLLOW), out);
	else
		err = vfs_fd_inode(dirfd, out);
	kfree(path);
	return err;
}

bool vfs_name_is_dot(const struct vfs_name *nm)
{
	return nm->name[0] == '.' && (nm->len == 1 || (nm->len == 2 && nm->name[1] == '.'));
}

int vfs_make_parents(const char *path)
{
	char *buf = kstrndup(path, PATH_MAX), *s;
	struct vfs_name nm;
	int err = buf ? 0 : -ENOMEM;

	for (s = buf ? strchr(buf, '/') : NULL; s && !err; s = strchr(s + 1, '/')) {
		*s = '\0';
		err = vfs_parent_from(vfs_root(), buf, &nm);
		if (!err && !vfs_name_is_dot(&nm)) {
			err = tmpfs_mknod(nm.dir, nm.name, nm.len, S_IFDIR | 0755, NULL);
			if (err == -EEXIST)
				err = 0;
		}
		*s = '/';
	}
	kfree(buf);
	return err;
}
