/* net.c: sockets: AF_UNIX pairs from socketpair (net/unix.c) and the calls that use them; socket() itself supports no address family yet. */
#include <asm/socket.h>
#include <linux/fcntl.h>
#include <linux/uio.h>
#include "kernel.h"
#include "fs/vfs.h"
#include "lib/string.h"
#include "mm/kmalloc.h"
#include "mm/uaccess.h"
#include "net/unix.h"
#include "syscalls/syscall.h"

#define SOCK_FLAGS (O_NONBLOCK | O_CLOEXEC)  /* SOCK_NONBLOCK, SOCK_CLOEXEC */
#define CONTROL_MAX 20480  /* net.core.optmem_max: the longest msg_control */
#define CMSG_HDR sizeof(struct cmsghdr_k)
#define CMSG_ALIGN(n) ALIGN_UP((size_t)(n), sizeof(size_t))

/* The x86-64 layouts of struct msghdr and struct cmsghdr (Linux's
 * include/linux/socket.h, which UAPI lacks). */
struct msghdr_k {
	void *msg_name;
	int msg_namelen;
	struct iovec *msg_iov;
	size_t msg_iovlen;
	void *msg_control;
	size_t msg_controllen;
	unsigned msg_flags;
};

struct cmsghdr_k {
	size_t cmsg_len;
	int cmsg_level;
	int cmsg_type;
};

/* syscall-partial: socket: no address family is supported yet (AF_UNIX sockets come only from socketpair) */
static long sys_socket(int domain, int type, int protocol)
{
	(void)domain;
	(void)type;
	(void)protocol;
	return -EAFNOSUPPORT;
}
SYSCALL(socket, sys_socket, "ddd");

/* The socket open as fd, with a reference the caller drops: a call that
 * blocks must not lose it to a close by another thread. */
static struct file *sock_get(int fd, long *err)
{
	struct file *f = fd_get(fd);

	*err = !f ? -EBADF : !unix_is_socket(f) ? -ENOTSOCK : 0;
	if (*err)
		return NULL;
	file_get(f);
	return f;
}

/* ---- socketpair ---- */

static long install_pair(struct file *ends[2], int *usv, bool cloexec)
{
	int fds[2];

	if ((fds[0] = fd_install(ends[0], 0, cloexec)) < 0) {
		file_put(ends[0]);
		file_put(ends[1]);
		return -EMFILE;
	}
	if ((fds[1] = fd_install(ends[1], 0, cloexec)) < 0) {
		fd_close(fds[0]);
		file_put(ends[1]);
		return -EMFILE;
	}
	if (copy_to_user(usv, fds, sizeof(fds))) {
		fd_close(fds[0]);
		fd_close(fds[1]);
		return -EFAULT;
	}
	return 0;
}

static long sys_socketpair(int domain, int type, int protocol, int *usv)
{
	int kind = type & SOCK_TYPE_MASK;
	struct file *ends[2];
	long err;

	if (domain != AF_UNIX)
		return domain == AF_INET || domain == AF_INET6 ? -EOPNOTSUPP : -EAFNOSUPPORT;
	if (type & ~(SOCK_TYPE_MASK | SOCK_FLAGS))
		return -EINVAL;
	if (protocol != 0 && protocol != AF_UNIX)
		return -EPROTONOSUPPORT;
	if (kind == SOCK_RAW)
		kind = SOCK_DGRAM;  /* as Linux's unix_create */
	if (kind != SOCK_STREAM && kind != SOCK_DGRAM && kind != SOCK_SEQPACKET)
		return -ESOCKTNOSUPPORT;
	if ((err = unix_socketpair(kind, type & O_NONBLOCK, ends)))
		return err;
	return install_pair(ends, usv, type & O_CLOEXEC);
}
SYSCALL(socketpair, sys_socketpair, "dddp");

/* ---- data: buffers ---- */

/* The user's iovec array, copied and checked; *out is kmalloc'd. */
static long load_iov(const struct iovec *uiov, size_t cnt, bool write, struct unix_buf *b,
		     struct iovec **out)
{
	struct iovec *iov;

	if (cnt > UIO_MAXIOV)
		return -EMSGSIZE;
	if (!(iov = kmalloc(cnt ? cnt * sizeof(*iov) : 1)))
		return -ENOMEM;
	*b = (struct unix_buf){ iov, cnt, 0 };
	*out = iov;
	if (copy_from_user(iov, uiov, cnt * sizeof(*iov)))
		return -EFAULT;
	for (size_t i = 0; i < cnt; i++) {
		if (iov[i].iov_len > (size_t)INT32_MAX - b->len)
			return -EINVAL;
		if (user_access_ok(iov[i].iov_base, iov[i].iov_len, write))
			return -EFAULT;
		b->len += iov[i].iov_len;
	}
	return 0;
}

/* A destination address on a connected pair: a stream can't take one; a
 * datagram could go elsewhere, but no socket has an address here: a path
 * names nothing (ENOENT), an abstract name nobody (ECONNREFUSED). */
static long addressed(struct file *f, const char *uaddr, int addrlen)
{
	char path0 = 0;

	if (unix_type(f) != SOCK_DGRAM)
		return -EISCONN;
	if (addrlen > 2 && copy_from_user(&path0, uaddr + 2, 1))
		return -EFAULT;
	return path0 ? -ENOENT : -ECONNREFUSED;
}

/* ---- data: SCM_RIGHTS ---- */

/* Adds the open files of the fds in cmsg data to *rights. */
static long add_rights(const int *fds, size_t n, struct unix_rights **rights)
{
	struct unix_rights *r = *rights;
	struct file *f;

	if (!r && !(r = *rights = kzalloc(sizeof(*r))))
		return -ENOMEM;
	if (n > (size_t)(SCM_MAX_FD - r->n))
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		if (!(f = fd_get(fds[i])))
			return -EBADF;
		file_get(f);
		r->files[r->n++] = f;
	}
	return 0;
}

/* Walks the control messages of a send: SCM_RIGHTS are sent,
 * SCM_CREDENTIALS accepted and ignored, anything else is EINVAL. */
static long parse_control(const char *ctl, size_t len, struct unix_rights **rights)
{
	struct cmsghdr_k c;
	long err;

	while (len >= CMSG_HDR) {
		memcpy(&c, ctl, sizeof(c));
		if (c.cmsg_len < CMSG_HDR || c.cmsg_len > len || c.cmsg_level != SOL_SOCKET)
			return -EINVAL;
		if (c.cmsg_type == SCM_RIGHTS) {
			int fds[SCM_MAX_FD];
			size_t n = (c.cmsg_len - CMSG_HDR) / sizeof(int);

			if (n > SCM_MAX_FD)
				return -EINVAL;
			memcpy(fds, ctl + CMSG_HDR, n * sizeof(int));
			if ((err = add_rights(fds, n, rights)))
				return err;
		} else if (c.cmsg_type != SCM_CREDENTIALS) {
			return -EINVAL;
		}
		len -= MIN(len, CMSG_ALIGN(c.cmsg_len));
		ctl += CMSG_ALIGN(c.cmsg_len);
	}
	return 0;
}

static long read_control(const struct msghdr_k *m, struct unix_rights **rights)
{
	char *ctl;
	long err;

	if (!m->msg_controllen)
		return 0;
	if (m->msg_controllen > CONTROL_MAX)
		return -ENOBUFS;
	if (!(ctl = kmalloc(m->msg_controllen)))
		return -ENOMEM;
	err = copy_from_user(ctl, m->msg_control, m->msg_controllen) ? -EFAULT
		: parse_control(ctl, m->msg_controllen, rights);
	kfree(ctl);
	return err;
}

/* Installs the received files and writes their SCM_RIGHTS message; files
 * that don't fit are closed, with MSG_CTRUNC. Frees r. Returns the control
 * bytes used. */
static size_t put_rights(struct unix_rights *r, const struct msghdr_k *m, int flags,
			 int *mflags)
{
	size_t room = m->msg_controllen >= CMSG_HDR ?
		      (m->msg_controllen - CMSG_HDR) / sizeof(int) : 0;
	struct cmsghdr_k c = { 0, SOL_SOCKET, SCM_RIGHTS };
	int fds[SCM_MAX_FD], n = 0, fd;

	for (int i = 0; i < r->n; i++) {
		fd = (size_t)n < room ? fd_install(r->files[i], 0, flags & MSG_CMSG_CLOEXEC) : -1;
		if (fd >= 0)
			fds[n++] = fd;
		else
			file_put(r->files[i]);
	}
	if (n < r->n)
		*mflags |= MSG_CTRUNC;
	kfree(r);
	if (!n)
		return 0;
	c.cmsg_len = CMSG_HDR + n * sizeof(int);
	if (copy_to_user(m->msg_control, &c, sizeof(c)) ||
	    copy_to_user((char *)m->msg_control + CMSG_HDR, fds, n * sizeof(int)))
		return 0;
	return MIN(CMSG_ALIGN(c.cmsg_len), m->msg_controllen);
}

/* ---- data: the calls ---- */

static long do_send(int fd, const struct unix_buf *b, int flags, const void *uaddr,
		    int addrlen, struct unix_rights **rights)
{
	struct file *f;
	long err;

	if (!(f = sock_get(fd, &err)))
		return err;
	err = uaddr && addrlen ? addressed(f, uaddr, addrlen) : unix_send(f, b, flags, rights);
	file_put(f);
	return err;
}

/* syscall-partial: sendto, sendmsg: only on socketpair sockets; a destination address fails (no socket has one); SCM_CREDENTIALS is accepted and ignored */
static long sys_sendto(int fd, const void *ubuf, size_t len, int flags, const void *uaddr,
		       int addrlen)
{
	struct iovec iov = { (void *)ubuf, len };
	struct unix_buf b = { &iov, 1, len };

	if (user_access_ok(ubuf, len, false))
		return -EFAULT;
	return do_send(fd, &b, flags, uaddr, addrlen, NULL);
}
SYSCALL(sendto, sys_sendto, "fpuxpd");

static long sys_sendmsg(int fd, const struct msghdr_k *umsg, int flags)
{
	struct unix_rights *rights = NULL;
	struct iovec *iov = NULL;
	struct unix_buf b;
	struct msghdr_k m;
	long err;

	if (copy_from_user(&m, umsg, sizeof(m)))
		return -EFAULT;
	if (!fd_get(fd))
		return -EBADF;
	err = load_iov(m.msg_iov, m.msg_iovlen, false, &b, &iov) ?: read_control(&m, &rights);
	if (!err)
		err = do_send(fd, &b, flags, m.msg_name, m.msg_namelen, &rights);
	unix_rights_free(rights);  /* if not sent */
	kfree(iov);
	return err;
}
SYSCALL(sendmsg, sys_sendmsg, "fpx");

/* syscall-partial: recvfrom, recvmsg: only on socketpair sockets; no SCM_CREDENTIALS; MSG_PEEK passes no fds; MSG_OOB fails (EOPNOTSUPP) */

/* Receives into b; the address of an unnamed peer is empty (length 0). */
static long do_recv(int fd, const struct unix_buf *b, int flags, int *mflags,
		    struct unix_rights **rights)
{
	struct file *f;
	long err;

	if (!(f = sock_get(fd, &err)))
		return err;
	err = unix_recv(f, b, flags, mflags, rights);
	file_put(f);
	return err;
}

static long sys_recvfrom(int fd, void *ubuf, size_t len, int flags, void *uaddr,
			 int *uaddrlen)
{
	struct iovec iov = { ubuf, len };
	struct unix_buf b = { &iov, 1, len };
	int mflags, zero = 0;
	long n;

	if (user_access_ok(ubuf, len, true))
		return -EFAULT;
	n = do_recv(fd, &b, flags, &mflags, NULL);
	if (n >= 0 && uaddr && uaddrlen && copy_to_user(uaddrlen, &zero, sizeof(zero)))
		return -EFAULT;
	return n;
}
SYSCALL(recvfrom, sys_recvfrom, "fpuxpp");

/* Writes back msg_controllen, msg_flags and, if asked for, msg_namelen:
 * the peer is unnamed, so the address is empty. */
static long put_msg_result(struct msghdr_k *umsg, struct msghdr_k *m, size_t ctl_used,
			   int mflags)
{
	m->msg_namelen = 0;
	m->msg_controllen = ctl_used;
	m->msg_flags = mflags;
	if ((m->msg_name &&
	     copy_to_user(&umsg->msg_namelen, &m->msg_namelen, sizeof(m->msg_namelen))) ||
	    copy_to_user(&umsg->msg_controllen, &m->msg_controllen, sizeof(size_t)) ||
	    copy_to_user(&umsg->msg_flags, &m->msg_flags, sizeof(m->msg_flags)))
		return -EFAULT;
	return 0;
}

static long sys_recvmsg(int fd, struct msghdr_k *umsg, int flags)
{
	struct unix_rights *rights = NULL;
	struct iovec *iov = NULL;
	struct unix_buf b;
	struct msghdr_k m;
	size_t used = 0;
	int mflags = 0;
	long n;

	if (copy_from_user(&m, umsg, sizeof(m)))
		return -EFAULT;
	if (!fd_get(fd))
		return -EBADF;
	n = load_iov(m.msg_iov, m.msg_iovlen, true, &b, &iov);
	if (!n)
		n = do_recv(fd, &b, flags, &mflags, &rights);
	if (rights)
		used = put_rights(rights, &m, flags, &mflags);
	if (n >= 0 && put_msg_result(umsg, &m, used, mflags))
		n = -EFAULT;
	kfree(iov);
	return n;
}
SYSCALL(recvmsg, sys_recvmsg, "fpx");

/* ---- control ---- */

static long sys_shutdown(int fd, int how)
{
	struct file *f;
	long err;

	if (!(f = sock_get(fd, &err)))
		return err;
	err = unix_shutdown(f, how);
	file_put(f);
	return err;
}
SYSCALL(shutdown, sys_shutdown, "fd");

/* syscall-partial: getsockopt, setsockopt: SOL_SOCKET only; buffer sizes are kept to be read back but the buffer stays 128 KiB */
static long sys_getsockopt(int fd, int level, int name, void *uval, int *ulen)
{
	char val[16];
	struct file *f;
	long err, n;
	int len;

	if (!(f = sock_get(fd, &err)))
		return err;
	n = copy_from_user(&len, ulen, sizeof(len)) ? -EFAULT
	    : unix_getsockopt(f, level, name, val);
	file_put(f);
	if (n < 0)
		return n;
	if (len < 0)
		return -EINVAL;
	len = MIN(len, n);
	if (copy_to_user(uval, val, len) || copy_to_user(ulen, &len, sizeof(len)))
		return -EFAULT;
	return 0;
}
SYSCALL(getsockopt, sys_getsockopt, "fddpp");

static long sys_setsockopt(int fd, int level, int name, const void *uval, int len)
{
	char val[16] = { 0 };
	struct file *f;
	long err;

	if (!(f = sock_get(fd, &err)))
		return err;
	if (len < 0)
		err = -EINVAL;
	else if (copy_from_user(val, uval, MIN((size_t)len, sizeof(val))))
		err = -EFAULT;
	else
		err = unix_setsockopt(f, level, name, val, len);
	file_put(f);
	return err;
}
SYSCALL(setsockopt, sys_setsockopt, "fddpd");

/* An unnamed AF_UNIX address: the family alone. */
static long put_unnamed(void *uaddr, int *ulen)
{
	uint16_t family = AF_UNIX;
	int len, full = sizeof(family);

	if (copy_from_user(&len, ulen, sizeof(len)))
		return -EFAULT;
	if (len < 0)
		return -EINVAL;
	if (copy_to_user(uaddr, &family, MIN(len, full)) ||
	    copy_to_user(ulen, &full, sizeof(full)))
		return -EFAULT;
	return 0;
}

static long sys_getsockname(int fd, void *uaddr, int *ulen)
{
	struct file *f;
	long err;

	if (!(f = sock_get(fd, &err)))
		return err;
	file_put(f);
	return put_unnamed(uaddr, ulen);
}
SYSCALL(getsockname, sys_getsockname, "fpp");

static long sys_getpeername(int fd, void *uaddr, int *ulen)
{
	struct file *f;
	long err;

	if (!(f = sock_get(fd, &err)))
		return err;
	err = unix_connected(f) ? 0 : -ENOTCONN;
	file_put(f);
	return err ?: put_unnamed(uaddr, ulen);
}
SYSCALL(getpeername, sys_getpeername, "fpp");
