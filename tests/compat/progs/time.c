/* time.c: clocks and sleeps: clock_gettime (REALTIME, MONOTONIC,
 * BOOTTIME, PROCESS_CPUTIME), clock_getres, gettimeofday, time,
 * nanosleep, clock_nanosleep (relative and TIMER_ABSTIME), times, and
 * interval timers (setitimer + SIGALRM, alarm). Prints only booleans. */
#include "compat.h"
#include <signal.h>
#include <sys/time.h>
#include <sys/times.h>
#include <time.h>
#include <unistd.h>

static double now(clockid_t c)
{
	struct timespec ts;

	if (clock_gettime(c, &ts))
		return -1;
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static volatile sig_atomic_t alarms;

static void on_alarm(int sig)
{
	(void)sig;
	alarms++;
}

int main(void)
{
	struct timespec ts, res;
	struct timeval tv;
	double t0, t1;

	compat_begin();
	CHECK(now(CLOCK_REALTIME) > 1.6e9, "CLOCK_REALTIME after 2020");
	CHECK(time(NULL) > 1600000000, "time()");
	CHECK(gettimeofday(&tv, NULL) == 0 && tv.tv_sec > 1600000000 && tv.tv_usec < 1000000,
	      "gettimeofday");
	CHECK(now(CLOCK_MONOTONIC) >= 0, "CLOCK_MONOTONIC");
	CHECK(now(CLOCK_BOOTTIME) >= 0, "CLOCK_BOOTTIME");
	CHECK(now(CLOCK_MONOTONIC_COARSE) >= 0, "CLOCK_MONOTONIC_COARSE");
	CHECK(now(CLOCK_PROCESS_CPUTIME_ID) >= 0, "CLOCK_PROCESS_CPUTIME_ID");
	CHECK(now(CLOCK_THREAD_CPUTIME_ID) >= 0, "CLOCK_THREAD_CPUTIME_ID");
	CHECK(clock_getres(CLOCK_MONOTONIC, &res) == 0 && res.tv_sec == 0 && res.tv_nsec > 0 &&
	      res.tv_nsec <= 1000000, "clock_getres MONOTONIC <= 1ms");

	{
		int backwards = 0;
		double prev = now(CLOCK_MONOTONIC);
		for (int i = 0; i < 2000; i++) {
			double t = now(CLOCK_MONOTONIC);
			if (t < prev)
				backwards++;
			prev = t;
		}
		CHECK(backwards == 0, "MONOTONIC never goes back (2000 reads)");
	}

	t0 = now(CLOCK_MONOTONIC);
	ts.tv_sec = 0;
	ts.tv_nsec = 20 * 1000 * 1000;
	CHECK(nanosleep(&ts, NULL) == 0, "nanosleep 20ms");
	t1 = now(CLOCK_MONOTONIC);
	CHECK(t1 - t0 >= 0.020, "slept >= 20ms");
	CHECK(t1 - t0 < 5.0, "slept < 5s");

	t0 = now(CLOCK_MONOTONIC);
	CHECK(clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, NULL) == 0, "clock_nanosleep relative");
	CHECK(now(CLOCK_MONOTONIC) - t0 >= 0.020, "clock_nanosleep slept >= 20ms");

	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_nsec += 30 * 1000 * 1000;
	if (ts.tv_nsec >= 1000000000) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000;
	}
	CHECK(clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == 0,
	      "clock_nanosleep TIMER_ABSTIME");
	CHECK(now(CLOCK_MONOTONIC) >= ts.tv_sec + ts.tv_nsec / 1e9, "woke after deadline");

	{
		double r = now(CLOCK_REALTIME);
		gettimeofday(&tv, NULL);
		double g = tv.tv_sec + tv.tv_usec / 1e6;
		CHECK(g - r > -0.5 && g - r < 0.5, "gettimeofday agrees with REALTIME");
	}

	{
		struct tms t;
		volatile unsigned long x = 0;
		double c0 = now(CLOCK_PROCESS_CPUTIME_ID);
		for (unsigned long i = 0; i < 2000000; i++)
			x += i;
		CHECK(now(CLOCK_PROCESS_CPUTIME_ID) > c0, "CPU time advances while busy");
		CHECK(times(&t) != (clock_t)-1, "times");
	}

	{
		struct sigaction sa;
		struct itimerval it = { { 0, 10000 }, { 0, 10000 } };

		memset(&sa, 0, sizeof sa);
		sa.sa_handler = on_alarm;
		sigaction(SIGALRM, &sa, NULL);
		CHECK(setitimer(ITIMER_REAL, &it, NULL) == 0, "setitimer 10ms interval");
		t0 = now(CLOCK_MONOTONIC);
		while (alarms < 3 && now(CLOCK_MONOTONIC) - t0 < 2)
			;
		memset(&it, 0, sizeof it);
		setitimer(ITIMER_REAL, &it, NULL);
		CHECK(alarms >= 3, "three SIGALRMs from the interval timer");
		alarms = 0;
		alarm(1);
		CHECK(alarm(0) == 1, "alarm returns remaining seconds");
		CHECK(alarms == 0, "cancelled alarm never fires");
	}
	return compat_end();
}
