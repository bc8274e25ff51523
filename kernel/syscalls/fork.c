/* fork.c: creating and ending processes and threads: clone, fork, vfork,
 * execve, exit, wait4 and waitid. */
#include "kernel.h"
#include "exec.h"
#include "fs/vfs.h"
#include "lib/string.h"
#include "mm/kmalloc.h"
#include "mm/uaccess.h"
#include "mm/vm.h"
#include "sched/proc.h"
#include "sched/sched.h"
#include "syscalls/futex.h"
#include "syscalls/signal.h"
#include "syscalls/syscall.h"
#include <asm/signal.h>
#include <linux/sched.h>
#include <linux/wait.h>
#include <asm-generic/siginfo.h>

#define EXEC_ARGS_MAX (2UL << 20)  /* bytes of argv and envp strings */
#define ARG_STRLEN_MAX 4096  /* bytes of one argv or envp string */

/* Undoes copy_process for a child that never ran. */
static void discard_process(struct proc *c)
{
	vm_release(c->mm);
	c->mm = NULL;
	if (c->files)
		fdtable_destroy(c->files);
	inode_put(c->cwd);
	c->zombie = true;
	proc_reap(c);
}

/* A new process for fork/vfork: a copy of the parent but for memory, which
 * is shared for CLONE_VM (vfork) and copied otherwise. */
static struct proc *copy_process(struct proc *parent, uint64_t flags)
{
	struct proc *c = proc_create(parent);

	if (!c)
		return NULL;
	c->mm = flags & CLONE_VM ? parent->mm : vm_clone(parent->mm);
	if (flags & CLONE_VM)
		parent->mm->refs++;
	c->files = fdtable_clone(parent->files);
	c->exe_path = kstrdup(parent->exe_path);
	c->cwd = parent->cwd;
	inode_get(c->cwd);
	if (!c->mm || !c->files || !c->exe_path || signal_fork(c, parent)) {
		discard_process(c);
		return NULL;
	}
	return c;
}

static long put_tid(struct mm *mm, uint64_t uaddr, int tid)
{
	return vm_copy_in(mm, uaddr, &tid, sizeof(tid));
}

static long do_clone(uint64_t flags, uint64_t newsp, uint64_t ptid, uint64_t ctid,
		     uint64_t tls)
{
	struct task *self = current_task(), *t;
	struct proc *p = self->proc, *c = p;

	if ((flags & CLONE_THREAD) && (~flags & (CLONE_VM | CLONE_SIGHAND)))
		return -EINVAL;
	if (!(flags & CLONE_THREAD) && !(c = copy_process(p, flags)))
		return -ENOMEM;
	t = task_create(c, self->tf);
	if (!t) {
		if (c != p)
			discard_process(c);
		return -ENOMEM;
	}
	t->tf->rax = 0;
	memcpy(t->comm, self->comm, sizeof(t->comm));
	signal_task_init(t, self, (flags & CLONE_VM) && !(flags & CLONE_VFORK));
	if (newsp)
		t->tf->rsp = newsp;
	t->fs_base = flags & CLONE_SETTLS ? tls : self->fs_base;
	if (flags & CLONE_CHILD_CLEARTID)
		t->clear_child_tid = ctid;
	if (((flags & CLONE_PARENT_SETTID) && put_tid(p->mm, ptid, t->tid)) ||
	    ((flags & CLONE_CHILD_SETTID) && put_tid(c->mm, ctid, t->tid))) {
		task_destroy(t);
		if (c != p)
			discard_process(c);
		return -EFAULT;
	}
	sched_wake_task(t);
	if (flags & CLONE_VFORK) {
		/* The child runs on our memory until it execs or exits. */
		c->vfork_parent = self;
		while (c->vfork_parent)
			sched_sleep(&c->vfork_parent, 0);
	}
	return t->tid;
}

/* syscall-partial: clone: CLONE_FILES without CLONE_THREAD copies the fd table; no namespaces */
static long sys_clone(uint64_t flags, uint64_t newsp, uint64_t ptid, uint64_t ctid,
		      uint64_t tls)
{
	return do_clone(flags, newsp, ptid, ctid, tls);
}
SYSCALL(clone, sys_clone, "xxppx");

static long sys_fork(void)
{
	return do_clone(SIGCHLD, 0, 0, 0, 0);
}
SYSCALL(fork, sys_fork, "");

static long sys_vfork(void)
{
	return do_clone(CLONE_VM | CLONE_VFORK | SIGCHLD, 0, 0, 0, 0);
}
SYSCALL(vfork, sys_vfork, "");

/* syscall-enosys: clone3: glibc tries it first and falls back to clone */
static long sys_clone3(void)
{
	return -ENOSYS;
}
SYSCALL(clone3, sys_clone3, "pu");

static void free_strv(char **v)
{
	for (char **s = v; s && *s; s++)
		kfree(*s);
	kfree(v);
}

/* Copies a NULL-terminated user array of strings; *budget bounds the total. */
static char **copy_strv(char *const *uv, size_t *budget)
{
	size_t n = 0, cap = 16;
	char **v = kzalloc(cap * sizeof(char *));
	char *const *up;
	uint64_t us;

	for (up = uv; v && uv; up++, n++) {
		char buf[ARG_STRLEN_MAX];
		long len;

		if (copy_from_user(&us, up, sizeof(us)))
			goto fail;
		if (!us)
			break;
		len = strncpy_from_user(buf, (const char *)us, sizeof(buf));
		if (len < 0 || (size_t)len + 1 > *budget)
			goto fail;
		*budget -= len + 1;
		if (n + 2 > cap) {
			char **nv = krealloc(v, (cap *= 2) * sizeof(char *));

			if (!nv)
				goto fail;
			v = nv;
		}
		if (!(v[n] = kstrndup(buf, len)))
			goto fail;
		v[n + 1] = NULL;
	}
	return v;
fail:
	free_strv(v);
	return NULL;
}

/* syscall-partial: execve: other threads end before the new program is loaded, so a failed execve loses them */
static long sys_execve(const char *upath, char *const *uargv, char *const *uenvp)
{
	struct proc *p = current();
	size_t budget = EXEC_ARGS_MAX;
	char *path = vfs_getname(upath, false);
	char **argv, **envp;
	long err;

	if (IS_ERR_VALUE(path))
		return (long)path;
	/* The other threads would run on the old image: they end first (on
	 * Linux they end only once the new program is loaded). */
	if (p->threads != current_task() || current_task()->proc_next)
		proc_single_thread(p);
	argv = copy_strv(uargv, &budget);
	envp = copy_strv(uenvp, &budget);
	err = argv && envp ? exec_load(current_task(), path, argv, envp) : -E2BIG;
	kfree(path);
	free_strv(argv);
	free_strv(envp);
	if (err)
		return err;
	fdtable_close_on_exec(p->files);
	signal_exec_reset();
	proc_release_vfork(p);
	return 0;
}
SYSCALL(execve, sys_execve, "spp");

/* Ends the calling thread; the last one ends the process. */
static long sys_exit(int status)
{
	struct task *t = current_task();
	int zero = 0;

	if (t->proc->threads == t && !t->proc_next)
		proc_exit(status);
	if (t->clear_child_tid) {
		copy_to_user((void *)t->clear_child_tid, &zero, sizeof(zero));
		futex_wake(t->clear_child_tid, 1);
	}
	task_unlink(t);
	sched_exit_task();
}
SYSCALL(exit, sys_exit, "d");

static long sys_exit_group(int status)
{
	proc_exit(status);
}
SYSCALL(exit_group, sys_exit_group, "d");

static bool wait_matches(const struct proc *self, const struct proc *c, int pid)
{
	if (pid > 0)
		return c->pid == pid;
	if (pid == 0)
		return c->pgid == self->pgid;
	return pid == -1 || c->pgid == -pid;
}

/* Finds a zombie child matching pid; -ECHILD if no child matches at all,
 * 0 if matching children are all still running. */
static long find_zombie(struct proc *self, int pid, struct proc **out)
{
	bool any = false;

	for (struct proc *c = self->children; c; c = c->sibling) {
		if (!wait_matches(self, c, pid))
			continue;
		any = true;
		if (c->zombie) {
			*out = c;
			return c->pid;
		}
	}
	return any ? 0 : -ECHILD;
}

/* Waits for a zombie child; returns its pid, 0 (WNOHANG), or -errno. */
static long wait_child(int pid, int options, struct proc **out)
{
	struct proc *self = current();
	bool interrupted = false;
	long r;

	/* Look once more after a signal: the exiting child that woke us
	 * also sent SIGCHLD. */
	while ((r = find_zombie(self, pid, out)) == 0) {
		if (options & WNOHANG)
			return 0;
		if (interrupted)
			return -EINTR;
		interrupted = sched_sleep(self, 0) == -EINTR;
	}
	return r;
}

/* syscall-partial: wait4: rusage is all zero; no stopped or continued children */
static long sys_wait4(int pid, int *ustatus, int options, void *rusage)
{
	struct proc *c;
	long r = wait_child(pid, options, &c);
	int status;

	if (r <= 0)
		return r;
	status = c->wait_status;
	if ((ustatus && copy_to_user(ustatus, &status, sizeof(status))) ||
	    (rusage && user_access_ok(rusage, 144, true)))
		return -EFAULT;
	if (rusage)
		memset(rusage, 0, 144);  /* struct rusage: no accounting yet */
	proc_reap(c);
	return r;
}
SYSCALL(wait4, sys_wait4, "dpxp");

/* The part of siginfo_t that waitid fills (x86-64 layout). */
struct wait_siginfo {
	int32_t signo, err, code, pad;
	int32_t pid;
	uint32_t uid;
	int32_t status;
	int32_t pad2[25];
};

static long sys_waitid(int idtype, int id, struct wait_siginfo *uinfo, int options)
{
	int pid = idtype == P_ALL ? -1 : idtype == P_PID ? id : idtype == P_PGID ? -id : 0;
	struct wait_siginfo info = { 0 };
	struct proc *c;
	long r;

	if ((idtype != P_ALL && idtype != P_PID && idtype != P_PGID) || !(options & WEXITED))
		return -EINVAL;
	r = wait_child(pid, options, &c);
	if (r < 0)
		return r;
	if (r > 0) {
		info.signo = SIGCHLD;
		info.pid = c->pid;
		info.code = c->wait_status & 0x7f ? CLD_KILLED : CLD_EXITED;
		info.status = c->wait_status & 0x7f ? c->wait_status & 0x7f
						    : (c->wait_status >> 8) & 0xff;
	}
	if (uinfo && copy_to_user(uinfo, &info, sizeof(info)))
		return -EFAULT;
	if (r > 0 && !(options & WNOWAIT))
		proc_reap(c);
	return 0;
}
SYSCALL(waitid, sys_waitid, "ddpdp");
