/* hypercall.c: the wisp-vmm platform: each service is one port write
 * carrying the guest-physical address of an argument struct (abi.h). */
#include "kernel.h"
#include "drivers/hypercall.h"
#include "arch/x86_64/x86.h"
#include "lib/string.h"
#include "mm/page.h"
#include "mm/vm.h"
#include "sched/proc.h"
#include <wisp/abi.h>

static void hypercall(enum wisp_hypercall nr, void *arg)
{
	outl(WISP_HC_PORT_BASE + nr, (uint32_t)virt_to_phys(arg));
}

/* Guest-physical address of va, which may be a user address (already
 * faulted in by the caller) or a kernel one. */
static uint64_t any_virt_to_phys(const void *va)
{
	uint64_t v = (uint64_t)va;
	pte_t *e;

	if (v >= DIRECT_MAP_BASE)
		return virt_to_phys(va);
	e = paging_walk(current()->mm->root, v, false);
	return e && (*e & PTE_P) ? (*e & PTE_ADDR_MASK) | (v & (PAGE_SIZE - 1)) : 0;
}

/* Splits at page boundaries: user buffers are not physically contiguous. */
static long hc_io(enum wisp_hypercall nr, int fd, void *buf, size_t len)
{
	size_t done = 0;

	while (done < len) {
		char *p = (char *)buf + done;
		size_t n = MIN(len - done, PAGE_SIZE - ((uint64_t)p & (PAGE_SIZE - 1)));
		struct wisp_hc_io io = { .fd = fd, .len = n };

		io.buf_paddr = any_virt_to_phys(p);
		if (!io.buf_paddr)
			return done ? (long)done : -EFAULT;
		hypercall(nr, &io);
		if (io.ret < 0)
			return done ? (long)done : io.ret;
		done += io.ret;
		if ((size_t)io.ret < n)
			break;
	}
	return done;
}

static long hc_write(int fd, const void *buf, size_t len)
{
	return hc_io(WISP_HC_WRITE, fd, (void *)buf, len);
}

static long hc_read(void *buf, size_t len)
{
	return hc_io(WISP_HC_READ, 0, buf, len);
}

static _Noreturn void hc_exit(int status, int sig, uint64_t fault_addr)
{
	struct wisp_hc_exit e = { .status = status, .signal = sig, .fault_addr = fault_addr };

	for (;;)
		hypercall(WISP_HC_EXIT, &e);
}

/* wisp reports it as "wisp: guest kernel panic: MSG" and exits 1. */
static _Noreturn void hc_panic(const char *msg)
{
	struct wisp_hc_io io = { .buf_paddr = virt_to_phys(msg), .len = strlen(msg) };

	for (;;)
		hypercall(WISP_HC_PANIC, &io);
}

static uint64_t hc_realtime_ns(void)
{
	struct wisp_hc_clock c = { 0 };

	hypercall(WISP_HC_CLOCK, &c);
	return c.realtime_ns;
}

static void hc_sleep_ns(uint64_t ns)
{
	struct wisp_hc_sleep s = { .ns = ns };

	hypercall(WISP_HC_SLEEP, &s);
}

static void hc_timer_arm(uint64_t ns, uint64_t period_ns)
{
	struct wisp_hc_timer t = { .ns = ns, .period_ns = period_ns };

	hypercall(WISP_HC_TIMER, &t);
}

static int hc_timer_nmi(void)
{
	struct wisp_hc_timer_nmi n = { 0 };

	hypercall(WISP_HC_TIMER_NMI, &n);
	return (int)n.ret;
}

/* Vector 32 comes injected by the VMM, NMIs need no EOI either. */
static void hc_timer_ack(void)
{
}

const struct platform_ops hypercall_platform = {
	.name = "wisp",
	.write = hc_write,
	.read = hc_read,
	.exit = hc_exit,
	.panic = hc_panic,
	.realtime_ns = hc_realtime_ns,
	.sleep_ns = hc_sleep_ns,
	.timer_arm = hc_timer_arm,
	.timer_periodic = true,
	.timer_ack = hc_timer_ack,
	.timer_nmi = hc_timer_nmi,
};
