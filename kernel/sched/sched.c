/* sched.c: the run queue, blocking and waking, and switching between tasks. */
#include "kernel.h"
#include "arch/x86_64/cpu.h"
#include "arch/x86_64/paging.h"
#include "arch/x86_64/trap.h"
#include "clock.h"
#include "fs/vfs.h"
#include "lib/string.h"
#include "mm/kmalloc.h"
#include "mm/page.h"
#include "mm/vm.h"
#include "platform.h"
#include "sched/proc.h"
#include "sched/sched.h"
#include "syscalls/signal.h"
#include <wisp/abi.h>

extern void context_switch(uint64_t *save_rsp, uint64_t new_rsp);
extern void task_enter_user(void);

#define TIME_SLICE_NS 10000000ULL  /* 10 ms, while other tasks wait */

/* Per CPU once there are several. */
static struct task *running;
static uint64_t slice_end;   /* when the running task should yield */
/* When the platform timer fires next (0: not armed) and its period (0:
 * once). A periodic timer is followed here as it ticks, so that a deadline
 * which falls on its next tick needs no new request to the platform. */
static uint64_t timer_next, timer_period;
/* The period of the deadline it was armed for (timer_period may be 0 for
 * a first tick far off: sched_arm_timer). */
static uint64_t deadline_period;
static uint64_t timer_ticks;  /* firings taken, for /proc/interrupts */
static struct task *runq_head, *runq_tail;
static struct task *sleepers;
static struct task *dead;  /* freed once we are off its stack */

struct task *current_task(void)
{
	return running;
}

static void runq_push(struct task *t)
{
	t->run_next = NULL;
	if (runq_tail)
		runq_tail->run_next = t;
	else
		runq_head = t;
	runq_tail = t;
}

static struct task *runq_pop(void)
{
	struct task *t = runq_head;

	if (t) {
		runq_head = t->run_next;
		if (!runq_head)
			runq_tail = NULL;
	}
	return t;
}

static uint64_t kstack_top(const struct task *t)
{
	return (uint64_t)t->kstack + KSTACK_SIZE;
}

struct task *task_create(struct proc *p, const struct trapframe *tf)
{
	struct task *t = kzalloc(sizeof(*t));
	uint64_t *sp;

	if (!t)
		return NULL;
	t->kstack = page_alloc_n(KSTACK_SIZE / PAGE_SIZE);
	if (!t->kstack) {
		kfree(t);
		return NULL;
	}
	t->tid = p->threads ? proc_alloc_id() : p->pid;
	t->proc = p;
	t->state = TASK_NEW;
	t->tf = (struct trapframe *)kstack_top(t) - 1;
	if (tf)
		*t->tf = *tf;
	/* The frame context_switch pops: six callee-saved registers, then the
	 * return into task_enter_user, which restores the trapframe. */
	sp = (uint64_t *)t->tf;
	*--sp = (uint64_t)task_enter_user;
	for (int i = 0; i < 6; i++)
		*--sp = 0;
	t->ctx_rsp = (uint64_t)sp;
	fpu_save(t->fpu);
	t->proc_next = p->threads;
	p->threads = t;
	return t;
}

static void task_free(struct task *t)
{
	struct proc *p = t->proc;

	signal_task_free(t);
	page_free_n(t->kstack, KSTACK_SIZE / PAGE_SIZE);
	kfree(t);
	if (p->zombie && !p->parent && !p->threads)
		proc_free(p);  /* reaped at exit: no parent collects it */
}

void task_unlink(struct task *t)
{
	for (struct task **pp = &t->proc->threads; *pp; pp = &(*pp)->proc_next) {
		if (*pp == t) {
			*pp = t->proc_next;
			return;
		}
	}
}

static void runq_remove(struct task *t)
{
	struct task *prev = NULL;

	for (struct task *q = runq_head; q; prev = q, q = q->run_next) {
		if (q != t)
			continue;
		if (prev)
			prev->run_next = q->run_next;
		else
			runq_head = q->run_next;
		if (runq_tail == q)
			runq_tail = prev;
		return;
	}
}

static void sleepers_remove(struct task *t)
{
	for (struct task **pp = &sleepers; *pp; pp = &(*pp)->run_next) {
		if (*pp == t) {
			*pp = t->run_next;
			return;
		}
	}
}

void task_destroy(struct task *t)
{
	if (t->state == TASK_SLEEPING)
		sleepers_remove(t);
	else if (t->state == TASK_RUNNABLE)
		runq_remove(t);
	task_unlink(t);
	task_free(t);
}

static void wake(struct task *t, long result)
{
	sleepers_remove(t);
	t->state = TASK_RUNNABLE;
	t->wake_result = result;
	runq_push(t);
}

void sched_wake_task(struct task *t)
{
	if (t->state == TASK_SLEEPING || t->state == TASK_NEW)
		wake(t, 0);
}

void sched_wakeup(const void *chan)
{
	struct task *t = sleepers, *next;

	for (; t; t = next) {
		next = t->run_next;
		if (t->wait_chan == chan)
			wake(t, 0);
	}
}

void sched_interrupt(struct task *t)
{
	if (t->state == TASK_SLEEPING)
		wake(t, -EINTR);
}

/* Wakes the sleepers whose deadline has passed; returns the earliest
 * deadline still ahead, or 0. */
static uint64_t wake_expired(void)
{
	uint64_t now = clock_monotonic_ns(), next = 0;
	struct task *t = sleepers, *n;

	for (; t; t = n) {
		n = t->run_next;
		if (!t->wake_at_ns)
			continue;
		if (t->wake_at_ns <= now)
			wake(t, -ETIMEDOUT);
		else if (!next || t->wake_at_ns < next)
			next = t->wake_at_ns;
	}
	return next;
}

/* A slice ends on the periodic tick when one is due within a slice, so
 * that preemption keeps the timer running instead of re-arming it. */
static uint64_t slice_deadline(void)
{
	uint64_t now = clock_monotonic_ns();

	if (timer_period == TIME_SLICE_NS && timer_next > now &&
	    timer_next <= now + TIME_SLICE_NS)
		return timer_next;
	return now + TIME_SLICE_NS;
}

static void switch_to(struct task *next)
{
	struct task *prev = running;

	if (next == prev)
		return;
	fpu_save(prev->fpu);
	running = next;
	slice_end = slice_deadline();
	cpu_set_kernel_stack(kstack_top(next));
	if (next->proc->mm != prev->proc->mm)
		paging_switch(next->proc->mm->root);
	cpu_set_fs_base(next->fs_base);
	fpu_restore(next->fpu);
	context_switch(&prev->ctx_rsp, next->ctx_rsp);
	/* Back on prev's stack: whoever died before us can go now. */
	if (dead && dead != running) {
		task_free(dead);
		dead = NULL;
	}
}

/* Nothing can run: sleep in the host until the next deadline. With no
 * deadline nothing can ever wake up, so end the VM rather than hang. */
static void idle(void)
{
	uint64_t interval, next = wake_expired(), timer = signal_next_timer_ns(&interval), now;
	uint64_t write_back = ext2_write_back_old();

	if (runq_head)
		return;
	if (timer && (!next || timer < next))
		next = timer;
	if (!next && write_back)
		ext2_sync_all();  /* what the program wrote is not lost with it */
	if (!next)
		panic("every task is blocked and none has a timeout: deadlock");
	if (write_back && write_back < next)
		next = write_back;  /* an idle VM still writes its files back */
	now = clock_monotonic_ns();
	if (next > now)  /* a signal timer may be due already */
		platform->sleep_ns(next - now);
	signal_check_timers();
	wake_expired();
}

static void schedule(void)
{
	struct task *next;

	if (sleepers)
		wake_expired();
	while (!(next = runq_pop()))
		idle();
	switch_to(next);
}

void sched_yield(void)
{
	struct task *t = running;

	t->state = TASK_RUNNABLE;
	runq_push(t);
	schedule();
}

long sched_sleep(const void *chan, uint64_t deadline_ns)
{
	struct task *t = running;

	/* A signal that arrived before we got here would not wake us. */
	if (signal_pending(t))
		return -EINTR;
	t->state = TASK_SLEEPING;
	t->wait_chan = chan;
	t->wake_at_ns = deadline_ns;
	t->wake_result = 0;
	t->run_next = sleepers;
	sleepers = t;
	schedule();
	t->wait_chan = NULL;
	t->wake_at_ns = 0;
	return t->wake_result;
}

_Noreturn void sched_exit_task(void)
{
	struct task *t = running;

	t->state = TASK_DEAD;
	if (dead)
		task_free(dead);
	dead = t;
	schedule();
	panic("dead task %d was scheduled", t->tid);
}

void sched_set_first(struct task *t)
{
	running = t;
	slice_end = clock_monotonic_ns() + TIME_SLICE_NS;
	t->state = TASK_RUNNABLE;
	cpu_set_kernel_stack(kstack_top(t));
}

_Noreturn void sched_start(void)
{
	cpu_set_fs_base(running->fs_base);
	trap_return(running->tf);
}

/* The next moment the scheduler must look again: the end of this slice if
 * another task is waiting, or the earliest signal timer or sleeper's
 * deadline; 0 if none. *period is how often it recurs (0: once). */
static uint64_t next_deadline(uint64_t *period)
{
	uint64_t interval, next = runq_head ? slice_end : 0, timer = signal_next_timer_ns(&interval);

	*period = next ? TIME_SLICE_NS : 0;
	if (timer && (!next || timer < next)) {
		next = timer;
		*period = interval;
	}
	for (struct task *t = sleepers; t; t = t->run_next)
		if (t->wake_at_ns && (!next || t->wake_at_ns < next)) {
			next = t->wake_at_ns;
			*period = 0;
		}
	return next;
}

void sched_arm_timer(void)
{
	uint64_t period, next = next_deadline(&period), now;

	if (!platform->timer_arm)
		return;
	if (!platform->timer_periodic || period < WISP_TIMER_MIN_PERIOD_NS)
		period = 0;
	if (next == timer_next && (period == deadline_period || !next))
		return;
	timer_next = next;
	deadline_period = next ? period : 0;
	now = clock_monotonic_ns();
	/* A local APIC cannot count a first tick longer than its period (the
	 * NMI timer): one further off is armed once, and its tick arms the
	 * period. */
	timer_period = next > now + period ? 0 : deadline_period;
	platform->timer_arm(next ? (next > now ? next - now : 1) : 0, timer_period);
}

/* The platform timer fired: a periodic one fires next on its first tick
 * after now (several merge into one interrupt when the guest is late). */
static void timer_fired(void)
{
	uint64_t now;

	timer_ticks++;
	if (!timer_period) {
		timer_next = 0;
		return;
	}
	now = clock_monotonic_ns();
	do
		timer_next += timer_period;
	while (timer_next <= now);
}

void sched_timer_interrupt(bool from_user)
{
	platform->timer_ack();
	timer_fired();
	signal_check_timers();
	wake_expired();
	if (from_user && runq_head)
		sched_yield();
}

uint64_t sched_timer_ticks(void)
{
	return timer_ticks;
}

void sched_preempt_point(void)
{
	if (platform_timer_nmi) {
		/* The firing's NMI is the tick; it came while the kernel ran or
		 * is about to come. */
		trap_run_deferred();
		return;
	}
	timer_fired();  /* that is why we are here */
	wake_expired();
	if (runq_head)
		sched_yield();
	sched_arm_timer();
}
