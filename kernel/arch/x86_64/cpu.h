/* cpu.h: per-CPU state set up at boot. */
#ifndef ARCH_CPU_H
#define ARCH_CPU_H

#include <stdint.h>

extern uint64_t cpu_kstack_top;
extern uint32_t boot_start_info_pa;

void arch_init_ring0(uint32_t start_info_pa);
/* Sets the user TLS base (arch_prctl ARCH_SET_FS). */
void cpu_set_fs_base(uint64_t base);
/* Where entries from user mode (syscall, exceptions) put their frame. */
void cpu_set_kernel_stack(uint64_t top);

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
