/* ioeventfd.c: a doorbell register served by a thread of its own. */
#include "ioeventfd.h"

#include <errno.h>
#include <linux/kvm.h>
#include <signal.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>

static int assign(const struct ioeventfd *e, int vm_fd, bool detach)
{
	struct kvm_ioeventfd io = {
		.addr = e->addr, .len = e->len, .fd = e->fd,
		.flags = detach ? KVM_IOEVENTFD_FLAG_DEASSIGN : 0,
	};

	return ioctl(vm_fd, KVM_IOEVENTFD, &io);
}

static void *serve(void *arg)
{
	struct ioeventfd *e = arg;
	uint64_t rings;

	for (;;) {
		if (read(e->fd, &rings, sizeof(rings)) < 0 && errno != EINTR)
			break;
		if (__atomic_load_n(&e->stop, __ATOMIC_ACQUIRE))
			break;
		e->fn(e->arg);
	}
	return NULL;
}

/* The thread takes none of the signals meant for the vCPU thread (its
 * kicks and timers). */
static int spawn(struct ioeventfd *e)
{
	sigset_t all, old;
	int err;

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	err = pthread_create(&e->thread, NULL, serve, e);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return err;
}

int ioeventfd_start(struct ioeventfd *e, int vm_fd, uint64_t addr, unsigned len,
		    void (*fn)(void *), void *arg)
{
	int err;

	*e = (struct ioeventfd){ .addr = addr, .len = len, .fn = fn, .arg = arg };
	if ((e->fd = eventfd(0, EFD_CLOEXEC)) < 0)
		return -1;
	if (assign(e, vm_fd, false) < 0)
		goto fail;
	if ((err = spawn(e))) {
		assign(e, vm_fd, true);
		errno = err;
		goto fail;
	}
	return 0;
fail:
	err = errno;
	close(e->fd);
	e->fd = -1;
	errno = err;
	return -1;
}

void ioeventfd_stop(struct ioeventfd *e, int vm_fd)
{
	uint64_t one = 1;

	if (e->fd < 0)
		return;
	assign(e, vm_fd, true);
	__atomic_store_n(&e->stop, true, __ATOMIC_RELEASE);
	if (write(e->fd, &one, sizeof(one)) == sizeof(one))
		pthread_join(e->thread, NULL);
	close(e->fd);
	e->fd = -1;
}
