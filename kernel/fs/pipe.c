/* pipe.c: pipes: a 64 KiB ring buffer between a read end and a write end,
 * with blocking, end of file, EPIPE and readiness. */
#include <asm/ioctls.h>
#include <asm/poll.h>
#include <linux/fcntl.h>
#include <linux/limits.h>
#include <linux/signal.h>
#include <linux/stat.h>
#include "fs/poll.h"
#include "fs/vfs.h"
#include "lib/string.h"
#include "mm/kmalloc.h"
#include "mm/page.h"
#include "mm/uaccess.h"
#include "mm/vm.h"
#include "sched/sched.h"
#include "syscalls/signal.h"

#define PIPE_SIZE PIPE_CAPACITY
#define PIPE_PAGES (PIPE_SIZE / PAGE_SIZE)

/* Tasks blocked on a pipe sleep on the struct itself. */
struct pipe {
	char *buf;             /* PIPE_SIZE bytes */
	size_t head, count;    /* where buffered data starts, how much */
	int readers, writers;  /* open files on each end */
};

int file_buf_recheck(const void *buf, size_t len, bool write)
{
	if ((uint64_t)buf >= USER_SPACE_END)
		return 0;  /* a kernel buffer (writev gathering, sendfile) */
	return user_access_ok(buf, len, write);
}

/* Readers, writers and pollers may all be waiting for what changed. */
static void pipe_changed(struct pipe *p)
{
	sched_wakeup(p);
	poll_notify();
}

static void ring_out(struct pipe *p, void *dst, size_t n)
{
	size_t first = MIN(n, PIPE_SIZE - p->head);

	memcpy(dst, p->buf + p->head, first);
	memcpy((char *)dst + first, p->buf, n - first);
	p->head = (p->head + n) % PIPE_SIZE;
	p->count -= n;
}

static void ring_in(struct pipe *p, const void *src, size_t n)
{
	size_t tail = (p->head + p->count) % PIPE_SIZE;
	size_t first = MIN(n, PIPE_SIZE - tail);

	memcpy(p->buf + tail, src, first);
	memcpy(p->buf, (const char *)src + first, n - first);
	p->count += n;
}

/* Sleeps until the pipe changes; the buffer is checked again afterwards. */
static long pipe_sleep(struct pipe *p, const void *buf, size_t len, bool write)
{
	return sched_sleep(p, 0) ?: file_buf_recheck(buf, len, write);
}

/* Returns what is buffered, up to len; blocks only while nothing is. */
static ssize_t pipe_read(struct file *f, void *buf, size_t len, off_t *pos)
{
	struct pipe *p = f->priv;
	long err;

	(void)pos;
	if (!len)
		return 0;
	while (!p->count) {
		if (!p->writers)
			return 0;
		if (f->flags & O_NONBLOCK)
			return -EAGAIN;
		if ((err = pipe_sleep(p, buf, len, true)))
			return err;
	}
	len = MIN(len, p->count);
	ring_out(p, buf, len);
	pipe_changed(p);
	return len;
}

/* Writes of at most PIPE_BUF bytes go in whole; longer ones in pieces. */
static ssize_t pipe_write(struct file *f, const void *buf, size_t len, off_t *pos)
{
	struct pipe *p = f->priv;
	size_t done = 0, need = len <= PIPE_BUF ? len : 1, n;
	long err = 0;

	(void)pos;
	while (done < len) {
		if (!p->readers) {
			signal_send_self(SIGPIPE);
			err = -EPIPE;
			break;
		}
		if (PIPE_SIZE - p->count >= need) {
			n = MIN(len - done, PIPE_SIZE - p->count);
			ring_in(p, (const char *)buf + done, n);
			done += n;
			pipe_changed(p);
			continue;
		}
		if (f->flags & O_NONBLOCK) {
			err = -EAGAIN;
			break;
		}
		if ((err = pipe_sleep(p, (const char *)buf + done, len - done, false)))
			break;
	}
	return done ? (ssize_t)done : err;
}

static unsigned pipe_poll_read(struct file *f)
{
	struct pipe *p = f->priv;

	return (p->count ? POLLIN : 0) | (p->writers ? 0 : POLLHUP);
}

static unsigned pipe_poll_write(struct file *f)
{
	struct pipe *p = f->priv;

	return (PIPE_SIZE - p->count >= PIPE_BUF ? POLLOUT : 0) | (p->readers ? 0 : POLLERR);
}

static unsigned pipe_poll_rdwr(struct file *f)
{
	return (pipe_poll_read(f) & POLLIN) | (pipe_poll_write(f) & POLLOUT);
}

static long pipe_ioctl(struct file *f, unsigned long cmd, unsigned long arg)
{
	struct pipe *p = f->priv;
	int n = p->count;

	if (cmd != FIONREAD)
		return -ENOTTY;
	return copy_to_user((int *)arg, &n, sizeof(n));
}

static void pipe_free(struct pipe *p)
{
	page_free_n(p->buf, PIPE_PAGES);
	kfree(p);
}

static void pipe_release(struct file *f)
{
	struct pipe *p = f->priv;
	unsigned acc = f->flags & O_ACCMODE;

	if (acc != O_WRONLY)
		p->readers--;
	if (acc != O_RDONLY)
		p->writers--;
	pipe_changed(p);
	if (!p->readers && !p->writers) {
		if (f->inode->priv == p)
			f->inode->priv = NULL;  /* a FIFO gets a new pipe next time */
		pipe_free(p);
	}
}

static const struct file_ops pipe_read_ops = {
	.read = pipe_read, .ioctl = pipe_ioctl, .release = pipe_release,
	.poll = pipe_poll_read,
};

static const struct file_ops pipe_write_ops = {
	.write = pipe_write, .ioctl = pipe_ioctl, .release = pipe_release,
	.poll = pipe_poll_write,
};

/* O_RDWR on a FIFO: Linux allows it and never blocks the open. */
static const struct file_ops pipe_rdwr_ops = {
	.read = pipe_read, .write = pipe_write, .ioctl = pipe_ioctl,
	.release = pipe_release, .poll = pipe_poll_rdwr,
};

static struct pipe *pipe_alloc(void)
{
	struct pipe *p = kzalloc(sizeof(*p));

	if (p && !(p->buf = page_alloc_n(PIPE_PAGES))) {
		kfree(p);
		p = NULL;
	}
	return p;
}

/* Attaches f to the FIFO's pipe and, unless O_NONBLOCK, waits for the
 * other end to be opened, as open(2) does on a FIFO. */
static int fifo_open(struct file *f)
{
	struct inode *in = f->inode;
	unsigned acc = f->flags & O_ACCMODE;
	struct pipe *p = in->priv ? in->priv : pipe_alloc();

	if (!p)
		return -ENOMEM;
	if (acc == O_WRONLY && !p->readers && (f->flags & O_NONBLOCK)) {
		if (!in->priv)
			pipe_free(p);
		return -ENXIO;
	}
	in->priv = f->priv = p;
	f->ops = acc == O_RDONLY ? &pipe_read_ops : acc == O_WRONLY ? &pipe_write_ops
								    : &pipe_rdwr_ops;
	p->readers += acc != O_WRONLY;
	p->writers += acc != O_RDONLY;
	pipe_changed(p);
	while (!(f->flags & O_NONBLOCK) && (acc == O_RDONLY ? !p->writers : !p->readers))
		if (sched_sleep(p, 0) == -EINTR)
			return -EINTR;  /* the caller's file_put undoes the counts */
	return 0;
}

const struct file_ops fifo_ops = { .open = fifo_open };

static struct file *pipe_end(struct inode *in, struct pipe *p, bool read, unsigned nonblock)
{
	struct file *f = file_new(in, read ? &pipe_read_ops : &pipe_write_ops,
				  (read ? O_RDONLY : O_WRONLY) | nonblock);

	if (f) {
		f->priv = p;
		if (read)
			p->readers++;
		else
			p->writers++;
	}
	return f;
}

/* The pipe lives as long as its two open files. */
int pipe_create(struct file *ends[2], unsigned nonblock)
{
	struct pipe *p = pipe_alloc();
	struct inode *in = inode_new(S_IFIFO | 0600);

	if (!p || !in) {
		if (p)
			pipe_free(p);
		kfree(in);
		return -ENOMEM;
	}
	ends[0] = pipe_end(in, p, true, nonblock);
	ends[1] = ends[0] ? pipe_end(in, p, false, nonblock) : NULL;
	if (ends[1])
		return 0;
	if (ends[0]) {
		file_put(ends[0]);  /* frees the pipe and the inode */
	} else {
		pipe_free(p);
		kfree(in);
	}
	return -ENOMEM;
}
