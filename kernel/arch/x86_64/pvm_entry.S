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
 *
 * The timer comes as an NMI (WISP_HC_TIMER_NMI, KVM's in-kernel local
 * APIC), which can also arrive in the kernel, in a ring-0 stub, and while
 * the last NMI's handler has not yet taken its frame off its stack: an NMI
 * is blocked only until the stub's iretq, and one that came meanwhile is
 * delivered at the first native instruction. So each NMI has a level of
 * IST 7 of its own: the stub lowers IST 7 by PVM_NMI_LEVEL before anything
 * else, the handler gives the level back once its frame is elsewhere, and
 * the stub's iretq frame lies in the TSS with IST 7 as its rsp word
 * (cpu_set_nmi_frame), so it always resumes the handler on the level just
 * taken (three instructions in ring 0). From user mode an NMI is a tick
 * like vector 32; in the kernel it is noted in cpu_deferred_irqs, and the
 * interrupted code, native or ring 0, is resumed through a ring-0 iretq
 * (pvm_nmi_kernel).
 */
#include "arch/x86_64/x86.h"
#include "arch/x86_64/regs.h"

#define PVM_TRAP_STACK_SIZE 4096

/* Where the CPU's frame for an interrupt starts on its IST stack. */
#define PVM_IRQ_FRAME (pvm_interrupt_stack_top - 40)

/* NMIs: IST 7 in levels, one per NMI being handled. A level holds, from
 * its top, its NMI's CPU frame, its handler's stack (~180 bytes) and, in
 * its lowest 40 bytes, the resume frame of the NMI one level deeper. */
#define PVM_NMI_LEVEL 512
#define PVM_NMI_LEVELS 8
#define PVM_NMI_STACK_SIZE (PVM_NMI_LEVEL * PVM_NMI_LEVELS)
#define TRAP_NMI 2
#define TIMER_IRQ_BIT 1         /* TRAP_TIMER - TRAP_FIRST_IRQ */

.macro PVM_STUB vec
	.if \vec == 2
	.p2align 4
pvm_stub_2:
	subq $PVM_NMI_LEVEL, cpu_tss+TSS_IST7(%rip)
	lea cpu_tss+TSS_NMI_FRAME(%rip), %rsp
	iretq
	.else
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
	.endif
.endm

.macro PVM_NATIVE vec
	.if \vec != 2
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
	.endif
.endm

/* rsp: the CPU's frame, error code included, on the vector's IST stack. */
.macro PVM_FRAME vec
	.if \vec != 2
pvm_frame_\vec:
	.quad pvm_native_\vec, USER_CS, 0x2
	.if \vec == PVM_RESUME_VECTOR
	.quad pvm_resume_stack_top - 40
	.elseif \vec >= 32
	.quad PVM_IRQ_FRAME
	.elseif HAS_ERROR_CODE(\vec)
	.quad pvm_exception_stack_top - 48
	.else
	.quad pvm_exception_stack_top - 40
	.endif
	.quad USER_DS
	.endif
.endm

.macro PVM_STUB_ADDR vec
	.if \vec == PVM_RESUME_VECTOR
	.quad pvm_resume_stub
	.else
	.quad pvm_stub_\vec
	.endif
.endm

	.text
	FOR_EACH_VECTOR PVM_STUB
	FOR_EACH_VECTOR PVM_NATIVE

	/* The NMI stub's iretq lands here, natively, with rsp at the level of
	 * IST 7 it took; the CPU's frame is at the top of the level above. */
	.globl pvm_nmi_native
pvm_nmi_native:
	lea (PVM_NMI_LEVEL - 40)(%rsp), %rsp
	incq cpu_nmis(%rip)
	cmpq $pvm_nmi_stack, cpu_tss+TSS_IST7(%rip)
	jbe pvm_nmi_too_deep
	cmpq $0, (%rsp)
	js pvm_nmi_kernel       /* rip in the upper half: the kernel */
	push $0
	push $TRAP_NMI
	jmp trap_native         /* which gives the level back */

	/* The kernel was running, natively or in ring 0; rsp at the CPU's
	 * frame, the 40 bytes above it this level's resume frame. */
pvm_nmi_kernel:
	orq $TIMER_IRQ_BIT, cpu_deferred_irqs(%rip)
	/* Leaving for user mode past its check of cpu_deferred_irqs: start
	 * that return again. */
	cmpq $trap_restore_user, (%rsp)
	jb 1f
	cmpq $trap_restore_user_end, (%rsp)
	jae 1f
	movq $trap_restore, (%rsp)
	pushq cpu_restore_tf(%rip)
	popq 24(%rsp)
1:	/* Resuming already (below): the frame to go back to is in place. */
	cmpq $pvm_nmi_resume, (%rsp)
	jb 2f
	cmpq $pvm_nmi_resume_end, (%rsp)
	jb 3f
2:	pushq 32(%rsp)          /* the CPU's frame to the resume frame */
	popq 72(%rsp)
	pushq 24(%rsp)
	popq 64(%rsp)
	pushq 16(%rsp)
	popq 56(%rsp)
	pushq 8(%rsp)
	popq 48(%rsp)
	pushq (%rsp)
	popq 40(%rsp)
3:	addq $PVM_NMI_LEVEL, cpu_tss+TSS_IST7(%rip)
	/* With the level given back, IST 7's top is the resume frame. An NMI
	 * from here on takes the same level and comes back here through 3. */
pvm_nmi_resume:
	/* icebp: the #DB it raises needs no gate privilege, which `int $n`
	 * from the native kernel does (the host answers it with #UD). */
	.byte 0xf1
	/* The #DB gate, in ring 0 on IST 3 of its own (the interrupted code
	 * may be a stub on IST 1). A #DB from anywhere else is a #DB (a
	 * program's, as an NMI here could overwrite its frame). */
pvm_resume_stub:
	cmpq $pvm_resume_stub, (%rsp)
	jne pvm_stub_1
	mov cpu_tss+TSS_IST7(%rip), %rsp
	iretq
pvm_nmi_resume_end:

pvm_nmi_too_deep:
	mov cpu_kstack_top(%rip), %rsp
	call pvm_nmi_overflow

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
	cmpq $TRAP_NMI, TF_VECTOR(%rsp)
	jne trap_handle
	/* Its frame is off IST 7: the next NMI may have the level. */
	addq $PVM_NMI_LEVEL, cpu_tss+TSS_IST7(%rip)
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
	.skip PVM_TRAP_STACK_SIZE
	.globl pvm_resume_stack_top
pvm_resume_stack_top:
	/* The lowest level's resume frame sits just above its CPU frame, so
	 * the top of the levels is 40 bytes below the end. */
pvm_nmi_stack:
	.skip PVM_NMI_STACK_SIZE
	.globl pvm_nmi_stack_top
pvm_nmi_stack_top:
	.skip 40
