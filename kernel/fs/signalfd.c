/* signalfd.c: signalfd files: reading one takes the thread's pending signals of its mask as struct signalfd_siginfo records. */
#include <asm/poll.h>
#include <linux/fcntl.h>
#include <linux/signal.h>
#include <linux/signalfd.h>
#include "fs/poll.h"
#include "fs/vfs.h"
#include "lib/string.h"
#include "mm/kmalloc.h"
#include "sched/proc.h"
#include "syscalls/signal.h"

/* f->priv: the signals the file reads. Pending sets belong to the reading
 * thread, as on Linux, so a shared signalfd reads each reader's own. */
struct signalfd {
	uint64_t mask;
};

static const struct file_ops signalfd_ops;

/* Which union member of siginfo is valid, as Linux's siginfo_layout()
 * decides for the signals wisp sends. */
static void copy_info(struct signalfd_siginfo *out, const siginfo_t *in)
{
	int sig = in->si_signo, code = in->si_code;
	bool fault = sig == SIGSEGV || sig == SIGBUS || sig == SIGILL ||
		     sig == SIGFPE || sig == SIGTRAP;

	memset(out, 0, sizeof(*out));
	out->ssi_signo = sig;
	out->ssi_errno = in->si_errno;
	out->ssi_code = code;
	if (code > 0 && code < SI_KERNEL && fault) {
		out->ssi_addr = (uint64_t)in->si_addr;
		return;
	}
	out->ssi_pid = in->si_pid;
	out->ssi_uid = in->si_uid;
	if (code > 0 && code < SI_KERNEL && sig == SIGCHLD) {
		out->ssi_status = in->si_status;
		out->ssi_utime = in->si_utime;
		out->ssi_stime = in->si_stime;
	} else if (code < 0 || code == SI_TIMER) {
		/* sigqueue's value; kill/tkill leave it zero. */
		out->ssi_int = in->si_int;
		out->ssi_ptr = (uint64_t)in->si_ptr;
	}
}

struct sfd_read {
	uint64_t mask;
	char *buf;
	size_t len, done;
};

/* Takes as many signals as fit; the poll_until scan for a blocking read.
 * The buffer is checked again first: another thread may have unmapped it
 * while this one slept. */
static long take_signals(void *arg)
{
	struct sfd_read *r = arg;
	struct signalfd_siginfo ssi;
	siginfo_t info;

	if (!signal_pending_in(r->mask))
		return 0;
	if (file_buf_recheck(r->buf, r->len, true))
		return -EFAULT;
	while (r->len - r->done >= sizeof(ssi) && signal_dequeue(r->mask, &info)) {
		copy_info(&ssi, &info);
		memcpy(r->buf + r->done, &ssi, sizeof(ssi));
		r->done += sizeof(ssi);
	}
	return r->done;
}

static ssize_t signalfd_read(struct file *f, void *buf, size_t len, off_t *pos)
{
	struct signalfd *s = f->priv;
	struct sfd_read r = { .mask = s->mask, .buf = buf, .len = len };

	(void)pos;
	if (len < sizeof(struct signalfd_siginfo))
		return -EINVAL;
	if (f->flags & O_NONBLOCK)
		return take_signals(&r) ?: -EAGAIN;
	/* The signals are blocked (else delivery would take them first), so
	 * only the poll_notify() of the send path wakes us. */
	return poll_until(take_signals, &r, -1);
}

static unsigned signalfd_poll(struct file *f)
{
	struct signalfd *s = f->priv;

	return signal_pending_in(s->mask) ? POLLIN : 0;
}

static void signalfd_release(struct file *f)
{
	kfree(f->priv);
}

static const struct file_ops signalfd_ops = {
	.read = signalfd_read, .poll = signalfd_poll, .release = signalfd_release,
};

long signalfd_setup(int fd, uint64_t mask, int flags)
{
	struct signalfd *s;
	struct file *f;

	if (fd != -1) {
		if (!(f = fd_get(fd)))
			return -EBADF;
		if (f->ops != &signalfd_ops)
			return -EINVAL;
		((struct signalfd *)f->priv)->mask = mask;
		poll_notify();  /* readiness follows the mask */
		return fd;
	}
	if (!(s = kzalloc(sizeof(*s))))
		return -ENOMEM;
	s->mask = mask;
	return anon_fd_install("[signalfd]", &signalfd_ops, flags, s);
}
