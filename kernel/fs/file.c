/* file.c: open files (refcounted), open(2) semantics and per-process fd tables. */
#include <linux/fcntl.h>
#include <linux/stat.h>
#include "fs/lock.h"
#include "fs/vfs.h"
#include "lib/string.h"
#include "mm/kmalloc.h"
#include "sched/proc.h"

/* Status flags an open file keeps; O_CREAT and friends act only at open. */
#define FILE_KEPT_FLAGS (O_ACCMODE | O_APPEND | O_NONBLOCK | O_DSYNC | O_SYNC | \
			 FASYNC | O_DIRECT | O_NOATIME | O_PATH)

/* O_PATH files can only name things: read, write and ioctl fail. */
static const struct file_ops path_ops;

struct file *file_new(struct inode *in, const struct file_ops *ops, unsigned flags)
{
	struct file *f = kzalloc(sizeof(*f));

	if (!f)
		return NULL;
	f->inode = in;
	f->ops = ops;
	f->flags = flags;
	f->refs = 1;
	if (in)
		inode_get(in);
	return f;
}

void file_get(struct file *f)
{
	f->refs++;
}

void file_put(struct file *f)
{
	if (--f->refs > 0)
		return;
	lock_file_release(f);
	if (f->ops->release)
		f->ops->release(f);
	if (f->inode)
		inode_put(f->inode);
	kfree(f);
}

static unsigned cur_umask(void)
{
	struct proc *p = current();

	return p ? p->umask : 022;
}

/* O_CREAT on a missing name: a new regular file. A dangling symlink
 * creates its target, as in Linux. */
static int open_create(int dirfd, const char *path, unsigned mode, struct inode **out)
{
	struct vfs_name nm;
	struct inode *link;
	size_t len;
	int err = vfs_lookup_parent(dirfd, path, &nm);

	mode = S_IFREG | (mode & 07777 & ~cur_umask());
	for (int links = 0; !err; links++) {
		if (nm.slash)
			return -EISDIR;
		link = tmpfs_lookup(nm.dir, nm.name, nm.len);
		if (!link || !S_ISLNK(link->mode))
			return tmpfs_mknod(nm.dir, nm.name, nm.len, mode, out);
		if (links == VFS_MAX_LINKS)
			return -ELOOP;
		/* Targets are NUL-terminated (tmpfs_symlink, get_link). */
		err = vfs_parent_from(nm.dir, vfs_link_target(link, &len), &nm);
	}
	return err;
}

static int open_lookup(int dirfd, const char *path, unsigned flags, unsigned mode,
		       struct inode **out)
{
	bool excl = (flags & (O_CREAT | O_EXCL)) == (O_CREAT | O_EXCL);
	int err = vfs_lookup_at(dirfd, path, !(flags & O_NOFOLLOW) && !excl, out);

	if (!err && excl)
		return -EEXIST;
	if (err == -ENOENT && (flags & O_CREAT))
		return open_create(dirfd, path, mode, out);
	return err;
}

/* The operations a file on in gets, or NULL if it cannot be opened. */
static const struct file_ops *ops_for(struct inode *in)
{
	switch (in->mode & S_IFMT) {
	case S_IFREG: return in->fops ? in->fops : &tmpfs_file_ops;  /* procfs */
	case S_IFDIR: return &tmpfs_dir_ops;
	case S_IFCHR: return in->fops;
	case S_IFBLK: return in->fops;  /* the disks (blockdev.c) */
	case S_IFIFO: return &fifo_ops;  /* its open picks the pipe end */
	default: return NULL;
	}
}

/* Checks the opened inode against flags; truncates for O_TRUNC. */
static int open_check(struct inode *in, unsigned flags)
{
	unsigned acc = flags & O_ACCMODE;

	if (S_ISLNK(in->mode))
		return -ELOOP;  /* O_NOFOLLOW met a symlink */
	if ((flags & O_DIRECTORY) && !S_ISDIR(in->mode))
		return -ENOTDIR;
	if (S_ISDIR(in->mode) && (acc != O_RDONLY || (flags & O_CREAT)))
		return -EISDIR;
	if (!ops_for(in))
		return -ENXIO;
	if (in->read_only && (acc != O_RDONLY || (flags & O_TRUNC)))
		return -EROFS;
	if ((flags & O_TRUNC) && S_ISREG(in->mode))
		return tmpfs_truncate(in, 0);
	return 0;
}

static int file_open(int dirfd, const char *path, unsigned flags, unsigned mode,
		     struct file **out)
{
	const struct file_ops *ops = &path_ops;
	struct inode *in;
	int err;

	if ((flags & __O_TMPFILE) == __O_TMPFILE)
		return -EOPNOTSUPP;
	if ((flags & O_ACCMODE) == O_ACCMODE)
		return -EINVAL;
	if (flags & O_PATH) {
		flags &= O_PATH | O_DIRECTORY | O_NOFOLLOW;
		err = vfs_lookup_at(dirfd, path, !(flags & O_NOFOLLOW), &in);
		if (!err && (flags & O_DIRECTORY) && !S_ISDIR(in->mode))
			err = -ENOTDIR;
	} else {
		err = open_lookup(dirfd, path, flags, mode, &in);
		if (!err && !(err = open_check(in, flags)))
			ops = ops_for(in);
	}
	if (err)
		return err;
	*out = file_new(in, ops, (flags & FILE_KEPT_FLAGS) | O_LARGEFILE);
	if (!*out)
		return -ENOMEM;
	if (ops->open && (err = ops->open(*out)))
		file_put(*out);
	return err;
}

int vfs_openat(int dirfd, const char *path, unsigned flags, unsigned mode)
{
	struct file *f;
	int err = file_open(dirfd, path, flags, mode, &f);

	if (err)
		return err;
	err = fd_install(f, 0, flags & O_CLOEXEC);
	if (err < 0)
		file_put(f);
	return err;
}

static struct fdtable *files(void)
{
	struct proc *p = current();

	return p ? p->files : NULL;
}

struct file *fd_get(int fd)
{
	struct fdtable *t = files();

	if (!t || fd < 0 || fd >= FD_MAX)
		return NULL;
	return t->fd[fd];
}

/* Every way an fd of t stops naming f ends here: POSIX says closing any
 * fd of an inode drops all the process's record locks on it. */
static void fd_drop(struct fdtable *t, struct file *f)
{
	lock_posix_close(f, t);
	file_put(f);
}

int fd_install(struct file *f, int min, bool cloexec)
{
	struct fdtable *t = files();

	for (int fd = MAX(min, 0); t && fd < FD_MAX; fd++) {
		if (!t->fd[fd]) {
			t->fd[fd] = f;
			t->cloexec[fd] = cloexec;
			return fd;
		}
	}
	return -EMFILE;
}

void fd_replace(int fd, struct file *f, bool cloexec)
{
	struct fdtable *t = files();
	struct file *old = t->fd[fd];

	t->fd[fd] = f;
	t->cloexec[fd] = cloexec;
	if (old)
		fd_drop(t, old);
}

int fd_close(int fd)
{
	struct file *f = fd_get(fd);

	if (!f)
		return -EBADF;
	files()->fd[fd] = NULL;
	fd_drop(files(), f);
	return 0;
}

struct fdtable *fdtable_create_console(void)
{
	struct fdtable *t = kzalloc(sizeof(*t));

	if (!t)
		panic("fd table: out of memory");
	for (int fd = 0; fd < 3; fd++)
		t->fd[fd] = console_open(fd);
	return t;
}

struct fdtable *fdtable_clone(const struct fdtable *t)
{
	struct fdtable *c = kmalloc(sizeof(*c));

	if (!c)
		return NULL;
	memcpy(c, t, sizeof(*c));
	for (int fd = 0; fd < FD_MAX; fd++)
		if (c->fd[fd])
			file_get(c->fd[fd]);
	return c;
}

void fdtable_close_on_exec(struct fdtable *t)
{
	for (int fd = 0; fd < FD_MAX; fd++) {
		if (t->fd[fd] && t->cloexec[fd]) {
			fd_drop(t, t->fd[fd]);
			t->fd[fd] = NULL;
		}
	}
}

void fdtable_destroy(struct fdtable *t)
{
	for (int fd = 0; fd < FD_MAX; fd++)
		if (t->fd[fd])
			fd_drop(t, t->fd[fd]);
	kfree(t);
}
