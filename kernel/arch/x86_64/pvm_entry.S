/* pvm_entry.S: trap entry on a PVM-style host, which delivers every
 * exception and interrupt into emulated ring 0 (~1 us an instruction) but
 * runs the kernel natively once it is back in hardware ring 3.
 *
 * So the ring-0 stubs do only what needs ring 0 (read CR2; load CR3, flush
 * a page or return to user mode with interrupts on, for the native kernel,
 * which #GPs at pvm_*_site) and iretq at once to trap_native, in hardware
 * ring 3, which does the real work.
 * They run on an IST stack (pvm.c), so the stack is known whether the
 * trap came from the program or the kernel: IST 1 for exceptions, IST 2
 * for interrupts. This host delivers interrupts whatever the IF flag, so
 * one can arrive while the kernel runs, even in trap_native before it has
 * moved the frame off IST 1; the stub then only notes it in
 * cpu_deferred_irqs, and the kernel takes it before it returns to user
 * mode (trap_run_deferred).
 */
#include "arch/x86_64/x86.h"
#include "arch/x86_64/regs.h"

.macro PVM_STUB vec
	.p2align 4
pvm_stub_\vec:
	PUSH_ZERO_ERROR \vec
	.if \vec == 13
	cmpq $pvm_cr3_site, 8(%rsp)
	je pvm_do_cr3
	cmpq $pvm_invlpg_site, 8(%rsp)
	je pvm_do_invlpg
	cmpq $pvm_iret_site, 8(%rsp)
	je pvm_do_iret
	.endif
	.if \vec == 14
	push %rax
	mov %cr2, %rax
	mov %rax, pvm_fault_addr(%rip)
	pop %rax
	.endif
	.if \vec >= 32
	cmpq $0, 8(%rsp)
	js 1f                   /* the kernel was running: later */
	.endif
	push $\vec
	/* A frame that resumes trap_native with the IF flag clear (the kernel
	 * is not interruptible) and rsp just above this frame. */
	push $USER_DS
	push %rsp
	push $0x2
	push $USER_CS
	push $trap_native
	iretq
	.if \vec >= 32
1:	orq $(1 << (\vec - 32)), cpu_deferred_irqs(%rip)
	add $8, %rsp
	iretq
	.endif
.endm

.macro PVM_STUB_ADDR vec
	.quad pvm_stub_\vec
.endm

	.text
	FOR_EACH_VECTOR PVM_STUB

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

	/* Native, on the IST stack: rsp -> the SS slot of the frame above,
	 * then vector, error and the CPU's frame. Builds a trapframe and moves
	 * it to the task's kernel stack (a trap from user mode) or below the
	 * interrupted kernel's stack pointer, so the IST stack is free again
	 * before anything can trap. */
trap_native:
	add $8, %rsp
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
