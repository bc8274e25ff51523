/* info.c: system information, resource limits, random bytes and the
 * scheduler queries of a one-CPU, one-process VM. */
#include "syscalls/syscall.h"
#include "sched/proc.h"
#include "sched/sched.h"
#include "mm/uaccess.h"
#include "mm/page.h"
#include "fs/vfs.h"
#include "lib/string.h"
#include "clock.h"
#include "random.h"
#include "version.h"
#include <linux/utsname.h>
#include <linux/sysinfo.h>
#include <linux/resource.h>
#include <linux/random.h>

static long sys_uname(struct new_utsname *ubuf)
{
	static const struct new_utsname u = {
		.sysname = "Linux",
		.nodename = "wisp",
		.release = KERNEL_RELEASE,
		.version = KERNEL_VERSION_STRING,
		.machine = "x86_64",
		.domainname = "(none)",
	};

	return copy_to_user(ubuf, &u, sizeof(u)) ? -EFAULT : 0;
}
SYSCALL(uname, sys_uname, "p");

static long sys_sysinfo(struct sysinfo *ubuf)
{
	struct sysinfo si;

	memset(&si, 0, sizeof(si));
	si.uptime = clock_monotonic_ns() / 1000000000;
	si.totalram = page_total_count() * PAGE_SIZE;
	si.freeram = page_free_count() * PAGE_SIZE;
	si.procs = 1;
	si.mem_unit = 1;
	return copy_to_user(ubuf, &si, sizeof(si)) ? -EFAULT : 0;
}
SYSCALL(sysinfo, sys_sysinfo, "p");

static long sys_getrandom(uint8_t *ubuf, size_t len, unsigned flags)
{
	uint8_t tmp[256];
	size_t done = 0, n;

	if (flags & ~(GRND_NONBLOCK | GRND_RANDOM | GRND_INSECURE))
		return -EINVAL;
	if ((flags & GRND_INSECURE) && (flags & GRND_RANDOM))
		return -EINVAL;
	/* The generator is seeded before the program starts, so it never
	 * blocks; like Linux, one call returns at most ~32 MiB. */
	len = MIN(len, (size_t)0x1ffffff);
	for (; done < len; done += n) {
		n = MIN(len - done, sizeof(tmp));
		random_bytes(tmp, n);
		if (copy_to_user(ubuf + done, tmp, n))
			break;
	}
	memset(tmp, 0, sizeof(tmp));
	return done || !len ? (long)done : -EFAULT;
}
SYSCALL(getrandom, sys_getrandom, "pux");

/* Per-VM limits, with Linux's usual defaults. Raising them is allowed
 * (we are root) but changes nothing except what getrlimit reports. */
static struct rlimit64 limits[RLIM_NLIMITS] = {
	[RLIMIT_CPU] = { RLIM64_INFINITY, RLIM64_INFINITY },
	[RLIMIT_FSIZE] = { RLIM64_INFINITY, RLIM64_INFINITY },
	[RLIMIT_DATA] = { RLIM64_INFINITY, RLIM64_INFINITY },
	[RLIMIT_STACK] = { 8 << 20, RLIM64_INFINITY },
	[RLIMIT_CORE] = { 0, RLIM64_INFINITY },
	[RLIMIT_RSS] = { RLIM64_INFINITY, RLIM64_INFINITY },
	[RLIMIT_NPROC] = { 4096, 4096 },
	[RLIMIT_NOFILE] = { FD_MAX, FD_MAX },
	[RLIMIT_MEMLOCK] = { 8 << 20, 8 << 20 },
	[RLIMIT_AS] = { RLIM64_INFINITY, RLIM64_INFINITY },
	[RLIMIT_LOCKS] = { RLIM64_INFINITY, RLIM64_INFINITY },
	[RLIMIT_SIGPENDING] = { 4096, 4096 },
	[RLIMIT_MSGQUEUE] = { 819200, 819200 },
	[RLIMIT_NICE] = { 0, 0 },
	[RLIMIT_RTPRIO] = { 0, 0 },
	[RLIMIT_RTTIME] = { RLIM64_INFINITY, RLIM64_INFINITY },
};

/* Limits and affinity are the same for every task in the VM; an id only
 * has to exist. */
static bool is_task(int pid)
{
	return pid == 0 || task_find(pid);
}

/* Reads old limits into *old (if given), then sets *new (if given). */
static long rlimit_xchg(unsigned res, const struct rlimit64 *new,
			struct rlimit64 *old)
{
	if (res >= RLIM_NLIMITS)
		return -EINVAL;
	if (new && new->rlim_cur > new->rlim_max)
		return -EINVAL;
	/* The fd table has FD_MAX slots; Linux says EPERM above nr_open. */
	if (new && res == RLIMIT_NOFILE && new->rlim_max > FD_MAX)
		return -EPERM;
	if (old)
		*old = limits[res];
	if (new)
		limits[res] = *new;
	return 0;
}

static long sys_prlimit64(int pid, unsigned res, const struct rlimit64 *unew,
			  struct rlimit64 *uold)
{
	struct rlimit64 new, old;
	long err;

	if (!is_task(pid))
		return -ESRCH;
	if (unew && copy_from_user(&new, unew, sizeof(new)))
		return -EFAULT;
	err = rlimit_xchg(res, unew ? &new : NULL, &old);
	if (!err && uold && copy_to_user(uold, &old, sizeof(old)))
		return -EFAULT;
	return err;
}
SYSCALL(prlimit64, sys_prlimit64, "dupp");

/* struct rlimit has the same layout as rlimit64 on x86-64, and the same
 * all-ones infinity. */
static long sys_getrlimit(unsigned res, struct rlimit64 *uold)
{
	return sys_prlimit64(0, res, NULL, uold);
}
SYSCALL(getrlimit, sys_getrlimit, "up");

static long sys_setrlimit(unsigned res, const struct rlimit64 *unew)
{
	return sys_prlimit64(0, res, unew, NULL);
}
SYSCALL(setrlimit, sys_setrlimit, "up");

static long sys_getcpu(unsigned *ucpu, unsigned *unode)
{
	unsigned zero = 0;

	if ((ucpu && copy_to_user(ucpu, &zero, sizeof(zero))) ||
	    (unode && copy_to_user(unode, &zero, sizeof(zero))))
		return -EFAULT;
	return 0;
}
SYSCALL(getcpu, sys_getcpu, "ppp");

static long sys_sched_getaffinity(int pid, size_t len, uint64_t *umask)
{
	uint64_t mask = 1;  /* CPU 0 only */

	if (!is_task(pid))
		return -ESRCH;
	if (len < sizeof(mask) || len % sizeof(mask))
		return -EINVAL;
	/* Linux returns the size of its cpumask, here one word. */
	return copy_to_user(umask, &mask, sizeof(mask)) ? -EFAULT : (long)sizeof(mask);
}
SYSCALL(sched_getaffinity, sys_sched_getaffinity, "dup");

/* Runs every other runnable task once before this one again. */
static long sys_sched_yield(void)
{
	sched_yield();
	return 0;
}
SYSCALL(sched_yield, sys_sched_yield, "");

/* The raw syscall returns 20 - nice so it is never negative; glibc and musl
 * undo that. 20 means nice 0. */
static long sys_getpriority(int which, int who)
{
	(void)which, (void)who;
	return 20;
}
SYSCALL(getpriority, sys_getpriority, "dd");

static long sys_setpriority(int which, int who, int prio)
{
	(void)which, (void)who, (void)prio;
	return 0;
}
SYSCALL(setpriority, sys_setpriority, "ddd");
