/* cpu.h: per-CPU state set up at boot. */
#ifndef ARCH_CPU_H
#define ARCH_CPU_H

#include <stdint.h>

extern uint64_t cpu_kstack_top;
extern uint32_t boot_start_info_pa;

void arch_init_ring0(uint32_t start_info_pa);
/* Sets the user TLS base (arch_prctl ARCH_SET_FS). */
void cpu_set_fs_base(uint64_t base);

#endif
