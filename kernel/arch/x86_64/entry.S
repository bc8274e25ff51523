/* entry.S: kernel entry from user mode (syscall, exceptions) and the return
 * to user mode with iretq (sysret faults on this project's KVM host). */
#include "arch/x86_64/x86.h"

#define TRAP_SYSCALL 0x100

.macro PUSH_REGS
	push %rax
	push %rbx
	push %rcx
	push %rdx
	push %rsi
	push %rdi
	push %rbp
	push %r8
	push %r9
	push %r10
	push %r11
	push %r12
	push %r13
	push %r14
	push %r15
.endm

.macro POP_REGS
	pop %r15
	pop %r14
	pop %r13
	pop %r12
	pop %r11
	pop %r10
	pop %r9
	pop %r8
	pop %rbp
	pop %rdi
	pop %rsi
	pop %rdx
	pop %rcx
	pop %rbx
	pop %rax
.endm

	.text
	/* syscall: rcx = user rip, r11 = user rflags, rsp still the user's.
	 * One CPU today: the kernel stack comes from cpu_kstack_top; SMP will
	 * index it per CPU. */
	.globl syscall_entry
syscall_entry:
	mov %rsp, cpu_user_rsp(%rip)
	mov cpu_kstack_top(%rip), %rsp
	push $USER_DS
	push cpu_user_rsp(%rip)
	push %r11
	push $USER_CS
	push %rcx
	push %rax               /* error slot: the syscall number, for restarts */
	push $TRAP_SYSCALL
	PUSH_REGS
	mov %rsp, %rdi
	call syscall_entry_c
	jmp trap_restore

	.globl trap_return
trap_return:
	mov %rdi, %rsp
trap_restore:
	POP_REGS
	add $16, %rsp           /* vector, error */
	iretq

trap_common:
	PUSH_REGS
	cld
	mov %rsp, %rdi
	call trap_dispatch
	jmp trap_restore

/* Exceptions 0-31 and interrupts 32-47 (TRAP_VECTORS); those without a
 * CPU error code push a zero. */
.macro TRAP_STUB vec
	.p2align 4
trap_stub_\vec:
	.if (\vec == 8 || (\vec >= 10 && \vec <= 14) || \vec == 17 || \vec == 21 || \vec == 29 || \vec == 30)
	.else
	push $0
	.endif
	push $\vec
	jmp trap_common
.endm

	.irp vec, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31,32,33,34,35,36,37,38,39,40,41,42,43,44,45,46,47
	TRAP_STUB \vec
	.endr

	.section .rodata
	.globl trap_stubs
	.p2align 3
trap_stubs:
	.irp vec, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31,32,33,34,35,36,37,38,39,40,41,42,43,44,45,46,47
	.quad trap_stub_\vec
	.endr

	.text
	/* The last ring-0 step: iretq to a ring-3 stub that enters the kernel
	 * again with `syscall`. From then on the kernel only runs on entry from
	 * ring 3, which this project's KVM host executes natively. */
	.globl arch_enter_native
arch_enter_native:
	push $USER_DS
	lea boot_stack_top(%rip), %rax
	push %rax
	push $0x2
	push $USER_CS
	lea ring3_boot(%rip), %rax
	push %rax
	iretq
ring3_boot:
	syscall
	ud2

	/* context_switch(uint64_t *save_rsp, uint64_t new_rsp): saves the
	 * callee-saved registers on this kernel stack and resumes another. */
	.globl context_switch
context_switch:
	push %rbp
	push %rbx
	push %r12
	push %r13
	push %r14
	push %r15
	mov %rsp, (%rdi)
	mov %rsi, %rsp
	pop %r15
	pop %r14
	pop %r13
	pop %r12
	pop %rbx
	pop %rbp
	ret

	/* Where a new task starts: its stack pointer is at its trapframe. */
	.globl task_enter_user
task_enter_user:
	jmp trap_restore
