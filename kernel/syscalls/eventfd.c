/* eventfd.c: eventfd and eventfd2: a 64-bit counter behind a file, which
 * event loops and thread pools use to wake each other. */
#include <asm/poll.h>
#include <linux/fcntl.h>
#include "fs/poll.h"
#include "fs/vfs.h"
#include "lib/string.h"
#include "mm/kmalloc.h"
#include "sched/sched.h"
#include "syscalls/syscall.h"

/* From Linux's include/linux/eventfd.h, which UAPI lacks. */
#define EFD_SEMAPHORE 1
#define EVENTFD_MAX (UINT64_MAX - 1)  /* the counter never reaches UINT64_MAX */

/* Blocked readers and writers sleep on the struct itself. */
struct eventfd {
	uint64_t count;
	bool semaphore;  /* reads take 1, not everything */
};

static void eventfd_changed(struct eventfd *e)
{
	sched_wakeup(e);
	poll_notify();
}

/* Sleeps until the counter changes; 0 or -EINTR (or -EAGAIN if nonblocking). */
static long eventfd_block(struct file *f)
{
	if (f->flags & O_NONBLOCK)
		return -EAGAIN;
	return sched_sleep(f->priv, 0);
}

static ssize_t eventfd_read(struct file *f, void *buf, size_t len, off_t *pos)
{
	struct eventfd *e = f->priv;
	uint64_t val;
	long err;

	(void)pos;
	if (len < sizeof(val))
		return -EINVAL;
	while (!e->count)
		if ((err = eventfd_block(f)) || (err = file_buf_recheck(buf, sizeof(val), true)))
			return err;
	val = e->semaphore ? 1 : e->count;
	e->count -= val;
	memcpy(buf, &val, sizeof(val));
	eventfd_changed(e);
	return sizeof(val);
}

static ssize_t eventfd_write(struct file *f, const void *buf, size_t len, off_t *pos)
{
	struct eventfd *e = f->priv;
	uint64_t val;
	long err;

	(void)pos;
	if (len < sizeof(val))
		return -EINVAL;
	memcpy(&val, buf, sizeof(val));
	if (val == UINT64_MAX)
		return -EINVAL;
	while (EVENTFD_MAX - e->count < val)
		if ((err = eventfd_block(f)))
			return err;
	e->count += val;
	eventfd_changed(e);
	return sizeof(val);
}

static unsigned eventfd_poll(struct file *f)
{
	struct eventfd *e = f->priv;

	return (e->count ? POLLIN : 0) | (e->count < EVENTFD_MAX ? POLLOUT : 0);
}

static void eventfd_release(struct file *f)
{
	kfree(f->priv);
}

static const struct file_ops eventfd_ops = {
	.read = eventfd_read, .write = eventfd_write, .poll = eventfd_poll,
	.release = eventfd_release,
};

static long sys_eventfd2(unsigned initval, int flags)
{
	struct eventfd *e;

	if (flags & ~(EFD_SEMAPHORE | O_CLOEXEC | O_NONBLOCK))
		return -EINVAL;
	if (!(e = kzalloc(sizeof(*e))))
		return -ENOMEM;
	e->count = initval;
	e->semaphore = flags & EFD_SEMAPHORE;
	return anon_fd_install("[eventfd]", &eventfd_ops, flags, e);
}

static long sys_eventfd(unsigned initval)
{
	return sys_eventfd2(initval, 0);
}

SYSCALL(eventfd, sys_eventfd, "u");
SYSCALL(eventfd2, sys_eventfd2, "ux");
