/* vfs.h: inodes, open files, path lookup and per-process fd tables. */
#ifndef FS_VFS_H
#define FS_VFS_H

#include "kernel.h"
#include "fs/fdata.h"

struct file;
struct inode;
struct dentry;
struct statfs;

/* What an open file can do; NULL entries mean the operation is invalid.
 * buf may be a user address the syscall layer has already checked and
 * faulted in with user_access_ok(), or a kernel address: use memcpy. */
struct file_ops {
	ssize_t (*read)(struct file *f, void *buf, size_t len, off_t *pos);
	ssize_t (*write)(struct file *f, const void *buf, size_t len, off_t *pos);
	long (*ioctl)(struct file *f, unsigned long cmd, unsigned long arg);
	void (*release)(struct file *f);
	/* Readiness as POLLIN/POLLOUT/POLLHUP/POLLERR bits; NULL: always
	 * readable and writable. Changes are announced with poll_notify(). */
	unsigned (*poll)(struct file *f);
	/* Called once the open file exists (procfs fills f->priv); -errno
	 * fails the open. */
	int (*open)(struct file *f);
	/* Makes written data durable (fsync, fdatasync); NULL: nothing to do. */
	int (*fsync)(struct file *f);
	/* lseek, pread and pwrite are allowed (else -ESPIPE, as for pipes). */
	bool seekable;
};

/* A filesystem kept on a disk (ext2.c) hears of every change to its part
 * of the tree. The hooks that return int run once tmpfs has checked the
 * change and before it makes it, and can refuse it (-ENOSPC, -EIO). */
struct fs_hooks {
	int (*create)(struct inode *dir, const char *name, size_t len, struct inode *in);
	int (*link)(struct inode *dir, const char *name, size_t len, struct inode *in);
	int (*unlink)(struct inode *dir, const char *name, size_t len, struct inode *in);
	/* in moves; victim (or NULL) is the inode whose name it takes. */
	int (*rename)(struct inode *odir, const char *oname, size_t olen,
		      struct inode *ndir, const char *nname, size_t nlen,
		      struct inode *in, struct inode *victim);
	/* Reads pages [first, first + count) of a regular file, none of them
	 * in memory, into its fdata (fdata_add); holes stay out. */
	int (*read_pages)(struct inode *in, uint64_t first, uint64_t count);
	/* Reads [off, off + len) of a regular file, whole pages none of which
	 * is in memory, straight into buf, a program's buffer faulted in for
	 * writing: a large read need not pass through fresh pages. */
	int (*read_direct)(struct inode *in, uint64_t off, void *buf, size_t len);
	/* Whether a page of a regular file holds changes the disk does not
	 * have yet: such a page stays in memory. Must not allocate. */
	bool (*page_dirty)(struct inode *in, uint64_t page);
	/* Bytes [off, off + len) of a regular file are about to be written. */
	int (*write)(struct inode *in, uint64_t off, uint64_t len);
	int (*truncate)(struct inode *in, uint64_t size);
	/* Mode, owner or times changed. */
	void (*setattr)(struct inode *in);
	/* Makes in, and what it depends on (its names), durable; datasync
	 * (fdatasync, O_DSYNC) may leave times, mode and owner for later. */
	int (*sync)(struct inode *in, bool datasync);
	void (*statfs)(struct inode *in, struct statfs *sf);
	/* st_blocks: 512-byte units the file takes on the disk. */
	uint64_t (*blocks)(struct inode *in);
	/* in has no names and no users left and is about to be freed. */
	void (*evict)(struct inode *in);
};

/* A regular file's data is in pages (fdata.h); `borrowed` data points into
 * the initramfs and moves into pages on the first change, so unpacking
 * costs no copy. An inode is freed when it has no names (nlink) and no
 * users (refs) left. */
struct inode {
	unsigned long ino;
	unsigned mode;   /* S_IF* | permissions */
	unsigned nlink;
	unsigned uid, gid;
	uint64_t size;
	char *data;      /* symlinks: target; borrowed regular files: contents */
	bool borrowed;
	struct fdata pages;           /* regular files */
	int64_t atime_ns, mtime_ns, ctime_ns;
	const struct file_ops *fops;  /* for character devices */
	unsigned rdev;
	struct dentry *children;      /* directories: newest first */
	struct inode *parent;         /* directories: "..", holds a ref */
	int refs;                     /* open files, cwd, child directories */
	/* Symlinks whose target is computed (/proc/self/exe); else NULL. */
	const char *(*get_link)(struct inode *in);
	/* Directories whose entries are computed (/proc): brings the children
	 * up to date before a lookup or a listing; else NULL. */
	void (*refresh)(struct inode *dir);
	void *priv;  /* procfs: what a node shows; FIFOs: their pipe */
	bool read_only;  /* on a read-only mount: no change of any kind */
	const struct fs_hooks *hooks;  /* NULL: tmpfs only */
	void *fs_node;                 /* what in is on the hooks' disk */
	unsigned dev;                  /* st_dev; 0: tmpfs's, VFS_TMPFS_DEV */
};

#define VFS_TMPFS_DEV 0x10  /* 0:16, as Linux numbers its anonymous devices */

static inline unsigned inode_dev(const struct inode *in)
{
	return in->dev ? in->dev : VFS_TMPFS_DEV;
}

/* A name in a directory. Also chained in a global hash on (dir, name). */
struct dentry {
	char *name;      /* NUL-terminated, stored after the struct */
	struct inode *inode;
	struct dentry *next;   /* sibling, in dir->children */
	struct inode *dir;
	struct dentry *hnext;  /* hash chain */
	uint32_t hash, len;
	uint64_t cookie;       /* getdents position, decreasing along ->next */
};

struct file {
	struct inode *inode;
	const struct file_ops *ops;
	unsigned flags;  /* O_* access mode and status flags */
	off_t pos;
	int refs;
	void *priv;
};

#define FD_MAX 1024

struct fdtable {
	struct file *fd[FD_MAX];
	bool cloexec[FD_MAX];
};

/* getdents positions: 0 ".", 1 "..", 2 first child, then the cookie of
 * the last entry returned. */
#define DIR_POS_CHILDREN 2

/* ---- tmpfs.c: the in-memory filesystem ---- */
void vfs_init(void);
struct inode *vfs_root(void);
int64_t vfs_now(void);
/* A fresh inode with no names and no refs (pipes and sockets use it too). */
struct inode *inode_new(unsigned mode);
void inode_get(struct inode *in);
void inode_put(struct inode *in);
struct inode *tmpfs_lookup(struct inode *dir, const char *name, size_t len);
/* Creates a directory, regular file or device node named name in dir;
 * *out (if out) gets the new inode. -EEXIST if the name is taken. */
int tmpfs_mknod(struct inode *dir, const char *name, size_t len, unsigned mode,
		struct inode **out);
int tmpfs_symlink(struct inode *dir, const char *name, size_t len,
		  const char *target, size_t tlen, struct inode **out);
int tmpfs_link(struct inode *dir, const char *name, size_t len, struct inode *in);
/* Removes a name: a non-directory, or an empty directory if rmdir. */
int tmpfs_unlink(struct inode *dir, const char *name, size_t len, bool rmdir);
/* rename(2) on resolved parents; flags 0 or RENAME_NOREPLACE. */
int tmpfs_rename(struct inode *odir, const char *oname, size_t olen,
		 struct inode *ndir, const char *nname, size_t nlen, unsigned flags);
int tmpfs_truncate(struct inode *in, uint64_t size);
/* Puts in under dir as name without telling any hook: for a filesystem
 * filling the tree from its disk. */
int tmpfs_add(struct inode *dir, const char *name, size_t len, struct inode *in);
/* Tells in's filesystem that its mode, owner or times changed. */
void inode_changed(struct inode *in);
/* fsync (or with datasync fdatasync) on in: 0 or -errno. */
int inode_sync(struct inode *in, bool datasync);
/* Stores what a shared mapping holds for [off, off+len) of a file; bytes
 * past the end of the file are dropped, as on Linux. */
int tmpfs_write_back(struct inode *in, uint64_t off, const void *buf, size_t len);
/* The first entry at getdents position pos >= DIR_POS_CHILDREN, or NULL. */
struct dentry *tmpfs_readdir(struct inode *dir, uint64_t pos);
/* Some name of in, or NULL if it has none; scans every name, so only for
 * the rare caller (/proc/PID/fd links). */
struct dentry *tmpfs_name_of(struct inode *in);
extern const struct file_ops tmpfs_file_ops, tmpfs_dir_ops;

/* ---- ext2.c ---- */
/* Mounts the ext2 file system of every virtio disk at its mount point; a
 * disk that cannot be mounted is reported and left out. */
void ext2_mount_all(void);
/* The mount point of the i-th mounted disk, or NULL past the last; *disk
 * is its index (/dev/vda is 0). */
const char *ext2_mounted(unsigned i, unsigned *disk, bool *writable);
/* On the way back to user mode or going idle (no change to any file
 * system is half made): writes back what has been dirty for a few seconds.
 * Returns when the rest will be due (monotonic ns), 0 if nothing is dirty. */
uint64_t ext2_write_back_old(void);
/* Before writing `more` bytes to a file on a disk: writes dirty data back
 * first if it takes too much memory, or memory is short, as it is freed
 * only once written. */
void ext2_balance_dirty(size_t more);
/* Bytes of file data changed and not yet written back, on every disk. */
uint64_t ext2_dirty_bytes(void);
/* Writes back all dirty file data, without the host flush, so that its
 * pages can be dropped: for a program out of memory, at a point where no
 * change to a file system is half made. True if any was written. */
bool ext2_write_back_dirty(void);
/* sync(2): writes everything back to every disk. */
int ext2_sync_all(void);
/* Before the VM ends: writes everything back and marks the file systems
 * cleanly unmounted. */
void ext2_unmount_all(void);

/* ---- cpio.c ---- */
/* Unpacks a cpio newc archive into the root filesystem, from index
 * (index_len bytes, struct wisp_index_hdr) if not NULL. */
int cpio_unpack(const void *archive, size_t len, const void *index, size_t index_len);

/* ---- path.c: name lookup ----
 * Returned inodes carry no reference: they stay valid until the next
 * change to the filesystem. Paths here are kernel strings. */
#define VFS_MAX_LINKS 40  /* symlinks followed per lookup, as in Linux */
/* Resolves path relative to the current process's cwd (or dirfd);
 * follows symlinks in the last component if follow. */
int vfs_lookup_at(int dirfd, const char *path, bool follow, struct inode **out);
/* Copies a user path into a kmalloc'd buffer, or returns -errno as a
 * pointer; "" is -ENOENT unless empty_ok. */
char *vfs_getname(const char *upath, bool empty_ok);
/* vfs_lookup_at for a user path and AT_* flags (AT_EMPTY_PATH,
 * AT_SYMLINK_NOFOLLOW), as the *at system calls take them. */
long vfs_lookup_user(int dirfd, const char *upath, int flags, struct inode **out);
static inline int vfs_lookup(const char *path, struct inode **out)
{
	return vfs_lookup_at(-100 /* AT_FDCWD */, path, true, out);
}
/* The directory that would hold path's last component, and that name
 * (which may be "." or ".."); slash says the path ended in '/'. */
struct vfs_name {
	struct inode *dir;
	const char *name;
	size_t len;
	bool slash;
};
int vfs_lookup_parent(int dirfd, const char *path, struct vfs_name *out);
int vfs_parent_from(struct inode *start, const char *path, struct vfs_name *out);
/* Whether the name is "." or "..". */
bool vfs_name_is_dot(const struct vfs_name *nm);
/* Creates the missing directories above path (relative to the root), like
 * mkdir -p of its dirname. */
int vfs_make_parents(const char *path);
/* The inode dirfd names (AT_FDCWD: the cwd), whatever its type. */
int vfs_fd_inode(int dirfd, struct inode **out);
/* A symlink's target (not NUL-terminated) and its length. */
const char *vfs_link_target(struct inode *in, size_t *len);
/* Writes the absolute path of directory dir; returns its length or -errno. */
int vfs_dir_path(struct inode *dir, char *buf, size_t size);

/* ---- file.c: open files and fd tables ---- */
/* A new open file with one reference; takes a reference on in (may be NULL). */
struct file *file_new(struct inode *in, const struct file_ops *ops, unsigned flags);
void file_get(struct file *f);
void file_put(struct file *f);
/* Opens path like openat(2) for the kernel itself; returns an fd or -errno. */
int vfs_openat(int dirfd, const char *path, unsigned flags, unsigned mode);
static inline int vfs_open(const char *path, unsigned flags, unsigned mode)
{
	return vfs_openat(-100 /* AT_FDCWD */, path, flags, mode);
}
/* Puts f (whose reference the table takes over) in the lowest free fd >= min
 * of the current process; returns the fd or -EMFILE (f is then not taken). */
int fd_install(struct file *f, int min, bool cloexec);
/* Puts f in slot fd (0 <= fd < FD_MAX), closing what was there. */
void fd_replace(int fd, struct file *f, bool cloexec);
int fd_close(int fd);
struct file *fd_get(int fd);
/* Builds the fd table of the first process: 0, 1, 2 on the host console. */
struct fdtable *fdtable_create_console(void);
/* fork: a copy sharing the open files; NULL if out of memory. */
struct fdtable *fdtable_clone(const struct fdtable *t);
/* execve: closes the O_CLOEXEC fds. */
void fdtable_close_on_exec(struct fdtable *t);
/* exit: closes every fd and frees the table. */
void fdtable_destroy(struct fdtable *t);

/* ---- devices.c ---- */
/* Creates /dev with its character devices, then /proc and /sys. */
void devices_init(void);
/* The virtio disks as /dev/vda, /dev/vdb, ... (fs/blockdev.c): those in
 * the boot info, or else those named by disk= words (mounts[i] is
 * "MOUNT[:ro]" of the device with serial "wispI"). */
void blockdev_init(const char *const *mounts, unsigned nmounts);
/* An open file on the host console; host_fd 0 reads stdin and writes
 * stdout, 1 and 2 write stdout and stderr. */
struct file *console_open(int host_fd);

/* ---- pipe.c: pipes, and a check for file operations that block ---- */
#define PIPE_CAPACITY (64 * 1024)  /* bytes a pipe buffers: F_GETPIPE_SZ */
/* A read or write that slept must check its buffer again before touching
 * it: another thread may have unmapped it meanwhile. Kernel buffers pass.
 * Returns 0 or -EFAULT. */
int file_buf_recheck(const void *buf, size_t len, bool write);
/* The two open files of a new pipe, read end first; nonblock is 0 or
 * O_NONBLOCK. Returns 0 or -ENOMEM. */
int pipe_create(struct file *ends[2], unsigned nonblock);
/* Files opened on a FIFO in the file system start with these ops; opening
 * attaches them to the FIFO's pipe (shared through inode->priv). */
extern const struct file_ops fifo_ops;

/* ---- anon.c ----
 * Installs a new open file with ops and priv on an inode of its own, which
 * /proc/PID/fd shows as "anon_inode:<name>"; flags may hold O_NONBLOCK and
 * O_CLOEXEC. Returns the fd or -errno; on failure priv (kmalloc'd) is freed,
 * by ops->release if the file was made. */
int anon_fd_install(const char *name, const struct file_ops *ops, unsigned flags, void *priv);

/* ---- procfs.c ----
 * Creates /proc (generated files, computed symlinks, a directory per
 * process) and /sys/devices/system/cpu. */
void procfs_init(void);

#endif
