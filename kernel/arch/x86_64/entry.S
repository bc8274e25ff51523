/* entry.S: kernel entry from user mode (syscall, exceptions) and the return
 * to user mode with iretq (sysret faults on this project's KVM host). */
#include "arch/x86_64/x86.h"
#include "arch/x86_64/regs.h"

#define TRAP_SYSCALL 0x100


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
	/* rsp: a whole trapframe. */
	.globl trap_restore, trap_restore_user, trap_restore_user_end
trap_restore:
	cmpq $0, TF_RIP(%rsp)
	js trap_restore_kernel
	/* An interrupt noted while the kernel ran after proc_before_user took
	 * the last ones (pvm_entry.S) is taken before user mode. One that
	 * comes after this check starts the return again from
	 * cpu_restore_tf (pvm_nmi_kernel). */
	mov %rsp, cpu_restore_tf(%rip)
	cmpq $0, cpu_deferred_irqs(%rip)
	jne trap_restore_deferred
trap_restore_user:
	POP_REGS
	add $16, %rsp           /* vector, error */
	cmpb $0, cpu_iret_ring0(%rip)
	jne pvm_iret
	iretq
trap_restore_user_end:

trap_restore_kernel:
	POP_REGS
	add $16, %rsp
	iretq

trap_restore_deferred:
	call proc_before_user
	jmp trap_restore

trap_common:
	PUSH_REGS
	/* With a whole trapframe at rsp (also reached from pvm_entry.S). */
	.globl trap_handle
trap_handle:
	cld
	mov %rsp, %rdi
	call trap_dispatch
	jmp trap_restore

/* Exceptions 0-31 and interrupts 32-47 (TRAP_VECTORS), on a kernel that
 * runs in ring 0; pvm_entry.S has the stubs for a PVM-style host. */
.macro TRAP_STUB vec
	.p2align 4
trap_stub_\vec:
	PUSH_ZERO_ERROR \vec
	push $\vec
	jmp trap_common
.endm

.macro TRAP_STUB_ADDR vec
	.quad trap_stub_\vec
.endm

	FOR_EACH_VECTOR TRAP_STUB

	.section .rodata
	.globl trap_stubs
	.p2align 3
trap_stubs:
	FOR_EACH_VECTOR TRAP_STUB_ADDR

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
