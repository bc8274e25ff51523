/* timing.c: clocks and sleeping.
 * Prints the measured nanosleep(50 ms) duration and "timing: ok".
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <sys/time.h>
#include <time.h>
#include "check.h"

static int64_t ns(const struct timespec *t)
{
	return (int64_t)t->tv_sec * 1000000000 + t->tv_nsec;
}

int main(void)
{
	struct timespec a, b, rt, req = { 0, 50 * 1000 * 1000 };

	/* Realtime is a plausible wall-clock time (after 2020-01-01). */
	CHECK(clock_gettime(CLOCK_REALTIME, &rt) == 0);
	CHECK(rt.tv_sec > 1577836800);
	CHECK(rt.tv_nsec >= 0 && rt.tv_nsec < 1000000000);
	time_t t = time(NULL);
	CHECK(t >= rt.tv_sec && t - rt.tv_sec < 5);
	struct timeval tv;
	CHECK(gettimeofday(&tv, NULL) == 0 && tv.tv_sec >= rt.tv_sec && tv.tv_sec - rt.tv_sec < 5);

	/* Monotonic never goes backwards and does advance. */
	CHECK(clock_gettime(CLOCK_MONOTONIC, &a) == 0);
	int64_t prev = ns(&a);
	int advanced = 0;
	for (int i = 0; i < 100000; i++) {
		struct timespec c;
		CHECK(clock_gettime(CLOCK_MONOTONIC, &c) == 0);
		CHECK(ns(&c) >= prev);
		advanced |= ns(&c) > prev;
		prev = ns(&c);
	}
	CHECK(advanced);

	/* nanosleep(50 ms) takes at least 50 ms. */
	CHECK(clock_gettime(CLOCK_MONOTONIC, &a) == 0);
	CHECK(nanosleep(&req, NULL) == 0);
	CHECK(clock_gettime(CLOCK_MONOTONIC, &b) == 0);
	int64_t slept = ns(&b) - ns(&a);
	printf("slept_ns=%lld\n", (long long)slept);
	CHECK(slept >= 50 * 1000 * 1000);

	printf("timing: ok\n");
	return 0;
}
