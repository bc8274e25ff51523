/* timer.h: the guest timer device: interrupts requested by the
 * WISP_HC_TIMER hypercall and injected by the vCPU loop. */
#ifndef WISP_TIMER_H
#define WISP_TIMER_H

#include <linux/kvm.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

/* WISP_HC_TIMER_ENTRY: where a tick enters the kernel without an
 * interrupt; rip 0 until the kernel gives one. */
struct vtimer_entry {
	uint64_t rip, rsp, cs, ss;
	uint8_t *frame;               /* in guest RAM, 5 x 8 bytes */
};

/* Periods from this up run as a host interval timer (timer.c, fire_at). */
#define VTIMER_INTERVAL_MIN_NS 1000000ull

struct vtimer {
	timer_t id;
	uint64_t period_ns;           /* of the armed timer, 0 if one-shot */
	uint64_t next_ns;             /* CLOCK_MONOTONIC of its next tick */
	bool created;
	bool interval;                /* armed with it_interval = period_ns */
	volatile sig_atomic_t fired;  /* set by the signal handler */
	struct vtimer_entry entry;
};

/* Creates a POSIX timer that sends sig, handled by handler, to the calling
 * thread. Returns -1 with errno on failure. */
int thread_timer_create(int sig, void (*handler)(int), int sa_flags, timer_t *id);
/* Creates a timer that signals the calling thread (the vCPU thread) and,
 * through run->immediate_exit, makes KVM_RUN return at once. */
int vtimer_init(struct vtimer *t, struct kvm_run *run);
/* Fires after ns nanoseconds, then every period_ns unless that is 0;
 * ns == 0 cancels. Drops a firing not yet injected. A period's first tick
 * may come up to 200 us late, away from the host's own tick (timer.c). */
int vtimer_arm(struct vtimer *t, uint64_t ns, uint64_t period_ns);
/* The guest took the firing: clears it and, for a periodic timer that is
 * not an interval timer (or was turned into a kick), arms the next tick:
 * the first one after now on the period's grid. */
int vtimer_taken(struct vtimer *t);
/* Makes KVM_RUN return again after ns, keeping a fired timer pending: for
 * an interrupt the guest could not take yet. */
int vtimer_kick_after(struct vtimer *t, uint64_t ns);
void vtimer_destroy(struct vtimer *t);
/* Waits until fd is readable (1) or the timer has fired (0, and the firing
 * is consumed), with no window in which a firing could be missed; -1 with
 * errno on error. */
int vtimer_wait_readable(struct vtimer *t, int fd);

#endif
