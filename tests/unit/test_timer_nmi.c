/* test_timer_nmi.c: the guest timer as NMIs from KVM's local APIC
 * (WISP_HC_TIMER_NMI): what vtimer_arm programs, read back from KVM, and
 * waits for stdin that end when a firing is due. Needs /dev/kvm with a
 * split irqchip; exits 77 (skipped, with the reason) without. */
#include "check.h"
#include "clock.h"
#include "devices/timer.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include <wisp/abi.h>

#define APIC_SPIV 0xf0
#define APIC_LVTT 0x320
#define APIC_TMICT 0x380
#define APIC_TMCCT 0x390
#define APIC_TDCR 0x3e0
#define LVT_MASKED 0x10000u
#define LVTT_NMI_ONESHOT 0x400u
#define LVTT_NMI_PERIODIC 0x20400u
#define DIVIDE_BY_1 0xbu
#define DIVIDE_BY_4 0x1u
#define DIVIDE_BY_128 0xau

static void skip(const char *why)
{
	printf("SKIP: %s: %s\n", why, strerror(errno));
	exit(77);
}

/* A vCPU whose local APIC KVM emulates; nothing ever runs on it. */
static int lapic_vcpu(void)
{
	struct kvm_enable_cap cap = { .cap = KVM_CAP_SPLIT_IRQCHIP };
	int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC), vm, vcpu;

	if (kvm < 0)
		skip("/dev/kvm");
	if ((vm = ioctl(kvm, KVM_CREATE_VM, 0)) < 0)
		skip("KVM_CREATE_VM");
	if (ioctl(vm, KVM_ENABLE_CAP, &cap) < 0)
		skip("KVM_CAP_SPLIT_IRQCHIP");
	if ((vcpu = ioctl(vm, KVM_CREATE_VCPU, 0)) < 0)
		skip("KVM_CREATE_VCPU");
	return vcpu;
}

static uint32_t reg(int fd, unsigned off)
{
	struct kvm_lapic_state s;
	uint32_t v = 0;

	if (ioctl(fd, KVM_GET_LAPIC, &s) == 0)
		memcpy(&v, s.regs + off, sizeof(v));
	return v;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { 0, ms * 1000000L };

	while (nanosleep(&ts, &ts) < 0)
		;
}

/* The mode, divider and counts for periods and deadlines. */
static void test_programming(struct vtimer *t, int fd)
{
	CHECK(reg(fd, APIC_SPIV) & 0x100);
	CHECK(reg(fd, APIC_LVTT) & LVT_MASKED);
	CHECK(vtimer_arm(t, 5000000, 10000000) == 0);
	CHECK(reg(fd, APIC_LVTT) == LVTT_NMI_PERIODIC);
	CHECK(reg(fd, APIC_TDCR) == DIVIDE_BY_1);
	CHECK(reg(fd, APIC_TMICT) == 10000000);
	/* The first tick counts down from ~5 ms (up to 200 us later, off the
	 * host's tick), not from the period. */
	CHECK(reg(fd, APIC_TMCCT) > 3000000 && reg(fd, APIC_TMCCT) <= 5200000);
	/* A first tick past the period comes after one period. */
	CHECK(vtimer_arm(t, 20000000, 5000000) == 0);
	CHECK(reg(fd, APIC_TMICT) == 5000000 && reg(fd, APIC_TMCCT) <= 5000000);
	/* Long deadlines divide the clock; past 2^32 x 128 ns they are cut. */
	CHECK(vtimer_arm(t, 10000000000ull, 0) == 0);
	CHECK(reg(fd, APIC_LVTT) == LVTT_NMI_ONESHOT);
	CHECK(reg(fd, APIC_TDCR) == DIVIDE_BY_4 && reg(fd, APIC_TMICT) == 2500000000u);
	CHECK(vtimer_arm(t, 1000000000000ull, 0) == 0);
	CHECK(reg(fd, APIC_TDCR) == DIVIDE_BY_128 && reg(fd, APIC_TMICT) == 0xffffffffu);
	/* The minimum period, and cancelling. */
	CHECK(vtimer_arm(t, 1000000, 1) == 0);
	CHECK(reg(fd, APIC_TMICT) == WISP_TIMER_MIN_PERIOD_NS);
	CHECK(vtimer_arm(t, 0, 0) == 0);
	CHECK((reg(fd, APIC_LVTT) & LVT_MASKED) && reg(fd, APIC_TMICT) == 0);
}

/* No host signal ends a wait for input: it ends when a firing is due. */
static void test_waits(struct vtimer *t)
{
	int fds[2];
	uint64_t t0, ms;

	CHECK(pipe(fds) == 0);
	CHECK(vtimer_arm(t, 20000000, 20000000) == 0);
	t0 = clock_ns(CLOCK_MONOTONIC);
	CHECK(vtimer_wait_readable(t, fds[0]) == 0);
	ms = (clock_ns(CLOCK_MONOTONIC) - t0) / 1000000;
	CHECK(ms >= 19 && ms < 200);
	CHECK(t->fired == 0);
	CHECK(vtimer_wait_readable(t, fds[0]) == 0);  /* the next period's */
	CHECK(write(fds[1], "x", 1) == 1);
	CHECK(vtimer_wait_readable(t, fds[0]) == 1);
	/* A one-shot deadline that passed ends one wait at once. */
	CHECK(vtimer_arm(t, 5000000, 0) == 0);
	sleep_ms(10);
	t0 = clock_ns(CLOCK_MONOTONIC);
	CHECK(vtimer_wait_readable(t, fds[0]) == 0);
	CHECK(clock_ns(CLOCK_MONOTONIC) - t0 < 5000000);
	CHECK(vtimer_wait_readable(t, fds[0]) == 1);
	CHECK(vtimer_arm(t, 0, 0) == 0);
	CHECK(vtimer_wait_readable(t, fds[0]) == 1);
	close(fds[0]);
	close(fds[1]);
}

int main(void)
{
	struct kvm_run run;
	struct vtimer t;
	int fd = lapic_vcpu();

	memset(&run, 0, sizeof(run));
	CHECK(vtimer_init(&t, &run, -1) == 0);
	CHECK(vtimer_use_nmi(&t) == -ENODEV && !t.nmi);
	vtimer_destroy(&t);
	CHECK(vtimer_init(&t, &run, fd) == 0);
	CHECK(vtimer_arm(&t, 50000000, 0) == 0);  /* a host timer, replaced */
	CHECK(vtimer_use_nmi(&t) == 0 && t.nmi);
	CHECK(vtimer_use_nmi(&t) == 0);
	test_programming(&t, fd);
	test_waits(&t);
	sleep_ms(60);
	CHECK(t.fired == 0 && run.immediate_exit == 0);  /* the host timer is off */
	vtimer_destroy(&t);
	return check_report();
}
