/* regs.h (assembly only): saving the general registers in the layout of
 * struct trapframe (trap.h). */
#ifndef ARCH_REGS_H
#define ARCH_REGS_H

#define TF_VECTOR (15 * 8) /* offsets in struct trapframe */
#define TF_RIP (17 * 8)
#define TF_RSP (20 * 8)
#define TF_WORDS 22

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

/* The vectors for which the CPU pushes an error code. */
#define HAS_ERROR_CODE(v) \
	((v) == 8 || ((v) >= 10 && (v) <= 14) || (v) == 17 || (v) == 21 || (v) == 29 || (v) == 30)

/* Exceptions without a CPU error code get a zero in its place. */
.macro PUSH_ZERO_ERROR vec
	.if !HAS_ERROR_CODE(\vec)
	push $0
	.endif
.endm

/* Expands m once per IDT vector (TRAP_VECTORS in trap.h). */
.macro FOR_EACH_VECTOR m
	.irp vec, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31,32,33,34,35,36,37,38,39,40,41,42,43,44,45,46,47
	\m \vec
	.endr
.endm

#endif
