/* trap.h: the register frame saved on every kernel entry. */
#ifndef ARCH_TRAP_H
#define ARCH_TRAP_H

#include <stdint.h>

/* Layout shared with entry.S: pushed registers, then the iretq frame. */
struct trapframe {
	uint64_t r15, r14, r13, r12, r11, r10, r9, r8;
	uint64_t rbp, rdi, rsi, rdx, rcx, rbx, rax;
	uint64_t vector, error;
	uint64_t rip, cs, rflags, rsp, ss;
};

/* Frames built by syscall entry have vector TRAP_SYSCALL and the syscall
 * number in error, so an interrupted call can be restarted. */
#define TRAP_SYSCALL 0x100

#define TRAP_NMI 2           /* the timer, on a kernel with cpu_ops.timer_nmi */
#define TRAP_VECTORS 48      /* IDT entries: exceptions, then interrupts */
#define TRAP_FIRST_IRQ 32
#define TRAP_TIMER 32        /* the preemption and deadline timer */

/* Returns to user mode with the given frame; never returns. */
_Noreturn void trap_return(struct trapframe *tf);
void trap_dispatch(struct trapframe *tf);
/* Handles the interrupts that arrived while the kernel ran; call before
 * returning to user mode. */
void trap_run_deferred(void);

#endif
