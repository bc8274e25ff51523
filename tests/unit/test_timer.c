/* test_timer.c: the guest timer device signals the vCPU thread and makes
 * the next KVM_RUN return at once; periodic firings keep coming (long
 * periods as an interval timer); a kick makes KVM_RUN return without a
 * firing. */
#include "check.h"
#include "clock.h"
#include "devices/timer.h"

#include <string.h>
#include <time.h>
#include <unistd.h>

static void sleep_ms(long ms)
{
	struct timespec ts = { 0, ms * 1000000L };

	while (nanosleep(&ts, &ts) < 0)
		;
}

int main(void)
{
	struct kvm_run run;
	struct vtimer t;

	memset(&run, 0, sizeof(run));
	CHECK(vtimer_init(&t, &run, -1) == 0);
	CHECK(vtimer_arm(&t, 1000000, 0) == 0);
	sleep_ms(20);
	CHECK(t.fired == 1);
	CHECK(run.immediate_exit == 1);

	run.immediate_exit = 0;
	CHECK(vtimer_arm(&t, 50000000, 0) == 0);
	CHECK(vtimer_arm(&t, 0, 0) == 0);  /* cancelled before it fires */
	sleep_ms(80);
	CHECK(t.fired == 0);
	CHECK(run.immediate_exit == 0);

	/* Waiting for input ends when the timer fires, or when input comes. */
	int fds[2];

	CHECK(pipe(fds) == 0);
	CHECK(vtimer_arm(&t, 5000000, 0) == 0);
	CHECK(vtimer_wait_readable(&t, fds[0]) == 0);
	CHECK(t.fired == 0);  /* consumed: the read's -EINTR stands for it */
	CHECK(vtimer_arm(&t, 0, 0) == 0);
	CHECK(write(fds[1], "x", 1) == 1);
	CHECK(vtimer_wait_readable(&t, fds[0]) == 1);
	close(fds[0]);
	close(fds[1]);

	/* A short period goes on firing with no new request, once each firing
	 * is taken, on the period's grid; an untaken firing brings no more. */
	struct itimerspec its;
	uint64_t first;

	CHECK(vtimer_arm(&t, 1000000, 500000) == 0);
	CHECK(!t.interval);
	first = t.next_ns;
	sleep_ms(10);
	CHECK(t.fired == 1);
	CHECK(timer_gettime(t.id, &its) == 0 && its.it_value.tv_sec == 0 && its.it_value.tv_nsec == 0);
	CHECK(vtimer_taken(&t) == 0);
	CHECK(t.fired == 0 && t.next_ns > first && (t.next_ns - first) % 500000 == 0);
	sleep_ms(10);
	CHECK(t.fired == 1);

	/* A period of 1 ms or more is an interval timer: it fires again
	 * without vtimer_taken re-arming it; after a kick, taking the firing
	 * makes it an interval timer again, on the same grid. */
	CHECK(vtimer_arm(&t, 1000000, 2000000) == 0);
	CHECK(t.interval);
	first = t.next_ns;
	sleep_ms(10);
	CHECK(t.fired == 1);
	CHECK(vtimer_taken(&t) == 0 && t.fired == 0 && t.next_ns == first);
	sleep_ms(10);
	CHECK(t.fired == 1);
	CHECK(vtimer_kick_after(&t, 1000000) == 0 && !t.interval);
	sleep_ms(5);
	CHECK(vtimer_taken(&t) == 0 && t.interval);
	CHECK(t.next_ns > first + 20000000 && (t.next_ns - first) % 2000000 == 0);
	CHECK(timer_gettime(t.id, &its) == 0 && its.it_interval.tv_nsec == 2000000);
	sleep_ms(10);
	CHECK(t.fired == 1);
	/* A period starts away from the host's tick, on whole milliseconds;
	 * a one-shot deadline is not moved. */
	for (uint64_t ns = 1000000; ns < 2000000; ns += 25000) {
		uint64_t before = clock_ns(CLOCK_MONOTONIC), phase;

		CHECK(vtimer_arm(&t, ns, 10000000) == 0);
		phase = t.next_ns % 1000000;
		CHECK(phase >= 100000 && phase <= 900000);
		CHECK(t.next_ns >= before + ns && t.next_ns <= clock_ns(CLOCK_MONOTONIC) + ns + 200000);
		CHECK(vtimer_arm(&t, ns, 0) == 0);
		CHECK(t.next_ns >= before + ns && t.next_ns <= clock_ns(CLOCK_MONOTONIC) + ns);
	}
	/* A period under the minimum is the minimum: no signal storm. */
	CHECK(vtimer_arm(&t, 1000000, 1) == 0);
	CHECK(t.period_ns == 100000);
	CHECK(vtimer_arm(&t, 0, 0) == 0);
	CHECK(timer_gettime(t.id, &its) == 0);
	CHECK(its.it_value.tv_sec == 0 && its.it_value.tv_nsec == 0);
	/* A one-shot timer taken stays off. */
	CHECK(vtimer_arm(&t, 1000000, 0) == 0);
	sleep_ms(10);
	CHECK(vtimer_taken(&t) == 0 && t.fired == 0);
	sleep_ms(10);
	CHECK(t.fired == 0);

	/* A kick makes KVM_RUN return again while a firing waits. */
	t.fired = 1;
	run.immediate_exit = 0;
	CHECK(vtimer_kick_after(&t, 1000000) == 0);
	sleep_ms(10);
	CHECK(run.immediate_exit == 1);
	vtimer_destroy(&t);
	return check_report();
}
