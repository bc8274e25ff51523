/* signal.c: signal dispositions, masks, pending queues, delivery to handlers, kill and the signal syscalls. */
#include "syscalls/signal.h"
#include "syscalls/syscall.h"
#include "arch/x86_64/sigframe.h"
#include "arch/x86_64/trap.h"
#include "sched/proc.h"
#include "sched/sched.h"
#include "clock.h"
#include "fs/poll.h"
#include "lib/string.h"
#include "mm/uaccess.h"
#include "mm/kmalloc.h"
#include <linux/fcntl.h>
#include <linux/signal.h>
#include <linux/time_types.h>

#define H_DFL 0
#define H_IGN 1
#define BIT(sig) (1ULL << ((sig) - 1))
#define UNBLOCKABLE (BIT(SIGKILL) | BIT(SIGSTOP))
/* Faults first, as Linux dequeues them: their handler must see the
 * faulting context. */
#define SYNCHRONOUS (BIT(SIGSEGV) | BIT(SIGBUS) | BIT(SIGILL) | BIT(SIGTRAP) | \
		     BIT(SIGFPE) | BIT(SIGSYS))
#define RED_ZONE 128            /* below rsp, the interrupted code's */
#define QUEUE_MAX 1024          /* queued real-time signals per list */
#define NSEC_PER_SEC 1000000000ULL

/* The siginfo of one pending signal. Standard signals (below SIGRTMIN)
 * are pending at most once; real-time ones queue. */
struct sigqueue {
	struct sigqueue *next;
	siginfo_t info;
};

/* A pending set and the queue of its siginfo: a thread's or a process's. */
struct pending {
	uint64_t *set;
	struct sigqueue **q;
};

static struct pending task_pending(struct task *t)
{
	return (struct pending){ &t->sigpending, &t->sigq };
}

static struct pending proc_pending(struct proc *p)
{
	return (struct pending){ &p->sigpending, &p->sigq };
}

/* ---- dispositions ---- */

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

static const struct sigaction_k *action_of(const struct proc *p, int sig)
{
	return p->sigactions ? &p->sigactions[sig - 1] : NULL;
}

const struct sigaction_k *signal_action(int sig)
{
	return action_of(current(), sig);
}

static uint64_t handler_of(const struct proc *p, int sig)
{
	const struct sigaction_k *a = action_of(p, sig);

	return a ? a->handler : H_DFL;
}

static bool is_ignored(const struct proc *p, int sig)
{
	uint64_t h = handler_of(p, sig);

	return h == H_IGN || (h == H_DFL && default_ignored(sig));
}

/* ---- pending sets ---- */

static int queued(const struct pending pd)
{
	int n = 0;

	for (struct sigqueue *e = *pd.q; e; e = e->next)
		n++;
	return n;
}

/* Adds info->si_signo. Returns 0, or -EAGAIN when a real-time signal
 * can't be queued. */
static int enqueue(struct pending pd, const siginfo_t *info)
{
	int sig = info->si_signo;
	struct sigqueue *e, **tail;

	if (sig < SIGRTMIN && (*pd.set & BIT(sig)))
		return 0;  /* standard signals don't queue */
	e = sig < SIGRTMIN || queued(pd) < QUEUE_MAX ? kmalloc(sizeof(*e)) : NULL;
	if (!e && sig >= SIGRTMIN)
		return -EAGAIN;
	/* Out of memory, a standard signal is still sent, without its info. */
	if (e) {
		e->next = NULL;
		e->info = *info;
		for (tail = pd.q; *tail; tail = &(*tail)->next)
			;
		*tail = e;
	}
	*pd.set |= BIT(sig);
	return 0;
}

/* Takes the oldest instance of sig (which must be pending) into *info. */
static void dequeue(struct pending pd, int sig, siginfo_t *info)
{
	struct sigqueue **pp, *e;
	bool more = false, found = false;

	for (pp = pd.q; (e = *pp);) {
		if (e->info.si_signo != sig || found) {
			more |= e->info.si_signo == sig;
			pp = &e->next;
			continue;
		}
		*info = e->info;
		*pp = e->next;
		kfree(e);
		found = true;
	}
	if (!found) {
		memset(info, 0, sizeof(*info));
		info->si_signo = sig;
		info->si_code = SI_KERNEL;
	}
	if (!more)
		*pd.set &= ~BIT(sig);
}

static void discard(struct pending pd, int sig)
{
	siginfo_t info;

	while (*pd.set & BIT(sig))
		dequeue(pd, sig, &info);
}

static void free_queue(struct pending pd)
{
	while (*pd.q) {
		struct sigqueue *e = *pd.q;

		*pd.q = e->next;
		kfree(e);
	}
	*pd.set = 0;
}

/* The signal to take next from set, faults first, else the lowest. */
static int pick(uint64_t set)
{
	if (set & SYNCHRONOUS)
		set &= SYNCHRONOUS;
	return set ? __builtin_ctzll(set) + 1 : 0;
}

/* Takes the next signal of want pending for t (its own first, then its
 * process's) into *info; 0 if none. */
static int take(struct task *t, uint64_t want, siginfo_t *info)
{
	int sig = pick(t->sigpending & want);

	if (sig) {
		dequeue(task_pending(t), sig, info);
		return sig;
	}
	sig = pick(t->proc->sigpending & want);
	if (sig)
		dequeue(proc_pending(t->proc), sig, info);
	return sig;
}

bool signal_pending(const struct task *t)
{
	return (t->sigpending | t->proc->sigpending) & ~t->sigmask;
}

/* ---- sending ---- */

static bool wants(const struct task *t, int sig)
{
	return !(t->sigmask & BIT(sig)) || (t->sigwaiting & BIT(sig));
}

/* A process-directed signal is pending: wakes a thread that will take it,
 * preferably the current one (sched_interrupt does nothing to a running
 * task, which sees the signal on its way out; but the idle loop firing a
 * timer runs as the task that went to sleep). False if no thread wants it. */
static bool wake_for_process(struct proc *p, int sig)
{
	struct task *self = current_task(), *t;

	if (self && self->proc == p && wants(self, sig)) {
		sched_interrupt(self);
		return true;
	}
	for (t = p->threads; t; t = t->proc_next) {
		if (wants(t, sig)) {
			sched_interrupt(t);
			return true;
		}
	}
	return false;
}

/* Sends info to p, or only to its thread t if t is not NULL. */
static int send(struct proc *p, struct task *t, const siginfo_t *info)
{
	int sig = info->si_signo, err;
	struct task *target = t ? t : p->threads;
	bool woken;

	if (sig == 0 || p->zombie || !target)
		return 0;
	/* A blocked signal waits even if ignored now: the action may change
	 * before it is unblocked (as on Linux). */
	if (is_ignored(p, sig) && !(target->sigmask & BIT(sig)) &&
	    !(target->sigwaiting & BIT(sig)))
		return 0;
	err = enqueue(t ? task_pending(t) : proc_pending(p), info);
	if (err)
		return err;
	if (!t)
		woken = wake_for_process(p, sig);
	else if ((woken = wants(t, sig)))
		sched_interrupt(t);
	/* A signal no thread takes now stays pending: signalfd readers and
	 * pollers may be waiting for it. */
	if (!woken)
		poll_notify();
	return 0;
}

static siginfo_t kernel_info(int sig)
{
	siginfo_t info;

	memset(&info, 0, sizeof(info));
	info.si_signo = sig;
	info.si_code = SI_KERNEL;
	return info;
}

/* As kill(2) or tkill(2) from the calling process fill it in. */
static siginfo_t user_info(int sig, int code)
{
	siginfo_t info = kernel_info(sig);

	info.si_code = code;
	info.si_pid = current()->pid;
	info.si_uid = 0;
	return info;
}

void signal_send(struct proc *p, int sig)
{
	siginfo_t info = kernel_info(sig);

	send(p, NULL, &info);
}

void signal_send_task(struct task *t, int sig)
{
	siginfo_t info = kernel_info(sig);

	send(t->proc, t, &info);
}

long signal_send_self(int sig)
{
	struct task *t = current_task();
	siginfo_t info = user_info(sig, SI_USER);

	if (sig < 0 || sig > NSIG_K)
		return -EINVAL;
	return send(t->proc, t, &info);
}

void signal_child_exited(struct proc *child)
{
	int status = child->wait_status;
	siginfo_t info = kernel_info(SIGCHLD);

	if (!child->parent)
		return;
	info.si_pid = child->pid;
	info.si_uid = 0;
	if (status & 0x7f) {
		info.si_code = status & 0x80 ? CLD_DUMPED : CLD_KILLED;
		info.si_status = status & 0x7f;
	} else {
		info.si_code = CLD_EXITED;
		info.si_status = (status >> 8) & 0xff;
	}
	send(child->parent, NULL, &info);
}

bool signal_child_autoreap(struct proc *parent)
{
	const struct sigaction_k *a = action_of(parent, SIGCHLD);

	return a && (a->handler == H_IGN || (a->flags & SA_NOCLDWAIT));
}

/* ---- delivery ---- */

static bool on_altstack(const struct task *t, uint64_t sp)
{
	/* An SS_AUTODISARM stack is disarmed while its handler runs, so
	 * "on it" never holds (Linux's on_sig_stack()). */
	if (t->ss_flags & SS_AUTODISARM)
		return false;
	return t->ss_size && sp > t->ss_sp && sp - t->ss_sp <= t->ss_size;
}

/* sigaltstack's view of the alternate stack, from user stack pointer sp. */
static stack_t altstack_of(const struct task *t, uint64_t sp)
{
	stack_t ss = { (void *)t->ss_sp, 0, t->ss_size };

	ss.ss_flags = !t->ss_size ? SS_DISABLE : on_altstack(t, sp) ? SS_ONSTACK : 0;
	ss.ss_flags |= t->ss_flags;
	return ss;
}

/* The stack a handler frame goes on: the alternate one for SA_ONSTACK
 * handlers unless already on it; else below the red zone. */
static void frame_stack(const struct task *t, const struct trapframe *tf,
			uint64_t flags, struct sigframe_args *fa)
{
	bool on = on_altstack(t, tf->rsp);

	fa->sp = tf->rsp - RED_ZONE;
	fa->sp_limit = on ? t->ss_sp : 0;
	if ((flags & SA_ONSTACK) && t->ss_size && !on) {
		fa->sp = t->ss_sp + t->ss_size;
		fa->sp_limit = t->ss_sp;
	}
	fa->uc_stack = altstack_of(t, tf->rsp);
}

/* Sets up the frame of handler a for sig and switches to the handler's
 * mask; a frame that can't be written kills with SIGSEGV, as on Linux. */
static void run_handler(struct trapframe *tf, int sig,
			const siginfo_t *info, uint64_t trapno, uint64_t err,
			uint64_t cr2)
{
	struct task *t = current_task();
	struct sigaction_k *slot = &t->proc->sigactions[sig - 1];
	struct sigaction_k a = *slot;
	struct sigframe_args fa = {
		.sig = sig, .handler = a.handler, .restorer = a.restorer,
		.saved_mask = t->sigsaved_valid ? t->sigsaved : t->sigmask,
		.trapno = trapno, .err = err, .cr2 = cr2, .info = info,
	};

	if (!(a.flags & SA_RESTORER))
		fa.restorer = 0;
	frame_stack(t, tf, a.flags, &fa);
	if (sigframe_setup(tf, &fa))
		proc_kill(SIGSEGV, 0);
	if (t->ss_flags & SS_AUTODISARM)
		t->ss_sp = t->ss_size = t->ss_flags = 0;
	/* The frame holds the mask to go back to; sigsuspend's is spent. */
	t->sigsaved_valid = false;
	t->sigmask |= a.mask | (a.flags & SA_NODEFER ? 0 : BIT(sig));
	t->sigmask &= ~UNBLOCKABLE;
	if (a.flags & SA_RESETHAND)
		slot->handler = H_DFL;
}

/* Syscalls Linux never restarts after a handler ran, SA_RESTART or not
 * (signal(7)): waiting for signals, multiplexing, sleeping, System V IPC,
 * and futex waits with a timeout. */
static bool never_restarted(const struct trapframe *tf)
{
	switch (tf->error) {
	case __NR_pause: case __NR_rt_sigsuspend: case __NR_rt_sigtimedwait:
	case __NR_nanosleep: case __NR_clock_nanosleep:
	case __NR_poll: case __NR_ppoll: case __NR_select: case __NR_pselect6:
	case __NR_epoll_wait: case __NR_epoll_pwait: case __NR_epoll_pwait2:
	case __NR_io_getevents: case __NR_io_pgetevents:
	case __NR_msgrcv: case __NR_msgsnd: case __NR_semop: case __NR_semtimedop:
		return true;
	case __NR_futex:
		return tf->r10 != 0;  /* the timeout argument */
	}
	return false;
}

/* Makes the interrupted syscall run again on return: back over the
 * 2-byte `syscall` instruction, with its number in rax again. */
static void restart_syscall(struct trapframe *tf)
{
	tf->rip -= 2;
	tf->rax = tf->error;
}

static void restore_saved_mask(struct task *t)
{
	if (t->sigsaved_valid) {
		t->sigmask = t->sigsaved;
		t->sigsaved_valid = false;
	}
}

void signal_deliver(struct trapframe *tf)
{
	struct task *t = current_task();
	struct proc *p = t->proc;
	/* A syscall that returned -EINTR was interrupted by a signal: with a
	 * handler it fails or restarts (SA_RESTART); without one (the signal
	 * was ignored or taken by another thread) it restarts, as Linux's
	 * ERESTART* codes do. rt_sigreturn's frame has error -1. */
	bool intr = tf->vector == TRAP_SYSCALL && (int64_t)tf->error >= 0 &&
		    (long)tf->rax == -EINTR;
	siginfo_t info;
	int sig;

	signal_check_timers();
	/* A call that used a temporary mask and wasn't interrupted puts the
	 * old mask back before anything is delivered (Linux's ppoll). */
	if (!intr)
		restore_saved_mask(t);
	while ((sig = take(t, ~t->sigmask, &info))) {
		if (is_ignored(p, sig))
			continue;
		if (handler_of(p, sig) == H_DFL)
			proc_kill(sig, 0);
		if (intr && !never_restarted(tf) &&
		    (action_of(p, sig)->flags & SA_RESTART))
			restart_syscall(tf);
		intr = false;
		run_handler(tf, sig, &info, 0, 0, 0);
	}
	if (intr)
		restart_syscall(tf);
	restore_saved_mask(t);
}

void signal_fault(struct trapframe *tf, int sig, int code, uint64_t addr)
{
	struct task *t = current_task();
	uint64_t h = handler_of(t->proc, sig);
	siginfo_t info = kernel_info(sig);

	/* The faulting instruction would only fault again. */
	if ((t->sigmask & BIT(sig)) || h == H_DFL || h == H_IGN)
		proc_kill(sig, addr);
	info.si_code = code;
	info.si_addr = (void *)addr;
	run_handler(tf, sig, &info, tf->vector, tf->error,
		    tf->vector == 14 ? addr : 0);
}

static long sys_rt_sigreturn(void)
{
	struct task *t = current_task();
	struct trapframe *tf = t->tf;
	uint64_t mask;
	stack_t ss;

	if (sigframe_restore(tf, &mask, &ss))
		proc_kill(SIGSEGV, 0);
	t->sigmask = mask & ~UNBLOCKABLE;
	/* Errors are ignored, as on Linux: e.g. still on the stack. */
	if (!on_altstack(t, tf->rsp)) {
		int mode = ss.ss_flags & ~SS_FLAG_BITS;

		if (mode == SS_DISABLE || ss.ss_size == 0) {
			t->ss_sp = t->ss_size = t->ss_flags = 0;
		} else if (ss.ss_size >= MINSIGSTKSZ) {
			t->ss_sp = (uint64_t)ss.ss_sp;
			t->ss_size = ss.ss_size;
			t->ss_flags = ss.ss_flags & SS_FLAG_BITS;
		}
	}
	/* Not a syscall frame any more: the restored rax is no error and
	 * signal_deliver must not restart anything. */
	tf->error = (uint64_t)-1;
	return tf->rax;
}
SYSCALL(rt_sigreturn, sys_rt_sigreturn, "");

/* ---- dispositions and masks ---- */

/* POSIX: making a signal ignored discards it where pending, blocked or not. */
static void discard_everywhere(struct proc *p, int sig)
{
	discard(proc_pending(p), sig);
	for (struct task *t = p->threads; t; t = t->proc_next)
		discard(task_pending(t), sig);
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
		if (is_ignored(p, sig))
			discard_everywhere(p, sig);
	}
	return 0;
}
SYSCALL(rt_sigaction, sys_rt_sigaction, "dppu");

/* t now blocks more signals: process-directed ones pending for those may
 * need another thread to take them (Linux's retarget_shared_pending). */
static void retarget(struct task *t, uint64_t newly_blocked)
{
	uint64_t left = newly_blocked & t->proc->sigpending;

	while (left) {
		int sig = pick(left);

		left &= ~BIT(sig);
		wake_for_process(t->proc, sig);
	}
}

static long sys_rt_sigprocmask(int how, const uint64_t *uset, uint64_t *uoset,
			       size_t setsize)
{
	struct task *t = current_task();
	uint64_t old = t->sigmask, set, mask = old;

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
	t->sigmask = mask & ~UNBLOCKABLE;
	retarget(t, t->sigmask & ~old);
	return 0;
}
SYSCALL(rt_sigprocmask, sys_rt_sigprocmask, "dppu");

static long sys_rt_sigpending(uint64_t *uset, size_t setsize)
{
	struct task *t = current_task();
	uint64_t set = (t->sigpending | t->proc->sigpending) & t->sigmask;

	if (setsize > sizeof(set))
		return -EINVAL;
	return copy_to_user(uset, &set, setsize) ? -EFAULT : 0;
}
SYSCALL(rt_sigpending, sys_rt_sigpending, "pu");

static long sys_sigaltstack(const stack_t *uss, stack_t *uoss)
{
	struct task *t = current_task();
	uint64_t sp = t->tf->rsp;
	stack_t ss, old = altstack_of(t, sp);
	int mode;

	if (uss) {
		if (copy_from_user(&ss, uss, sizeof(ss)))
			return -EFAULT;
		if (on_altstack(t, sp))
			return -EPERM;
		mode = ss.ss_flags & ~SS_FLAG_BITS;
		if (mode != 0 && mode != SS_ONSTACK && mode != SS_DISABLE)
			return -EINVAL;
		if (mode != SS_DISABLE && ss.ss_size < MINSIGSTKSZ)
			return -ENOMEM;
	}
	if (uoss && copy_to_user(uoss, &old, sizeof(old)))
		return -EFAULT;
	if (uss && mode == SS_DISABLE) {
		t->ss_sp = t->ss_size = t->ss_flags = 0;
	} else if (uss) {
		/* SS_ONSTACK on input just means "enable". */
		t->ss_sp = (uint64_t)ss.ss_sp;
		t->ss_size = ss.ss_size;
		t->ss_flags = ss.ss_flags & SS_FLAG_BITS;
	}
	return 0;
}
SYSCALL(sigaltstack, sys_sigaltstack, "pp");

/* ---- waiting for signals ---- */

void signal_set_temporary_mask(uint64_t mask)
{
	struct task *t = current_task();

	if (!t->sigsaved_valid) {
		t->sigsaved = t->sigmask;
		t->sigsaved_valid = true;
	}
	t->sigmask = mask & ~UNBLOCKABLE;
}

/* Sleeps until a signal is there to act on; only sched_interrupt wakes
 * the channel. */
static long wait_for_signal(void)
{
	struct task *t = current_task();

	while (!signal_pending(t))
		sched_sleep(&t->sigpending, 0);
	return -EINTR;
}

static long sys_pause(void)
{
	return wait_for_signal();
}
SYSCALL(pause, sys_pause, "");

static long sys_rt_sigsuspend(const uint64_t *umask, size_t setsize)
{
	uint64_t mask;

	if (setsize != sizeof(mask))
		return -EINVAL;
	if (copy_from_user(&mask, umask, sizeof(mask)))
		return -EFAULT;
	/* The handler's frame saves the old mask, so it comes back when the
	 * handler returns (signal_deliver). */
	signal_set_temporary_mask(mask);
	return wait_for_signal();
}
SYSCALL(rt_sigsuspend, sys_rt_sigsuspend, "pu");

/* The absolute monotonic deadline of a relative timeout; 0 means "don't
 * wait", UINT64_MAX "forever" (no timeout). */
static long timeout_deadline(const struct __kernel_timespec *uts, uint64_t *deadline)
{
	struct __kernel_timespec ts;
	uint64_t ns;

	*deadline = UINT64_MAX;
	if (!uts)
		return 0;
	if (copy_from_user(&ts, uts, sizeof(ts)))
		return -EFAULT;
	if (ts.tv_sec < 0 || ts.tv_nsec < 0 || (uint64_t)ts.tv_nsec >= NSEC_PER_SEC)
		return -EINVAL;
	if ((uint64_t)ts.tv_sec >= UINT64_MAX / NSEC_PER_SEC / 2)
		return 0;
	ns = ts.tv_sec * NSEC_PER_SEC + ts.tv_nsec;
	*deadline = ns ? clock_monotonic_ns() + ns : 0;
	return 0;
}

static long sys_rt_sigtimedwait(const uint64_t *uset, siginfo_t *uinfo,
				const struct __kernel_timespec *uts,
				size_t setsize)
{
	struct task *t = current_task();
	uint64_t want, deadline;
	siginfo_t info;
	long err;
	int sig;

	if (setsize != sizeof(want))
		return -EINVAL;
	if (copy_from_user(&want, uset, sizeof(want)))
		return -EFAULT;
	err = timeout_deadline(uts, &deadline);
	if (err)
		return err;
	want &= ~UNBLOCKABLE;
	for (;;) {
		sig = take(t, want, &info);
		if (sig)
			break;
		if (err == -ETIMEDOUT || deadline == 0)
			return -EAGAIN;
		if (signal_pending(t))
			return -EINTR;  /* another signal: its handler runs */
		/* The waited-for signals stay blocked (so they aren't dropped
		 * as ignored), but senders wake us for them. */
		t->sigwaiting = want;
		err = sched_sleep(&t->sigpending,
				  deadline == UINT64_MAX ? 0 : deadline);
		t->sigwaiting = 0;
	}
	if (uinfo && copy_to_user(uinfo, &info, sizeof(info)))
		return -EFAULT;
	return sig;
}
SYSCALL(rt_sigtimedwait, sys_rt_sigtimedwait, "pppu");

/* ---- signalfd: reading signals as data (the file is fs/signalfd.c) ---- */

uint64_t signal_pending_in(uint64_t mask)
{
	struct task *t = current_task();

	return (t->sigpending | t->proc->sigpending) & mask;
}

int signal_dequeue(uint64_t mask, siginfo_t *info)
{
	return take(current_task(), mask & ~UNBLOCKABLE, info);
}

static long sys_signalfd4(int fd, const uint64_t *umask, size_t sizemask, int flags)
{
	uint64_t mask;

	if (flags & ~(O_CLOEXEC | O_NONBLOCK))
		return -EINVAL;
	if (sizemask != sizeof(mask))
		return -EINVAL;
	if (copy_from_user(&mask, umask, sizeof(mask)))
		return -EFAULT;
	return signalfd_setup(fd, mask & ~UNBLOCKABLE, flags);
}
SYSCALL(signalfd4, sys_signalfd4, "dpux");

static long sys_signalfd(int fd, const uint64_t *umask, size_t sizemask)
{
	return sys_signalfd4(fd, umask, sizemask, 0);
}
SYSCALL(signalfd, sys_signalfd, "dpu");

/* ---- kill and friends ---- */

static struct task *find_thread(const struct proc *p, int tid)
{
	struct task *t;

	for (t = p ? p->threads : NULL; t && t->tid != tid; t = t->proc_next)
		;
	return t;
}

/* Does kill(pid, ...) address p? */
static bool kill_matches(int pid, const struct proc *p)
{
	const struct proc *self = current();

	if (pid == 0)
		return p->pgid == self->pgid;
	if (pid == -1)
		return p->pid > 1 && p != self;
	return p->pgid == -pid;
}

static long kill_many(int pid, const siginfo_t *info)
{
	struct proc *p;
	bool found = false;
	long err = 0;

	for (p = proc_next(NULL); p; p = proc_next(p)) {
		if (p->zombie || !kill_matches(pid, p))
			continue;
		found = true;
		err = send(p, NULL, info) ?: err;
	}
	return found ? err : -ESRCH;
}

static long sys_kill(int pid, int sig)
{
	siginfo_t info = user_info(sig, SI_USER);
	struct proc *p;

	if (sig < 0 || sig > NSIG_K)
		return -EINVAL;
	if (pid > 0) {
		p = proc_find(pid);
		return p ? send(p, NULL, &info) : -ESRCH;
	}
	if (pid == INT32_MIN)
		return -ESRCH;
	return kill_many(pid, &info);
}
SYSCALL(kill, sys_kill, "dd");

static long send_to_thread(int tgid, int tid, const siginfo_t *info)
{
	struct task *t = tgid > 0 ? find_thread(proc_find(tgid), tid) : task_find(tid);

	return t ? send(t->proc, t, info) : -ESRCH;
}

static long sys_tgkill(int tgid, int tid, int sig)
{
	siginfo_t info = user_info(sig, SI_TKILL);

	if (tgid <= 0 || tid <= 0 || sig < 0 || sig > NSIG_K)
		return -EINVAL;
	return send_to_thread(tgid, tid, &info);
}
SYSCALL(tgkill, sys_tgkill, "ddd");

static long sys_tkill(int tid, int sig)
{
	siginfo_t info = user_info(sig, SI_TKILL);

	if (tid <= 0 || sig < 0 || sig > NSIG_K)
		return -EINVAL;
	return send_to_thread(0, tid, &info);
}
SYSCALL(tkill, sys_tkill, "dd");

/* sigqueue(3) and pthread_sigqueue(3): the caller's siginfo, which may
 * only claim to come from the kernel or kill when sent to itself. */
static long queue_info(int tgid, int tid, int sig, const siginfo_t *uinfo)
{
	siginfo_t info;
	struct proc *p;

	if (sig < 0 || sig > NSIG_K)
		return -EINVAL;
	if (copy_from_user(&info, uinfo, sizeof(info)))
		return -EFAULT;
	if ((info.si_code >= 0 || info.si_code == SI_TKILL) &&
	    tgid != current()->pid)
		return -EPERM;
	info.si_signo = sig;
	if (tid)
		return send_to_thread(tgid, tid, &info);
	p = proc_find(tgid);
	return p ? send(p, NULL, &info) : -ESRCH;
}

static long sys_rt_sigqueueinfo(int tgid, int sig, const siginfo_t *uinfo)
{
	return queue_info(tgid, 0, sig, uinfo);
}
SYSCALL(rt_sigqueueinfo, sys_rt_sigqueueinfo, "ddp");

static long sys_rt_tgsigqueueinfo(int tgid, int tid, int sig,
				  const siginfo_t *uinfo)
{
	if (tgid <= 0 || tid <= 0)
		return -EINVAL;
	return queue_info(tgid, tid, sig, uinfo);
}
SYSCALL(rt_tgsigqueueinfo, sys_rt_tgsigqueueinfo, "dddp");

/* ---- life cycle ---- */

int signal_fork(struct proc *child, const struct proc *parent)
{
	if (!parent->sigactions)
		return 0;
	child->sigactions = kmalloc(NSIG_K * sizeof(*child->sigactions));
	if (!child->sigactions)
		return -ENOMEM;
	memcpy(child->sigactions, parent->sigactions,
	       NSIG_K * sizeof(*child->sigactions));
	return 0;
}

void signal_task_init(struct task *t, const struct task *creator, bool new_thread)
{
	t->sigmask = creator->sigmask;
	t->sigpending = 0;
	t->sigq = NULL;
	t->sigsaved_valid = false;
	t->sigwaiting = 0;
	t->ss_sp = new_thread ? 0 : creator->ss_sp;
	t->ss_size = new_thread ? 0 : creator->ss_size;
	t->ss_flags = new_thread ? 0 : creator->ss_flags;
}

void signal_task_free(struct task *t)
{
	free_queue(task_pending(t));
}

void signal_proc_free(struct proc *p)
{
	free_queue(proc_pending(p));
	kfree(p->sigactions);
	p->sigactions = NULL;
}

void signal_exec_reset(void)
{
	struct task *t = current_task();
	struct sigaction_k *a = t->proc->sigactions;
	int i;

	for (i = 0; a && i < NSIG_K; i++)
		if (a[i].handler != H_IGN)
			a[i] = (struct sigaction_k){ 0 };
	t->ss_sp = t->ss_size = t->ss_flags = 0;
}
