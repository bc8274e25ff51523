/* lapic.c: one-shot local APIC timer in xAPIC (MMIO) mode.
 *
 * Used on generic PVH machines such as QEMU microvm; under wisp-vmm the
 * timer is a hypercall and there is no APIC. */
#include "kernel.h"
#include "arch/x86_64/trap.h"
#include "arch/x86_64/x86.h"
#include "drivers/lapic.h"
#include "mm/page.h"

#define LAPIC_PHYS 0xfee00000UL
#define REG_EOI 0xb0
#define REG_SVR 0xf0
#define REG_LVT_TIMER 0x320
#define REG_INITIAL 0x380
#define REG_CURRENT 0x390
#define REG_DIVIDE 0x3e0
#define SVR_ENABLE 0x100
#define SPURIOUS_VECTOR 47
#define DIVIDE_BY_16 0x3
#define CALIBRATE_MS 10

static volatile uint32_t *regs;
static uint64_t ticks_per_ms;

static void lapic_write(unsigned reg, uint32_t v)
{
	regs[reg / 4] = v;
}

static uint32_t lapic_read(unsigned reg)
{
	return regs[reg / 4];
}

/* Counts APIC timer ticks against the TSC, whose rate is known. */
static uint64_t calibrate(uint64_t tsc_khz)
{
	uint64_t end = rdtsc() + tsc_khz * CALIBRATE_MS;
	uint32_t left;

	lapic_write(REG_INITIAL, 0xffffffff);
	while (rdtsc() < end)
		;
	left = lapic_read(REG_CURRENT);
	lapic_write(REG_INITIAL, 0);
	return (0xffffffffULL - left) / CALIBRATE_MS;
}

bool lapic_init(uint64_t tsc_khz)
{
	uint32_t id[4];

	cpuid(1, 0, id);
	if (!(id[3] & (1u << 9)))
		return false;
	regs = phys_to_virt(LAPIC_PHYS);
	lapic_write(REG_SVR, SVR_ENABLE | SPURIOUS_VECTOR);
	lapic_write(REG_DIVIDE, DIVIDE_BY_16);
	lapic_write(REG_LVT_TIMER, TRAP_TIMER);  /* one-shot, unmasked */
	ticks_per_ms = calibrate(tsc_khz);
	return ticks_per_ms != 0;
}

/* One-shot only: the first delay and the period differ in general. */
void lapic_timer_arm(uint64_t ns, uint64_t period_ns)
{
	(void)period_ns;
	uint64_t ticks = ns ? MAX(ns * ticks_per_ms / 1000000, 1) : 0;

	lapic_write(REG_INITIAL, MIN(ticks, 0xffffffffULL));
}

void lapic_timer_ack(void)
{
	lapic_write(REG_EOI, 0);
}
