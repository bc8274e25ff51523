/* sched.h: tasks (threads of a process), the run queue, sleeping and waking.
 *
 * One vCPU today; the kernel is never preempted: a task runs until it
 * blocks in the kernel, yields or exits. Nothing here uses interrupts, so
 * idling is a host sleep (see PLATFORM.md: no hlt after boot).
 */
#ifndef SCHED_SCHED_H
#define SCHED_SCHED_H

#include "kernel.h"
#include "arch/x86_64/trap.h"

struct proc;
struct sigqueue;

enum task_state { TASK_NEW, TASK_RUNNABLE, TASK_SLEEPING, TASK_DEAD };

#define KSTACK_SIZE (16 * 1024)

struct task {
	int tid;
	struct proc *proc;
	enum task_state state;
	const void *wait_chan;      /* what a sleeping task waits for */
	uint64_t wake_at_ns;        /* monotonic deadline of a sleep, 0 if none */
	long wake_result;           /* what sched_sleep returns */
	char *kstack;               /* KSTACK_SIZE bytes */
	uint64_t ctx_rsp;           /* kernel stack pointer while switched out */
	struct trapframe *tf;       /* user registers, at the top of kstack */
	uint64_t fs_base;
	char comm[16];              /* name: program basename or PR_SET_NAME */
	uint64_t clear_child_tid;   /* CLONE_CHILD_CLEARTID / set_tid_address */
	struct task *run_next;      /* run queue or sleep list */
	struct task *proc_next;     /* threads of the same process */
	/* Signals (syscalls/signal.c); all zero is a valid initial state. */
	uint64_t sigmask;           /* blocked signals, bit sig-1 */
	uint64_t sigpending;        /* signals sent to this thread */
	uint64_t sigsaved;          /* mask to restore, if sigsaved_valid */
	uint64_t sigwaiting;        /* what rt_sigtimedwait waits for */
	bool sigsaved_valid;        /* sigsuspend/ppoll set a temporary mask */
	int ss_flags;               /* sigaltstack: SS_AUTODISARM */
	uint64_t ss_sp, ss_size;    /* sigaltstack; ss_size 0: disabled */
	struct sigqueue *sigq;      /* siginfo of signals in sigpending */
	uint8_t fpu[512] __attribute__((aligned(16))); /* fxsave area */
};

/* The task running on this CPU. */
struct task *current_task(void);
/* A task of p with its own kernel stack, whose user registers start as a
 * copy of tf (or zero); not yet runnable. */
struct task *task_create(struct proc *p, const struct trapframe *tf);
/* Removes t from its process and frees it; t must not be running. */
void task_destroy(struct task *t);
/* Removes the running task from its process before it exits. */
void task_unlink(struct task *t);
/* Makes a new or sleeping task runnable. */
void sched_wake_task(struct task *t);
/* Makes t the running task while the kernel still runs on its boot stack. */
void sched_set_first(struct task *t);
/* Enters user mode in the running task; never returns. */
_Noreturn void sched_start(void);
/* Lets other runnable tasks run; returns when this one is picked again. */
void sched_yield(void);
/* Blocks until sched_wakeup(chan), the monotonic deadline (0: none), or a
 * signal (sched_interrupt). Returns 0, -ETIMEDOUT or -EINTR. */
long sched_sleep(const void *chan, uint64_t deadline_ns);
/* Wakes every task sleeping on chan. */
void sched_wakeup(const void *chan);
/* Wakes t with -EINTR if it sleeps: a signal arrived for it. */
void sched_interrupt(struct task *t);
/* Before returning to user mode: sets the platform timer for the next slice
 * end or sleep deadline, or cancels it when nothing is due (tickless). */
void sched_arm_timer(void);
/* The timer fired: wakes sleepers whose time has come and preempts a task
 * interrupted in user mode if another one can run. */
void sched_timer_interrupt(bool from_user);
/* How many firings of the platform timer the scheduler has taken. */
uint64_t sched_timer_ticks(void);
/* For kernel code waiting in the host: wakes sleepers whose time has come,
 * lets the runnable tasks run, and re-arms the timer. */
void sched_preempt_point(void);
/* The current task ends; switches away for good. */
_Noreturn void sched_exit_task(void);

#endif
