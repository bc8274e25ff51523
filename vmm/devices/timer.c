/* timer.c: the guest timer device (WISP_HC_TIMER): a POSIX timer aimed at
 * the vCPU thread, or KVM's local APIC timer firing NMIs. */
#define _GNU_SOURCE
#include "devices/timer.h"
#include "clock.h"

#include <wisp/abi.h>

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#define TIMER_SIGNAL SIGUSR1

/* KVM's local APIC: register offsets in kvm_lapic_state.regs, and the bits
 * used here. Its timer counts KVM's APIC bus clock (1 GHz unless a VMM
 * sets KVM_CAP_X86_APIC_BUS_CYCLES_NS) divided by 1 to 128. */
#define APIC_SPIV 0xf0
#define APIC_LVTT 0x320
#define APIC_TMICT 0x380
#define APIC_TMCCT 0x390
#define APIC_TDCR 0x3e0
#define APIC_SW_ENABLE 0x100
#define APIC_SPURIOUS_VECTOR 0xff
#define LVT_MASKED (1u << 16)
#define LVT_DM_NMI (4u << 8)
#define LVTT_PERIODIC (1u << 17)
#define APIC_DIVIDE_SHIFT_MAX 7

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

int vtimer_init(struct vtimer *t, struct kvm_run *run, int lapic_fd)
{
	memset(t, 0, sizeof(*t));
	t->lapic_fd = lapic_fd;
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

static void lapic_set(struct vtimer *t, unsigned reg, uint32_t v)
{
	memcpy(t->lapic.regs + reg, &v, sizeof(v));
}

/* The divide configuration for 2^shift: shift - 1 in bits 3, 1 and 0;
 * 0b111 divides by 1. */
static uint32_t apic_divide(unsigned shift)
{
	unsigned v = (shift + 7) & 7;

	return (v & 3) | (v & 4) << 1;
}

/* ns in APIC counts at a divide by 2^shift, at least one. */
static uint32_t apic_count(uint64_t ns, unsigned shift)
{
	uint64_t c = ns >> shift;

	return c > UINT32_MAX ? UINT32_MAX : c ? (uint32_t)c : 1;
}

/* The APIC counts the first tick from TMCCT and the period from TMICT
 * (32 bits each); KVM takes a first tick no longer than the period. A
 * one-shot past 549 s (2^32 x 128 ns) comes early: the kernel arms it
 * again. ns == 0 masks the timer. */
static int lapic_arm(struct vtimer *t, uint64_t ns, uint64_t period_ns)
{
	uint64_t initial = period_ns ? period_ns : ns, first = ns < initial ? ns : initial;
	unsigned shift = 0;

	while (shift < APIC_DIVIDE_SHIFT_MAX && initial >> shift > UINT32_MAX)
		shift++;
	lapic_set(t, APIC_TDCR, apic_divide(shift));
	lapic_set(t, APIC_LVTT, ns ? LVT_DM_NMI | (period_ns ? LVTT_PERIODIC : 0) : LVT_MASKED);
	lapic_set(t, APIC_TMICT, ns ? apic_count(initial, shift) : 0);
	lapic_set(t, APIC_TMCCT, ns ? apic_count(first, shift) : 0);
	return ioctl(t->lapic_fd, KVM_SET_LAPIC, &t->lapic);
}

int vtimer_use_nmi(struct vtimer *t)
{
	struct itimerspec off = { 0 };

	if (t->lapic_fd < 0)
		return -ENODEV;
	if (t->nmi)
		return 0;
	if (ioctl(t->lapic_fd, KVM_GET_LAPIC, &t->lapic) < 0)
		return -errno;
	lapic_set(t, APIC_SPIV, APIC_SW_ENABLE | APIC_SPURIOUS_VECTOR);
	if (lapic_arm(t, 0, 0) < 0 || timer_settime(t->id, 0, &off, NULL) < 0)
		return -errno;
	t->fired = 0;
	t->period_ns = t->next_ns = 0;
	t->nmi = true;
	return 0;
}

int vtimer_arm(struct vtimer *t, uint64_t ns, uint64_t period_ns)
{
	struct itimerspec off = { 0 };
	uint64_t now;
	int rc;

	t->fired = 0;
	if (!ns) {
		t->period_ns = t->next_ns = 0;
		return t->nmi ? lapic_arm(t, 0, 0) : timer_settime(t->id, 0, &off, NULL);
	}
	if (period_ns && period_ns < WISP_TIMER_MIN_PERIOD_NS)
		period_ns = WISP_TIMER_MIN_PERIOD_NS;
	t->period_ns = period_ns;
	now = clock_ns(CLOCK_MONOTONIC);
	t->next_ns = now + ns;
	if (period_ns)
		t->next_ns = clear_of_host_tick(t->next_ns);
	if (!t->nmi)
		return fire_at(t, t->next_ns);
	rc = lapic_arm(t, t->next_ns - now, period_ns);
	/* The APIC counts from within the ioctl: a wait for input must not
	 * end before its NMI is due (nmi_wait_readable). */
	t->next_ns += clock_ns(CLOCK_MONOTONIC) - now;
	return rc;
}

/* The first tick of the period's grid through start, from start on, that
 * comes after now. */
static uint64_t grid_after(uint64_t start, uint64_t period_ns, uint64_t now)
{
	return start > now ? start : start + ((now - start) / period_ns + 1) * period_ns;
}

int vtimer_taken(struct vtimer *t)
{
	uint64_t now;

	t->fired = 0;
	if (!t->period_ns || t->interval)
		return 0;
	now = clock_ns(CLOCK_MONOTONIC);
	t->next_ns = grid_after(t->next_ns + t->period_ns, t->period_ns, now);
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

/* The next firing after now on the period's grid, or the one-shot's
 * deadline even if it passed (its NMI may be on its way); 0 if none. */
static uint64_t next_due(struct vtimer *t, uint64_t now)
{
	if (t->period_ns)
		t->next_ns = grid_after(t->next_ns, t->period_ns, now);
	return t->next_ns;
}

/* KVM fires the NMIs, which cannot end a wait in wisp-vmm: the wait ends
 * when the next one is due. A one-shot ends one wait only. */
static int nmi_wait_readable(struct vtimer *t, int fd)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };

	for (;;) {
		uint64_t now = clock_ns(CLOCK_MONOTONIC), due = next_due(t, now);
		struct timespec left = to_timespec(due > now ? due - now : 0);
		int rc = due && due <= now ? 0 : ppoll(&pfd, 1, due ? &left : NULL, NULL);

		if (rc > 0)
			return 1;
		if (rc == 0) {
			if (!t->period_ns)
				t->next_ns = 0;
			return 0;
		}
		if (errno != EINTR)
			return -1;
	}
}

int vtimer_wait_readable(struct vtimer *t, int fd)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	sigset_t block, orig;
	int rc;

	if (t->nmi)
		return nmi_wait_readable(t, fd);
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
