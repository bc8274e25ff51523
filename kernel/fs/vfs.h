/* vfs.h: inodes, open files, path lookup and per-process fd tables. */
#ifndef FS_VFS_H
#define FS_VFS_H

#include "kernel.h"

struct file;
struct inode;

/* What an open file can do; NULL entries mean the operation is invalid. */
struct file_ops {
	ssize_t (*read)(struct file *f, void *buf, size_t len, off_t *pos);
	ssize_t (*write)(struct file *f, const void *buf, size_t len, off_t *pos);
	long (*ioctl)(struct file *f, unsigned long cmd, unsigned long arg);
	void (*release)(struct file *f);
};

/* File data lives in one buffer; `borrowed` data points into the initramfs
 * and is copied on the first write, so unpacking costs no copy. */
struct inode {
	unsigned long ino;
	unsigned mode;   /* S_IF* | permissions */
	unsigned nlink;
	unsigned uid, gid;
	uint64_t size;
	char *data;
	uint64_t capacity;
	bool borrowed;
	int64_t atime_ns, mtime_ns, ctime_ns;
	const struct file_ops *fops;  /* for character devices */
	unsigned rdev;
	struct dentry *children;      /* directories */
	struct inode *parent;         /* directories: ".." */
	int refs;                     /* open files and cwd */
};

struct dentry {
	char *name;
	struct inode *inode;
	struct dentry *next;
};

struct file {
	struct inode *inode;
	const struct file_ops *ops;
	unsigned flags;  /* O_* status flags */
	off_t pos;
	int refs;
	void *priv;
};

#define FD_MAX 1024

struct fdtable {
	struct file *fd[FD_MAX];
	bool cloexec[FD_MAX];
};

void vfs_init(void);
struct inode *vfs_root(void);
/* Unpacks a cpio newc archive into the root filesystem. */
int cpio_unpack(const void *archive, size_t len);
/* Resolves path relative to the current process's cwd (or dirfd);
 * follows symlinks in the last component if follow. */
int vfs_lookup_at(int dirfd, const char *path, bool follow, struct inode **out);
static inline int vfs_lookup(const char *path, struct inode **out)
{
	return vfs_lookup_at(-100 /* AT_FDCWD */, path, true, out);
}
/* Opens path like openat(2) for the kernel itself; returns an fd or -errno. */
int vfs_open(const char *path, unsigned flags, unsigned mode);
/* Builds the fd table of the first process: 0, 1, 2 on the host console. */
struct fdtable *fdtable_create_console(void);
struct file *fd_get(int fd);

#endif
