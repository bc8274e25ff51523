/* timerfd.c: timerfd_create, timerfd_settime and timerfd_gettime: timers
 * whose expiries are read from a file, on the monotonic or the wall clock. */
#include <asm/poll.h>
#include <linux/fcntl.h>
#include <linux/time.h>
#include <linux/time_types.h>
#include <linux/timerfd.h>
#include "clock.h"
#include "fs/poll.h"
#include "fs/vfs.h"
#include "lib/string.h"
#include "mm/kmalloc.h"
#include "mm/uaccess.h"
#include "sched/sched.h"
#include "syscalls/syscall.h"

#define NS_PER_S 1000000000ULL

/* Readers blocked on a timer sleep on the struct itself. */
struct timerfd {
	bool realtime;         /* which clock expiry is on */
	uint64_t expiry;       /* next expiry, ns on that clock; 0: disarmed */
	uint64_t interval;     /* ns between expiries; 0: one shot */
	uint64_t ticks;        /* expiries not yet read */
	struct timerfd *next;  /* every timer, for timerfd_next_expiry */
};

static struct timerfd *timers;

static uint64_t timer_now(const struct timerfd *t)
{
	return t->realtime ? clock_realtime_ns() : clock_monotonic_ns();
}

/* Counts the expiries that have passed; true if there were any. */
static bool timer_update(struct timerfd *t)
{
	uint64_t now = timer_now(t), n;

	if (!t->expiry || now < t->expiry)
		return false;
	n = 1 + (t->interval ? (now - t->expiry) / t->interval : 0);
	t->ticks += n;
	t->expiry = t->interval ? t->expiry + n * t->interval : 0;
	return true;
}

/* The next expiry as a monotonic deadline (the wall clock may be anywhere). */
static uint64_t timer_deadline(const struct timerfd *t)
{
	uint64_t mono = clock_monotonic_ns(), now;

	if (!t->realtime)
		return t->expiry;
	now = clock_realtime_ns();
	return mono + (t->expiry > now ? t->expiry - now : 0);
}

uint64_t timerfd_next_expiry(void)
{
	uint64_t next = 0, d;

	for (struct timerfd *t = timers; t; t = t->next) {
		/* An expiry nobody has seen yet: the caller must look now. */
		if (timer_update(t)) {
			poll_notify();
			return clock_monotonic_ns();
		}
		if (!t->expiry)
			continue;
		d = timer_deadline(t);
		if (!next || d < next)
			next = d;
	}
	return next;
}

static ssize_t timerfd_read(struct file *f, void *buf, size_t len, off_t *pos)
{
	struct timerfd *t = f->priv;
	long err;

	(void)pos;
	if (len < sizeof(t->ticks))
		return -EINVAL;
	while (timer_update(t), !t->ticks) {
		if (f->flags & O_NONBLOCK)
			return -EAGAIN;
		err = sched_sleep(t, t->expiry ? timer_deadline(t) : 0);
		if (err == -EINTR || (err = file_buf_recheck(buf, sizeof(t->ticks), true)))
			return err;
	}
	memcpy(buf, &t->ticks, sizeof(t->ticks));
	t->ticks = 0;
	poll_notify();
	return sizeof(t->ticks);
}

static unsigned timerfd_poll(struct file *f)
{
	struct timerfd *t = f->priv;

	timer_update(t);
	return t->ticks ? POLLIN : 0;
}

static void timerfd_release(struct file *f)
{
	struct timerfd **pp = &timers;

	while (*pp != f->priv)
		pp = &(*pp)->next;
	*pp = (*pp)->next;
	kfree(f->priv);
}

static const struct file_ops timerfd_ops = {
	.read = timerfd_read, .poll = timerfd_poll, .release = timerfd_release,
};

static long sys_timerfd_create(int clockid, int flags)
{
	struct timerfd *t;
	int fd;

	if (flags & ~(TFD_CLOEXEC | TFD_NONBLOCK))
		return -EINVAL;
	switch (clockid) {
	case CLOCK_REALTIME: case CLOCK_REALTIME_ALARM:
	case CLOCK_MONOTONIC: case CLOCK_BOOTTIME: case CLOCK_BOOTTIME_ALARM:
		break;
	default:
		return -EINVAL;
	}
	if (!(t = kzalloc(sizeof(*t))))
		return -ENOMEM;
	t->realtime = clockid == CLOCK_REALTIME || clockid == CLOCK_REALTIME_ALARM;
	fd = anon_fd_install("[timerfd]", &timerfd_ops, flags, t);
	if (fd >= 0) {
		t->next = timers;
		timers = t;
	}
	return fd;
}

/* The timer of fd, or NULL if fd is not a timerfd. */
static struct timerfd *timer_of(int fd)
{
	struct file *f = fd_get(fd);

	return f && f->ops == &timerfd_ops ? f->priv : NULL;
}

static struct __kernel_timespec to_timespec(uint64_t ns)
{
	return (struct __kernel_timespec){ ns / NS_PER_S, ns % NS_PER_S };
}

static long get_ns(const struct __kernel_timespec *ts, uint64_t *ns)
{
	if (ts->tv_sec < 0 || ts->tv_nsec < 0 || (uint64_t)ts->tv_nsec >= NS_PER_S)
		return -EINVAL;
	/* Beyond ~292 years is as good as never. */
	*ns = (uint64_t)ts->tv_sec >= UINT64_MAX / NS_PER_S / 2 ? UINT64_MAX / 2 :
	      ts->tv_sec * NS_PER_S + ts->tv_nsec;
	return 0;
}

static struct __kernel_itimerspec timer_value(struct timerfd *t)
{
	uint64_t now;

	timer_update(t);
	now = timer_now(t);
	return (struct __kernel_itimerspec){
		.it_interval = to_timespec(t->interval),
		.it_value = to_timespec(t->expiry ? t->expiry - now : 0),
	};
}

static long sys_timerfd_settime(int fd, int flags, const struct __kernel_itimerspec *unew,
				struct __kernel_itimerspec *uold)
{
	struct timerfd *t = timer_of(fd);
	struct __kernel_itimerspec new, old;
	uint64_t value, interval;

	if (!t)
		return fd_get(fd) ? -EINVAL : -EBADF;
	if (flags & ~(TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET))
		return -EINVAL;
	if (copy_from_user(&new, unew, sizeof(new)))
		return -EFAULT;
	if (get_ns(&new.it_value, &value) || get_ns(&new.it_interval, &interval))
		return -EINVAL;
	old = timer_value(t);
	if (uold && copy_to_user(uold, &old, sizeof(old)))
		return -EFAULT;
	t->ticks = 0;
	t->interval = value ? interval : 0;
	t->expiry = !value ? 0 : flags & TFD_TIMER_ABSTIME ? value : timer_now(t) + value;
	/* Blocked readers and pollers recompute their deadlines. */
	sched_wakeup(t);
	poll_notify();
	return 0;
}

static long sys_timerfd_gettime(int fd, struct __kernel_itimerspec *ucur)
{
	struct timerfd *t = timer_of(fd);
	struct __kernel_itimerspec cur;

	if (!t)
		return fd_get(fd) ? -EINVAL : -EBADF;
	cur = timer_value(t);
	return copy_to_user(ucur, &cur, sizeof(cur));
}

/* syscall-partial: timerfd_settime: TFD_TIMER_CANCEL_ON_SET is accepted but never cancels */
SYSCALL(timerfd_create, sys_timerfd_create, "dx");
SYSCALL(timerfd_settime, sys_timerfd_settime, "fxpp");
SYSCALL(timerfd_gettime, sys_timerfd_gettime, "fp");
