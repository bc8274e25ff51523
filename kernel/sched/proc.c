/* proc.c: the process table (one program per VM today). */
#include "kernel.h"
#include "platform.h"
#include "mm/kmalloc.h"
#include "sched/proc.h"

static struct proc *running;  /* per CPU once there are several */
static int next_pid = 1;

struct proc *current(void)
{
	return running;
}

void proc_set_current(struct proc *p)
{
	running = p;
}

struct proc *proc_create(void)
{
	struct proc *p = kzalloc(sizeof(*p));

	if (!p)
		return NULL;
	p->pid = next_pid++;
	p->pgid = p->sid = p->pid;
	p->umask = 022;
	return p;
}

_Noreturn void proc_exit(int status)
{
	platform->exit(status & 0xff, 0, 0);
}

_Noreturn void proc_kill(int sig, uint64_t fault_addr)
{
	platform->exit(128 + sig, sig, fault_addr);
}
