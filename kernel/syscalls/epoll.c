/* epoll.c: epoll_create, epoll_ctl and epoll_wait: interest lists whose
 * readiness is computed from file_ops.poll at each wait (fs/poll.h). */
#include <linux/eventpoll.h>
#include <linux/stat.h>
#include <linux/time_types.h>
#include "fs/poll.h"
#include "fs/vfs.h"
#include "lib/string.h"
#include "mm/kmalloc.h"
#include "mm/uaccess.h"
#include "syscalls/syscall.h"

#define NS_PER_MS 1000000LL
/* Events returned by one wait, whatever maxevents says. */
#define EP_BATCH 1024
#define NEVER_REPORTED UINT64_MAX

/* One watched file. The file is not referenced: an item whose fd no longer
 * holds it was closed, and is dropped (Linux drops it on the last close). */
struct epitem {
	int fd;
	struct file *file;
	uint32_t events;   /* EPOLL* asked for, with EPOLLET and EPOLLONESHOT */
	uint64_t data;
	/* Edge-triggered items are reported again only once something changed
	 * (poll_generation) since they last were: a superset of Linux's edges. */
	uint64_t gen;
	bool disabled;     /* EPOLLONESHOT fired; EPOLL_CTL_MOD re-arms it */
};

struct epoll {
	struct epitem *items;
	int n, cap;
	int rotor;  /* where the next scan starts, so no ready file starves */
};

static const struct file_ops epoll_ops;

static struct epoll *epoll_of(struct file *f)
{
	return f && f->ops == &epoll_ops ? f->priv : NULL;
}

static void drop_closed(struct epoll *ep)
{
	for (int i = 0; i < ep->n;) {
		if (fd_get(ep->items[i].fd) == ep->items[i].file)
			i++;
		else
			ep->items[i] = ep->items[--ep->n];
	}
}

static struct epitem *find(struct epoll *ep, int fd)
{
	drop_closed(ep);
	for (int i = 0; i < ep->n; i++)
		if (ep->items[i].fd == fd)
			return &ep->items[i];
	return NULL;
}

/* The events item would report now (0 if none). */
static uint32_t item_ready(const struct epitem *it, uint64_t gen)
{
	if (it->disabled || ((it->events & EPOLLET) && it->gen == gen))
		return 0;
	return poll_file(it->file) & (it->events | EPOLLERR | EPOLLHUP);
}

/* ------------------------------------------------------------ the file */

static unsigned epoll_poll(struct file *f)
{
	struct epoll *ep = f->priv;
	uint64_t gen = poll_generation();

	drop_closed(ep);
	for (int i = 0; i < ep->n; i++)
		if (item_ready(&ep->items[i], gen))
			return EPOLLIN;
	return 0;
}

static void epoll_release(struct file *f)
{
	struct epoll *ep = f->priv;

	kfree(ep->items);
	kfree(ep);
}

static const struct file_ops epoll_ops = {
	.poll = epoll_poll, .release = epoll_release,
};

static long sys_epoll_create1(int flags)
{
	struct epoll *ep;

	if (flags & ~EPOLL_CLOEXEC)
		return -EINVAL;
	if (!(ep = kzalloc(sizeof(*ep))))
		return -ENOMEM;
	return anon_fd_install("[eventpoll]", &epoll_ops, flags, ep);
}

static long sys_epoll_create(int size)
{
	return size <= 0 ? -EINVAL : sys_epoll_create1(0);
}

/* ------------------------------------------------------------- epoll_ctl */

static long ep_add(struct epoll *ep, int fd, struct file *f, const struct epoll_event *ev)
{
	struct epitem *items;

	if (find(ep, fd))
		return -EEXIST;
	/* One level of nesting, so readiness can never recurse forever. */
	if (epoll_of(f) && epoll_of(f)->n)
		return -ELOOP;
	if (ep->n == ep->cap) {
		items = krealloc(ep->items, (ep->cap * 2 + 8) * sizeof(*items));
		if (!items)
			return -ENOMEM;
		ep->items = items;
		ep->cap = ep->cap * 2 + 8;
	}
	ep->items[ep->n++] = (struct epitem){
		.fd = fd, .file = f, .events = ev->events, .data = ev->data, .gen = NEVER_REPORTED,
	};
	return 0;
}

static long ep_mod(struct epoll *ep, int fd, const struct epoll_event *ev)
{
	struct epitem *it = find(ep, fd);

	if (!it)
		return -ENOENT;
	it->events = ev->events;
	it->data = ev->data;
	it->gen = NEVER_REPORTED;
	it->disabled = false;
	return 0;
}

static long ep_del(struct epoll *ep, int fd)
{
	struct epitem *it = find(ep, fd);

	if (!it)
		return -ENOENT;
	*it = ep->items[--ep->n];
	return 0;
}

static long sys_epoll_ctl(int epfd, int op, int fd, const struct epoll_event *uev)
{
	struct file *epf = fd_get(epfd), *f = fd_get(fd);
	struct epoll *ep = epoll_of(epf);
	struct epoll_event ev;
	long err;

	if (!epf || !f)
		return -EBADF;
	if (!ep || f == epf)
		return -EINVAL;
	/* Linux refuses files that cannot block; programs fall back on that. */
	if (f->inode && (S_ISREG(f->inode->mode) || S_ISDIR(f->inode->mode)))
		return -EPERM;
	if (op != EPOLL_CTL_DEL && copy_from_user(&ev, uev, sizeof(ev)))
		return -EFAULT;
	switch (op) {
	case EPOLL_CTL_ADD: err = ep_add(ep, fd, f, &ev); break;
	case EPOLL_CTL_MOD: err = ep_mod(ep, fd, &ev); break;
	case EPOLL_CTL_DEL: return ep_del(ep, fd);
	default: return -EINVAL;
	}
	/* A thread already waiting may have a ready file now. */
	if (!err)
		poll_rescan();
	return err;
}

/* ------------------------------------------------------------ epoll_wait */

struct ep_wait {
	struct epoll *ep;
	struct epoll_event *out;
	int max;
};

static long ep_scan(void *arg)
{
	struct ep_wait *w = arg;
	struct epoll *ep = w->ep;
	uint64_t gen = poll_generation();
	int n = 0, start, i;
	uint32_t m;

	drop_closed(ep);
	start = ep->rotor;
	for (int k = 0; k < ep->n && n < w->max; k++) {
		struct epitem *it = &ep->items[i = (start + k) % ep->n];

		if (!(m = item_ready(it, gen)))
			continue;
		it->gen = gen;
		it->disabled = it->events & EPOLLONESHOT;
		w->out[n++] = (struct epoll_event){ .events = m, .data = it->data };
		ep->rotor = i + 1;
	}
	return n;
}

static long do_epoll_wait(int epfd, struct epoll_event *uevents, int maxevents,
			  int64_t timeout_ns)
{
	struct ep_wait w = { .ep = epoll_of(fd_get(epfd)) };
	long n;

	if (!fd_get(epfd))
		return -EBADF;
	if (!w.ep || maxevents <= 0 || maxevents > INT32_MAX / (int)sizeof(*uevents))
		return -EINVAL;
	if (user_access_ok(uevents, maxevents * sizeof(*uevents), true))
		return -EFAULT;
	w.max = MIN(maxevents, EP_BATCH);
	if (!(w.out = kmalloc(w.max * sizeof(*w.out))))
		return -ENOMEM;
	n = poll_until(ep_scan, &w, timeout_ns);
	if (n > 0 && copy_to_user(uevents, w.out, n * sizeof(*w.out)))
		n = -EFAULT;
	kfree(w.out);
	return n;
}

static long sys_epoll_wait(int epfd, struct epoll_event *uevents, int maxevents, int timeout_ms)
{
	return do_epoll_wait(epfd, uevents, maxevents,
			     timeout_ms < 0 ? -1 : timeout_ms * NS_PER_MS);
}

static long sys_epoll_pwait(int epfd, struct epoll_event *uevents, int maxevents,
			    int timeout_ms, const uint64_t *umask, size_t masksize)
{
	return poll_sigmask(umask, masksize) ?: sys_epoll_wait(epfd, uevents, maxevents, timeout_ms);
}

static long sys_epoll_pwait2(int epfd, struct epoll_event *uevents, int maxevents,
			     const struct __kernel_timespec *uts, const uint64_t *umask,
			     size_t masksize)
{
	int64_t ns = poll_timeout_ns(uts);

	if (ns < -1)
		return ns;
	return poll_sigmask(umask, masksize) ?: do_epoll_wait(epfd, uevents, maxevents, ns);
}

/* syscall-partial: epoll_ctl: EPOLLET reports a ready file again after any readiness change in the VM; EPOLLEXCLUSIVE and EPOLLWAKEUP are ignored */
SYSCALL(epoll_create, sys_epoll_create, "d");
SYSCALL(epoll_create1, sys_epoll_create1, "x");
SYSCALL(epoll_ctl, sys_epoll_ctl, "fdfp");
SYSCALL(epoll_wait, sys_epoll_wait, "fpdd");
SYSCALL(epoll_pwait, sys_epoll_pwait, "fpddpu");
SYSCALL(epoll_pwait2, sys_epoll_pwait2, "fpdppu");
