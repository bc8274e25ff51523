/* trap.c: CPU exceptions: demand paging, and signals for faulting programs. */
#include "kernel.h"
#include "arch/x86_64/cpu.h"
#include "arch/x86_64/trap.h"
#include "arch/x86_64/x86.h"
#include "fs/vfs.h"
#include "mm/vm.h"
#include "sched/proc.h"
#include "sched/sched.h"
#include "syscalls/signal.h"
#include <linux/signal.h>

#define PF_WRITE (1u << 1)
#define PF_USER (1u << 2)
#define PF_FETCH (1u << 4)

/* The signal, si_code and si_addr Linux sends for an exception in user
 * mode (arch/x86/kernel/traps.c). */
static void fault_signal(const struct trapframe *tf, int *sig, int *code,
			 uint64_t *addr)
{
	*addr = tf->rip;
	switch (tf->vector) {
	case 0: *sig = SIGFPE; *code = FPE_INTDIV; return;
	case 1: *sig = SIGTRAP; *code = TRAP_BRKPT; return;
	case 6: *sig = SIGILL; *code = ILL_ILLOPN; return;
	case 16: case 19: *sig = SIGFPE; *code = FPE_FLTINV; return;
	case 17: *sig = SIGBUS; *code = BUS_ADRALN; return;
	case 3: *sig = SIGTRAP; break;
	case 11: case 12: *sig = SIGBUS; break;
	default: *sig = SIGSEGV; break;
	}
	*code = SI_KERNEL;
	*addr = 0;
}

static void user_fault(struct trapframe *tf)
{
	int sig, code;
	uint64_t addr;

	fault_signal(tf, &sig, &code, &addr);
	signal_fault(tf, sig, code, addr);
}

static bool from_user(const struct trapframe *tf)
{
	return cpu->from_user(tf);
}

static void page_fault(struct trapframe *tf)
{
	uint64_t addr = cpu->fault_addr();
	struct proc *p = current();
	int err = -EFAULT;

	if (p && addr < USER_SPACE_END) {
		err = vm_fault(p->mm, addr, tf->error & PF_WRITE, tf->error & PF_FETCH);
		/* Dirty file data, once on its disk, leaves pages that can go. */
		if (err == -ENOMEM && from_user(tf) && ext2_write_back_dirty())
			err = vm_fault(p->mm, addr, tf->error & PF_WRITE, tf->error & PF_FETCH);
		if (!err)
			return;
	}
	if (!from_user(tf))
		panic("page fault at 0x%lx in the kernel (rip 0x%lx, error 0x%lx)",
		      addr, tf->rip, tf->error);
	if (err == -ENOMEM) {
		/* A valid access with no memory left: what Linux's OOM killer does. */
		kprintf("out of guest memory: killing pid %d (try a larger --mem)", p->pid);
		proc_kill(SIGKILL, 0);
	}
	signal_fault(tf, SIGSEGV, err == -EACCES ? SEGV_ACCERR : SEGV_MAPERR, addr);
}

void trap_run_deferred(void)
{
	uint64_t irqs = cpu_deferred_irqs;

	cpu_deferred_irqs = 0;
	if (irqs & (1UL << (TRAP_TIMER - TRAP_FIRST_IRQ)))
		sched_timer_interrupt(true);
}

void trap_dispatch(struct trapframe *tf)
{
	if (tf->vector == 14)
		page_fault(tf);
	else if (tf->vector == TRAP_TIMER || tf->vector == TRAP_NMI)
		sched_timer_interrupt(from_user(tf));
	else if (tf->vector >= TRAP_FIRST_IRQ)
		; /* spurious: no other interrupt is enabled */
	else if (!from_user(tf))
		panic("exception %lu in the kernel (rip 0x%lx, error 0x%lx)",
		      tf->vector, tf->rip, tf->error);
	else
		user_fault(tf);
	if (from_user(tf))
		proc_before_user();
}
