/* time.c: clocks, sleeping and process times, all from the kernel clock. */
#include "syscalls/syscall.h"
#include "mm/uaccess.h"
#include "clock.h"
#include "platform.h"
#include "sched/sched.h"
#include <linux/time.h>
#include <linux/time_types.h>
#include <linux/times.h>

#define NSEC_PER_SEC 1000000000ULL
#define USER_HZ 100  /* clock_t ticks per second, as sysconf(_SC_CLK_TCK) */

/* Reads clock id into *ns; false if the id is not a clock we know. CPU-time
 * clocks use the monotonic clock: one single-threaded process per VM
 * runs whenever the VM does, except while it sleeps. */
static bool clock_read(int id, uint64_t *ns)
{
	switch (id) {
	case CLOCK_REALTIME:
	case CLOCK_REALTIME_COARSE:
	case CLOCK_TAI:  /* Linux's TAI offset is 0 until ntpd sets it */
		*ns = clock_realtime_ns();
		return true;
	case CLOCK_MONOTONIC:
	case CLOCK_MONOTONIC_RAW:
	case CLOCK_MONOTONIC_COARSE:
	case CLOCK_BOOTTIME:
	case CLOCK_PROCESS_CPUTIME_ID:
	case CLOCK_THREAD_CPUTIME_ID:
		*ns = clock_monotonic_ns();
		return true;
	}
	return false;
}

static int put_timespec(struct __kernel_timespec *uts, uint64_t ns)
{
	struct __kernel_timespec ts = { ns / NSEC_PER_SEC, ns % NSEC_PER_SEC };

	return copy_to_user(uts, &ts, sizeof(ts));
}

/* Reads a user timespec as nanoseconds; -EINVAL if it is not normalized.
 * Durations beyond ~292 years saturate. */
static int get_timespec(const struct __kernel_timespec *uts, uint64_t *ns)
{
	struct __kernel_timespec ts;

	if (copy_from_user(&ts, uts, sizeof(ts)))
		return -EFAULT;
	if (ts.tv_sec < 0 || ts.tv_nsec < 0 || (uint64_t)ts.tv_nsec >= NSEC_PER_SEC)
		return -EINVAL;
	if ((uint64_t)ts.tv_sec >= UINT64_MAX / NSEC_PER_SEC)
		*ns = UINT64_MAX;
	else
		*ns = ts.tv_sec * NSEC_PER_SEC + ts.tv_nsec;
	return 0;
}

static long sys_clock_gettime(int id, struct __kernel_timespec *uts)
{
	uint64_t ns;

	if (!clock_read(id, &ns))
		return -EINVAL;
	return put_timespec(uts, ns) ? -EFAULT : 0;
}
SYSCALL(clock_gettime, sys_clock_gettime, "dp");

static long sys_clock_getres(int id, struct __kernel_timespec *uts)
{
	uint64_t ns;

	if (!clock_read(id, &ns))
		return -EINVAL;
	/* The TSC clock resolves nanoseconds; res may be NULL. */
	return uts && put_timespec(uts, 1) ? -EFAULT : 0;
}
SYSCALL(clock_getres, sys_clock_getres, "dp");

static long sys_gettimeofday(struct __kernel_old_timeval *utv,
			     struct timezone *utz)
{
	uint64_t ns = clock_realtime_ns();
	struct __kernel_old_timeval tv = { ns / NSEC_PER_SEC,
					   ns % NSEC_PER_SEC / 1000 };
	struct timezone tz = { 0, 0 };  /* UTC, the only zone the VM knows */

	if (utv && copy_to_user(utv, &tv, sizeof(tv)))
		return -EFAULT;
	if (utz && copy_to_user(utz, &tz, sizeof(tz)))
		return -EFAULT;
	return 0;
}
SYSCALL(gettimeofday, sys_gettimeofday, "pp");

static long sys_time(long *ut)
{
	long t = clock_realtime_ns() / NSEC_PER_SEC;

	if (ut && copy_to_user(ut, &t, sizeof(t)))
		return -EFAULT;
	return t;
}
SYSCALL(time, sys_time, "p");

/* Sleeps ns nanoseconds while other tasks run; a signal ends the sleep
 * early with EINTR and the time left in *urem (never restarted). */
static long sleep_for(uint64_t ns, struct __kernel_timespec *urem)
{
	uint64_t deadline = clock_monotonic_ns() + ns, now;
	long r = ns ? sched_sleep(&deadline, deadline) : 0;

	if (r != -EINTR)
		return 0;
	now = clock_monotonic_ns();
	if (urem)  /* Linux ignores faults here too */
		put_timespec(urem, deadline > now ? deadline - now : 0);
	return -EINTR;
}

static long sys_nanosleep(const struct __kernel_timespec *ureq,
			  struct __kernel_timespec *urem)
{
	uint64_t ns;
	int err = get_timespec(ureq, &ns);

	return err ? err : sleep_for(ns, urem);
}
SYSCALL(nanosleep, sys_nanosleep, "pp");

static long sys_clock_nanosleep(int id, int flags,
				const struct __kernel_timespec *ureq,
				struct __kernel_timespec *urem)
{
	uint64_t ns, now;
	int err;

	/* Linux refuses to sleep on the thread's own CPU clock. */
	if (id == CLOCK_THREAD_CPUTIME_ID || !clock_read(id, &now))
		return -EINVAL;
	err = get_timespec(ureq, &ns);
	if (err)
		return err;
	if (flags & TIMER_ABSTIME)
		return sleep_for(ns > now ? ns - now : 0, NULL);
	return sleep_for(ns, urem);
}
SYSCALL(clock_nanosleep, sys_clock_nanosleep, "dxpp");

static long sys_times(struct tms *ubuf)
{
	uint64_t ticks = clock_monotonic_ns() / (NSEC_PER_SEC / USER_HZ);
	struct tms t = { ticks, 0, 0, 0 };

	if (ubuf && copy_to_user(ubuf, &t, sizeof(t)))
		return -EFAULT;
	return ticks;
}
SYSCALL(times, sys_times, "p");
