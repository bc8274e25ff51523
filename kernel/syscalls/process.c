/* process.c: process identity (pids, credentials, groups, sessions), exit,
 * and prctl names. */
#include "syscalls/syscall.h"
#include "syscalls/signal.h"
#include "sched/proc.h"
#include "mm/uaccess.h"
#include "lib/string.h"
#include <linux/prctl.h>

static long sys_getpid(void) { return current()->pid; }
SYSCALL(getpid, sys_getpid, "");
static long sys_getppid(void) { return current()->ppid; }
SYSCALL(getppid, sys_getppid, "");
static long sys_gettid(void) { return current_task()->tid; }
SYSCALL(gettid, sys_gettid, "");

/* Everything runs as root; the ids can't change. */
static long sys_get_id(void) { return 0; }
SYSCALL(getuid, sys_get_id, "");
SYSCALL(geteuid, sys_get_id, "");
SYSCALL(getgid, sys_get_id, "");
SYSCALL(getegid, sys_get_id, "");

/* Setting an id to 0 (or -1, "unchanged") is a no-op; anything else would
 * need credentials we don't model. */
static long set_ids(unsigned a, unsigned b, unsigned c)
{
	return (a == 0 || a == (unsigned)-1) && (b == 0 || b == (unsigned)-1) &&
	       (c == 0 || c == (unsigned)-1) ? 0 : -EPERM;
}
static long sys_set_id1(unsigned id) { return set_ids(id, 0, 0); }
static long sys_set_id2(unsigned a, unsigned b) { return set_ids(a, b, 0); }
SYSCALL(setuid, sys_set_id1, "u");
SYSCALL(setgid, sys_set_id1, "u");
SYSCALL(setreuid, sys_set_id2, "uu");
SYSCALL(setregid, sys_set_id2, "uu");
SYSCALL(setresuid, set_ids, "uuu");
SYSCALL(setresgid, set_ids, "uuu");
/* setfsuid/setfsgid return the previous id, never an error. */
SYSCALL(setfsuid, sys_get_id, "u");
SYSCALL(setfsgid, sys_get_id, "u");

static long sys_getresid(unsigned *r, unsigned *e, unsigned *s)
{
	unsigned zero = 0;

	if (copy_to_user(r, &zero, 4) || copy_to_user(e, &zero, 4) ||
	    copy_to_user(s, &zero, 4))
		return -EFAULT;
	return 0;
}
SYSCALL(getresuid, sys_getresid, "ppp");
SYSCALL(getresgid, sys_getresid, "ppp");

static long sys_getgroups(int size)
{
	return size < 0 ? -EINVAL : 0;
}
SYSCALL(getgroups, sys_getgroups, "dp");

static long sys_setgroups(int size)
{
	return size < 0 || size > 65536 ? -EINVAL : 0;
}
SYSCALL(setgroups, sys_setgroups, "dp");

/* pid 0 names the caller. */
static struct proc *proc_arg(int pid)
{
	return pid ? proc_find(pid) : current();
}

static long sys_getpgrp(void) { return current()->pgid; }
SYSCALL(getpgrp, sys_getpgrp, "");

static long sys_getpgid(int pid)
{
	struct proc *p = proc_arg(pid);

	return p ? p->pgid : -ESRCH;
}
SYSCALL(getpgid, sys_getpgid, "d");

static bool group_in_session(int pgid, int sid)
{
	for (struct proc *p = proc_next(NULL); p; p = proc_next(p))
		if (p->pgid == pgid && p->sid == sid && !p->zombie)
			return true;
	return false;
}

/* A shell moves itself and its children into process groups. */
static long sys_setpgid(int pid, int pgid)
{
	struct proc *self = current(), *p = proc_arg(pid);

	if (pgid < 0)
		return -EINVAL;
	if (!p || (p != self && p->parent != self))
		return -ESRCH;
	if (p->sid == p->pid || p->sid != self->sid)
		return -EPERM;
	if (!pgid)
		pgid = p->pid;
	if (pgid != p->pid && !group_in_session(pgid, self->sid))
		return -EPERM;
	p->pgid = pgid;
	return 0;
}
SYSCALL(setpgid, sys_setpgid, "dd");

static long sys_getsid(int pid)
{
	struct proc *p = proc_arg(pid);

	return p ? p->sid : -ESRCH;
}
SYSCALL(getsid, sys_getsid, "d");

static long sys_setsid(void)
{
	struct proc *p = current();

	/* As on Linux, a group leader can't start a session. */
	if (p->pgid == p->pid)
		return -EPERM;
	p->sid = p->pgid = p->pid;
	return p->sid;
}
SYSCALL(setsid, sys_setsid, "");

static long sys_set_tid_address(uint64_t tidptr)
{
	current_task()->clear_child_tid = tidptr;
	return current_task()->tid;
}
SYSCALL(set_tid_address, sys_set_tid_address, "p");

/* Robust futexes matter only when a thread dies holding a lock. */
static long sys_set_robust_list(uint64_t head, size_t len)
{
	(void)head;
	return len == 24 ? 0 : -EINVAL;  /* sizeof(struct robust_list_head) */
}
SYSCALL(set_robust_list, sys_set_robust_list, "pu");

static long sys_prctl(int option, unsigned long arg2)
{
	char name[16] = { 0 };
	size_t i;

	if (option == PR_GET_NAME)
		return copy_to_user((void *)arg2, current_task()->comm, sizeof(name)) ? -EFAULT : 0;
	if (option != PR_SET_NAME)
		return -EINVAL;
	/* Byte by byte: the name may end right before an unmapped page, and
	 * longer names are silently truncated, as on Linux. */
	for (i = 0; i < sizeof(name) - 1; i++) {
		if (copy_from_user(&name[i], (const char *)arg2 + i, 1))
			return -EFAULT;
		if (!name[i])
			break;
	}
	memcpy(current_task()->comm, name, sizeof(name));
	return 0;
}
SYSCALL(prctl, sys_prctl, "dxxxx");
