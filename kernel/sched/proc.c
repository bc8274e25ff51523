/* proc.c: processes: creation, the family tree, exit and reaping. */
#include "kernel.h"
#include "fs/vfs.h"
#include "lib/string.h"
#include "mm/kmalloc.h"
#include "mm/vm.h"
#include "platform.h"
#include "arch/x86_64/trap.h"
#include "sched/proc.h"
#include "syscalls/signal.h"

#define PROC_HASH 64

static struct proc *by_pid[PROC_HASH];  /* chained by hash_next */
static int next_pid = 1;

struct proc *current(void)
{
	return current_task()->proc;
}

struct proc *proc_find(int pid)
{
	struct proc *p = by_pid[pid % PROC_HASH];

	while (p && p->pid != pid)
		p = p->hash_next;
	return p;
}

struct proc *proc_next(const struct proc *p)
{
	unsigned b = p ? (unsigned)p->pid % PROC_HASH + 1 : 0;

	if (p && p->hash_next)
		return p->hash_next;
	for (; b < PROC_HASH; b++)
		if (by_pid[b])
			return by_pid[b];
	return NULL;
}

struct task *task_find(int tid)
{
	for (struct proc *p = proc_next(NULL); p; p = proc_next(p))
		for (struct task *t = p->threads; t; t = t->proc_next)
			if (t->tid == tid)
				return t;
	return NULL;
}

/* Process and thread ids share one space, as on Linux. */
int proc_alloc_id(void)
{
	int id;

	do
		id = next_pid++;
	while (proc_find(id));
	return id;
}

struct proc *proc_create(struct proc *parent)
{
	struct proc *p = kzalloc(sizeof(*p));

	if (!p)
		return NULL;
	p->pid = proc_alloc_id();
	p->hash_next = by_pid[p->pid % PROC_HASH];
	by_pid[p->pid % PROC_HASH] = p;
	p->umask = 022;
	p->pgid = p->sid = p->pid;
	if (parent) {
		p->parent = parent;
		p->ppid = parent->pid;
		p->pgid = parent->pgid;
		p->sid = parent->sid;
		p->umask = parent->umask;
		p->sibling = parent->children;
		parent->children = p;
	}
	return p;
}

static void unhash(struct proc *p)
{
	for (struct proc **pp = &by_pid[p->pid % PROC_HASH]; *pp; pp = &(*pp)->hash_next) {
		if (*pp == p) {
			*pp = p->hash_next;
			return;
		}
	}
}

static void unlink_child(struct proc *p)
{
	for (struct proc **pp = &p->parent->children; *pp; pp = &(*pp)->sibling) {
		if (*pp == p) {
			*pp = p->sibling;
			return;
		}
	}
}

void proc_release_vfork(struct proc *p)
{
	if (p->vfork_parent) {
		p->vfork_parent = NULL;
		sched_wakeup(&p->vfork_parent);
	}
}

/* Orphans go to the first process, as they would go to init. */
static void reparent_children(struct proc *p)
{
	struct proc *init = proc_find(1);

	while (p->children) {
		struct proc *c = p->children;

		p->children = c->sibling;
		c->parent = init;
		c->ppid = init ? 1 : 0;
		if (init) {
			c->sibling = init->children;
			init->children = c;
		}
	}
}

/* Ends the VM the way the first process ended (its status is wisp's). */
static _Noreturn void end_vm(int wait_status, uint64_t fault_addr)
{
	int sig = wait_status & 0x7f;

	/* Unmounting: what the program wrote reaches its disks. */
	if (current()->mm)
		vm_sync(current()->mm, 0, USER_SPACE_END);
	ext2_unmount_all();
	if (sig)
		platform->exit(128 + sig, sig, fault_addr);
	platform->exit((wait_status >> 8) & 0xff, 0, 0);
}

/* The process's last thread is gone: release what it holds and leave the
 * exit status for the parent. */
static _Noreturn void become_zombie(struct proc *p, int wait_status)
{
	proc_release_vfork(p);
	fdtable_destroy(p->files);
	p->files = NULL;
	inode_put(p->cwd);
	p->cwd = NULL;
	vm_release(p->mm);
	p->mm = NULL;
	reparent_children(p);
	p->wait_status = wait_status;
	p->zombie = true;
	signal_child_exited(p);
	if (p->parent && signal_child_autoreap(p->parent)) {
		unlink_child(p);  /* freed with its last task, see task_free */
		p->parent = NULL;
	}
	if (p->parent)
		sched_wakeup(p->parent);
	sched_exit_task();
}

/* Ends every thread of the process but the caller. A sleeping thread can't
 * just be freed: its kernel stack holds state linked elsewhere (futex
 * queues). So each is woken and ends itself on its way back to user mode
 * (proc_before_user); only never-started threads are freed here. */
static struct task *other_thread(struct proc *p, struct task *self)
{
	for (struct task *t = p->threads; t; t = t->proc_next)
		if (t != self)
			return t;
	return NULL;
}

static void stop_other_threads(struct proc *p)
{
	struct task *self = current_task(), *t;

	p->exiting = true;
	while ((t = other_thread(p, self))) {
		if (t->state == TASK_NEW) {
			task_destroy(t);
			continue;
		}
		for (; t; t = t->proc_next)
			if (t != self)
				sched_interrupt(t);
		sched_sleep(&p->threads, 0);
	}
}

void proc_single_thread(struct proc *p)
{
	stop_other_threads(p);
	p->exiting = false;
}

void proc_before_user(void)
{
	struct task *t = current_task();

	trap_run_deferred();
	ext2_write_back_old();
	if (t->proc->exiting) {
		task_unlink(t);
		sched_wakeup(&t->proc->threads);
		sched_exit_task();
	}
	signal_deliver(t->tf);
	sched_arm_timer();
}

static _Noreturn void exit_with(int wait_status, uint64_t fault_addr)
{
	struct proc *p = current();

	if (p->pid == 1)
		end_vm(wait_status, fault_addr);
	stop_other_threads(p);
	task_unlink(current_task());
	become_zombie(p, wait_status);
}

_Noreturn void proc_exit(int status)
{
	exit_with((status & 0xff) << 8, 0);
}

_Noreturn void proc_kill(int sig, uint64_t fault_addr)
{
	exit_with(sig, fault_addr);
}

void proc_free(struct proc *p)
{
	unhash(p);
	signal_proc_free(p);
	kfree(p->exe_path);
	kfree(p);
}

void proc_reap(struct proc *p)
{
	unlink_child(p);
	proc_free(p);
}
