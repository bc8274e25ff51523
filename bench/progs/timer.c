/* timer.c: the cost of a timer interrupt as a spinning program sees it
 * (bench/micro.py). The program spins reading the TSC; any time it is taken
 * off the CPU shows up as a gap between two consecutive reads. Phases:
 *
 *   (baseline)     spin MS ms with no timer armed: the gaps the host (or the
 *                  VMM) causes anyway; printed as INFO.
 *   timer_signal   setitimer(ITIMER_REAL) every 1 ms with an empty SIGALRM
 *                  handler (it counts ticks), spin MS ms; for each tick the
 *                  gap that contains the handler's run. Median over the ticks
 *                  in ns = timer interrupt + kernel timer work + signal frame
 *                  set-up + handler + rt_sigreturn, back to the loop.
 *   signal         kill(getpid(), SIGUSR1) with the same kind of handler, N
 *                  times: ns per round trip = a system call + the same signal
 *                  delivery and rt_sigreturn, but no interrupt. timer_signal
 *                  - (signal - getpid's round trip) estimates the interrupt
 *                  itself.
 *   timer_preempt  two threads on one CPU (sched_setaffinity natively; wisp
 *                  has one vCPU) spin for 2*MS ms, each storing its latest TSC
 *                  read; when a thread comes back after being off the CPU it
 *                  takes now - the other thread's last read, i.e. the time from
 *                  the preempted thread's last instruction to the next thread's
 *                  first: timer interrupt + scheduler + context switch. Median
 *                  in ns over the switches (wisp preempts every 10 ms; Linux at
 *                  its tick when the slice is used up). Natively the threads
 *                  go on the CPU that was idlest over the last 50 ms, since a
 *                  busy process on their CPU would run between them.
 *
 * "Lost per tick" (INFO) is the other reading of timer_signal: (sum of gaps
 * over 1 us with the timer - the same without) / ticks.
 * Usage: timer [MS=200] [N=2000] */
#include "bench.h"
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <unistd.h>

#define MAXREC 8192

static double tsc_per_ns;
static volatile unsigned ticks;

static inline uint64_t rdtsc(void)
{
	uint32_t lo, hi;

	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return (uint64_t)hi << 32 | lo;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

static double median_ns(uint64_t *v, size_t n)
{
	qsort(v, n, sizeof(v[0]), cmp_u64);
	return n ? v[n / 2] / tsc_per_ns : 0;
}

static void on_signal(int sig)
{
	(void)sig;
	ticks++;
}

static void calibrate(void)
{
	double n0 = now_ns(), n1;
	uint64_t c0 = rdtsc(), c1;

	do {
		n1 = now_ns();
	} while (n1 - n0 < 20e6);
	c1 = rdtsc();
	tsc_per_ns = (c1 - c0) / (n1 - n0);
}

/* Spins for ms milliseconds. Returns the sum of gaps over 1 us in *lost and
 * their number in *ngaps; with rec, stores the gap that holds each tick. */
static size_t spin(double ms, uint64_t *lost, size_t *ngaps, uint64_t *rec, uint64_t *iters)
{
	uint64_t thresh = (uint64_t)(1000 * tsc_per_ns);
	uint64_t prev = rdtsc(), end = prev + (uint64_t)(ms * 1e6 * tsc_per_ns);
	uint64_t pgap = 0, n = 0;
	unsigned seen = ticks;
	size_t nrec = 0;
	int pend = 0;

	*lost = 0;
	*ngaps = 0;
	for (;;) {
		uint64_t t = rdtsc();
		unsigned c = ticks;
		uint64_t g = t - prev;

		prev = t;
		n++;
		if (g > thresh) {
			*lost += g;
			++*ngaps;
		}
		/* The handler ran either in the gap before this read of ticks
		 * (this iteration's) or just after the TSC read (the next one's):
		 * keep the larger of the two. */
		if (pend) {
			if (rec && nrec < MAXREC)
				rec[nrec++] = g > pgap ? g : pgap;
			pend = 0;
		}
		if (c != seen) {
			seen = c;
			pend = 1;
			pgap = g;
		}
		if (t >= end)
			break;
	}
	*iters = n;
	return nrec;
}

/* ---- two threads on one CPU ---- */
static volatile uint64_t last[2];
static volatile int go;
static uint64_t sw[2][MAXREC];
static size_t nsw[2];
static uint64_t swall[2 * MAXREC];
static uint64_t spin_end;

static void *preempt_spin(void *arg)
{
	int me = (int)(intptr_t)arg;
	uint64_t off = (uint64_t)(200e3 * tsc_per_ns);  /* off the CPU: > 200 us */
	uint64_t prev;

	while (!go)
		;
	prev = rdtsc();
	for (;;) {
		uint64_t t = rdtsc();

		last[me] = t;
		if (t - prev > off) {
			uint64_t o = last[!me];

			if (o > prev && o < t && nsw[me] < MAXREC)
				sw[me][nsw[me]++] = t - o;
		}
		prev = t;
		if (t >= spin_end)
			break;
	}
	return NULL;
}

/* The CPU with the most idle time over 50 ms (/proc/stat), natively: the
 * two threads share one CPU, and a busy process on it would run between
 * them and be counted. -1 if unknown. */
static int idlest_cpu(void)
{
	unsigned long long idle[2][256] = { { 0 } };
	int ncpu = 0, best = -1;

	for (int pass = 0; pass < 2; pass++) {
		FILE *f = fopen("/proc/stat", "r");
		char line[512];

		if (!f)
			return -1;
		while (fgets(line, sizeof(line), f)) {
			unsigned long long v[5];
			int cpu;

			if (sscanf(line, "cpu%d %llu %llu %llu %llu %llu", &cpu, &v[0], &v[1],
				   &v[2], &v[3], &v[4]) == 6 && cpu >= 0 && cpu < 256) {
				idle[pass][cpu] = v[3] + v[4];
				if (cpu + 1 > ncpu)
					ncpu = cpu + 1;
			}
		}
		fclose(f);
		if (pass == 0)
			usleep(50000);
	}
	for (int c = 0; c < ncpu; c++)
		if (best < 0 || idle[1][c] - idle[0][c] > idle[1][best] - idle[0][best])
			best = c;
	return best;
}

int main(int argc, char **argv)
{
	double ms = arg_or(argc, argv, 1, 200);
	long n = arg_or(argc, argv, 2, 2000);
	static uint64_t rec[MAXREC];
	uint64_t lost0, lost1, it0, it1;
	size_t g0, g1, nrec, nall;
	struct sigaction sa;
	struct itimerval itv;
	double t0, t1, iter_ns, med;
	pthread_t th;
	cpu_set_t cpus;
	long pid = getpid();
	int pinned, cpu = -1;

	calibrate();

	/* Baseline. */
	spin(ms, &lost0, &g0, NULL, &it0);
	iter_ns = ms * 1e6 / it0;
	printf("INFO timer baseline: %zu gaps over 1 us in %.0f ms, %.1f us lost; "
	       "loop iteration %.1f ns; tsc %.3f GHz\n",
	       g0, ms, lost0 / tsc_per_ns / 1e3, iter_ns, tsc_per_ns);

	/* SIGALRM every 1 ms. */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGALRM, &sa, NULL) || sigaction(SIGUSR1, &sa, NULL)) {
		perror("sigaction");
		return 1;
	}
	itv.it_interval.tv_sec = itv.it_value.tv_sec = 0;
	itv.it_interval.tv_usec = itv.it_value.tv_usec = 1000;
	if (setitimer(ITIMER_REAL, &itv, NULL)) {
		perror("setitimer");
		return 1;
	}
	ticks = 0;
	nrec = spin(ms, &lost1, &g1, rec, &it1);
	memset(&itv, 0, sizeof(itv));
	setitimer(ITIMER_REAL, &itv, NULL);
	if (nrec < 10) {
		fprintf(stderr, "timer: only %zu SIGALRM ticks seen in %.0f ms\n", nrec, ms);
		return 1;
	}
	med = median_ns(rec, nrec) - iter_ns;
	printf("INFO timer_signal: %zu ticks in %.0f ms; lost per tick %.0f ns "
	       "(gaps over 1 us: %zu with the timer, %zu without)\n",
	       nrec, ms, ((double)lost1 - (double)lost0) / tsc_per_ns / nrec, g1, g0);
	printf("RESULT timer_signal %.1f ns/tick %zu\n", med, nrec);

	/* Self-signal: system call + delivery, no interrupt. */
	for (long i = 0; i < 100; i++)
		syscall(SYS_kill, pid, SIGUSR1);
	ticks = 0;
	t0 = now_ns();
	for (long i = 0; i < n; i++)
		syscall(SYS_kill, pid, SIGUSR1);
	t1 = now_ns();
	if (ticks != (unsigned)n) {
		fprintf(stderr, "timer: %u of %ld SIGUSR1 delivered\n", ticks, n);
		return 1;
	}
	printf("RESULT signal %.1f ns/signal %ld\n", (t1 - t0) / n, n);

	/* Preemption between two spinning threads on one CPU. */
	/* Pin to one CPU, unless there is only one (wisp: sched_setaffinity is
	 * not implemented there and says so on stderr). */
	CPU_ZERO(&cpus);
	pinned = sched_getaffinity(0, sizeof(cpus), &cpus) == 0 && CPU_COUNT(&cpus) == 1;
	if (!pinned) {
		cpu = idlest_cpu();
		CPU_ZERO(&cpus);
		CPU_SET(cpu < 0 ? 0 : cpu, &cpus);
		pinned = sched_setaffinity(0, sizeof(cpus), &cpus) == 0;
	}
	spin_end = rdtsc() + (uint64_t)(2 * ms * 1e6 * tsc_per_ns);
	if (pthread_create(&th, NULL, preempt_spin, (void *)(intptr_t)1)) {
		fprintf(stderr, "timer: pthread_create failed\n");
		return 1;
	}
	go = 1;
	preempt_spin((void *)(intptr_t)0);
	pthread_join(th, NULL);
	memcpy(swall, sw[0], nsw[0] * sizeof(sw[0][0]));
	memcpy(swall + nsw[0], sw[1], nsw[1] * sizeof(sw[1][0]));
	nall = nsw[0] + nsw[1];
	if (nall < 5) {
		fprintf(stderr, "timer: only %zu preemptions seen in %.0f ms%s\n", nall, 2 * ms,
			pinned ? "" : " (sched_setaffinity failed: more than one CPU?)");
		return 1;
	}
	med = median_ns(swall, nall);
	printf("INFO timer_preempt: %zu switches in %.0f ms (%s, cpu %d); min %.0f ns, "
	       "p10 %.0f ns, p90 %.0f ns\n", nall, 2 * ms,
	       pinned ? "on one CPU" : "sched_setaffinity failed", cpu,
	       swall[0] / tsc_per_ns, swall[nall / 10] / tsc_per_ns,
	       swall[nall * 9 / 10] / tsc_per_ns);
	printf("RESULT timer_preempt %.1f ns/switch %zu\n", med, nall);
	return 0;
}
