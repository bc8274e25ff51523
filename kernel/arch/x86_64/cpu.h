/* cpu.h: per-CPU state, and the privileged operations done the way the host
 * lets the kernel do them (docs/architecture.md, "Platforms"). */
#ifndef ARCH_CPU_H
#define ARCH_CPU_H

#include <stdbool.h>
#include <stdint.h>

struct trapframe;

/* One version per platform, chosen at boot by arch_init_native(). */
struct cpu_ops {
	const char *name;
	/* Runs once, natively, before anything else in the kernel. */
	void (*init)(void);
	/* Loads a page-table root (CR3). */
	void (*set_root)(uint64_t pa);
	/* Drops the TLB entry of one page. */
	void (*flush_page)(uint64_t va);
	/* Up to how many pages flush_page beats reloading the root. */
	unsigned flush_pages_max;
	/* The address that caused the page fault being handled (CR2). */
	uint64_t (*fault_addr)(void);
	/* Sets the user TLS base (FS). */
	void (*set_fs_base)(uint64_t base);
	/* Whether the trap interrupted user mode (not the kernel). */
	bool (*from_user)(const struct trapframe *tf);
	/* Interrupts will come from an emulated device (a local APIC), not
	 * only from wisp-vmm: the program must run with IF visibly set. */
	void (*allow_device_interrupts)(void);
	/* The kernel takes timer ticks as NMIs (TRAP_NMI, WISP_HC_TIMER_NMI),
	 * which the host delivers whatever the IF flag and wherever the CPU is. */
	bool timer_nmi;
};

extern const struct cpu_ops *cpu;
extern const struct cpu_ops ring0_cpu_ops, pvm_cpu_ops;

extern uint64_t cpu_kstack_top;
extern uint32_t boot_start_info_pa;
extern bool cpu_has_fsgsbase;
/* Interrupts (bit = vector - TRAP_FIRST_IRQ) that arrived while the kernel
 * ran: only a PVM-style host delivers those (pvm_entry.S). */
extern uint64_t cpu_deferred_irqs;
/* NMIs taken (the timer's: pvm_entry.S), for /proc/interrupts. */
extern uint64_t cpu_nmis;

void arch_init_ring0(uint32_t start_info_pa);
/* Finds out how the host runs the kernel and picks the cpu ops. */
void arch_init_native(void);
/* Points every IDT gate at its handler; exceptions (vectors below
 * TRAP_FIRST_IRQ) run on IST stack ist_exceptions, interrupts on
 * ist_interrupts; 0 keeps the current stack. */
void cpu_set_gates(const uint64_t *handlers, int ist_exceptions, int ist_interrupts);
void cpu_set_gate(int vec, uint64_t handler, int ist, int dpl);
/* Opens or closes port I/O from code running at CPL 3 (TSS I/O bitmap). */
void cpu_allow_ports(bool allow);
/* The stack of IDT gates with this IST index (1-7). */
void cpu_set_trap_stack(int ist, uint64_t top);
/* Fills the TSS words from IST 4 on, which IST 7's top follows as the rsp
 * word, so that they read as an iretq frame {rip, cs, rflags, rsp, ss}:
 * one whose rsp moves with IST 7 (pvm_entry.S, the NMI stub). IST 4-6 are
 * then no stacks. */
void cpu_set_nmi_frame(uint64_t rip, uint64_t cs, uint64_t rflags, uint64_t ss);
/* Where entries from user mode (syscall, exceptions) put their frame. */
void cpu_set_kernel_stack(uint64_t top);

static inline void cpu_set_fs_base(uint64_t base)
{
	cpu->set_fs_base(base);
}

/* The kernel never uses x87/SSE, so the live registers are the user's. */
static inline void fpu_save(uint8_t *area)
{
	asm volatile("fxsave64 %0" : "=m"(*(uint8_t(*)[512])area));
}

static inline void fpu_restore(const uint8_t *area)
{
	asm volatile("fxrstor64 %0" : : "m"(*(const uint8_t(*)[512])area));
}

#endif
