/* timer.c: the guest timer device (WISP_HC_TIMER), a POSIX timer aimed at
 * the vCPU thread. */
#define _GNU_SOURCE
#include "devices/timer.h"
#include "clock.h"

#include <wisp/abi.h>

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#define TIMER_SIGNAL SIGUSR1

/* The signal handler can only reach globals; one vCPU today, an array
 * indexed by the vCPU thread once there are several. */
static struct kvm_run *kick_run;
static struct vtimer *kick_timer;

static void on_timer(int sig)
{
	(void)sig;
	kick_timer->fired = 1;
	/* Closes the race with a KVM_RUN about to start: it returns EINTR. */
	kick_run->immediate_exit = 1;
}

int thread_timer_create(int sig, void (*handler)(int), int sa_flags, timer_t *id)
{
	struct sigaction sa;
	struct sigevent ev;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = handler;
	sa.sa_flags = sa_flags;
	sigemptyset(&sa.sa_mask);
	memset(&ev, 0, sizeof(ev));
	ev.sigev_notify = SIGEV_THREAD_ID;
	ev.sigev_signo = sig;
	ev._sigev_un._tid = (pid_t)syscall(SYS_gettid);
	if (sigaction(sig, &sa, NULL) < 0)
		return -1;
	return timer_create(CLOCK_MONOTONIC, &ev, id);
}

int vtimer_init(struct vtimer *t, struct kvm_run *run)
{
	memset(t, 0, sizeof(*t));
	kick_run = run;
	kick_timer = t;
	/* No SA_RESTART: KVM_RUN must return. */
	if (thread_timer_create(TIMER_SIGNAL, on_timer, 0, &t->id) < 0) {
		fprintf(stderr, "wisp: cannot create the guest timer: %s\n", strerror(errno));
		return -1;
	}
	t->created = true;
	return 0;
}

static struct timespec to_timespec(uint64_t ns)
{
	return (struct timespec){ (time_t)(ns / 1000000000ull), (long)(ns % 1000000000ull) };
}

/* A period of VTIMER_INTERVAL_MIN_NS or more is a POSIX interval timer,
 * so a tick costs the vCPU thread no timer_settime (~3 us on a nested
 * host); firings the guest has not taken yet merge into t->fired. Shorter
 * periods are armed a tick at a time, once the guest took the one before
 * (vtimer_taken), so that a host slower than the period still runs the
 * guest between ticks (under QEMU TCG, nested KVM with interval timers
 * hung now and then). */
static int fire_at(struct vtimer *t, uint64_t at)
{
	struct itimerspec its = { .it_value = to_timespec(at) };

	t->interval = t->period_ns >= VTIMER_INTERVAL_MIN_NS;
	if (t->interval)
		its.it_interval = to_timespec(t->period_ns);
	return timer_settime(t->id, TIMER_ABSTIME, &its, NULL);
}

/* Linux hosts run their scheduler tick on multiples of 1/HZ in
 * CLOCK_MONOTONIC (HZ 100, 250, 500 or 1000: whole milliseconds), and a
 * firing due next to one costs a second exit from the guest, or one twice
 * as long. bench/host/kick.c with a 10 ms period started at a chosen
 * phase, medians of 6 interleaved runs on the PVM host: 51 us a kick on
 * the millisecond, 39 us 10 us after it, 34 us 50 us after, 31 us half-way.
 * So a period's first tick moves up to 2 x HOST_TICK_MARGIN_NS later, out
 * of that window; its later ticks keep the phase when the period is whole
 * milliseconds. One-shot deadlines stay exact. */
#define HOST_TICK_GRID_NS 1000000ull
#define HOST_TICK_MARGIN_NS 100000ull

static uint64_t clear_of_host_tick(uint64_t at)
{
	uint64_t phase = at % HOST_TICK_GRID_NS;

	if (phase < HOST_TICK_MARGIN_NS)
		return at - phase + HOST_TICK_MARGIN_NS;
	if (phase > HOST_TICK_GRID_NS - HOST_TICK_MARGIN_NS)
		return at - phase + HOST_TICK_GRID_NS + HOST_TICK_MARGIN_NS;
	return at;
}

int vtimer_arm(struct vtimer *t, uint64_t ns, uint64_t period_ns)
{
	struct itimerspec off = { 0 };

	t->fired = 0;
	if (!ns) {
		t->period_ns = 0;
		return timer_settime(t->id, 0, &off, NULL);
	}
	if (period_ns && period_ns < WISP_TIMER_MIN_PERIOD_NS)
		period_ns = WISP_TIMER_MIN_PERIOD_NS;
	t->period_ns = period_ns;
	t->next_ns = clock_ns(CLOCK_MONOTONIC) + ns;
	if (period_ns)
		t->next_ns = clear_of_host_tick(t->next_ns);
	return fire_at(t, t->next_ns);
}

int vtimer_taken(struct vtimer *t)
{
	uint64_t now;

	t->fired = 0;
	if (!t->period_ns || t->interval)
		return 0;
	now = clock_ns(CLOCK_MONOTONIC);
	/* The first tick after now on the period's grid. */
	t->next_ns += (now > t->next_ns ? (now - t->next_ns) / t->period_ns + 1 : 1) * t->period_ns;
	return fire_at(t, t->next_ns);
}

/* The same timer, so that a later request cancels the kick too. A kick is
 * only ever due while a firing waits, whose vtimer_taken re-arms the
 * period. */
int vtimer_kick_after(struct vtimer *t, uint64_t ns)
{
	struct itimerspec its = { .it_value = to_timespec(ns) };

	t->interval = false;
	return timer_settime(t->id, 0, &its, NULL);
}

int vtimer_wait_readable(struct vtimer *t, int fd)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	sigset_t block, orig;
	int rc;

	/* The signal stays blocked between the check of fired and the wait;
	 * ppoll unblocks it atomically, so a firing in between ends the wait. */
	sigemptyset(&block);
	sigaddset(&block, TIMER_SIGNAL);
	pthread_sigmask(SIG_BLOCK, &block, &orig);
	do
		rc = t->fired ? 0 : ppoll(&pfd, 1, NULL, &orig);
	while (rc < 0 && errno == EINTR && !t->fired);
	if (rc == 0 || (rc < 0 && errno == EINTR)) {
		/* The guest learns of this firing from the read's -EINTR: it must
		 * not also get the interrupt, or it would count two ticks. */
		rc = vtimer_taken(t) < 0 ? -1 : 0;
	}
	pthread_sigmask(SIG_SETMASK, &orig, NULL);
	return rc < 0 ? -1 : rc > 0;
}

void vtimer_destroy(struct vtimer *t)
{
	if (t->created)
		timer_delete(t->id);
	t->created = false;
}
