/* sigframe.h: the x86-64 signal frame (struct rt_sigframe) on the user stack. */
#ifndef ARCH_SIGFRAME_H
#define ARCH_SIGFRAME_H

#include "kernel.h"
#include "arch/x86_64/trap.h"
#include <linux/signal.h>

/* What a handler frame records besides the registers in the trapframe. */
struct sigframe_args {
	int sig;
	uint64_t handler, restorer;
	uint64_t sp;            /* build the frame below this address */
	uint64_t sp_limit;      /* lowest address it may use (0: none) */
	uint64_t saved_mask;    /* uc_sigmask and oldmask: restored by sigreturn */
	stack_t uc_stack;       /* the alternate stack as it was */
	uint64_t trapno, err, cr2;
	const siginfo_t *info;
};

/* Writes the frame and points tf at the handler, which starts with a clean
 * FPU state. Returns 0 or -EFAULT (the frame did not fit or fault in). */
int sigframe_setup(struct trapframe *tf, const struct sigframe_args *a);
/* rt_sigreturn: reloads tf and the FPU from the frame the handler returned
 * through, and gives the mask and alternate stack it recorded. Returns 0 or
 * -EFAULT. */
int sigframe_restore(struct trapframe *tf, uint64_t *mask, stack_t *uc_stack);

#endif
