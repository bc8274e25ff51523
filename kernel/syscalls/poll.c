/* poll.c: poll, ppoll, select and pselect6, and the one channel every
 * waiter for file readiness sleeps on (fs/poll.h). */
#include "kernel.h"
#include "clock.h"
#include "fs/poll.h"
#include "fs/vfs.h"
#include "lib/string.h"
#include "mm/kmalloc.h"
#include "mm/uaccess.h"
#include "sched/sched.h"
#include "syscalls/signal.h"
#include "syscalls/syscall.h"
#include <asm/poll.h>
#include <linux/time_types.h>

#define POLL_MAX_FDS 4096
#define NS_PER_MS 1000000ULL
#define NS_PER_S 1000000000ULL
/* What select counts as readable, writable and exceptional. */
#define SEL_IN (POLLIN | POLLHUP | POLLERR)
#define SEL_OUT (POLLOUT | POLLERR)
#define SEL_EX POLLPRI

static const char poll_waitq;
static uint64_t generation;

void poll_notify(void)
{
	generation++;
	poll_rescan();
}

void poll_rescan(void)
{
	sched_wakeup(&poll_waitq);
}

uint64_t poll_generation(void)
{
	return generation;
}

unsigned poll_file(struct file *f)
{
	unsigned m = f->ops->poll ? f->ops->poll(f) : POLLIN | POLLOUT;

	return m | (m & POLLIN ? POLLRDNORM : 0) | (m & POLLOUT ? POLLWRNORM : 0);
}

/* Sleeps until a notification, the deadline, or the next timerfd expiry,
 * which nobody announces. */
static long poll_wait(uint64_t deadline_ns)
{
	uint64_t timer = timerfd_next_expiry();
	uint64_t until = !timer || (deadline_ns && deadline_ns < timer) ? deadline_ns : timer;
	long r = sched_sleep(&poll_waitq, until);

	return r == -ETIMEDOUT && until != deadline_ns ? 0 : r;
}

long poll_until(long (*scan)(void *arg), void *arg, int64_t timeout_ns)
{
	uint64_t deadline = timeout_ns > 0 ? clock_monotonic_ns() + timeout_ns : 0;
	bool timed_out = timeout_ns == 0;
	long n, r;

	/* Scanned once more after the timeout, as Linux does. A signal that
	 * a temporary mask (ppoll) has just unblocked ends the wait too. */
	while (!(n = scan(arg)) && !timed_out) {
		if (signal_pending(current_task()))
			return -EINTR;
		r = poll_wait(deadline);
		if (r == -EINTR)
			return r;
		timed_out = r == -ETIMEDOUT;
	}
	return n;
}

int64_t poll_timeout_ns(const struct __kernel_timespec *uts)
{
	struct __kernel_timespec ts;

	if (!uts)
		return -1;
	if (copy_from_user(&ts, uts, sizeof(ts)))
		return -EFAULT;
	if (ts.tv_sec < 0 || ts.tv_nsec < 0 || ts.tv_nsec >= (long long)NS_PER_S)
		return -EINVAL;
	if ((uint64_t)ts.tv_sec >= INT64_MAX / NS_PER_S)
		return INT64_MAX;
	return ts.tv_sec * NS_PER_S + ts.tv_nsec;
}

long poll_sigmask(const uint64_t *umask, size_t size)
{
	uint64_t mask;

	if (!umask)
		return 0;
	if (size != sizeof(mask))
		return -EINVAL;
	if (copy_from_user(&mask, umask, sizeof(mask)))
		return -EFAULT;
	signal_set_temporary_mask(mask);
	return 0;
}

/* Time left of a wait that started at start_ns, for the calls that report
 * it back as Linux does (glibc's select relies on it). */
static uint64_t remaining_ns(int64_t timeout_ns, uint64_t start_ns)
{
	uint64_t spent = clock_monotonic_ns() - start_ns;

	return (uint64_t)timeout_ns > spent ? timeout_ns - spent : 0;
}

static void put_timespec_left(struct __kernel_timespec *uts, int64_t timeout_ns,
			      uint64_t start_ns)
{
	uint64_t left = remaining_ns(timeout_ns, start_ns);
	struct __kernel_timespec ts = { left / NS_PER_S, left % NS_PER_S };

	copy_to_user(uts, &ts, sizeof(ts));  /* Linux ignores a fault here */
}

/* ------------------------------------------------------------------ poll */

struct poll_set {
	struct pollfd *fds;
	unsigned n;
};

static long poll_scan(void *arg)
{
	struct poll_set *ps = arg;
	long ready = 0;

	for (unsigned i = 0; i < ps->n; i++) {
		struct pollfd *p = &ps->fds[i];
		struct file *f = p->fd < 0 ? NULL : fd_get(p->fd);

		if (p->fd < 0)
			p->revents = 0;
		else if (!f)
			p->revents = POLLNVAL;
		else
			p->revents = poll_file(f) & ((unsigned short)p->events | POLLERR | POLLHUP);
		ready += p->revents != 0;
	}
	return ready;
}

static long do_poll(struct pollfd *ufds, unsigned nfds, int64_t timeout_ns)
{
	struct poll_set ps = { .n = nfds };
	size_t bytes = nfds * sizeof(struct pollfd);
	long n;

	if (nfds > POLL_MAX_FDS)
		return -EINVAL;
	if (!(ps.fds = kmalloc(bytes ? bytes : 1)))
		return -ENOMEM;
	n = copy_from_user(ps.fds, ufds, bytes);
	if (!n)
		n = poll_until(poll_scan, &ps, timeout_ns);
	/* Only revents changes, but writing the whole array is equivalent. */
	if (n >= 0 && copy_to_user(ufds, ps.fds, bytes))
		n = -EFAULT;
	kfree(ps.fds);
	return n;
}

static long sys_poll(struct pollfd *ufds, unsigned nfds, int timeout_ms)
{
	return do_poll(ufds, nfds, timeout_ms < 0 ? -1 : timeout_ms * (int64_t)NS_PER_MS);
}

static long sys_ppoll(struct pollfd *ufds, unsigned nfds, struct __kernel_timespec *uts,
		      const uint64_t *umask, size_t masksize)
{
	int64_t ns = poll_timeout_ns(uts);
	uint64_t start = clock_monotonic_ns();
	long n;

	if (ns < -1)
		return ns;
	if ((n = poll_sigmask(umask, masksize)))
		return n;
	n = do_poll(ufds, nfds, ns);
	if (uts && n >= 0)
		put_timespec_left(uts, ns, start);
	return n;
}

/* ---------------------------------------------------------------- select */

#define SET_WORDS (FD_MAX / 64)

struct select_set {
	int nfds;
	unsigned long in[SET_WORDS], out[SET_WORDS], ex[SET_WORDS];     /* asked */
	unsigned long rin[SET_WORDS], rout[SET_WORDS], rex[SET_WORDS];  /* ready */
};

static bool fd_isset(const unsigned long *set, int fd)
{
	return set[fd / 64] & (1UL << (fd % 64));
}

/* Sets fd in res if it is asked for in set and mask shows the condition. */
static long mark(const unsigned long *set, unsigned long *res, int fd, unsigned mask,
		 unsigned want)
{
	if (!fd_isset(set, fd) || !(mask & want))
		return 0;
	res[fd / 64] |= 1UL << (fd % 64);
	return 1;
}

static long select_scan(void *arg)
{
	struct select_set *s = arg;
	long ready = 0;

	memset(s->rin, 0, sizeof(s->rin));
	memset(s->rout, 0, sizeof(s->rout));
	memset(s->rex, 0, sizeof(s->rex));
	for (int fd = 0; fd < s->nfds; fd++) {
		struct file *f;
		unsigned m;

		if (!fd_isset(s->in, fd) && !fd_isset(s->out, fd) && !fd_isset(s->ex, fd))
			continue;
		if (!(f = fd_get(fd)))
			return -EBADF;
		m = poll_file(f);
		ready += mark(s->in, s->rin, fd, m, SEL_IN) + mark(s->out, s->rout, fd, m, SEL_OUT) +
			 mark(s->ex, s->rex, fd, m, SEL_EX);
	}
	return ready;
}

static long get_set(unsigned long *set, const unsigned long *uset, size_t bytes)
{
	return uset ? copy_from_user(set, uset, bytes) : 0;
}

static long put_set(unsigned long *uset, const unsigned long *set, size_t bytes)
{
	return uset ? copy_to_user(uset, set, bytes) : 0;
}

static long do_select(int nfds, unsigned long *uin, unsigned long *uout,
		      unsigned long *uex, int64_t timeout_ns)
{
	struct select_set *s;
	size_t bytes = ALIGN_UP((size_t)nfds, 64) / 8;
	long n;

	if (nfds < 0 || nfds > FD_MAX)
		return -EINVAL;
	if (!(s = kzalloc(sizeof(*s))))
		return -ENOMEM;
	s->nfds = nfds;
	n = get_set(s->in, uin, bytes) ?: get_set(s->out, uout, bytes) ?: get_set(s->ex, uex, bytes);
	if (!n)
		n = poll_until(select_scan, s, timeout_ns);
	if (n >= 0 && (put_set(uin, s->rin, bytes) || put_set(uout, s->rout, bytes) ||
		       put_set(uex, s->rex, bytes)))
		n = -EFAULT;
	kfree(s);
	return n;
}

static long sys_select(int nfds, unsigned long *in, unsigned long *out,
		       unsigned long *ex, struct __kernel_old_timeval *utv)
{
	struct __kernel_old_timeval tv;
	uint64_t start = clock_monotonic_ns(), left;
	int64_t ns;
	long n;

	if (!utv)
		return do_select(nfds, in, out, ex, -1);
	if (copy_from_user(&tv, utv, sizeof(tv)))
		return -EFAULT;
	if (tv.tv_sec < 0 || tv.tv_usec < 0 || tv.tv_usec >= 1000000)
		return -EINVAL;
	ns = (uint64_t)tv.tv_sec >= INT64_MAX / NS_PER_S ? INT64_MAX :
	     tv.tv_sec * (int64_t)NS_PER_S + tv.tv_usec * 1000;
	n = do_select(nfds, in, out, ex, ns);
	if (n >= 0) {
		left = remaining_ns(ns, start);
		tv = (struct __kernel_old_timeval){ left / NS_PER_S, left % NS_PER_S / 1000 };
		copy_to_user(utv, &tv, sizeof(tv));
	}
	return n;
}

/* pselect6's last argument: the signal mask and its size, by reference. */
struct sigset_arg {
	const uint64_t *mask;
	size_t size;
};

static long sys_pselect6(int nfds, unsigned long *in, unsigned long *out,
			 unsigned long *ex, struct __kernel_timespec *uts,
			 const struct sigset_arg *usig)
{
	int64_t ns = poll_timeout_ns(uts);
	uint64_t start = clock_monotonic_ns();
	struct sigset_arg sig = { 0 };
	long n;

	if (ns < -1)
		return ns;
	if (usig && copy_from_user(&sig, usig, sizeof(sig)))
		return -EFAULT;
	if ((n = poll_sigmask(sig.mask, sig.size)))
		return n;
	n = do_select(nfds, in, out, ex, ns);
	if (uts && n >= 0)
		put_timespec_left(uts, ns, start);
	return n;
}

SYSCALL(poll, sys_poll, "pud");
SYSCALL(ppoll, sys_ppoll, "puppu");
SYSCALL(select, sys_select, "dpppp");
SYSCALL(pselect6, sys_pselect6, "dppppp");
