/* timer.c: alarm and setitimer/getitimer(ITIMER_REAL): SIGALRM on a monotonic deadline per process. */
#include "syscalls/signal.h"
#include "syscalls/syscall.h"
#include "sched/proc.h"
#include "clock.h"
#include "mm/kmalloc.h"
#include "mm/uaccess.h"
#include <linux/signal.h>
#include <linux/time.h>
#include <linux/time_types.h>

#define NSEC_PER_USEC 1000ULL
#define USEC_PER_SEC 1000000ULL
#define NSEC_PER_SEC 1000000000ULL

/* Armed ITIMER_REAL timers. Keyed by pid rather than hung off struct proc:
 * a timer whose process is gone is simply dropped when it expires, so exit
 * needs no hook, and a fork child (new pid) inherits none, as on Linux. */
struct itimer {
	struct itimer *next;
	int pid;
	uint64_t at;            /* monotonic deadline */
	uint64_t interval;      /* 0: one-shot */
};

static struct itimer *timers;

static struct itimer **find(int pid)
{
	struct itimer **pp = &timers;

	while (*pp && (*pp)->pid != pid)
		pp = &(*pp)->next;
	return pp;
}

static void disarm(int pid)
{
	struct itimer **pp = find(pid), *it = *pp;

	if (it) {
		*pp = it->next;
		kfree(it);
	}
}

static int arm(int pid, uint64_t at, uint64_t interval)
{
	struct itimer *it = *find(pid);

	if (!it) {
		it = kmalloc(sizeof(*it));
		if (!it)
			return -ENOMEM;
		it->pid = pid;
		it->next = timers;
		timers = it;
	}
	it->at = at;
	it->interval = interval;
	return 0;
}

/* Fires one expired timer; false if it is gone afterwards. */
static bool fire(struct itimer *it, uint64_t now)
{
	struct proc *p = proc_find(it->pid);

	if (!p || p->zombie || !it->interval) {
		if (p && !p->zombie)
			signal_send(p, SIGALRM);
		return false;
	}
	signal_send(p, SIGALRM);
	/* Overruns collapse into one signal, as SIGALRM doesn't queue. */
	it->at += it->interval;
	if (it->at <= now)
		it->at = now + it->interval;
	return true;
}

void signal_check_timers(void)
{
	struct itimer **pp = &timers, *it;
	uint64_t now;

	if (!timers)
		return;
	now = clock_monotonic_ns();
	while ((it = *pp)) {
		if (it->at > now || fire(it, now)) {
			pp = &it->next;
			continue;
		}
		*pp = it->next;
		kfree(it);
	}
}

uint64_t signal_next_timer_ns(uint64_t *interval)
{
	uint64_t next = 0;

	*interval = 0;
	for (struct itimer *it = timers; it; it = it->next)
		if (!next || it->at < next) {
			next = it->at;
			*interval = it->interval;
		}
	return next;
}

static struct __kernel_old_timeval to_timeval(uint64_t ns)
{
	/* Round up: an armed timer never reads as 0 (Linux does the same). */
	uint64_t us = (ns + NSEC_PER_USEC - 1) / NSEC_PER_USEC;

	return (struct __kernel_old_timeval){ us / USEC_PER_SEC, us % USEC_PER_SEC };
}

static int from_timeval(const struct __kernel_old_timeval *tv, uint64_t *ns)
{
	if (tv->tv_sec < 0 || tv->tv_usec < 0 || (uint64_t)tv->tv_usec >= USEC_PER_SEC)
		return -EINVAL;
	/* Beyond ~146 years: practically never. */
	if ((uint64_t)tv->tv_sec >= UINT64_MAX / NSEC_PER_SEC / 2)
		*ns = UINT64_MAX / 2;
	else
		*ns = tv->tv_sec * NSEC_PER_SEC + tv->tv_usec * NSEC_PER_USEC;
	return 0;
}

/* The current process's ITIMER_REAL as getitimer reports it. */
static struct __kernel_old_itimerval current_value(void)
{
	struct itimer *it = *find(current()->pid);
	struct __kernel_old_itimerval v = { { 0, 0 }, { 0, 0 } };
	uint64_t now = clock_monotonic_ns();

	if (it) {
		v.it_interval = to_timeval(it->interval);
		v.it_value = to_timeval(it->at > now ? it->at - now : 1);
	}
	return v;
}

static long set_real(const struct __kernel_old_itimerval *v)
{
	uint64_t value, interval;
	int pid = current()->pid;

	if (from_timeval(&v->it_value, &value) ||
	    from_timeval(&v->it_interval, &interval))
		return -EINVAL;
	if (!value) {
		disarm(pid);
		return 0;
	}
	return arm(pid, clock_monotonic_ns() + value, interval);
}

static long sys_getitimer(int which, struct __kernel_old_itimerval *uv)
{
	struct __kernel_old_itimerval v = { { 0, 0 }, { 0, 0 } };

	if (which == ITIMER_REAL)
		v = current_value();
	else if (which != ITIMER_VIRTUAL && which != ITIMER_PROF)
		return -EINVAL;
	return copy_to_user(uv, &v, sizeof(v)) ? -EFAULT : 0;
}
SYSCALL(getitimer, sys_getitimer, "dp");

/* CPU-time timers read as disarmed.
 * syscall-partial: getitimer, setitimer: arming ITIMER_VIRTUAL or ITIMER_PROF fails (EINVAL) */
static long sys_setitimer(int which, const struct __kernel_old_itimerval *unew,
			  struct __kernel_old_itimerval *uold)
{
	struct __kernel_old_itimerval v = { { 0, 0 }, { 0, 0 } }, old = v;
	long err;

	/* A NULL new value disarms, as Linux still allows. */
	if (unew && copy_from_user(&v, unew, sizeof(v)))
		return -EFAULT;
	if (which == ITIMER_REAL) {
		old = current_value();
		err = set_real(&v);
	} else if (which == ITIMER_VIRTUAL || which == ITIMER_PROF) {
		err = v.it_value.tv_sec || v.it_value.tv_usec ? -EINVAL : 0;
	} else {
		err = -EINVAL;
	}
	if (err)
		return err;
	return uold && copy_to_user(uold, &old, sizeof(old)) ? -EFAULT : 0;
}
SYSCALL(setitimer, sys_setitimer, "dpp");

/* Returns the seconds left of the previous alarm, rounded to nearest but
 * never 0 for a pending one, as Linux does. */
static long sys_alarm(unsigned seconds)
{
	struct __kernel_old_itimerval v = { { 0, 0 }, { seconds, 0 } };
	struct __kernel_old_itimerval old = current_value();
	long left = old.it_value.tv_sec;

	if (old.it_value.tv_usec >= 500000 || (!left && old.it_value.tv_usec))
		left++;
	set_real(&v);
	return left;
}
SYSCALL(alarm, sys_alarm, "u");
