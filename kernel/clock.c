/* clock.c: monotonic and wall-clock time derived from the TSC.
 *
 * Reading the TSC costs no exit to the VMM, so time syscalls stay in the
 * guest; the host is asked for the wall clock once, at boot.
 */
#include "clock.h"
#include "platform.h"
#include "arch/x86_64/x86.h"

static uint64_t boot_tsc;
static uint64_t boot_realtime_ns;
static uint64_t tsc_khz;

void clock_init(void)
{
	tsc_khz = platform_tsc_khz ? platform_tsc_khz : 1000000;
	boot_tsc = rdtsc();
	boot_realtime_ns = platform->realtime_ns();
}

uint64_t clock_monotonic_ns(void)
{
	uint64_t ticks = rdtsc() - boot_tsc;

	/* Split to avoid overflowing ticks * 1e6 after ~5 hours at 1 GHz. */
	return ticks / tsc_khz * 1000000 + ticks % tsc_khz * 1000000 / tsc_khz;
}

uint64_t clock_realtime_ns(void)
{
	return boot_realtime_ns + clock_monotonic_ns();
}
