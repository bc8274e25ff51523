/* clock.c: monotonic and wall-clock time derived from the TSC.
 *
 * Reading the TSC costs no exit to the VMM, so time syscalls stay in the
 * guest; the host is asked for the wall clock once, at boot. The parameters
 * live in the page the vDSO reads, so user space computes the same time
 * without a syscall.
 */
#include "clock.h"
#include "platform.h"
#include "arch/x86_64/x86.h"
#include "vdso/vdso_data.h"

static union {
	struct vdso_data d;
	char page[PAGE_SIZE];
} vdso_page __attribute__((aligned(PAGE_SIZE)));

void clock_init(void)
{
	vdso_page.d.tsc_khz = platform_tsc_khz ? platform_tsc_khz : 1000000;
	vdso_page.d.boot_tsc = rdtsc();
	vdso_page.d.boot_realtime_ns = platform->realtime_ns();
}

const void *clock_vdso_page(void)
{
	return &vdso_page;
}

uint64_t clock_monotonic_ns(void)
{
	uint64_t ticks = rdtsc() - vdso_page.d.boot_tsc, khz = vdso_page.d.tsc_khz;

	/* Split to avoid overflowing ticks * 1e6 after ~5 hours at 1 GHz. */
	return ticks / khz * 1000000 + ticks % khz * 1000000 / khz;
}

uint64_t clock_realtime_ns(void)
{
	return vdso_page.d.boot_realtime_ns + clock_monotonic_ns();
}
