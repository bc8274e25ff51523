/* vdso.c: the virtual shared object: time without entering the kernel.
 *
 * Built as a separate position-independent shared object and embedded in
 * the kernel image. A syscall costs a kernel entry (about 20 us on this
 * project's KVM host); reading the TSC costs nothing. */
#include <stdint.h>
#include <linux/time.h>
#include <linux/time_types.h>
#include <asm/unistd_64.h>
#include "vdso/vdso_data.h"

extern const struct vdso_data vvar __attribute__((visibility("hidden")));

static uint64_t rdtsc(void)
{
	uint32_t lo, hi;

	asm volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((uint64_t)hi << 32) | lo;
}

/* Same arithmetic as kernel/clock.c, so both agree to the nanosecond. */
static uint64_t monotonic_ns(void)
{
	uint64_t ticks = rdtsc() - vvar.boot_tsc, khz = vvar.tsc_khz;

	return ticks / khz * 1000000 + ticks % khz * 1000000 / khz;
}

static long fallback(long nr, long a, long b)
{
	long ret;

	asm volatile("syscall" : "=a"(ret) : "a"(nr), "D"(a), "S"(b) : "rcx", "r11", "memory");
	return ret;
}

long __vdso_clock_gettime(int clk, struct __kernel_timespec *ts)
{
	uint64_t ns;

	switch (clk) {
	case CLOCK_MONOTONIC: case CLOCK_MONOTONIC_RAW: case CLOCK_MONOTONIC_COARSE:
	case CLOCK_BOOTTIME:
		ns = monotonic_ns();
		break;
	case CLOCK_REALTIME: case CLOCK_REALTIME_COARSE:
		ns = vvar.boot_realtime_ns + monotonic_ns();
		break;
	default:
		return fallback(__NR_clock_gettime, clk, (long)ts);
	}
	ts->tv_sec = ns / 1000000000;
	ts->tv_nsec = ns % 1000000000;
	return 0;
}

long __vdso_gettimeofday(struct __kernel_old_timeval *tv, void *tz)
{
	uint64_t ns = vvar.boot_realtime_ns + monotonic_ns();

	if (tz)
		return fallback(__NR_gettimeofday, (long)tv, (long)tz);
	if (tv) {
		tv->tv_sec = ns / 1000000000;
		tv->tv_usec = ns % 1000000000 / 1000;
	}
	return 0;
}

long __vdso_time(long *t)
{
	long s = (vvar.boot_realtime_ns + monotonic_ns()) / 1000000000;

	if (t)
		*t = s;
	return s;
}

/* One CPU today. */
long __vdso_getcpu(unsigned *cpu, unsigned *node, void *cache)
{
	(void)cache;
	if (cpu)
		*cpu = 0;
	if (node)
		*node = 0;
	return 0;
}

long clock_gettime(int, struct __kernel_timespec *)
	__attribute__((weak, alias("__vdso_clock_gettime")));
long gettimeofday(struct __kernel_old_timeval *, void *)
	__attribute__((weak, alias("__vdso_gettimeofday")));
long time(long *) __attribute__((weak, alias("__vdso_time")));
long getcpu(unsigned *, unsigned *, void *) __attribute__((weak, alias("__vdso_getcpu")));
