/* kick_guest.S: the guest of bench/host/kick.c, as data. kick.c copies the
 * bytes from kick_guest to kick_guest_end into guest memory and starts the
 * vCPU at kick_guest in 64-bit ring 0; the code is position independent.
 *
 * Registers from the VMM:
 *   rsp  the ring-0 stack (also the user stack: nothing is pushed there)
 *   rsi  guest address of the kick counter, which the VMM increments each
 *        time its timer signal made KVM_RUN return
 *   rdi  guest address of the gap array (r12 entries of 8 bytes)
 *   r9   gap threshold in TSC cycles
 *   r12  how many kicks to record
 *   r14  guest address of the trap array (r15 entries of 8 bytes)
 *   r15  how many int3 round trips to time first
 * It ends with ud2; every IDT vector but 2 and 3 points at kick_guest_halt,
 * whose port write the VMM sees as KVM_EXIT_IO (a hlt would wait in KVM's
 * local APIC), and reads r11 (gaps recorded). Vector 3 is kick_guest_iret;
 * vector 2, an NMI from KVM's local APIC timer, is kick_guest_nmi, which
 * moves the kick counter itself. */
	.section .rodata
	.code64
	.globl kick_guest, kick_guest_halt, kick_guest_iret, kick_guest_nmi, kick_guest_end

	.set USER_CS, 0x33
	.set USER_DS, 0x2b
	.set RFLAGS_IF, 0x202
	.set KICK_DONE_PORT, 0x80

kick_guest:
	/* Straight to ring 3: on a PVM-style host ring-0 code is emulated, so
	 * a loop there would not measure anything. */
	pushq $USER_DS
	pushq %rsp
	pushq $RFLAGS_IF
	pushq $USER_CS
	leaq kick_guest_user(%rip), %rax
	pushq %rax
	iretq

/* Times r15 round trips int3 -> ring-0 handler (iretq alone) -> here: the
 * least any guest kernel pays for a trap on this host. */
kick_guest_user:
	xorl %r11d, %r11d
2:	cmpq %r15, %r11
	jae kick_guest_spin
	rdtsc
	shlq $32, %rdx
	orq %rdx, %rax
	movq %rax, %r8
	int3
	rdtsc
	shlq $32, %rdx
	orq %rdx, %rax
	subq %r8, %rax
	movq %rax, (%r14,%r11,8)
	incq %r11
	jmp 2b

/* Spins reading the TSC. A gap over r9 cycles during which the kick counter
 * moved is one kick, recorded; other gaps are the host's own and skipped. */
kick_guest_spin:
	xorl %r11d, %r11d
	movq (%rsi), %r13
	rdtsc
	shlq $32, %rdx
	orq %rdx, %rax
	movq %rax, %r8
1:	rdtsc
	shlq $32, %rdx
	orq %rdx, %rax
	movq %rax, %rcx
	subq %r8, %rcx
	movq %rax, %r8
	cmpq %r9, %rcx
	jb 1b
	movq (%rsi), %rax
	cmpq %r13, %rax
	je 1b
	movq %rax, %r13
	movq %rcx, (%rdi,%r11,8)
	incq %r11
	cmpq %r12, %r11
	jb 1b
	ud2

kick_guest_iret:
	iretq

kick_guest_nmi:
	incq (%rsi)
	iretq

kick_guest_halt:
	outb %al, $KICK_DONE_PORT
	jmp kick_guest_halt
kick_guest_end:

	.section .note.GNU-stack, "", @progbits
