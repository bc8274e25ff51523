/* pvm_entry.S: trap entry on a PVM-style host, which delivers every
 * exception and interrupt into emulated ring 0 (2-3 us an instruction
 * there, measured in the timer stub) but runs the kernel natively once it
 * is back in hardware ring 3.
 *
 * So the ring-0 stubs do only what needs ring 0 (read CR2; load CR3, flush
 * a page or return to user mode with interrupts on, for the native kernel,
 * which #GPs at pvm_*_site) and leave at once with iretq through a frame
 * built at link time (pvm_frame_N): it resumes pvm_native_N in hardware
 * ring 3, with the IF flag clear (the kernel is not interruptible) and rsp
 * at the CPU's frame. That frame is always at the same place, as each stub
 * runs on an IST stack (IST 1 for exceptions, IST 2 for interrupts) that is
 * empty when a trap arrives: two instructions in ring 0 for an interrupt.
 * pvm_native_N pushes the error slot and the vector, builds a trapframe and
 * moves it to the task's kernel stack (a trap from user mode) or below the
 * interrupted kernel's stack pointer, so the IST stack is free again before
 * anything can trap. This host delivers interrupts whatever the IF flag, so
 * one can arrive while the kernel runs, even in trap_native before it has
 * moved a frame off IST 1; pvm_native_N then only notes it in
 * cpu_deferred_irqs and returns to the kernel, which takes it before it
 * returns to user mode (trap_run_deferred).
 */
#include "arch/x86_64/x86.h"
#include "arch/x86_64/regs.h"

#define PVM_TRAP_STACK_SIZE 4096

/* Where the CPU's frame for an interrupt starts on its IST stack. */
#define PVM_IRQ_FRAME (pvm_interrupt_stack_top - 40)

.macro PVM_STUB vec
	.p2align 4
pvm_stub_\vec:
	.if \vec == 13
	cmpq $pvm_cr3_site, 8(%rsp)
	je pvm_do_cr3
	cmpq $pvm_invlpg_site, 8(%rsp)
	je pvm_do_invlpg
	cmpq $pvm_iret_site, 8(%rsp)
	je pvm_do_iret
	.endif
	.if \vec == 14
	/* rsp is the free register: the lea below sets it, and a trap in
	 * between would run on its own IST stack. */
	mov %cr2, %rsp
	mov %rsp, pvm_fault_addr(%rip)
	.endif
	lea pvm_frame_\vec(%rip), %rsp
	iretq
.endm

.macro PVM_NATIVE vec
pvm_native_\vec:
	.if \vec >= 32
	cmpq $0, PVM_IRQ_FRAME(%rip)
	js 1f                   /* the kernel was running: later */
	.endif
	PUSH_ZERO_ERROR \vec
	push $\vec
	jmp trap_native
	.if \vec >= 32
1:	orq $(1 << (\vec - 32)), cpu_deferred_irqs(%rip)
	iretq
	.endif
.endm

/* rsp: the CPU's frame, error code included, on the vector's IST stack. */
.macro PVM_FRAME vec
pvm_frame_\vec:
	.quad pvm_native_\vec, USER_CS, 0x2
	.if \vec >= 32
	.quad PVM_IRQ_FRAME
	.elseif HAS_ERROR_CODE(\vec)
	.quad pvm_exception_stack_top - 48
	.else
	.quad pvm_exception_stack_top - 40
	.endif
	.quad USER_DS
.endm

.macro PVM_STUB_ADDR vec
	.quad pvm_stub_\vec
.endm

	.text
	FOR_EACH_VECTOR PVM_STUB
	FOR_EACH_VECTOR PVM_NATIVE

	/* Where wisp-vmm enters the kernel for a tick that found the program
	 * running, with the frame written at pvm_irq_frame as the CPU would
	 * have (WISP_HC_TIMER_ENTRY): as if the ring-0 stub had run. */
	.globl pvm_timer_native, pvm_irq_frame
	.set pvm_timer_native, pvm_native_32
	.set pvm_irq_frame, PVM_IRQ_FRAME

	/* #GP at a site below: do the instruction here and skip it. */
pvm_do_cr3:
	mov %rdi, %cr3
	movq $pvm_cr3_done, 8(%rsp)
	add $8, %rsp            /* error code */
	iretq
pvm_do_invlpg:
	invlpg (%rdi)
	movq $pvm_invlpg_done, 8(%rsp)
	add $8, %rsp
	iretq

	/* The native rsp points at the user's iret frame. */
pvm_do_iret:
	mov 32(%rsp), %rsp
	orq $0x200, 16(%rsp)    /* IF */
	iretq

	/* Native, on the IST stack, rsp at the vector, then error and the
	 * CPU's frame. */
trap_native:
	PUSH_REGS
	mov %rsp, %rsi
	mov TF_RIP(%rsp), %rax
	test %rax, %rax
	js 1f                   /* rip in the upper half: the kernel */
	mov cpu_kstack_top(%rip), %rdi
	jmp 2f
1:	mov TF_RSP(%rsp), %rdi
	and $~15, %rdi
2:	sub $(TF_WORDS * 8), %rdi
	mov %rdi, %rdx
	mov $TF_WORDS, %ecx
	cld
	rep movsq
	mov %rdx, %rsp
	jmp trap_handle

	/* Called natively; each instruction #GPs and pvm_do_* does it. */
	.globl pvm_write_cr3
pvm_write_cr3:
pvm_cr3_site:
	mov %rdi, %cr3
pvm_cr3_done:
	ret

	.globl pvm_invlpg
pvm_invlpg:
pvm_invlpg_site:
	invlpg (%rdi)
pvm_invlpg_done:
	ret

	/* Returns to user mode through pvm_do_iret, with rsp at the iret
	 * frame (trap_restore, when cpu_iret_ring0 is set). */
	.globl pvm_iret
pvm_iret:
pvm_iret_site:
	hlt

	.section .rodata
	.globl pvm_stubs
	.p2align 3
pvm_stubs:
	FOR_EACH_VECTOR PVM_STUB_ADDR
	FOR_EACH_VECTOR PVM_FRAME

	.bss
	.p2align 4
	.skip PVM_TRAP_STACK_SIZE
	.globl pvm_exception_stack_top
pvm_exception_stack_top:
	.skip PVM_TRAP_STACK_SIZE
	.globl pvm_interrupt_stack_top
pvm_interrupt_stack_top:
