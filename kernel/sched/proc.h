/* proc.h: processes: address space, open files, working directory, family. */
#ifndef SCHED_PROC_H
#define SCHED_PROC_H

#include "kernel.h"
#include "sched/sched.h"

struct mm;
struct fdtable;
struct inode;

struct proc {
	int pid, ppid, pgid, sid;
	struct proc *parent;
	struct proc *children;      /* first child; linked by sibling */
	struct proc *sibling;
	struct task *threads;       /* linked by task->proc_next */
	struct mm *mm;
	struct fdtable *files;
	struct inode *cwd;
	unsigned umask;
	struct sigaction_k *sigactions;  /* 64 entries, see syscalls/signal.c */
	uint64_t sigpending;        /* signals sent to the process */
	struct sigqueue *sigq;      /* their siginfo, see syscalls/signal.c */
	char *exe_path;             /* guest path of the running program */
	bool zombie;
	bool exiting;               /* exit_group: the other threads end */
	int wait_status;            /* as wait4 reports it, once zombie */
	struct task *vfork_parent;  /* sleeps until this process execs or exits */
	struct proc *hash_next;     /* pid lookup */
};

/* The process of the task running on this CPU. */
struct proc *current(void);
/* The process with this pid, or NULL. */
struct proc *proc_find(int pid);
/* Every process, zombies included, in no particular order: start with
 * proc_next(NULL). */
struct proc *proc_next(const struct proc *p);
/* The live thread with this id, or NULL. */
struct task *task_find(int tid);
/* A fresh id for a process or a thread. */
int proc_alloc_id(void);
/* A new process with pid, no threads, no address space: the caller fills it. */
struct proc *proc_create(struct proc *parent);
/* Ends the current process with exit status (status & 0xff); the first
 * process ending ends the VM with it. */
_Noreturn void proc_exit(int status);
/* Ends the current process as killed by sig. */
_Noreturn void proc_kill(int sig, uint64_t fault_addr);
/* Wakes the vfork parent of p, if any: p no longer uses its memory. */
void proc_release_vfork(struct proc *p);
/* Ends every thread of p but the caller (execve). */
void proc_single_thread(struct proc *p);
/* Runs on every return to user mode: a thread of an exiting process ends
 * here. */
void proc_before_user(void);
/* Frees a zombie after its parent has collected its status. */
void proc_reap(struct proc *p);
/* Frees a process no parent will collect. */
void proc_free(struct proc *p);

#endif
