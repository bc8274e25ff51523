/* unix.c: AF_UNIX socket pairs: each end receives into its own ring buffer; streams are bytes, datagrams and sequenced packets stay whole. */
#include <asm/ioctls.h>
#include <asm/poll.h>
#include <asm/socket.h>
#include <linux/fcntl.h>
#include <linux/signal.h>
#include <linux/stat.h>
#include <linux/time_types.h>
#include <linux/uio.h>
#include "clock.h"
#include "fs/poll.h"
#include "fs/vfs.h"
#include "lib/string.h"
#include "mm/kmalloc.h"
#include "mm/page.h"
#include "mm/uaccess.h"
#include "net/unix.h"
#include "sched/proc.h"
#include "sched/sched.h"
#include "syscalls/signal.h"

#define RING_SIZE (UNIX_DGRAM_MAX + HDR)  /* bytes one end buffers */
#define RING_PAGES (RING_SIZE / PAGE_SIZE)
#define HDR sizeof(uint32_t)    /* a datagram's length, before its bytes */
#define DEFAULT_BUF 212992      /* SO_SNDBUF/SO_RCVBUF as Linux reports them */
#define BUF_MAX 212992          /* net.core.[rw]mem_max */
#define RCV_SHUTDOWN 1
#define SEND_SHUTDOWN 2
#define SHUTDOWN_MASK 3
#define NS_PER_US 1000ULL
#define NS_PER_S 1000000000ULL

/* What was sent to one end and not read yet. */
struct unix_queue {
	char *buf;
	size_t head, count;
	uint64_t taken;  /* bytes ever taken out: the stream position of head */
	size_t msgs;     /* datagrams queued (each with a header) */
	struct unix_rights *rights, **rights_tail;  /* by position */
};

/* Readers sleep on their own rx, writers on their peer's. */
struct unix_sock {
	int type;
	struct unix_sock *peer;   /* NULL once the peer is closed */
	struct unix_queue rx;
	unsigned shutdown;        /* RCV_SHUTDOWN | SEND_SHUTDOWN, as Linux's sk_shutdown */
	int err;                  /* pending error for SO_ERROR and reads */
	bool refused;             /* datagrams: the peer closed, ECONNREFUSED once */
	bool disconnected;        /* datagrams: that was reported (getpeername) */
	int sndbuf, rcvbuf;
	uint64_t rcvtimeo, sndtimeo;  /* ns, 0: none */
	int creator;              /* pid for SO_PEERCRED */
};

static const struct file_ops unix_ops;

bool unix_is_socket(const struct file *f)
{
	return f->ops == &unix_ops;
}

int unix_type(const struct file *f)
{
	return ((struct unix_sock *)f->priv)->type;
}

bool unix_connected(const struct file *f)
{
	const struct unix_sock *s = f->priv;

	return !s->disconnected;
}

void unix_rights_free(struct unix_rights *r)
{
	for (int i = 0; r && i < r->n; i++)
		file_put(r->files[i]);
	kfree(r);
}

/* ------------------------------------------------------------ buffers */

/* Copies n bytes between kernel memory k and the buffers of b from byte
 * off on: into b if out, else out of it. */
static void buf_xfer(const struct unix_buf *b, size_t off, char *k, size_t n, bool out)
{
	for (int i = 0; i < b->cnt && n; i++) {
		char *base = b->iov[i].iov_base;
		size_t len = b->iov[i].iov_len, c;

		if (off >= len) {
			off -= len;
			continue;
		}
		c = MIN(n, len - off);
		if (out)
			memcpy(base + off, k, c);
		else
			memcpy(k, base + off, c);
		k += c;
		n -= c;
		off = 0;
	}
}

/* After a sleep: another thread may have unmapped the buffers. */
static long buf_recheck(const struct unix_buf *b, bool write)
{
	long err = 0;

	for (int i = 0; i < b->cnt && !err; i++)
		err = file_buf_recheck(b->iov[i].iov_base, b->iov[i].iov_len, write);
	return err;
}

/* ------------------------------------------------------------ ring */

/* Appends n bytes of b from byte off on. */
static void ring_put(struct unix_queue *q, const struct unix_buf *b, size_t off, size_t n)
{
	size_t tail = (q->head + q->count) % RING_SIZE;
	size_t first = MIN(n, RING_SIZE - tail);

	buf_xfer(b, off, q->buf + tail, first, false);
	buf_xfer(b, off + first, q->buf, n - first, false);
	q->count += n;
}

/* Copies n bytes from ring offset roff (past the head) to b at byte off,
 * leaving them in the ring. */
static void ring_peek(const struct unix_queue *q, size_t roff, const struct unix_buf *b,
		      size_t off, size_t n)
{
	size_t start = (q->head + roff) % RING_SIZE;
	size_t first = MIN(n, RING_SIZE - start);

	buf_xfer(b, off, q->buf + start, first, true);
	buf_xfer(b, off + first, q->buf, n - first, true);
}

static struct unix_buf kbuf(struct iovec *iov, void *p, size_t len)
{
	iov->iov_base = p;
	iov->iov_len = len;
	return (struct unix_buf){ iov, 1, len };
}

/* A datagram's length, from its header at the head of q. */
static uint32_t dgram_size(const struct unix_queue *q)
{
	uint32_t size;
	struct iovec iov;
	struct unix_buf b = kbuf(&iov, &size, HDR);

	ring_peek(q, 0, &b, 0, HDR);
	return size;
}

static void ring_drop(struct unix_queue *q, size_t n)
{
	q->head = (q->head + n) % RING_SIZE;
	q->count -= n;
	q->taken += n;
}

static size_t ring_space(const struct unix_queue *q)
{
	return RING_SIZE - q->count;
}

/* Files sent now go with the data about to be put in q. */
static void attach(struct unix_queue *q, struct unix_rights **rights, size_t len)
{
	struct unix_rights *r = rights ? *rights : NULL;

	if (!r)
		return;
	*rights = NULL;
	r->pos = q->taken + q->count;
	r->len = len;
	r->next = NULL;
	*q->rights_tail = r;
	q->rights_tail = &r->next;
}

/* The files attached at the head, handed to the reader (or closed). */
static void detach(struct unix_queue *q, struct unix_rights **out)
{
	struct unix_rights *r = q->rights;

	if (!(q->rights = r->next))
		q->rights_tail = &q->rights;
	if (out)
		*out = r;
	else
		unix_rights_free(r);
}

/* ------------------------------------------------------------ waiting */

/* Whoever sleeps on q (its reader, the peer's writers) and every poller
 * may be waiting for what changed. */
static void changed(struct unix_queue *q)
{
	sched_wakeup(q);
	poll_notify();
}

static uint64_t deadline_of(uint64_t timeo)
{
	return timeo ? clock_monotonic_ns() + timeo : 0;
}

/* Sleeps on chan; the buffers are checked again afterwards. A timeout
 * (SO_RCVTIMEO, SO_SNDTIMEO) is -EAGAIN, as on Linux. */
static long sock_wait(struct file *f, const void *chan, int flags, uint64_t deadline,
		      const struct unix_buf *b, bool write)
{
	long err;

	if ((f->flags & O_NONBLOCK) || (flags & MSG_DONTWAIT))
		return -EAGAIN;
	err = sched_sleep(chan, deadline);
	if (err == -ETIMEDOUT)
		return -EAGAIN;
	return err ?: buf_recheck(b, write);
}

/* ------------------------------------------------------------ sending */

/* EPIPE, with SIGPIPE for streams only (as Linux does). */
static long broken_pipe(struct unix_sock *s, int flags)
{
	if (s->type == SOCK_STREAM && !(flags & MSG_NOSIGNAL))
		signal_send_self(SIGPIPE);
	return -EPIPE;
}

/* Why s can't send now, or 0: a connection that is shut down or lost is
 * EPIPE; a datagram peer that is gone is ECONNREFUSED once, then ENOTCONN. */
static long send_check(struct unix_sock *s, int flags)
{
	if ((s->shutdown & SEND_SHUTDOWN) || (s->peer && (s->peer->shutdown & RCV_SHUTDOWN)))
		return broken_pipe(s, flags);
	if (s->peer)
		return 0;
	if (s->type != SOCK_DGRAM)
		return broken_pipe(s, flags);
	if (s->refused) {
		s->refused = false;
		s->disconnected = true;
		return -ECONNREFUSED;
	}
	return -ENOTCONN;
}

/* Bytes go in as space allows; blocks until all are in unless nonblocking. */
static long stream_send(struct file *f, const struct unix_buf *b, int flags,
			struct unix_rights **rights)
{
	struct unix_sock *s = f->priv;
	uint64_t deadline = deadline_of(s->sndtimeo);
	size_t done = 0, len = b->len, n;
	long err = 0;

	while (done < len) {
		struct unix_queue *q;

		/* SIGPIPE only when nothing was sent, as on Linux. */
		if ((err = send_check(s, flags | (done ? MSG_NOSIGNAL : 0))))
			break;
		q = &s->peer->rx;
		if ((n = MIN(ring_space(q), len - done))) {
			attach(q, rights, len - done);
			ring_put(q, b, done, n);
			done += n;
			changed(q);
			continue;
		}
		if ((err = sock_wait(f, q, flags, deadline, b, false)))
			break;
	}
	return done ? (long)done : err;
}

/* A datagram goes in whole, after its length. */
static long dgram_send(struct file *f, const struct unix_buf *b, int flags,
		       struct unix_rights **rights)
{
	struct unix_sock *s = f->priv;
	uint64_t deadline = deadline_of(s->sndtimeo);
	size_t len = b->len;
	uint32_t hdr = len;
	struct iovec iov;
	struct unix_buf hb = kbuf(&iov, &hdr, HDR);
	long err;

	if (len > UNIX_DGRAM_MAX)
		return -EMSGSIZE;
	for (;;) {
		struct unix_queue *q;

		if ((err = send_check(s, flags)))
			return err;
		q = &s->peer->rx;
		if (ring_space(q) >= HDR + len) {
			attach(q, rights, len);
			ring_put(q, &hb, 0, HDR);
			ring_put(q, b, 0, len);
			q->msgs++;
			changed(q);
			return len;
		}
		if ((err = sock_wait(f, q, flags, deadline, b, false)))
			return err;
	}
}

long unix_send(struct file *f, const struct unix_buf *b, int flags,
	       struct unix_rights **rights)
{
	if (unix_type(f) == SOCK_STREAM)
		return stream_send(f, b, flags, rights);
	return dgram_send(f, b, flags, rights);
}

/* ------------------------------------------------------------ receiving */

/* Takes up to len bytes; a read that reaches data sent with files gets the
 * files and ends with that data, as on Linux. *got_rights says so. */
static size_t stream_take(struct unix_sock *s, const struct unix_buf *b, size_t off,
			  int flags, struct unix_rights **rights, bool *got_rights)
{
	struct unix_queue *q = &s->rx;
	struct unix_rights *r = q->rights;
	size_t n = MIN(b->len - off, q->count);

	if (r && r->pos < q->taken + n && !(flags & MSG_PEEK)) {
		n = MIN(n, r->pos + r->len - q->taken);
		detach(q, rights);
		*got_rights = true;
	}
	ring_peek(q, 0, b, off, n);
	if (!(flags & MSG_PEEK)) {
		ring_drop(q, n);
		changed(q);
	}
	return n;
}

/* Nothing to read: the error or end of file to report, or 1 to wait. */
static long empty_result(struct unix_sock *s)
{
	long err = s->err;

	if (err) {
		s->err = 0;
		return -err;
	}
	return s->shutdown & RCV_SHUTDOWN ? 0 : 1;
}

static long stream_recv(struct file *f, const struct unix_buf *b, int flags,
			struct unix_rights **rights)
{
	struct unix_sock *s = f->priv;
	uint64_t deadline = deadline_of(s->rcvtimeo);
	bool got_rights = false;
	size_t done = 0;
	long err;

	for (;;) {
		if (s->rx.count) {
			done += stream_take(s, b, done, flags, rights, &got_rights);
			if (done == b->len || got_rights || !(flags & MSG_WAITALL) ||
			    (flags & MSG_PEEK))
				return done;
			continue;
		}
		if ((err = empty_result(s)) != 1)
			return done ? (long)done : err;
		if ((err = sock_wait(f, &s->rx, flags, deadline, b, true)))
			return done ? (long)done : err;
	}
}

/* One datagram; what doesn't fit in len is lost (MSG_TRUNC). */
static long dgram_recv(struct file *f, const struct unix_buf *b, int flags, int *msg_flags,
		       struct unix_rights **rights)
{
	struct unix_sock *s = f->priv;
	struct unix_queue *q = &s->rx;
	uint64_t deadline = deadline_of(s->rcvtimeo);
	size_t len = b->len;
	uint32_t size;
	long err;

	while (!q->count) {
		/* Shut down, a nonblocking datagram read still says EAGAIN and a
		 * sequenced packet read end of file, as on Linux. */
		bool nonblock = (f->flags & O_NONBLOCK) || (flags & MSG_DONTWAIT);

		err = empty_result(s);
		if (err != 1 && !(err == 0 && s->type == SOCK_DGRAM && nonblock))
			return err;
		if ((err = sock_wait(f, q, flags, deadline, b, true)))
			return err;
	}
	size = dgram_size(q);
	ring_peek(q, HDR, b, 0, MIN(len, size));
	if (size > len)
		*msg_flags |= MSG_TRUNC;
	if (!(flags & MSG_PEEK)) {
		if (q->rights && q->rights->pos == q->taken)
			detach(q, rights);
		ring_drop(q, HDR + size);
		q->msgs--;
		changed(q);
	}
	return flags & MSG_TRUNC ? size : MIN(len, size);
}

long unix_recv(struct file *f, const struct unix_buf *b, int flags, int *msg_flags,
	       struct unix_rights **rights)
{
	*msg_flags = 0;
	if (flags & MSG_OOB)
		return -EOPNOTSUPP;
	if (unix_type(f) == SOCK_STREAM)
		return stream_recv(f, b, flags, rights);
	return dgram_recv(f, b, flags, msg_flags, rights);
}

/* ------------------------------------------------------------ file ops */

static ssize_t unix_read(struct file *f, void *buf, size_t len, off_t *pos)
{
	struct iovec iov;
	struct unix_buf b = kbuf(&iov, buf, len);
	int mflags;

	(void)pos;
	return len ? unix_recv(f, &b, 0, &mflags, NULL) : 0;
}

static ssize_t unix_write(struct file *f, const void *buf, size_t len, off_t *pos)
{
	struct iovec iov;
	struct unix_buf b = kbuf(&iov, (void *)buf, len);

	(void)pos;
	return unix_send(f, &b, 0, NULL);
}

/* As Linux's unix_poll and unix_dgram_poll for a connected pair. */
static unsigned unix_poll(struct file *f)
{
	struct unix_sock *s = f->priv;
	unsigned mask = 0;

	if (s->err)
		mask |= POLLERR;
	if (s->shutdown == SHUTDOWN_MASK)
		mask |= POLLHUP;
	if (s->shutdown & RCV_SHUTDOWN)
		mask |= POLLRDHUP | POLLIN | POLLRDNORM;
	if (s->rx.count)
		mask |= POLLIN | POLLRDNORM;
	/* Writable while the peer has room for a good part of a buffer; a
	 * write to a lost peer fails at once, so that is writable too. */
	if (!s->peer || ring_space(&s->peer->rx) >= RING_SIZE / 4)
		mask |= POLLOUT | POLLWRNORM | POLLWRBAND;
	return mask;
}

/* FIONREAD: buffered bytes (without datagram headers), or for datagrams
 * the size of the next one. */
static long unix_ioctl(struct file *f, unsigned long cmd, unsigned long arg)
{
	struct unix_sock *s = f->priv;
	uint32_t size = s->rx.count - s->rx.msgs * HDR;
	int n;

	if (cmd != FIONREAD)
		return -ENOTTY;
	if (s->type == SOCK_DGRAM)
		size = s->rx.count ? dgram_size(&s->rx) : 0;
	n = size;
	return copy_to_user((int *)arg, &n, sizeof(n));
}

/* The peer sees end of file (streams, sequenced packets), or ECONNREFUSED
 * on its next send (datagrams); unread data here is ECONNRESET there. */
static void unix_release(struct file *f)
{
	struct unix_sock *s = f->priv, *peer = s->peer;

	if (peer) {
		peer->peer = NULL;
		if (s->type == SOCK_DGRAM) {
			peer->refused = true;
		} else {
			peer->shutdown = SHUTDOWN_MASK;
			if (s->rx.count)
				peer->err = ECONNRESET;
		}
		changed(&peer->rx);
	}
	changed(&s->rx);  /* the peer's writers sleep on it */
	while (s->rx.rights)
		detach(&s->rx, NULL);
	page_free_n(s->rx.buf, RING_PAGES);
	kfree(s);
}

static const struct file_ops unix_ops = {
	.read = unix_read, .write = unix_write, .poll = unix_poll, .ioctl = unix_ioctl,
	.release = unix_release,
};

/* ------------------------------------------------------------ control */

long unix_shutdown(struct file *f, int how)
{
	struct unix_sock *s = f->priv;
	/* SHUT_RD, SHUT_WR, SHUT_RDWR are 0, 1, 2: the mode is how + 1. */
	unsigned mode = how + 1, peer_mode;

	if (how < SHUT_RD || how > SHUT_RDWR)
		return -EINVAL;
	s->shutdown |= mode;
	changed(&s->rx);
	if (s->peer && s->type != SOCK_DGRAM) {
		peer_mode = (mode & RCV_SHUTDOWN ? SEND_SHUTDOWN : 0) |
			    (mode & SEND_SHUTDOWN ? RCV_SHUTDOWN : 0);
		s->peer->shutdown |= peer_mode;
		changed(&s->peer->rx);
	}
	return 0;
}

static uint64_t timeval_ns(const struct __kernel_old_timeval *tv)
{
	return tv->tv_sec * NS_PER_S + tv->tv_usec * NS_PER_US;
}

static long get_timeout(uint64_t ns, void *val)
{
	struct __kernel_old_timeval tv = { ns / NS_PER_S, ns % NS_PER_S / NS_PER_US };

	memcpy(val, &tv, sizeof(tv));
	return sizeof(tv);
}

long unix_getsockopt(struct file *f, int level, int name, void *val)
{
	struct unix_sock *s = f->priv;
	int v, cred[3] = { s->creator, 0, 0 };  /* struct ucred: pid, uid, gid */

	if (level != SOL_SOCKET)
		return -EOPNOTSUPP;
	switch (name) {
	case SO_TYPE: v = s->type; break;
	case SO_ERROR: v = s->err; s->err = 0; break;
	case SO_SNDBUF: v = s->sndbuf; break;
	case SO_RCVBUF: v = s->rcvbuf; break;
	case SO_DOMAIN: v = AF_UNIX; break;
	case SO_PROTOCOL: case SO_ACCEPTCONN: case SO_PASSCRED: case SO_KEEPALIVE:
	case SO_REUSEADDR: case SO_BROADCAST: case SO_DONTROUTE: case SO_OOBINLINE:
		v = 0;
		break;
	case SO_PEERCRED:
		memcpy(val, cred, sizeof(cred));
		return sizeof(cred);
	case SO_RCVTIMEO_OLD: case SO_RCVTIMEO_NEW:
		return get_timeout(s->rcvtimeo, val);
	case SO_SNDTIMEO_OLD: case SO_SNDTIMEO_NEW:
		return get_timeout(s->sndtimeo, val);
	default:
		return -ENOPROTOOPT;
	}
	memcpy(val, &v, sizeof(v));
	return sizeof(v);
}

static long set_timeout(uint64_t *slot, const void *val, size_t len)
{
	struct __kernel_old_timeval tv;

	if (len < sizeof(tv))
		return -EINVAL;
	memcpy(&tv, val, sizeof(tv));
	if (tv.tv_usec < 0 || tv.tv_usec >= 1000000)
		return -EDOM;
	/* Negative: no timeout, as on Linux. */
	*slot = tv.tv_sec < 0 ? 0 : timeval_ns(&tv);
	return 0;
}

/* Buffer sizes are kept only to be read back (doubled, as Linux does):
 * the ring has a fixed size. */
long unix_setsockopt(struct file *f, int level, int name, const void *val, size_t len)
{
	struct unix_sock *s = f->priv;
	int v;

	if (level != SOL_SOCKET)
		return -EOPNOTSUPP;
	if (name == SO_RCVTIMEO_OLD || name == SO_RCVTIMEO_NEW)
		return set_timeout(&s->rcvtimeo, val, len);
	if (name == SO_SNDTIMEO_OLD || name == SO_SNDTIMEO_NEW)
		return set_timeout(&s->sndtimeo, val, len);
	if (len < sizeof(v))
		return -EINVAL;
	memcpy(&v, val, sizeof(v));
	switch (name) {
	case SO_SNDBUF: case SO_SNDBUFFORCE:
		s->sndbuf = MAX((unsigned)MIN((unsigned)v, BUF_MAX) * 2, 4608);
		return 0;
	case SO_RCVBUF: case SO_RCVBUFFORCE:
		s->rcvbuf = MAX((unsigned)MIN((unsigned)v, BUF_MAX) * 2, 2304);
		return 0;
	case SO_PASSCRED: case SO_KEEPALIVE: case SO_REUSEADDR: case SO_LINGER:
	case SO_PRIORITY: case SO_RCVLOWAT: case SO_SNDLOWAT: case SO_OOBINLINE:
	case SO_BROADCAST: case SO_DONTROUTE:
		return 0;
	}
	return -ENOPROTOOPT;
}

/* ------------------------------------------------------------ creation */

static struct unix_sock *sock_new(int type)
{
	struct unix_sock *s = kzalloc(sizeof(*s));

	if (!s)
		return NULL;
	if (!(s->rx.buf = page_alloc_n(RING_PAGES))) {
		kfree(s);
		return NULL;
	}
	s->type = type;
	s->rx.rights_tail = &s->rx.rights;
	s->sndbuf = s->rcvbuf = DEFAULT_BUF;
	s->creator = current()->pid;
	return s;
}

static void sock_free(struct unix_sock *s)
{
	if (s)
		page_free_n(s->rx.buf, RING_PAGES);
	kfree(s);
}

/* An open file on a socket inode of its own, as each Linux socket has. */
static struct file *sock_file(struct unix_sock *s, unsigned nonblock)
{
	struct inode *in = inode_new(S_IFSOCK | 0777);
	struct file *f = in ? file_new(in, &unix_ops, O_RDWR | nonblock) : NULL;

	if (!f) {
		kfree(in);
		return NULL;
	}
	f->priv = s;
	return f;
}

int unix_socketpair(int type, unsigned nonblock, struct file *ends[2])
{
	struct unix_sock *a = sock_new(type), *b = sock_new(type);

	ends[0] = ends[1] = NULL;
	if (a && b) {
		a->peer = b;
		b->peer = a;
		ends[0] = sock_file(a, nonblock);
		ends[1] = ends[0] ? sock_file(b, nonblock) : NULL;
	}
	if (ends[1])
		return 0;
	if (ends[0]) {
		a->peer = b->peer = NULL;
		file_put(ends[0]);  /* frees a */
		a = NULL;
	}
	sock_free(a);
	sock_free(b);
	return -ENOMEM;
}
