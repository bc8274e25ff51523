/* signal.c: signal dispositions, the signal mask, the alternate stack and
 * pending signals. Handlers are recorded but not run yet; a signal whose
 * action is the fatal default ends the program. */
#include "syscalls/signal.h"
#include "syscalls/syscall.h"
#include "sched/proc.h"
#include "mm/uaccess.h"
#include "mm/kmalloc.h"
#include <linux/signal.h>

#define H_DFL 0
#define H_IGN 1
#define BIT(sig) (1ULL << ((sig) - 1))
#define UNBLOCKABLE (BIT(SIGKILL) | BIT(SIGSTOP))

/* One single-threaded process per VM for now, so these need no home in
 * struct proc yet; move them there with fork. */
static uint64_t pending;
static stack_t altstack = { .ss_flags = SS_DISABLE };

/* Default action "ignore"; the stop signals count too, as there is no job
 * control to stop or continue the program. */
static bool default_ignored(int sig)
{
	switch (sig) {
	case SIGCHLD: case SIGURG: case SIGWINCH: case SIGCONT:
	case SIGSTOP: case SIGTSTP: case SIGTTIN: case SIGTTOU:
		return true;
	}
	return false;
}

bool signal_is_fatal_default(int sig)
{
	return sig >= 1 && sig <= NSIG_K && !default_ignored(sig);
}

const struct sigaction_k *signal_action(int sig)
{
	struct proc *p = current();

	return p->sigactions ? &p->sigactions[sig - 1] : NULL;
}

static uint64_t handler_of(int sig)
{
	const struct sigaction_k *a = signal_action(sig);

	return a ? a->handler : H_DFL;
}

static bool is_ignored(int sig)
{
	uint64_t h = handler_of(sig);

	return h == H_IGN || (h == H_DFL && default_ignored(sig));
}

/* Acts on an unblocked signal now. */
static void deliver(int sig)
{
	static uint64_t warned;

	if (is_ignored(sig))
		return;
	if (handler_of(sig) == H_DFL)
		proc_kill(sig, 0);
	if (!(warned & BIT(sig))) {
		warned |= BIT(sig);
		kprintf("signal %d has a handler, which wisp does not run yet; "
			"ignoring it", sig);
	}
}

/* Delivers signals that an unmask has made deliverable. */
static void deliver_pending(void)
{
	uint64_t ready = pending & ~current()->sigmask;
	int sig;

	for (sig = 1; ready; sig++) {
		if (!(ready & BIT(sig)))
			continue;
		ready &= ~BIT(sig);
		pending &= ~BIT(sig);
		deliver(sig);
	}
}

long signal_send_self(int sig)
{
	if (sig == 0)
		return 0;
	if (sig < 0 || sig > NSIG_K)
		return -EINVAL;
	/* A blocked signal waits even if ignored now: the action may change
	 * before it is unblocked (as on Linux). */
	if (current()->sigmask & BIT(sig) & ~UNBLOCKABLE)
		pending |= BIT(sig);
	else
		deliver(sig);
	return 0;
}

void signal_exec_reset(void)
{
	struct sigaction_k *a = current()->sigactions;
	int i;

	for (i = 0; a && i < NSIG_K; i++)
		if (a[i].handler != H_IGN)
			a[i] = (struct sigaction_k){ 0 };
	altstack = (stack_t){ .ss_flags = SS_DISABLE };
}

static long sys_rt_sigaction(int sig, const struct sigaction_k *uact,
			     struct sigaction_k *uoact, size_t setsize)
{
	struct proc *p = current();
	struct sigaction_k act;

	if (setsize != sizeof(uint64_t) || sig < 1 || sig > NSIG_K)
		return -EINVAL;
	if (uact && (sig == SIGKILL || sig == SIGSTOP))
		return -EINVAL;
	/* Read before writing: act and oact may be the same buffer. */
	if (uact && copy_from_user(&act, uact, sizeof(act)))
		return -EFAULT;
	if (!p->sigactions) {
		p->sigactions = kzalloc(NSIG_K * sizeof(*p->sigactions));
		if (!p->sigactions)
			return -ENOMEM;
	}
	if (uoact && copy_to_user(uoact, &p->sigactions[sig - 1], sizeof(act)))
		return -EFAULT;
	if (uact) {
		act.mask &= ~UNBLOCKABLE;
		p->sigactions[sig - 1] = act;
		if (is_ignored(sig))
			pending &= ~BIT(sig);
	}
	return 0;
}
SYSCALL(rt_sigaction, sys_rt_sigaction, "dppu");

static long sys_rt_sigprocmask(int how, const uint64_t *uset, uint64_t *uoset,
			       size_t setsize)
{
	struct proc *p = current();
	uint64_t old = p->sigmask, set, mask = old;

	if (setsize != sizeof(uint64_t))
		return -EINVAL;
	if (uset) {
		if (copy_from_user(&set, uset, sizeof(set)))
			return -EFAULT;
		if (how == SIG_BLOCK)
			mask |= set;
		else if (how == SIG_UNBLOCK)
			mask &= ~set;
		else if (how == SIG_SETMASK)
			mask = set;
		else
			return -EINVAL;
	}
	if (uoset && copy_to_user(uoset, &old, sizeof(old)))
		return -EFAULT;
	p->sigmask = mask & ~UNBLOCKABLE;
	deliver_pending();
	return 0;
}
SYSCALL(rt_sigprocmask, sys_rt_sigprocmask, "dppu");

static long sys_sigaltstack(const stack_t *uss, stack_t *uoss)
{
	stack_t ss, old = altstack;
	int mode;

	if (uss) {
		if (copy_from_user(&ss, uss, sizeof(ss)))
			return -EFAULT;
		mode = ss.ss_flags & ~SS_FLAG_BITS;
		if (mode != 0 && mode != SS_ONSTACK && mode != SS_DISABLE)
			return -EINVAL;
		if (mode == SS_DISABLE) {
			ss.ss_sp = NULL;
			ss.ss_size = 0;
		} else if (ss.ss_size < MINSIGSTKSZ) {
			return -ENOMEM;
		} else {
			/* SS_ONSTACK on input just means "enable". */
			ss.ss_flags &= SS_FLAG_BITS;
		}
	}
	if (uoss && copy_to_user(uoss, &old, sizeof(old)))
		return -EFAULT;
	if (uss)
		altstack = ss;
	return 0;
}
SYSCALL(sigaltstack, sys_sigaltstack, "pp");

static long sys_rt_sigpending(uint64_t *uset, size_t setsize)
{
	uint64_t set = pending & current()->sigmask;

	if (setsize > sizeof(set))
		return -EINVAL;
	return copy_to_user(uset, &set, setsize) ? -EFAULT : 0;
}
SYSCALL(rt_sigpending, sys_rt_sigpending, "pu");
