/* devices.c: the character devices in /dev and the host console behind
 * fds 0-2; also sets up /proc and /sys (procfs.c). */
#include <linux/fcntl.h>
#include <linux/stat.h>
#include "fs/vfs.h"
#include "lib/string.h"
#include "platform.h"
#include "random.h"
#include "sched/sched.h"
#include "syscalls/signal.h"

/* st_rdev encoding for small numbers, as Linux's new_encode_dev. */
#define MKDEV(major, minor) ((major) << 8 | (minor))

static struct inode *console_inode;

static ssize_t null_read(struct file *f, void *buf, size_t len, off_t *pos)
{
	(void)f, (void)buf, (void)len, (void)pos;
	return 0;
}

static ssize_t sink_write(struct file *f, const void *buf, size_t len, off_t *pos)
{
	(void)f, (void)buf, (void)pos;
	return len;
}

static ssize_t zero_read(struct file *f, void *buf, size_t len, off_t *pos)
{
	(void)f, (void)pos;
	memset(buf, 0, len);
	return len;
}

static ssize_t full_write(struct file *f, const void *buf, size_t len, off_t *pos)
{
	(void)f, (void)buf, (void)len, (void)pos;
	return -ENOSPC;
}

static ssize_t random_read(struct file *f, void *buf, size_t len, off_t *pos)
{
	(void)f, (void)pos;
	random_bytes(buf, len);
	return len;
}

static const struct file_ops null_ops = {
	.read = null_read, .write = sink_write, .seekable = true,
};
static const struct file_ops zero_ops = {
	.read = zero_read, .write = sink_write, .seekable = true,
};
static const struct file_ops full_ops = {
	.read = zero_read, .write = full_write, .seekable = true,
};
/* Writes to the random devices are accepted and dropped, as entropy. */
static const struct file_ops random_ops = {
	.read = random_read, .write = sink_write, .seekable = true,
};

/* The platform copes with user buffers itself (page by page). Waiting for
 * host input blocks the vCPU, so the host cuts the wait short when the
 * timer fires, and the other tasks run before we wait again. */
static ssize_t console_read(struct file *f, void *buf, size_t len, off_t *pos)
{
	long n;

	(void)f, (void)pos;
	while ((n = platform->read(buf, len)) == -EINTR) {
		if (signal_pending(current_task()))
			return -EINTR;
		sched_preempt_point();
	}
	return n;
}

static ssize_t console_write(struct file *f, const void *buf, size_t len, off_t *pos)
{
	int host_fd = (int)(uintptr_t)f->priv;

	(void)pos;
	return platform->write(host_fd == 2 ? 2 : 1, buf, len);
}

/* The host console is a pipe to the guest, not a terminal: programs must
 * see isatty() fail (TCGETS, TIOCGWINSZ, ...). */
static long console_ioctl(struct file *f, unsigned long cmd, unsigned long arg)
{
	(void)f, (void)cmd, (void)arg;
	return -ENOTTY;
}

static const struct file_ops console_ops = {
	.read = console_read, .write = console_write, .ioctl = console_ioctl,
};

struct file *console_open(int host_fd)
{
	struct file *f = file_new(console_inode, &console_ops, O_RDWR | O_LARGEFILE);

	if (!f)
		panic("console: out of memory");
	f->priv = (void *)(uintptr_t)host_fd;
	return f;
}

static struct inode *make_node(struct inode *dir, const char *name, unsigned mode)
{
	struct inode *in;

	if (tmpfs_mknod(dir, name, strlen(name), mode, &in))
		panic("vfs: cannot create %s", name);
	return in;
}

static struct inode *make_dev(struct inode *dev, const char *name,
			      const struct file_ops *ops, unsigned rdev)
{
	struct inode *in = make_node(dev, name, S_IFCHR | 0666);

	in->fops = ops;
	in->rdev = rdev;
	return in;
}

/* The program has no controlling terminal: the host console is a pipe or
 * file to it. Linux answers ENXIO in that case, and programs expect it. */
static int tty_open(struct file *f)
{
	(void)f;
	return -ENXIO;
}

static const struct file_ops tty_ops = { .open = tty_open };

void devices_init(void)
{
	struct inode *dev = make_node(vfs_root(), "dev", S_IFDIR | 0755);

	make_dev(dev, "null", &null_ops, MKDEV(1, 3));
	make_dev(dev, "zero", &zero_ops, MKDEV(1, 5));
	make_dev(dev, "full", &full_ops, MKDEV(1, 7));
	make_dev(dev, "random", &random_ops, MKDEV(1, 8));
	make_dev(dev, "urandom", &random_ops, MKDEV(1, 9));
	make_dev(dev, "tty", &tty_ops, MKDEV(5, 0))->mode = S_IFCHR | 0666;
	console_inode = make_dev(dev, "console", &console_ops, MKDEV(5, 1));
	console_inode->mode = S_IFCHR | 0620;
	make_node(dev, "shm", S_IFDIR | 01777);
	procfs_init();
}
