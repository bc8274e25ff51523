/* timer.h: the guest timer device: interrupts requested by the
 * WISP_HC_TIMER hypercall and injected by the vCPU loop, or NMIs from
 * KVM's local APIC (WISP_HC_TIMER_NMI). */
#ifndef WISP_TIMER_H
#define WISP_TIMER_H

#include <linux/kvm.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

/* Periods from this up run as a host interval timer (timer.c, fire_at). */
#define VTIMER_INTERVAL_MIN_NS 1000000ull

struct vtimer {
	timer_t id;
	uint64_t period_ns;           /* of the armed timer, 0 if one-shot */
	uint64_t next_ns;             /* CLOCK_MONOTONIC of its next tick */
	bool created;
	bool interval;                /* armed with it_interval = period_ns */
	volatile sig_atomic_t fired;  /* set by the signal handler */
	/* The vCPU whose local APIC KVM emulates, -1 if it does not; nmi
	 * once the timer runs there (the host timer then stays unarmed). */
	int lapic_fd;
	bool nmi;
	struct kvm_lapic_state lapic; /* as last set */
};

/* Creates a POSIX timer that sends sig, handled by handler, to the calling
 * thread. Returns -1 with errno on failure. */
int thread_timer_create(int sig, void (*handler)(int), int sa_flags, timer_t *id);
/* Creates a timer that signals the calling thread (the vCPU thread) and,
 * through run->immediate_exit, makes KVM_RUN return at once. lapic_fd is
 * the vCPU if KVM emulates its local APIC, else -1. */
int vtimer_init(struct vtimer *t, struct kvm_run *run, int lapic_fd);
/* From now on the timer is the local APIC's, firing NMIs (WISP_HC_TIMER_NMI).
 * Returns 0, -ENODEV without an in-kernel local APIC, or -errno. */
int vtimer_use_nmi(struct vtimer *t);
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
 * is consumed; with NMIs, until the next one is due, the NMI still to come),
 * with no window in which a firing could be missed; -1 with errno on error. */
int vtimer_wait_readable(struct vtimer *t, int fd);

#endif
