/* unix.h: AF_UNIX sockets made by socketpair(2), for the socket system calls of syscalls/net.c. */
#ifndef NET_UNIX_H
#define NET_UNIX_H

#include "kernel.h"

struct file;
struct iovec;

/* From Linux's include/linux/socket.h and net.h, which UAPI lacks. */
#define AF_UNIX 1
#define AF_INET 2
#define AF_INET6 10
#define SOCK_STREAM 1
#define SOCK_DGRAM 2
#define SOCK_RAW 3
#define SOCK_SEQPACKET 5
#define SOCK_TYPE_MASK 0xf
#define MSG_OOB 0x1
#define MSG_PEEK 0x2
#define MSG_CTRUNC 0x8
#define MSG_TRUNC 0x20
#define MSG_DONTWAIT 0x40
#define MSG_EOR 0x80
#define MSG_WAITALL 0x100
#define MSG_NOSIGNAL 0x4000
#define MSG_CMSG_CLOEXEC 0x40000000
#define SHUT_RD 0
#define SHUT_WR 1
#define SHUT_RDWR 2
#define SCM_RIGHTS 1
#define SCM_CREDENTIALS 2
#define SCM_MAX_FD 253

/* Open files passed with SCM_RIGHTS, one reference each, attached to the
 * data of one send: at stream position pos, for len bytes. */
struct unix_rights {
	struct unix_rights *next;
	uint64_t pos;
	size_t len;
	int n;
	struct file *files[SCM_MAX_FD];
};

/* Closes the files of r and frees it. */
void unix_rights_free(struct unix_rights *r);

/* Two connected sockets of type SOCK_STREAM, SOCK_DGRAM or SOCK_SEQPACKET;
 * nonblock is 0 or O_NONBLOCK. Returns 0 or -errno. */
int unix_socketpair(int type, unsigned nonblock, struct file *ends[2]);
bool unix_is_socket(const struct file *f);
int unix_type(const struct file *f);

/* The data of one send or receive: buffers in the kernel, or user ones
 * already checked with user_access_ok() (as for struct file_ops). */
struct unix_buf {
	const struct iovec *iov;
	int cnt;
	size_t len;  /* the sum of the lengths */
};

/* The largest datagram: it must fit the receiver's ring. */
#define UNIX_DGRAM_MAX (128 * 1024 - 4)

/* flags are MSG_*. unix_send takes *rights over (setting it to NULL) once
 * it sends them. */
long unix_send(struct file *f, const struct unix_buf *b, int flags,
	       struct unix_rights **rights);
/* *msg_flags gets MSG_TRUNC; files passed with the data go to *rights if
 * rights is not NULL, else they are closed. A read that takes files ends
 * with their data, as on Linux. */
long unix_recv(struct file *f, const struct unix_buf *b, int flags, int *msg_flags,
	       struct unix_rights **rights);
long unix_shutdown(struct file *f, int how);
/* Options on kernel buffers: getsockopt fills val (16 bytes at most) and
 * returns its size. */
long unix_getsockopt(struct file *f, int level, int name, void *val);
long unix_setsockopt(struct file *f, int level, int name, const void *val, size_t len);
/* False once a datagram socket's peer is gone (getpeername: ENOTCONN). */
bool unix_connected(const struct file *f);

#endif
