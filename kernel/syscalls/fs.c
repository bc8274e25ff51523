/* fs.c: the file syscalls: I/O on fds, fd management, metadata and names. */
#include <asm/ioctls.h>
#include <asm/stat.h>
#include <asm/statfs.h>
#include <linux/close_range.h>
#include <linux/fcntl.h>
#include <linux/fs.h>
#include <linux/limits.h>
#include <linux/stat.h>
#include <linux/time_types.h>
#include <linux/uio.h>
#include "fs/lock.h"
#include "fs/vfs.h"
#include "lib/string.h"
#include "mm/kmalloc.h"
#include "mm/page.h"
#include "mm/uaccess.h"
#include "sched/proc.h"
#include "syscalls/syscall.h"

/* Linux caps one read or write at this, so counts always fit a ssize_t. */
#define MAX_RW 0x7ffff000UL
/* writev gathers up to this much so a device sees one write (and the
 * console one host exit). */
#define GATHER_MAX 4096
/* sendfile from files not in tmpfs moves this much per call at most. */
#define SENDFILE_CHUNK (64 * 1024)
#define TMPFS_MAGIC 0x01021994
/* UAPI lacks these (utimensat(2)). */
#define UTIME_NOW ((1L << 30) - 1)
#define UTIME_OMIT ((1L << 30) - 2)
/* access(2) modes, from unistd.h (not UAPI). */
#define X_OK 1
#define W_OK 2
#define R_OK 4

/* ---------------------------------------------------------------- helpers */

/* The parent directory and last name of a user path; *buf holds the name
 * and must be freed. */
static long parent_user(int dirfd, const char *upath, struct vfs_name *nm, char **buf)
{
	long err;

	*buf = vfs_getname(upath, false);
	if (IS_ERR_VALUE(*buf))
		return (long)*buf;
	err = vfs_lookup_parent(dirfd, *buf, nm);
	if (err)
		kfree(*buf);
	return err;
}

static bool is_dot(const struct vfs_name *nm)
{
	return nm->name[0] == '.' && (nm->len == 1 || (nm->len == 2 && nm->name[1] == '.'));
}

static struct inode *fd_inode(int fd)
{
	struct file *f = fd_get(fd);

	return f ? f->inode : NULL;
}

static long check_read(struct file *f)
{
	if (!f || (f->flags & O_PATH) || (f->flags & O_ACCMODE) == O_WRONLY)
		return -EBADF;
	return f->ops->read ? 0 : -EINVAL;
}

static long check_write(struct file *f)
{
	if (!f || (f->flags & O_PATH) || (f->flags & O_ACCMODE) == O_RDONLY)
		return -EBADF;
	return f->ops->write ? 0 : -EINVAL;
}

/* ------------------------------------------------------------ read/write */

static long do_read(struct file *f, void *buf, size_t len, off_t *pos)
{
	long err = check_read(f);
	struct inode *in;

	if (err)
		return err;
	len = MIN(len, MAX_RW);
	/* Big buffers for small files: fault in only what will be filled. */
	in = f->inode;
	if (f->ops == &tmpfs_file_ops)
		len = (uint64_t)*pos < in->size ? MIN(len, in->size - *pos) : 0;
	if (user_access_ok(buf, len, true))
		return -EFAULT;
	return f->ops->read(f, buf, len, pos);
}

static long do_write(struct file *f, const void *buf, size_t len, off_t *pos)
{
	long err = check_write(f);

	if (err)
		return err;
	len = MIN(len, MAX_RW);
	if (user_access_ok(buf, len, false))
		return -EFAULT;
	return f->ops->write(f, buf, len, pos);
}

/* The file behind fd, with a reference: a read or write may block, and
 * another thread may close the fd meanwhile. Release with file_put. */
static struct file *fd_hold(int fd)
{
	struct file *f = fd_get(fd);

	if (f)
		file_get(f);
	return f;
}

/* Returns r after dropping the reference fd_hold took. */
static long release(struct file *f, long r)
{
	if (f)
		file_put(f);
	return r;
}

static long sys_read(int fd, void *buf, size_t len)
{
	struct file *f = fd_hold(fd);

	return release(f, do_read(f, buf, len, f ? &f->pos : NULL));
}

static long sys_write(int fd, const void *buf, size_t len)
{
	struct file *f = fd_hold(fd);

	return release(f, do_write(f, buf, len, f ? &f->pos : NULL));
}

/* The file for pread/pwrite/preadv: seekable, offset not negative. Held
 * (fd_hold) on success. */
static long positioned(int fd, off_t off, struct file **out)
{
	struct file *f = fd_get(fd);

	if (!f)
		return -EBADF;
	if (!f->ops->seekable)
		return -ESPIPE;
	if (off < 0)
		return -EINVAL;
	file_get(f);
	*out = f;
	return 0;
}

static long sys_pread64(int fd, void *buf, size_t len, off_t off)
{
	struct file *f;
	long err = positioned(fd, off, &f);

	return err ? err : release(f, do_read(f, buf, len, &off));
}

static long sys_pwrite64(int fd, const void *buf, size_t len, off_t off)
{
	struct file *f;
	long err = positioned(fd, off, &f);

	/* Linux appends even here when the file is O_APPEND; so does tmpfs. */
	return err ? err : release(f, do_write(f, buf, len, &off));
}

static long do_readv(struct file *f, const struct iovec *uiov, int cnt, off_t *pos)
{
	struct iovec iov;
	long total = 0, n;

	if (cnt < 0 || cnt > UIO_MAXIOV)
		return -EINVAL;
	for (int i = 0; i < cnt; i++) {
		if (copy_from_user(&iov, uiov + i, sizeof(iov)))
			return total ? total : -EFAULT;
		if (!iov.iov_len)
			continue;
		n = do_read(f, iov.iov_base, MIN(iov.iov_len, MAX_RW - total), pos);
		if (n < 0)
			return total ? total : n;
		total += n;
		if ((size_t)n < iov.iov_len || (size_t)total == MAX_RW)
			break;
	}
	return total;
}

/* Copies a short vector into one kernel buffer; NULL if it does not fit. */
static char *gather(const struct iovec *iov, int cnt, size_t *len)
{
	size_t total = 0;
	char *buf;

	for (int i = 0; i < cnt; i++)
		if ((total += iov[i].iov_len) > GATHER_MAX)
			return NULL;
	if (!(buf = kmalloc(total ? total : 1)))
		return NULL;
	*len = 0;
	for (int i = 0; i < cnt; i++) {
		if (copy_from_user(buf + *len, iov[i].iov_base, iov[i].iov_len)) {
			kfree(buf);
			return NULL;
		}
		*len += iov[i].iov_len;
	}
	return buf;
}

static long do_writev(struct file *f, const struct iovec *uiov, int cnt, off_t *pos)
{
	struct iovec iov[8];
	long total = 0, n;
	size_t len;
	char *buf;

	if (cnt < 0 || cnt > UIO_MAXIOV)
		return -EINVAL;
	if (cnt <= (int)ARRAY_SIZE(iov) && !check_write(f) &&
	    !copy_from_user(iov, uiov, cnt * sizeof(*iov)) && (buf = gather(iov, cnt, &len))) {
		n = f->ops->write(f, buf, len, pos);
		kfree(buf);
		return n;
	}
	for (int i = 0; i < cnt; i++) {
		if (copy_from_user(iov, uiov + i, sizeof(*iov)))
			return total ? total : -EFAULT;
		if (!iov->iov_len)
			continue;
		n = do_write(f, iov->iov_base, MIN(iov->iov_len, MAX_RW - total), pos);
		if (n < 0)
			return total ? total : n;
		total += n;
		if ((size_t)n < iov->iov_len || (size_t)total == MAX_RW)
			break;
	}
	return total;
}

static long sys_readv(int fd, const struct iovec *iov, int cnt)
{
	struct file *f = fd_hold(fd);

	return f ? release(f, do_readv(f, iov, cnt, &f->pos)) : -EBADF;
}

static long sys_writev(int fd, const struct iovec *iov, int cnt)
{
	struct file *f = fd_hold(fd);

	return f ? release(f, do_writev(f, iov, cnt, &f->pos)) : -EBADF;
}

static long sys_preadv(int fd, const struct iovec *iov, int cnt, off_t off)
{
	struct file *f;
	long err = positioned(fd, off, &f);

	return err ? err : release(f, do_readv(f, iov, cnt, &off));
}

static long sys_pwritev(int fd, const struct iovec *iov, int cnt, off_t off)
{
	struct file *f;
	long err = positioned(fd, off, &f);

	return err ? err : release(f, do_writev(f, iov, cnt, &off));
}

/* What send_tmpfs has written so far. */
struct sending {
	struct file *out;
	long done;
};

static int send_piece(void *arg, const void *p, size_t n)
{
	struct sending *s = arg;
	long w = s->out->ops->write(s->out, p, n, &s->out->pos);

	if (w <= 0)
		return w < 0 && !s->done ? (int)w : 1;  /* an error only if nothing went */
	s->done += w;
	return (size_t)w < n;  /* a short write stops the transfer */
}

/* A tmpfs file's pages go to the destination's write without a copy. */
static long send_tmpfs(struct file *in, struct file *out, off_t *pos, size_t count)
{
	struct inode *src = in->inode;
	struct sending s = { out, 0 };
	int err;

	if (src == out->inode)
		return -EINVAL;
	if ((uint64_t)*pos >= src->size)
		return 0;
	err = fdata_each(src, *pos, MIN(count, src->size - *pos), send_piece, &s);
	*pos += s.done;
	return s.done ? s.done : MIN(err, 0);
}

/* Other sources (procfs, pipes, devices) go through a kernel buffer. */
static long send_copy(struct file *in, struct file *out, off_t *pos, size_t count)
{
	size_t len = MIN(count, SENDFILE_CHUNK);
	char *buf = kmalloc(MAX(len, 1));
	long n, w;

	if (!buf)
		return -ENOMEM;
	n = in->ops->read(in, buf, len, pos);
	if (n > 0) {
		w = out->ops->write(out, buf, n, &out->pos);
		/* What was not written is read again next time, if it can be. */
		if (in->ops->seekable)
			*pos -= n - MAX(w, 0);
		n = w;
	}
	kfree(buf);
	return n;
}

static long sys_sendfile(int out_fd, int in_fd, off_t *uoff, size_t count)
{
	struct file *in = fd_get(in_fd), *out = fd_get(out_fd);
	off_t pos;
	long n;

	if (check_read(in) || check_write(out))
		return -EBADF;
	if (uoff && !in->ops->seekable)
		return -ESPIPE;
	pos = in->pos;
	if (uoff && copy_from_user(&pos, uoff, sizeof(pos)))
		return -EFAULT;
	if (pos < 0)
		return -EINVAL;
	count = MIN(count, MAX_RW);
	if (in->ops == &tmpfs_file_ops)
		n = send_tmpfs(in, out, &pos, count);
	else
		n = send_copy(in, out, &pos, count);
	if (uoff && copy_to_user(uoff, &pos, sizeof(pos)))
		return -EFAULT;
	if (!uoff)
		in->pos = pos;
	return n;
}

static long sys_lseek(int fd, off_t off, int whence)
{
	struct file *f = fd_get(fd);
	off_t size, base, res;

	if (!f || (f->flags & O_PATH))
		return -EBADF;
	if (!f->ops->seekable)
		return -ESPIPE;
	size = f->inode && S_ISREG(f->inode->mode) ? (off_t)f->inode->size : 0;
	switch (whence) {
	case SEEK_SET: base = 0; break;
	case SEEK_CUR: base = f->pos; break;
	case SEEK_END: base = size; break;
	case SEEK_DATA:
	case SEEK_HOLE:
		/* No holes are tracked: data runs to the end of the file. */
		if (off < 0 || off >= size)
			return -ENXIO;
		return f->pos = whence == SEEK_DATA ? off : size;
	default: return -EINVAL;
	}
	if (__builtin_add_overflow(base, off, &res))
		return -EOVERFLOW;
	if (res < 0)
		return -EINVAL;
	return f->pos = res;
}

/* ------------------------------------------------------------ open/close */

static long sys_openat(int dirfd, const char *upath, int flags, unsigned mode)
{
	char *path = vfs_getname(upath, false);
	long fd;

	if (IS_ERR_VALUE(path))
		return (long)path;
	fd = vfs_openat(dirfd, path, flags, mode);
	kfree(path);
	return fd;
}

static long sys_open(const char *upath, int flags, unsigned mode)
{
	return sys_openat(AT_FDCWD, upath, flags, mode);
}

static long sys_creat(const char *upath, unsigned mode)
{
	return sys_openat(AT_FDCWD, upath, O_CREAT | O_WRONLY | O_TRUNC, mode);
}

static long sys_close(int fd)
{
	return fd_close(fd);
}

/* Each process has its own table already, so CLOSE_RANGE_UNSHARE is moot. */
static long sys_close_range(unsigned first, unsigned last, unsigned flags)
{
	struct fdtable *t = current()->files;

	if (first > last || (flags & ~(CLOSE_RANGE_UNSHARE | CLOSE_RANGE_CLOEXEC)))
		return -EINVAL;
	for (unsigned fd = first; fd <= MIN(last, FD_MAX - 1); fd++) {
		if (!t->fd[fd])
			continue;
		if (flags & CLOSE_RANGE_CLOEXEC)
			t->cloexec[fd] = true;
		else
			fd_close(fd);
	}
	return 0;
}

/* Access-pattern advice: everything is in memory, nothing to prefetch. */
static long sys_fadvise64(int fd, off_t offset, off_t len, int advice)
{
	(void)offset;
	(void)len;
	if (!fd_get(fd))
		return -EBADF;
	return advice < 0 || advice > 5 ? -EINVAL : 0;
}

static long dup_from(int fd, int min, bool cloexec)
{
	struct file *f = fd_get(fd);
	long nfd;

	if (!f)
		return -EBADF;
	file_get(f);
	nfd = fd_install(f, min, cloexec);
	if (nfd < 0)
		file_put(f);
	return nfd;
}

static long sys_dup(int fd)
{
	return dup_from(fd, 0, false);
}

static long sys_dup3(int oldfd, int newfd, int flags)
{
	struct file *f = fd_get(oldfd);

	if (flags & ~O_CLOEXEC)
		return -EINVAL;
	if (oldfd == newfd)
		return -EINVAL;
	if (!f || newfd < 0 || newfd >= FD_MAX)
		return -EBADF;
	file_get(f);
	fd_replace(newfd, f, flags & O_CLOEXEC);
	return newfd;
}

static long sys_dup2(int oldfd, int newfd)
{
	if (oldfd == newfd)
		return fd_get(oldfd) ? newfd : -EBADF;
	return sys_dup3(oldfd, newfd, 0);
}

/* F_GETLK, F_SETLK, F_SETLKW and the F_OFD_* forms (fs/lock.c). */
static long fcntl_lock(int fd, struct file *f, int cmd, struct flock *ufl)
{
	struct fdtable *owner = current()->files;
	struct flock fl;
	long err;

	if (f->flags & O_PATH)
		return -EBADF;
	if (copy_from_user(&fl, ufl, sizeof(fl)))
		return -EFAULT;
	/* F_SETLKW may sleep while another thread closes fd. */
	file_get(f);
	err = lock_fcntl(f, cmd, &fl, owner, current()->pid);
	/* A lock taken through an fd closed meanwhile would outlive the
	 * close that should have dropped it (Linux checks the same). */
	if (!err && cmd == F_SETLKW && fd_get(fd) != f)
		lock_posix_close(f, owner);
	file_put(f);
	if (!err && (cmd == F_GETLK || cmd == F_OFD_GETLK))
		err = copy_to_user(ufl, &fl, sizeof(fl));
	return err;
}

static long sys_fcntl(int fd, int cmd, unsigned long arg)
{
	struct file *f = fd_get(fd);
	bool *cloexec = f ? &current()->files->cloexec[fd] : NULL;
	const unsigned settable = O_APPEND | O_NONBLOCK | FASYNC | O_DIRECT | O_NOATIME;

	if (!f)
		return -EBADF;
	switch (cmd) {
	case F_DUPFD:
	case F_DUPFD_CLOEXEC:
		if (arg >= FD_MAX)
			return -EINVAL;
		return dup_from(fd, arg, cmd == F_DUPFD_CLOEXEC);
	case F_GETFD: return *cloexec ? FD_CLOEXEC : 0;
	case F_SETFD: *cloexec = arg & FD_CLOEXEC; return 0;
	case F_GETFL: return f->flags;
	case F_SETFL: f->flags = (f->flags & ~settable) | (arg & settable); return 0;
	case F_GETLK: case F_SETLK: case F_SETLKW:
	case F_OFD_GETLK: case F_OFD_SETLK: case F_OFD_SETLKW:
		return fcntl_lock(fd, f, cmd, (struct flock *)arg);
	case F_GETOWN: case F_SETOWN:
		return 0;
	case F_GETPIPE_SZ:
	case F_SETPIPE_SZ:
		/* Pipes keep their size: the size set is the size there is. */
		return f->inode && S_ISFIFO(f->inode->mode) ? PIPE_CAPACITY : -EBADF;
	default: return -EINVAL;
	}
}

static long sys_flock(int fd, int op)
{
	struct file *f = fd_get(fd);
	long err;

	if (!f || (f->flags & O_PATH))
		return -EBADF;
	/* A blocking flock may sleep while another thread closes fd. */
	file_get(f);
	err = lock_flock(f, op);
	file_put(f);
	return err;
}

/* FIONBIO and FIOASYNC: set or clear a status flag from an int. */
static long set_flag_from(struct file *f, unsigned flag, const int *uarg)
{
	int on;

	if (copy_from_user(&on, uarg, sizeof(on)))
		return -EFAULT;
	f->flags = on ? f->flags | flag : f->flags & ~flag;
	return 0;
}

static long sys_ioctl(int fd, unsigned cmd, unsigned long arg)
{
	struct file *f = fd_get(fd);
	int avail;

	if (!f)
		return -EBADF;
	switch (cmd) {
	case FIOCLEX: current()->files->cloexec[fd] = true; return 0;
	case FIONCLEX: current()->files->cloexec[fd] = false; return 0;
	case FIONBIO: return set_flag_from(f, O_NONBLOCK, (const int *)arg);
	case FIOASYNC: return set_flag_from(f, FASYNC, (const int *)arg);
	}
	if (f->flags & O_PATH)
		return -EBADF;
	if (f->ops->ioctl)
		return f->ops->ioctl(f, cmd, arg);
	if (cmd == FIONREAD && f->inode && S_ISREG(f->inode->mode)) {
		avail = (uint64_t)f->pos < f->inode->size ? MIN(f->inode->size - f->pos, 0x7fffffffUL) : 0;
		return copy_to_user((int *)arg, &avail, sizeof(avail));
	}
	return -ENOTTY;
}

static long sys_pipe2(int *ufds, int flags)
{
	struct file *ends[2];
	int fds[2];
	long err;

	if (flags & ~(O_CLOEXEC | O_NONBLOCK))
		return -EINVAL;
	if ((err = pipe_create(ends, flags & O_NONBLOCK)))
		return err;
	if ((fds[0] = fd_install(ends[0], 0, flags & O_CLOEXEC)) < 0) {
		file_put(ends[0]);
		file_put(ends[1]);
		return -EMFILE;
	}
	if ((fds[1] = fd_install(ends[1], 0, flags & O_CLOEXEC)) < 0) {
		fd_close(fds[0]);
		file_put(ends[1]);
		return -EMFILE;
	}
	if (copy_to_user(ufds, fds, sizeof(fds))) {
		fd_close(fds[0]);
		fd_close(fds[1]);
		return -EFAULT;
	}
	return 0;
}

static long sys_pipe(int *ufds)
{
	return sys_pipe2(ufds, 0);
}

/* ------------------------------------------------------------------ stat */

static uint64_t stat_size(struct inode *in)
{
	size_t len;

	switch (in->mode & S_IFMT) {
	case S_IFREG: return in->size;
	case S_IFDIR: return PAGE_SIZE;
	case S_IFLNK: vfs_link_target(in, &len); return len;
	default: return 0;
	}
}

static void fill_stat(struct inode *in, struct stat *st)
{
	uint64_t size = stat_size(in);

	memset(st, 0, sizeof(*st));
	st->st_dev = inode_dev(in);
	st->st_ino = in->ino;
	st->st_nlink = in->nlink;
	st->st_mode = in->mode;
	st->st_uid = in->uid;
	st->st_gid = in->gid;
	st->st_rdev = in->rdev;
	st->st_size = size;
	st->st_blksize = PAGE_SIZE;
	st->st_blocks = in->hooks ? in->hooks->blocks(in) : ALIGN_UP(size, PAGE_SIZE) / 512;
	st->st_atime = in->atime_ns / 1000000000;
	st->st_atime_nsec = in->atime_ns % 1000000000;
	st->st_mtime = in->mtime_ns / 1000000000;
	st->st_mtime_nsec = in->mtime_ns % 1000000000;
	st->st_ctime = in->ctime_ns / 1000000000;
	st->st_ctime_nsec = in->ctime_ns % 1000000000;
}

static long put_stat(struct inode *in, struct stat *ust)
{
	struct stat st;

	fill_stat(in, &st);
	return copy_to_user(ust, &st, sizeof(st));
}

static long sys_newfstatat(int dirfd, const char *upath, struct stat *ust, int flags)
{
	struct inode *in;
	long err;

	if (flags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH | AT_NO_AUTOMOUNT))
		return -EINVAL;
	err = vfs_lookup_user(dirfd, upath, flags, &in);
	return err ? err : put_stat(in, ust);
}

static long sys_stat(const char *upath, struct stat *ust)
{
	return sys_newfstatat(AT_FDCWD, upath, ust, 0);
}

static long sys_lstat(const char *upath, struct stat *ust)
{
	return sys_newfstatat(AT_FDCWD, upath, ust, AT_SYMLINK_NOFOLLOW);
}

static long sys_fstat(int fd, struct stat *ust)
{
	struct inode *in = fd_inode(fd);

	return in ? put_stat(in, ust) : -EBADF;
}

static struct statx_timestamp statx_time(int64_t ns)
{
	return (struct statx_timestamp){ .tv_sec = ns / 1000000000, .tv_nsec = ns % 1000000000 };
}

static long sys_statx(int dirfd, const char *upath, int flags, unsigned mask,
		      struct statx *ubuf)
{
	struct statx sx;
	struct stat st;
	struct inode *in;
	long err;

	(void)mask;  /* everything basic is always known */
	if (flags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH | AT_NO_AUTOMOUNT | AT_STATX_SYNC_TYPE))
		return -EINVAL;
	if ((err = vfs_lookup_user(dirfd, upath, flags, &in)))
		return err;
	fill_stat(in, &st);
	memset(&sx, 0, sizeof(sx));
	sx.stx_mask = STATX_BASIC_STATS;
	sx.stx_blksize = st.st_blksize;
	sx.stx_nlink = st.st_nlink;
	sx.stx_uid = st.st_uid;
	sx.stx_gid = st.st_gid;
	sx.stx_mode = st.st_mode;
	sx.stx_ino = st.st_ino;
	sx.stx_size = st.st_size;
	sx.stx_blocks = st.st_blocks;
	sx.stx_atime = statx_time(in->atime_ns);
	sx.stx_mtime = statx_time(in->mtime_ns);
	sx.stx_ctime = statx_time(in->ctime_ns);
	sx.stx_rdev_major = in->rdev >> 8;
	sx.stx_rdev_minor = in->rdev & 0xff;
	sx.stx_dev_major = inode_dev(in) >> 8;
	sx.stx_dev_minor = inode_dev(in) & 0xff;
	return copy_to_user(ubuf, &sx, sizeof(sx));
}

static void fill_statfs(struct inode *in, struct statfs *sf)
{
	if (in && in->hooks) {
		in->hooks->statfs(in, sf);
		return;
	}
	memset(sf, 0, sizeof(*sf));
	sf->f_type = TMPFS_MAGIC;
	sf->f_bsize = sf->f_frsize = PAGE_SIZE;
	sf->f_blocks = page_total_count();
	sf->f_bfree = sf->f_bavail = page_free_count();
	sf->f_files = sf->f_ffree = 1 << 20;
	sf->f_namelen = NAME_MAX;
}

static long sys_statfs(const char *upath, struct statfs *ubuf)
{
	struct statfs sf;
	struct inode *in;
	long err = vfs_lookup_user(AT_FDCWD, upath, 0, &in);

	if (err)
		return err;
	fill_statfs(in, &sf);
	return copy_to_user(ubuf, &sf, sizeof(sf));
}

static long sys_fstatfs(int fd, struct statfs *ubuf)
{
	struct statfs sf;
	struct file *f = fd_get(fd);

	if (!f)
		return -EBADF;
	fill_statfs(f->inode, &sf);
	return copy_to_user(ubuf, &sf, sizeof(sf));
}

/* The program runs as root: only execute needs a permission bit. */
static long sys_faccessat2(int dirfd, const char *upath, int mode, int flags)
{
	struct inode *in;
	long err;

	if (mode & ~(R_OK | W_OK | X_OK))
		return -EINVAL;
	if (flags & ~(AT_EACCESS | AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH))
		return -EINVAL;
	if ((err = vfs_lookup_user(dirfd, upath, flags, &in)))
		return err;
	if ((mode & X_OK) && !S_ISDIR(in->mode) && !(in->mode & 0111))
		return -EACCES;
	return 0;
}

static long sys_faccessat(int dirfd, const char *upath, int mode)
{
	return sys_faccessat2(dirfd, upath, mode, 0);
}

static long sys_access(const char *upath, int mode)
{
	return sys_faccessat2(AT_FDCWD, upath, mode, 0);
}

/* ------------------------------------------------------------ directories */

/* The record layout of getdents64 (struct linux_dirent64). */
struct dirent64_hdr {
	uint64_t d_ino;
	int64_t d_off;
	uint16_t d_reclen;
	uint8_t d_type;
} __attribute__((packed));

/* Appends one record at ubuf+*used if it fits in count; false if it does
 * not (or on a fault, which the caller reports if nothing was written). */
static bool put_dirent(char *ubuf, size_t count, size_t *used, uint64_t ino,
		       uint64_t next, unsigned mode, const char *name, size_t len)
{
	size_t reclen = ALIGN_UP(sizeof(struct dirent64_hdr) + len + 1, 8);
	struct dirent64_hdr h = {
		.d_ino = ino, .d_off = next, .d_reclen = reclen, .d_type = (mode & S_IFMT) >> 12,
	};
	char rec[ALIGN_UP(sizeof(h) + NAME_MAX + 1, 8)];

	if (reclen > count - *used)
		return false;
	memcpy(rec, &h, sizeof(h));
	memcpy(rec + sizeof(h), name, len);
	memset(rec + sizeof(h) + len, 0, reclen - sizeof(h) - len);
	/* Record by record, so only the pages written are faulted in. */
	if (copy_to_user(ubuf + *used, rec, reclen))
		return false;
	*used += reclen;
	return true;
}

/* Emits the entry at position f->pos; false at the end or when full. */
static bool next_dirent(struct file *f, char *buf, size_t count, size_t *used)
{
	struct inode *dir = f->inode;
	struct dentry *d;

	if (f->pos == 0) {
		if (!put_dirent(buf, count, used, dir->ino, 1, S_IFDIR, ".", 1))
			return false;
		f->pos = 1;
	} else if (f->pos == 1) {
		if (!put_dirent(buf, count, used, dir->parent->ino, DIR_POS_CHILDREN, S_IFDIR, "..", 2))
			return false;
		f->pos = DIR_POS_CHILDREN;
	} else {
		if (!(d = tmpfs_readdir(dir, f->pos)) ||
		    !put_dirent(buf, count, used, d->inode->ino, d->cookie, d->inode->mode,
				d->name, d->len))
			return false;
		f->pos = d->cookie;
	}
	return true;
}

static long sys_getdents64(int fd, void *ubuf, unsigned count)
{
	struct file *f = fd_get(fd);
	size_t used = 0;

	if (!f || (f->flags & O_PATH))
		return -EBADF;
	if (!f->inode || !S_ISDIR(f->inode->mode))
		return -ENOTDIR;
	while (next_dirent(f, ubuf, count, &used))
		;
	if (!used && (f->pos < DIR_POS_CHILDREN || tmpfs_readdir(f->inode, f->pos)))
		/* the next entry did not fit, or the buffer is bad */
		return user_access_ok(ubuf, MIN(count, 1u), true) ?: -EINVAL;
	return used;
}

static long sys_getcwd(char *ubuf, size_t size)
{
	char *buf = kmalloc(PATH_MAX);
	long len;

	if (!buf)
		return -ENOMEM;
	len = vfs_dir_path(current()->cwd, buf, PATH_MAX);
	if (len >= 0 && (size_t)len + 1 > size)
		len = -ERANGE;
	if (len >= 0)
		len = copy_to_user(ubuf, buf, len + 1) ?: len + 1;
	kfree(buf);
	return len;
}

static long set_cwd(struct inode *in)
{
	struct proc *p = current();

	if (!S_ISDIR(in->mode))
		return -ENOTDIR;
	inode_get(in);
	if (p->cwd)
		inode_put(p->cwd);
	p->cwd = in;
	return 0;
}

static long sys_chdir(const char *upath)
{
	struct inode *in;
	long err = vfs_lookup_user(AT_FDCWD, upath, 0, &in);

	return err ? err : set_cwd(in);
}

static long sys_fchdir(int fd)
{
	struct inode *in = fd_inode(fd);

	return in ? set_cwd(in) : -EBADF;
}

static long sys_mkdirat(int dirfd, const char *upath, unsigned mode)
{
	struct vfs_name nm;
	char *buf;
	long err = parent_user(dirfd, upath, &nm, &buf);

	if (err)
		return err;
	mode = S_IFDIR | (mode & 01777 & ~current()->umask);
	err = is_dot(&nm) ? -EEXIST : tmpfs_mknod(nm.dir, nm.name, nm.len, mode, NULL);
	kfree(buf);
	return err;
}

static long sys_mkdir(const char *upath, unsigned mode)
{
	return sys_mkdirat(AT_FDCWD, upath, mode);
}

/* syscall-partial: mknodat, mknod: regular files and FIFOs; device nodes are EPERM (the devices in /dev are built in) */
static long sys_mknodat(int dirfd, const char *upath, unsigned mode, unsigned dev)
{
	unsigned type = mode & S_IFMT;
	struct vfs_name nm;
	char *buf;
	long err;

	(void)dev;
	if (type == S_IFCHR || type == S_IFBLK || type == S_IFSOCK)
		return -EPERM;
	if (type != 0 && type != S_IFREG && type != S_IFIFO)
		return -EINVAL;
	if ((err = parent_user(dirfd, upath, &nm, &buf)))
		return err;
	mode = (type ? type : S_IFREG) | (mode & 07777 & ~current()->umask);
	err = is_dot(&nm) ? -EEXIST : tmpfs_mknod(nm.dir, nm.name, nm.len, mode, NULL);
	kfree(buf);
	return err;
}

static long sys_mknod(const char *upath, unsigned mode, unsigned dev)
{
	return sys_mknodat(AT_FDCWD, upath, mode, dev);
}

static long do_rmdir(int dirfd, const char *upath)
{
	struct vfs_name nm;
	char *buf;
	long err = parent_user(dirfd, upath, &nm, &buf);

	if (err)
		return err;
	if (is_dot(&nm) && nm.len == 2)
		err = -ENOTEMPTY;
	else if (is_dot(&nm))  /* "/" comes back as "." in the root */
		err = nm.dir == vfs_root() ? -EBUSY : -EINVAL;
	else
		err = tmpfs_unlink(nm.dir, nm.name, nm.len, true);
	kfree(buf);
	return err;
}

/* unlink of "name/" fails: a directory is -EISDIR, anything else -ENOTDIR. */
static long do_unlink(int dirfd, const char *upath)
{
	struct vfs_name nm;
	struct inode *in;
	char *buf;
	long err = parent_user(dirfd, upath, &nm, &buf);

	if (err)
		return err;
	if (is_dot(&nm))
		err = -EISDIR;
	else if (nm.slash)
		err = !(in = tmpfs_lookup(nm.dir, nm.name, nm.len)) ? -ENOENT :
		      S_ISDIR(in->mode) ? -EISDIR : -ENOTDIR;
	else
		err = tmpfs_unlink(nm.dir, nm.name, nm.len, false);
	kfree(buf);
	return err;
}

static long sys_rmdir(const char *upath)
{
	return do_rmdir(AT_FDCWD, upath);
}

static long sys_unlink(const char *upath)
{
	return do_unlink(AT_FDCWD, upath);
}

static long sys_unlinkat(int dirfd, const char *upath, int flags)
{
	if (flags & ~AT_REMOVEDIR)
		return -EINVAL;
	return flags ? do_rmdir(dirfd, upath) : do_unlink(dirfd, upath);
}

static long do_rename(const struct vfs_name *o, const struct vfs_name *n, unsigned flags)
{
	struct inode *src;

	if (is_dot(o) || is_dot(n))
		return -EBUSY;
	src = tmpfs_lookup(o->dir, o->name, o->len);
	if (src && (o->slash || n->slash) && !S_ISDIR(src->mode))
		return -ENOTDIR;
	return tmpfs_rename(o->dir, o->name, o->len, n->dir, n->name, n->len, flags);
}

static long sys_renameat2(int olddirfd, const char *uold, int newdirfd, const char *unew,
			  unsigned flags)
{
	struct vfs_name o, n;
	char *obuf, *nbuf;
	long err;

	if (flags & ~RENAME_NOREPLACE)
		return -EINVAL;
	if ((err = parent_user(olddirfd, uold, &o, &obuf)))
		return err;
	if (!(err = parent_user(newdirfd, unew, &n, &nbuf))) {
		err = do_rename(&o, &n, flags);
		kfree(nbuf);
	}
	kfree(obuf);
	return err;
}

static long sys_renameat(int olddirfd, const char *uold, int newdirfd, const char *unew)
{
	return sys_renameat2(olddirfd, uold, newdirfd, unew, 0);
}

static long sys_rename(const char *uold, const char *unew)
{
	return sys_renameat2(AT_FDCWD, uold, AT_FDCWD, unew, 0);
}

static long sys_linkat(int olddirfd, const char *uold, int newdirfd, const char *unew,
		       int flags)
{
	struct vfs_name nm;
	struct inode *in;
	char *buf;
	long err;

	if (flags & ~(AT_SYMLINK_FOLLOW | AT_EMPTY_PATH))
		return -EINVAL;
	/* link(2) names a symlink itself unless asked to follow it. */
	err = vfs_lookup_user(olddirfd, uold, (flags & AT_EMPTY_PATH) |
			  (flags & AT_SYMLINK_FOLLOW ? 0 : AT_SYMLINK_NOFOLLOW), &in);
	if (err || (err = parent_user(newdirfd, unew, &nm, &buf)))
		return err;
	if (is_dot(&nm))
		err = -EEXIST;
	else if (nm.slash)
		err = S_ISDIR(in->mode) ? -EPERM : -ENOENT;
	else
		err = tmpfs_link(nm.dir, nm.name, nm.len, in);
	kfree(buf);
	return err;
}

static long sys_link(const char *uold, const char *unew)
{
	return sys_linkat(AT_FDCWD, uold, AT_FDCWD, unew, 0);
}

static long sys_symlinkat(const char *utarget, int newdirfd, const char *ulink)
{
	char *target = vfs_getname(utarget, false), *buf;
	struct vfs_name nm;
	long err;

	if (IS_ERR_VALUE(target))
		return (long)target;
	if (!(err = parent_user(newdirfd, ulink, &nm, &buf))) {
		err = is_dot(&nm) || nm.slash ? -EEXIST :
		      tmpfs_symlink(nm.dir, nm.name, nm.len, target, strlen(target), NULL);
		kfree(buf);
	}
	kfree(target);
	return err;
}

static long sys_symlink(const char *utarget, const char *ulink)
{
	return sys_symlinkat(utarget, AT_FDCWD, ulink);
}

static long sys_readlinkat(int dirfd, const char *upath, char *ubuf, int size)
{
	struct inode *in;
	const char *target;
	size_t len;
	long err;

	if (size <= 0)
		return -EINVAL;
	if ((err = vfs_lookup_user(dirfd, upath, AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH, &in)))
		return err;
	if (!S_ISLNK(in->mode))
		return -EINVAL;
	target = vfs_link_target(in, &len);
	len = MIN(len, (size_t)size);
	return copy_to_user(ubuf, target, len) ?: (long)len;
}

static long sys_readlink(const char *upath, char *ubuf, int size)
{
	return sys_readlinkat(AT_FDCWD, upath, ubuf, size);
}

/* ------------------------------------------------------------- metadata */

static long do_truncate(struct inode *in, off_t len)
{
	if (len < 0)
		return -EINVAL;
	if (S_ISDIR(in->mode))
		return -EISDIR;
	if (!S_ISREG(in->mode))
		return -EINVAL;
	return tmpfs_truncate(in, len);
}

static long sys_truncate(const char *upath, off_t len)
{
	struct inode *in;
	long err = vfs_lookup_user(AT_FDCWD, upath, 0, &in);

	return err ? err : do_truncate(in, len);
}

static long sys_ftruncate(int fd, off_t len)
{
	struct file *f = fd_get(fd);

	if (!f || (f->flags & O_PATH))
		return -EBADF;
	if (!f->inode || (f->flags & O_ACCMODE) == O_RDONLY || S_ISDIR(f->inode->mode))
		return -EINVAL;
	return do_truncate(f->inode, len);
}

/* Files on a disk sync through their file system; tmpfs has nothing to
 * sync; devices (the disks themselves) have their own fsync. */
static long do_fsync(int fd, bool datasync)
{
	struct file *f = fd_get(fd);

	if (!f)
		return -EBADF;
	if (f->ops && f->ops->fsync)
		return f->ops->fsync(f);
	return f->inode ? inode_sync(f->inode, datasync) : 0;
}

static long sys_fsync(int fd)
{
	return do_fsync(fd, false);
}

static long sys_fdatasync(int fd)
{
	return do_fsync(fd, true);
}

static long sys_sync(void)
{
	ext2_sync_all();  /* sync(2) reports nothing */
	return 0;
}

/* syscall-partial: mount, umount2: always EPERM, as in a container without CAP_SYS_ADMIN: the disks are mounted where --disk says, for the whole run */
static long sys_mount(const char *source, const char *target, const char *type,
		      unsigned long flags, const void *data)
{
	(void)source, (void)target, (void)type, (void)flags, (void)data;
	return -EPERM;
}

static long sys_umount2(const char *target, int flags)
{
	(void)target, (void)flags;
	return -EPERM;
}

static long sys_umask(unsigned mask)
{
	struct proc *p = current();
	unsigned old = p->umask;

	p->umask = mask & 0777;
	return old;
}

static long set_mode(struct inode *in, unsigned mode)
{
	if (in->read_only)
		return -EROFS;
	in->mode = (in->mode & S_IFMT) | (mode & 07777);
	in->ctime_ns = vfs_now();
	inode_changed(in);
	return 0;
}

static long sys_fchmodat(int dirfd, const char *upath, unsigned mode)
{
	struct inode *in;
	long err = vfs_lookup_user(dirfd, upath, 0, &in);

	return err ? err : set_mode(in, mode);
}

static long sys_chmod(const char *upath, unsigned mode)
{
	return sys_fchmodat(AT_FDCWD, upath, mode);
}

static long sys_fchmod(int fd, unsigned mode)
{
	struct inode *in = fd_inode(fd);

	return in ? set_mode(in, mode) : -EBADF;
}

/* Ownership is recorded only; -1 leaves an id unchanged. */
static long set_owner(struct inode *in, unsigned uid, unsigned gid)
{
	if (in->read_only)
		return -EROFS;
	if (uid != (unsigned)-1)
		in->uid = uid;
	if (gid != (unsigned)-1)
		in->gid = gid;
	in->ctime_ns = vfs_now();
	inode_changed(in);
	return 0;
}

static long sys_fchownat(int dirfd, const char *upath, unsigned uid, unsigned gid, int flags)
{
	struct inode *in;
	long err;

	if (flags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH))
		return -EINVAL;
	err = vfs_lookup_user(dirfd, upath, flags, &in);
	return err ? err : set_owner(in, uid, gid);
}

static long sys_chown(const char *upath, unsigned uid, unsigned gid)
{
	return sys_fchownat(AT_FDCWD, upath, uid, gid, 0);
}

static long sys_lchown(const char *upath, unsigned uid, unsigned gid)
{
	return sys_fchownat(AT_FDCWD, upath, uid, gid, AT_SYMLINK_NOFOLLOW);
}

static long sys_fchown(int fd, unsigned uid, unsigned gid)
{
	struct inode *in = fd_inode(fd);

	return in ? set_owner(in, uid, gid) : -EBADF;
}

static bool valid_time(const struct __kernel_timespec *ts)
{
	return ts->tv_nsec == UTIME_NOW || ts->tv_nsec == UTIME_OMIT ||
	       (ts->tv_nsec >= 0 && ts->tv_nsec < 1000000000);
}

static void set_time(int64_t *field, const struct __kernel_timespec *ts, int64_t now)
{
	if (ts->tv_nsec == UTIME_NOW)
		*field = now;
	else if (ts->tv_nsec != UTIME_OMIT)
		*field = ts->tv_sec * 1000000000 + ts->tv_nsec;
}

/* A NULL path means dirfd itself (futimens). */
static long sys_utimensat(int dirfd, const char *upath,
			  const struct __kernel_timespec *utimes, int flags)
{
	struct __kernel_timespec ts[2] = { { 0, UTIME_NOW }, { 0, UTIME_NOW } };
	struct inode *in;
	int64_t now = vfs_now();
	long err;

	if (flags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH))
		return -EINVAL;
	if (utimes && copy_from_user(ts, utimes, sizeof(ts)))
		return -EFAULT;
	if (!valid_time(&ts[0]) || !valid_time(&ts[1]))
		return -EINVAL;
	err = upath ? vfs_lookup_user(dirfd, upath, flags, &in) : vfs_fd_inode(dirfd, &in);
	if (err)
		return err;
	if (in->read_only)
		return -EROFS;
	set_time(&in->atime_ns, &ts[0], now);
	set_time(&in->mtime_ns, &ts[1], now);
	in->ctime_ns = now;
	inode_changed(in);
	return 0;
}

SYSCALL(read, sys_read, "fpu");
SYSCALL(write, sys_write, "fpu");
SYSCALL(readv, sys_readv, "fpd");
SYSCALL(writev, sys_writev, "fpd");
SYSCALL(pread64, sys_pread64, "fpud");
SYSCALL(pwrite64, sys_pwrite64, "fpud");
SYSCALL(preadv, sys_preadv, "fpdd");
SYSCALL(pwritev, sys_pwritev, "fpdd");
SYSCALL(sendfile, sys_sendfile, "ffpu");
SYSCALL(lseek, sys_lseek, "fdd");
SYSCALL(open, sys_open, "sox");
SYSCALL(openat, sys_openat, "fsox");
SYSCALL(creat, sys_creat, "sx");
SYSCALL(close, sys_close, "f");
SYSCALL(close_range, sys_close_range, "uux");
SYSCALL(fadvise64, sys_fadvise64, "fddd");
SYSCALL(dup, sys_dup, "f");
SYSCALL(dup2, sys_dup2, "ff");
SYSCALL(dup3, sys_dup3, "ffx");
SYSCALL(pipe, sys_pipe, "p");
SYSCALL(pipe2, sys_pipe2, "px");
SYSCALL(fcntl, sys_fcntl, "fdx");
SYSCALL(flock, sys_flock, "fd");
SYSCALL(ioctl, sys_ioctl, "fxx");
SYSCALL(stat, sys_stat, "sp");
SYSCALL(lstat, sys_lstat, "sp");
SYSCALL(fstat, sys_fstat, "fp");
SYSCALL(newfstatat, sys_newfstatat, "fspx");
SYSCALL(statx, sys_statx, "fsxxp");
SYSCALL(statfs, sys_statfs, "sp");
SYSCALL(fstatfs, sys_fstatfs, "fp");
SYSCALL(access, sys_access, "sx");
SYSCALL(faccessat, sys_faccessat, "fsx");
SYSCALL(faccessat2, sys_faccessat2, "fsxx");
SYSCALL(getdents64, sys_getdents64, "fpu");
SYSCALL(getcwd, sys_getcwd, "pu");
SYSCALL(chdir, sys_chdir, "s");
SYSCALL(fchdir, sys_fchdir, "f");
SYSCALL(mkdir, sys_mkdir, "sx");
SYSCALL(mkdirat, sys_mkdirat, "fsx");
SYSCALL(mknodat, sys_mknodat, "fsxx");
SYSCALL(mknod, sys_mknod, "sxx");
SYSCALL(rmdir, sys_rmdir, "s");
SYSCALL(unlink, sys_unlink, "s");
SYSCALL(unlinkat, sys_unlinkat, "fsx");
SYSCALL(rename, sys_rename, "ss");
SYSCALL(renameat, sys_renameat, "fsfs");
SYSCALL(renameat2, sys_renameat2, "fsfsx");
SYSCALL(link, sys_link, "ss");
SYSCALL(linkat, sys_linkat, "fsfsx");
SYSCALL(symlink, sys_symlink, "ss");
SYSCALL(symlinkat, sys_symlinkat, "sfs");
SYSCALL(readlink, sys_readlink, "spd");
SYSCALL(readlinkat, sys_readlinkat, "fspd");
SYSCALL(truncate, sys_truncate, "sd");
SYSCALL(ftruncate, sys_ftruncate, "fd");
SYSCALL(fsync, sys_fsync, "f");
SYSCALL(fdatasync, sys_fdatasync, "f");
SYSCALL(syncfs, sys_fsync, "f");
SYSCALL(sync, sys_sync, "");
SYSCALL(mount, sys_mount, "sssxp");
SYSCALL(umount2, sys_umount2, "sx");
SYSCALL(umask, sys_umask, "x");
SYSCALL(chmod, sys_chmod, "sx");
SYSCALL(fchmod, sys_fchmod, "fx");
SYSCALL(fchmodat, sys_fchmodat, "fsx");
SYSCALL(chown, sys_chown, "sdd");
SYSCALL(fchown, sys_fchown, "fdd");
SYSCALL(lchown, sys_lchown, "sdd");
SYSCALL(fchownat, sys_fchownat, "fsddx");
SYSCALL(utimensat, sys_utimensat, "fspx");
