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

static int fire_at(struct vtimer *t, uint64_t at)
{
	struct itimerspec its = { .it_value = to_timespec(at) };

	return timer_settime(t->id, TIMER_ABSTIME, &its, NULL);
}

/* A period is not a POSIX interval timer: each tick is armed once the
 * guest took the one before (vtimer_taken), so no signals come while it
 * cannot take them, and ticks stay on the period's grid. (Interval timers
 * and a second timer for kicks both made nested KVM under QEMU TCG hang
 * now and then.) */
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
	return fire_at(t, t->next_ns);
}

int vtimer_taken(struct vtimer *t)
{
	uint64_t now;

	t->fired = 0;
	if (!t->period_ns)
		return 0;
	now = clock_ns(CLOCK_MONOTONIC);
	do
		t->next_ns += t->period_ns;
	while (t->next_ns <= now);
	return fire_at(t, t->next_ns);
}

/* The same timer, so that a later request cancels the kick too. A kick is
 * only ever due while a firing waits, whose vtimer_taken re-arms the
 * period. */
int vtimer_kick_after(struct vtimer *t, uint64_t ns)
{
	struct itimerspec its = { .it_value = to_timespec(ns) };

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
