/* trap.c: CPU exceptions: demand paging, and signals for faulting programs. */
#include "kernel.h"
#include "arch/x86_64/trap.h"
#include "arch/x86_64/x86.h"
#include "mm/vm.h"
#include "sched/proc.h"
#include "sched/sched.h"
#include <asm/signal.h>

#define PF_WRITE (1u << 1)
#define PF_USER (1u << 2)
#define PF_FETCH (1u << 4)

static int signal_for_vector(uint64_t vector)
{
	switch (vector) {
	case 0: case 16: case 19:
		return SIGFPE;
	case 1: case 3:
		return SIGTRAP;
	case 6:
		return SIGILL;
	case 17:
		return SIGBUS;
	default:
		return SIGSEGV;
	}
}

static bool from_user(const struct trapframe *tf)
{
	return (tf->cs & 3) == 3;
}

static void page_fault(struct trapframe *tf)
{
	uint64_t addr = read_cr2();
	struct proc *p = current();

	if (p && addr < USER_SPACE_END &&
	    vm_fault(p->mm, addr, tf->error & PF_WRITE, tf->error & PF_FETCH) == 0)
		return;
	if (!from_user(tf))
		panic("page fault at 0x%lx in the kernel (rip 0x%lx, error 0x%lx)",
		      addr, tf->rip, tf->error);
	proc_kill(SIGSEGV, addr);
}

void trap_dispatch(struct trapframe *tf)
{
	if (tf->vector == 14)
		page_fault(tf);
	else if (tf->vector == TRAP_TIMER)
		sched_timer_interrupt(from_user(tf));
	else if (tf->vector >= 32)
		; /* spurious: no other interrupt is enabled */
	else if (!from_user(tf))
		panic("exception %lu in the kernel (rip 0x%lx, error 0x%lx)",
		      tf->vector, tf->rip, tf->error);
	else
		proc_kill(signal_for_vector(tf->vector), tf->vector == 13 ? 0 : tf->rip);
	if (from_user(tf))
		proc_before_user();
}
