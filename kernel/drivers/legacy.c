/* legacy.c: the generic PVH platform (QEMU microvm): serial ports for the
 * program's output and exit status, CMOS clock, PIT for TSC calibration. */
#include "kernel.h"
#include "arch/x86_64/cpu.h"
#include "drivers/lapic.h"
#include "drivers/legacy.h"
#include "arch/x86_64/x86.h"
#include "lib/string.h"
#include <wisp/abi.h>

#define COM3_PORT 0x3e8
#define LSR_THR_EMPTY 0x20
#define CMOS_UIP_POLLS 2000

static void serial_putc(uint16_t port, char c)
{
	while (!(inb(port + 5) & LSR_THR_EMPTY))
		;
	outb(port, c);
}

static void serial_write(uint16_t port, const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		serial_putc(port, s[i]);
}

static long legacy_write(int fd, const void *buf, size_t len)
{
	serial_write(fd == 2 ? WISP_COM2_PORT : WISP_COM1_PORT, buf, len);
	return len;
}

/* Stdin is not forwarded on this platform: the program sees end of file. */
static long legacy_read(void *buf, size_t len)
{
	(void)buf;
	(void)len;
	return 0;
}

static _Noreturn void legacy_exit(int status, int sig, uint64_t fault_addr)
{
	char line[64];
	int n = sig ? snprintf(line, sizeof(line), "killed %d %lx\n", sig, fault_addr)
		    : snprintf(line, sizeof(line), "exit %d\n", status);
	struct {
		uint16_t limit;
		uint64_t base;
	} __attribute__((packed)) no_idt = { 0, 0 };

	serial_write(COM3_PORT, line, n);
	outl(WISP_DEBUG_EXIT_PORT, sig ? 128 + sig : status);
	/* No isa-debug-exit device: a triple fault ends the VM (-no-reboot). */
	asm volatile("lidt %0; int3" : : "m"(no_idt));
	for (;;)
		;
}

/* Exit status 125 tells a harness the kernel, not the program, failed. */
static _Noreturn void legacy_panic(const char *msg)
{
	kprintf("panic: %s", msg);
	legacy_exit(125, 0, 0);
}

static uint8_t cmos_read(uint8_t reg)
{
	outb(0x70, reg);
	return inb(0x71);
}

static unsigned bcd(uint8_t v, bool is_bcd)
{
	return is_bcd ? (v & 0xf) + (v >> 4) * 10 : v;
}

/* Days since 1970-01-01 of a civil date (proleptic Gregorian). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
	int64_t era;
	unsigned yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = (unsigned)(y - era * 400);
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

static uint64_t legacy_realtime_ns(void)
{
	bool is_bcd;
	unsigned sec, min, hour, day, mon, year;

	/* An update takes under 2 ms; QEMU on a PVM-style host reports one
	 * in progress for good, so the wait is bounded (a poll is >= 1 us). */
	for (int i = 0; i < CMOS_UIP_POLLS && (cmos_read(0x0a) & 0x80); i++)
		;
	is_bcd = !(cmos_read(0x0b) & 0x04);
	sec = bcd(cmos_read(0x00), is_bcd);
	min = bcd(cmos_read(0x02), is_bcd);
	hour = bcd(cmos_read(0x04), is_bcd);
	day = bcd(cmos_read(0x07), is_bcd);
	mon = bcd(cmos_read(0x08), is_bcd);
	year = bcd(cmos_read(0x09), is_bcd) + 2000;
	return ((days_from_civil(year, mon, day) * 86400) + hour * 3600 + min * 60 + sec) *
	       1000000000ULL;
}

static void legacy_sleep_ns(uint64_t ns)
{
	uint64_t end = rdtsc() + ns * legacy_tsc_khz() / 1000000;

	while (rdtsc() < end)
		;
}

static uint16_t pit_read_channel0(void)
{
	uint8_t lo, hi;

	outb(0x43, 0x00); /* latch channel 0 */
	lo = inb(0x40);
	hi = inb(0x40);
	return lo | (hi << 8);
}

/* Counts TSC ticks during 10 ms of PIT channel 0. Channel 2, the usual
 * choice, needs the PC speaker port, which QEMU microvm does not have. */
static uint64_t pit_calibrate_khz(void)
{
	const uint16_t ticks_10ms = 11932; /* 1193182 Hz / 100 */
	uint16_t start;
	uint64_t t0, t1;

	outb(0x43, 0x34); /* channel 0, lo/hi byte, mode 2, counting from 65535 */
	outb(0x40, 0xff);
	outb(0x40, 0xff);
	start = pit_read_channel0();
	t0 = rdtsc();
	while ((uint16_t)(start - pit_read_channel0()) < ticks_10ms)
		;
	t1 = rdtsc();
	return (t1 - t0) / 10;
}

/* QEMU on KVM with an invariant TSC reports its rate in the hypervisor
 * leaf 0x40000010. Other CPUID leaves are not trustworthy on every loader
 * (TCG repeats the last basic leaf for unknown ones). */
static uint64_t kvm_cpuid_tsc_khz(void)
{
	uint32_t r[4];

	cpuid(0x40000000, 0, r);
	/* "KVMKVMKVM\0\0\0" */
	if (r[1] != 0x4b4d564b || r[2] != 0x564b4d56 || r[3] != 0x4d || r[0] < 0x40000010)
		return 0;
	cpuid(0x40000010, 0, r);
	return r[0];
}

uint64_t legacy_tsc_khz(void)
{
	static uint64_t khz;

	if (!khz)
		khz = kvm_cpuid_tsc_khz();
	if (!khz)
		khz = pit_calibrate_khz();
	return khz ? khz : 1000000;
}

void legacy_init(void)
{
	/* Mask the 8259 PICs: the only interrupt used is the local APIC timer. */
	outb(0x21, 0xff);
	outb(0xa1, 0xff);
	if (lapic_init(legacy_tsc_khz())) {
		cpu->allow_device_interrupts();
	} else {
		legacy_platform.timer_arm = NULL;
		legacy_platform.timer_ack = NULL;
	}
}

/* Not const: the timer entries go when there is no local APIC. */
struct platform_ops legacy_platform = {
	.name = "pvh",
	.write = legacy_write,
	.read = legacy_read,
	.exit = legacy_exit,
	.panic = legacy_panic,
	.realtime_ns = legacy_realtime_ns,
	.sleep_ns = legacy_sleep_ns,
	.timer_arm = lapic_timer_arm,
	.timer_ack = lapic_timer_ack,
};

