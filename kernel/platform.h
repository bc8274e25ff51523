/* platform.h: the host services the kernel uses, on wisp-vmm (hypercalls) or
 * on any PVH loader such as QEMU (serial ports, isa-debug-exit). */
#ifndef PLATFORM_H
#define PLATFORM_H

#include "kernel.h"

struct hvm_start_info;
struct wisp_device;

struct platform_ops {
	const char *name;
	/* fd 1 or 2; returns bytes written or -errno. */
	long (*write)(int fd, const void *buf, size_t len);
	/* stdin; returns bytes read, 0 at end of input, or -errno. */
	long (*read)(void *buf, size_t len);
	__attribute__((noreturn)) void (*exit)(int status, int sig, uint64_t fault_addr);
	/* The kernel cannot go on: reports msg and ends the VM. */
	__attribute__((noreturn)) void (*panic)(const char *msg);
	/* Wall-clock nanoseconds now; used once at boot to anchor the TSC. */
	uint64_t (*realtime_ns)(void);
	void (*sleep_ns)(uint64_t ns);
	/* One timer interrupt (TRAP_TIMER) after ns, then one every period_ns
	 * if that is not 0 and timer_periodic is set; ns == 0 cancels. NULL if
	 * the platform has no timer: then tasks are never preempted. */
	void (*timer_arm)(uint64_t ns, uint64_t period_ns);
	bool timer_periodic;
	/* Acknowledges a timer interrupt. */
	void (*timer_ack)(void);
	/* Has the timer fire as NMIs (TRAP_NMI) from now on; NULL if the
	 * platform cannot. Returns 0 or -errno. */
	int (*timer_nmi)(void);
};

extern const struct platform_ops *platform;

/* Picks the platform from the boot info; fills tsc_khz and trace flags. */
void platform_init(const struct hvm_start_info *si);
extern uint64_t platform_tsc_khz;
/* The devices wisp-vmm attached (boot info); none on other loaders. */
extern const struct wisp_device *platform_devices;
extern unsigned platform_ndevices;
extern const uint8_t *platform_seed; /* 32 bytes or NULL */
extern bool platform_trace_syscalls;
/* The timer fires as NMIs (timer_nmi); a read cut short by it (-EINTR)
 * then does not stand for the firing, which comes as its NMI. */
extern bool platform_timer_nmi;

#endif
