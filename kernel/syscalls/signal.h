/* signal.h: signal sending and delivery, and the hooks the scheduler, exec, fork, exit and trap code call. */
#ifndef SYSCALLS_SIGNAL_H
#define SYSCALLS_SIGNAL_H

#include "kernel.h"

#define NSIG_K 64

struct proc;
struct task;
struct trapframe;

/* The x86-64 kernel's struct sigaction, as rt_sigaction passes it. */
struct sigaction_k {
	uint64_t handler;   /* SIG_DFL (0), SIG_IGN (1) or a user address */
	uint64_t flags;     /* SA_* */
	uint64_t restorer;  /* SA_RESTORER: the user's rt_sigreturn trampoline */
	uint64_t mask;      /* blocked while the handler runs; bit sig-1 */
};

/* True if the default action of sig ends the process (terminate or core). */
bool signal_is_fatal_default(int sig);
/* The current process's disposition of sig (1..64); NULL means SIG_DFL. */
const struct sigaction_k *signal_action(int sig);

/* ---- sending (never blocks; delivery happens on the way to user mode) ----
 * Ignored signals are dropped here unless the target blocks them. */

/* Process-directed, from the kernel (si_code SI_KERNEL): any thread that
 * doesn't block sig takes it; a sleeping one is woken with -EINTR. */
void signal_send(struct proc *p, int sig);
/* Thread-directed, from the kernel. */
void signal_send_task(struct task *t, int sig);
/* To the calling thread, as from itself (SIGPIPE). Returns 0 or -EINVAL. */
long signal_send_self(int sig);
/* SIGCHLD to child's parent with the CLD_* siginfo of child->wait_status;
 * call it once the child is a zombie. */
void signal_child_exited(struct proc *child);
/* True if parent doesn't want zombies: SIGCHLD is SIG_IGN or has
 * SA_NOCLDWAIT. The exiting child then reaps itself. */
bool signal_child_autoreap(struct proc *parent);

/* ---- waiting ---- */

/* True if t has a signal to act on: sleeping code that gets -EINTR (or
 * sees this) returns -EINTR to the syscall layer, which restarts the call
 * or runs the handler. */
bool signal_pending(const struct task *t);
/* ppoll, pselect6, epoll_pwait: block mask while the call sleeps. The old
 * mask comes back on the return to user mode, after the handler of the
 * signal that interrupted the call if there is one (as on Linux). */
void signal_set_temporary_mask(uint64_t mask);

/* ---- delivery ---- */

/* On every return to user mode (after a syscall, after an exception from
 * user mode), with the current task's frame: runs due timers, then acts on
 * pending unblocked signals (kills, drops, or sets up handler frames), and
 * restarts or fails with EINTR a syscall that returned -EINTR. */
void signal_deliver(struct trapframe *tf);
/* A fault in user mode (tf is its frame, not a syscall's): runs the
 * handler with si_code and si_addr, or kills the process if sig is
 * blocked, ignored or default, as Linux forces. Returns to the caller
 * only if a handler frame was set up. */
void signal_fault(struct trapframe *tf, int sig, int code, uint64_t addr);

/* ---- timers (timer.c): alarm and setitimer(ITIMER_REAL) ---- */

/* Sends SIGALRM for every expired timer. signal_deliver calls it; the
 * scheduler must call it after idling and on its timer interrupt. */
void signal_check_timers(void);
/* The earliest armed timer's monotonic deadline, 0 if none, and its
 * interval (0 if one-shot): the idle loop and the preemption timer must not
 * sleep past it, and with a timer armed "no task has a deadline" is no
 * deadlock. */
uint64_t signal_next_timer_ns(uint64_t *interval);

/* ---- signalfd (fs/signalfd.c) ---- */

struct siginfo;
/* The signals of mask pending for the calling thread (its own and its
 * process's), blocked or not. */
uint64_t signal_pending_in(uint64_t mask);
/* Takes the next signal of mask pending for the calling thread into *info,
 * as delivery would; returns it, or 0 if none is pending. */
int signal_dequeue(uint64_t mask, struct siginfo *info);
/* signalfd4(2) without the argument checks: a new signalfd for mask, or
 * the new mask of the signalfd fd (fd >= 0). Returns the fd or -errno. */
long signalfd_setup(int fd, uint64_t mask, int flags);

/* ---- life cycle ---- */

/* fork: the child gets a copy of the parent's dispositions. 0 or -ENOMEM. */
int signal_fork(struct proc *child, const struct proc *parent);
/* A new task created by creator: inherits its mask; a new thread of the
 * same address space (CLONE_VM without CLONE_VFORK) gets no alternate
 * stack, anything else keeps it. Nothing pending. */
void signal_task_init(struct task *t, const struct task *creator, bool new_thread);
/* Frees what signals keep for a task that ends / a process being reaped
 * (the pending queues, and the dispositions of the process). */
void signal_task_free(struct task *t);
void signal_proc_free(struct proc *p);
/* execve: caught signals revert to SIG_DFL (their handlers are gone with
 * the old image) and the alternate stack is dropped; ignored signals, the
 * mask and pending signals stay, as on Linux. */
void signal_exec_reset(void);

#endif
