/* poll.c: poll, ppoll, select and pselect6.
 *
 * Every file the kernel has today (tmpfs files, devices, the host console)
 * is always ready: reads of the console block in the host. So these calls
 * report readiness at once, and only wait when given nothing to wait for.
 */
#include "kernel.h"
#include "fs/vfs.h"
#include "mm/uaccess.h"
#include "platform.h"
#include "syscalls/syscall.h"
#include <asm/poll.h>
#include <linux/time_types.h>

#define POLL_MAX_FDS 4096
#define NS_PER_MS 1000000ULL
#define NS_PER_S 1000000000ULL

/* Sleeps like a wait that nothing ends; timeout_ns < 0 waits forever. */
static long wait_for_nothing(int64_t timeout_ns)
{
	do
		platform->sleep_ns(timeout_ns < 0 ? NS_PER_S : (uint64_t)timeout_ns);
	while (timeout_ns < 0);
	return 0;
}

static int64_t timespec_ns(const struct __kernel_timespec *uts)
{
	struct __kernel_timespec ts;

	if (!uts)
		return -1;
	if (copy_from_user(&ts, uts, sizeof(ts)))
		return -EFAULT;
	if (ts.tv_sec < 0 || ts.tv_nsec < 0 || ts.tv_nsec >= (long long)NS_PER_S)
		return -EINVAL;
	return ts.tv_sec * NS_PER_S + ts.tv_nsec;
}

static long do_poll(struct pollfd *ufds, unsigned nfds, int64_t timeout_ns)
{
	struct pollfd pfd;
	long ready = 0;

	if (nfds > POLL_MAX_FDS)
		return -EINVAL;
	for (unsigned i = 0; i < nfds; i++) {
		if (copy_from_user(&pfd, &ufds[i], sizeof(pfd)))
			return -EFAULT;
		if (pfd.fd < 0)
			pfd.revents = 0;
		else if (!fd_get(pfd.fd))
			pfd.revents = POLLNVAL;
		else
			pfd.revents = pfd.events & (POLLIN | POLLOUT | POLLRDNORM | POLLWRNORM);
		ready += pfd.revents != 0;
		if (copy_to_user(&ufds[i].revents, &pfd.revents, sizeof(pfd.revents)))
			return -EFAULT;
	}
	return ready ? ready : wait_for_nothing(timeout_ns);
}

static long sys_poll(struct pollfd *ufds, unsigned nfds, int timeout_ms)
{
	return do_poll(ufds, nfds, timeout_ms < 0 ? -1 : timeout_ms * (int64_t)NS_PER_MS);
}

static long sys_ppoll(struct pollfd *ufds, unsigned nfds,
		      const struct __kernel_timespec *uts)
{
	int64_t ns = timespec_ns(uts);

	if (ns < -1)
		return ns;
	return do_poll(ufds, nfds, ns);
}

/* Keeps the bits of open fds in one fd_set; an unopened fd is -EBADF. */
static long select_set(unsigned long *uset, int nfds, bool keep)
{
	unsigned long set[FD_MAX / 64] = { 0 };
	size_t bytes = ALIGN_UP((size_t)nfds, 64) / 8;
	long ready = 0;

	if (!uset)
		return 0;
	if (copy_from_user(set, uset, bytes))
		return -EFAULT;
	for (int fd = 0; fd < nfds; fd++) {
		unsigned long bit = 1UL << (fd % 64);

		if (!(set[fd / 64] & bit))
			continue;
		if (!fd_get(fd))
			return -EBADF;
		if (keep)
			ready++;
		else
			set[fd / 64] &= ~bit;
	}
	return copy_to_user(uset, set, bytes) ? -EFAULT : ready;
}

static long do_select(int nfds, unsigned long *in, unsigned long *out,
		      unsigned long *ex, int64_t timeout_ns)
{
	long r, w, e;

	if (nfds < 0 || nfds > FD_MAX)
		return -EINVAL;
	if ((r = select_set(in, nfds, true)) < 0 || (w = select_set(out, nfds, true)) < 0 ||
	    (e = select_set(ex, nfds, false)) < 0)
		return r < 0 ? r : w < 0 ? w : e;
	return r + w ? r + w : wait_for_nothing(timeout_ns);
}

static long sys_select(int nfds, unsigned long *in, unsigned long *out,
		       unsigned long *ex, const struct __kernel_old_timeval *utv)
{
	struct __kernel_old_timeval tv;

	if (!utv)
		return do_select(nfds, in, out, ex, -1);
	if (copy_from_user(&tv, utv, sizeof(tv)))
		return -EFAULT;
	if (tv.tv_sec < 0 || tv.tv_usec < 0 || tv.tv_usec >= 1000000)
		return -EINVAL;
	return do_select(nfds, in, out, ex, tv.tv_sec * NS_PER_S + tv.tv_usec * 1000);
}

static long sys_pselect6(int nfds, unsigned long *in, unsigned long *out,
			 unsigned long *ex, const struct __kernel_timespec *uts)
{
	int64_t ns = timespec_ns(uts);

	if (ns < -1)
		return ns;
	return do_select(nfds, in, out, ex, ns);
}

SYSCALL(poll, sys_poll, "pud");
SYSCALL(ppoll, sys_ppoll, "pup");
SYSCALL(select, sys_select, "dpppp");
SYSCALL(pselect6, sys_pselect6, "dpppp");
