/* proc.h: processes: address space, open files, working directory. */
#ifndef SCHED_PROC_H
#define SCHED_PROC_H

#include "kernel.h"
#include "arch/x86_64/trap.h"

struct mm;
struct fdtable;
struct inode;

struct proc {
	int pid, ppid, pgid, sid;
	struct mm *mm;
	struct fdtable *files;
	struct inode *cwd;
	unsigned umask;
	uint64_t fs_base;
	uint64_t clear_child_tid;
	uint64_t sigmask;
	struct sigaction_k *sigactions;  /* 64 entries, see syscalls/signal.c */
	char *exe_path;  /* guest path of the running program */
	struct trapframe *tf;  /* user registers saved at the last kernel entry */
};

/* The process running on this CPU. */
struct proc *current(void);
void proc_set_current(struct proc *p);
struct proc *proc_create(void);
/* Ends the whole program: reports status (or the fatal signal) to the host. */
_Noreturn void proc_exit(int status);
_Noreturn void proc_kill(int sig, uint64_t fault_addr);

#endif
