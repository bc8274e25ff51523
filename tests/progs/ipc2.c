/* ipc2.c: signalfd, AF_UNIX socketpair (stream, datagram, seqpacket, fd passing) and the /proc files programs probe.
 *   ipc2          - runs every check, printing "ok NAME" for each
 *   ipc2 NAME     - runs one check (the names in checks[] below)
 *   ipc2 sigpipe  - writes to a socket whose peer is closed: dies of SIGPIPE
 *   ipc2 cat FILE... - prints the files (the /proc files of this process)
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "check.h"

static sigset_t block(int sig1, int sig2)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, sig1);
	if (sig2)
		sigaddset(&set, sig2);
	CHECK(sigprocmask(SIG_BLOCK, &set, NULL) == 0);
	return set;
}

static void unblock(sigset_t set)
{
	CHECK(sigprocmask(SIG_UNBLOCK, &set, NULL) == 0);
}

static int readable(int fd, int ms)
{
	struct pollfd p = { fd, POLLIN, 0 };

	CHECK(poll(&p, 1, ms) >= 0);
	return p.revents;
}

/* ---- signalfd ---- */

static void check_signalfd(void)
{
	sigset_t set = block(SIGUSR1, SIGRTMIN);
	struct signalfd_siginfo si[4];
	union sigval v = { .sival_int = 42 };
	int fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);

	CHECK(fd >= 0);
	CHECK(fcntl(fd, F_GETFD) == FD_CLOEXEC);
	CHECK(read(fd, si, sizeof(si)) == -1 && errno == EAGAIN);
	CHECK(read(fd, si, 10) == -1 && errno == EINVAL);
	CHECK(readable(fd, 0) == 0);
	CHECK(kill(getpid(), SIGUSR1) == 0);
	CHECK(readable(fd, 0) == POLLIN);
	/* Blocked and pending: delivery didn't take it. */
	sigset_t pend;
	CHECK(sigpending(&pend) == 0 && sigismember(&pend, SIGUSR1));
	CHECK(sigqueue(getpid(), SIGRTMIN, v) == 0);
	CHECK(sigqueue(getpid(), SIGRTMIN, v) == 0);
	CHECK(read(fd, si, sizeof(si)) == 3 * (int)sizeof(si[0]));
	CHECK(si[0].ssi_signo == SIGUSR1 && si[0].ssi_code == SI_USER &&
	      si[0].ssi_pid == (uint32_t)getpid());
	CHECK(si[1].ssi_signo == (uint32_t)SIGRTMIN && si[1].ssi_code == SI_QUEUE &&
	      si[1].ssi_int == 42);
	CHECK(si[2].ssi_signo == (uint32_t)SIGRTMIN);
	CHECK(sigpending(&pend) == 0 && !sigismember(&pend, SIGUSR1));
	CHECK(readable(fd, 0) == 0);
	/* A new mask on the same fd: SIGUSR1 no longer reads. */
	sigset_t only_rt;
	sigemptyset(&only_rt);
	sigaddset(&only_rt, SIGRTMIN);
	CHECK(signalfd(fd, &only_rt, 0) == fd);
	CHECK(raise(SIGUSR1) == 0);
	CHECK(readable(fd, 0) == 0);
	CHECK(read(fd, si, sizeof(si)) == -1 && errno == EAGAIN);
	CHECK(signalfd(0, &set, 0) == -1 && errno == EINVAL);  /* not a signalfd */
	/* The pending SIGUSR1 is still there: take it with sigwaitinfo. */
	siginfo_t info;
	CHECK(sigwaitinfo(&set, &info) == SIGUSR1);
	CHECK(close(fd) == 0);
	unblock(set);
	printf("ok signalfd\n");
}

/* A blocking read wakes when a child sends the signal; so does epoll. */
static void check_signalfd_block(void)
{
	sigset_t set = block(SIGUSR2, SIGCHLD);
	struct signalfd_siginfo si;
	struct epoll_event ev = { .events = EPOLLIN };
	int fd = signalfd(-1, &set, 0), ep = epoll_create1(0), status;
	pid_t child = fork();

	CHECK(fd >= 0 && ep >= 0 && child >= 0);
	if (child == 0) {
		struct timespec ts = { 0, 20 * 1000 * 1000 };

		nanosleep(&ts, NULL);
		kill(getppid(), SIGUSR2);
		_exit(7);
	}
	CHECK(read(fd, &si, sizeof(si)) == sizeof(si));
	CHECK(si.ssi_signo == SIGUSR2 && si.ssi_pid == (uint32_t)child);
	ev.data.fd = fd;
	CHECK(epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) == 0);
	CHECK(epoll_wait(ep, &ev, 1, 5000) == 1 && ev.data.fd == fd);
	CHECK(read(fd, &si, sizeof(si)) == sizeof(si));
	CHECK(si.ssi_signo == SIGCHLD && si.ssi_code == CLD_EXITED && si.ssi_status == 7 &&
	      si.ssi_pid == (uint32_t)child);
	CHECK(waitpid(child, &status, 0) == child && WEXITSTATUS(status) == 7);
	close(ep);
	close(fd);
	unblock(set);
	printf("ok signalfd_block\n");
}

/* ---- socketpair ---- */

static void pair(int type, int sv[2])
{
	CHECK(socketpair(AF_UNIX, type, 0, sv) == 0);
}

static void check_stream(void)
{
	int sv[2], v;
	char buf[64];
	struct stat st;
	socklen_t len = sizeof(v);

	pair(SOCK_STREAM, sv);
	CHECK(write(sv[0], "hello", 5) == 5 && write(sv[0], " world", 6) == 6);
	CHECK(ioctl(sv[1], FIONREAD, &v) == 0 && v == 11);
	CHECK(recv(sv[1], buf, sizeof(buf), MSG_PEEK) == 11);
	CHECK(read(sv[1], buf, 3) == 3 && memcmp(buf, "hel", 3) == 0);
	CHECK(read(sv[1], buf, sizeof(buf)) == 8 && memcmp(buf, "lo world", 8) == 0);
	CHECK(send(sv[1], "back", 4, 0) == 4);
	CHECK(recv(sv[0], buf, sizeof(buf), MSG_DONTWAIT) == 4 && memcmp(buf, "back", 4) == 0);
	CHECK(recv(sv[0], buf, sizeof(buf), MSG_DONTWAIT) == -1 && errno == EAGAIN);
	CHECK(getsockopt(sv[0], SOL_SOCKET, SO_TYPE, &v, &len) == 0 && v == SOCK_STREAM);
	CHECK(fstat(sv[0], &st) == 0 && S_ISSOCK(st.st_mode));
	struct iovec iov[3] = { { "ab", 2 }, { "", 0 }, { "cde", 3 } };
	CHECK(writev(sv[0], iov, 3) == 5);
	char x[2], y[8];
	struct iovec riov[2] = { { x, 2 }, { y, 8 } };
	CHECK(readv(sv[1], riov, 2) == 5 && memcmp(x, "ab", 2) == 0 && memcmp(y, "cde", 3) == 0);
	/* The peer closes: what it sent is still there, then end of file. */
	CHECK(write(sv[1], "bye", 3) == 3);
	close(sv[1]);
	CHECK(readable(sv[0], 0) == (POLLIN | POLLHUP));
	CHECK(read(sv[0], buf, sizeof(buf)) == 3 && read(sv[0], buf, sizeof(buf)) == 0);
	CHECK(send(sv[0], "x", 1, MSG_NOSIGNAL) == -1 && errno == EPIPE);
	close(sv[0]);
	/* Closing with unread data resets the peer, once. */
	pair(SOCK_STREAM, sv);
	CHECK(write(sv[0], "abc", 3) == 3);
	close(sv[1]);
	CHECK(readable(sv[0], 0) == (POLLIN | POLLHUP | POLLERR));
	CHECK(read(sv[0], buf, sizeof(buf)) == -1 && errno == ECONNRESET);
	CHECK(read(sv[0], buf, sizeof(buf)) == 0);
	close(sv[0]);
	printf("ok stream\n");
}

/* Big transfers through a child: blocking in both directions. */
static void check_stream_big(void)
{
	enum { TOTAL = 1 << 20 };
	static char out[TOTAL], in[TOTAL];
	int sv[2], status;
	pid_t child;
	size_t got = 0;

	pair(SOCK_STREAM, sv);
	for (size_t i = 0; i < TOTAL; i++)
		out[i] = (char)(i * 7 + i / 4096);
	CHECK((child = fork()) >= 0);
	if (child == 0) {
		close(sv[0]);
		/* Echo everything back. */
		for (;;) {
			ssize_t n = read(sv[1], in, sizeof(in));

			if (n <= 0)
				_exit(n < 0);
			if (write(sv[1], in, n) != n)
				_exit(2);
		}
	}
	close(sv[1]);
	pid_t writer = fork();
	CHECK(writer >= 0);
	if (writer == 0)
		_exit(write(sv[0], out, TOTAL) != TOTAL);
	while (got < TOTAL) {
		ssize_t n = read(sv[0], in + got, TOTAL - got);

		CHECK(n > 0);
		got += n;
	}
	CHECK(memcmp(in, out, TOTAL) == 0);
	CHECK(waitpid(writer, &status, 0) == writer && status == 0);
	CHECK(shutdown(sv[0], SHUT_WR) == 0);
	CHECK(waitpid(child, &status, 0) == child && status == 0);
	close(sv[0]);
	printf("ok stream_big\n");
}

static void check_dgram(int type, const char *name)
{
	int sv[2], v;
	char buf[16];
	struct msghdr m = { 0 };
	struct iovec iov = { buf, 4 };

	pair(type | SOCK_NONBLOCK, sv);
	CHECK(fcntl(sv[0], F_GETFL) & O_NONBLOCK);
	CHECK(send(sv[0], "one", 3, 0) == 3 && send(sv[0], "", 0, 0) == 0);
	CHECK(send(sv[0], "three333", 8, 0) == 8);
	/* The next datagram's size; a sequenced packet socket's total. */
	CHECK(ioctl(sv[1], FIONREAD, &v) == 0 && v == (type == SOCK_DGRAM ? 3 : 11));
	CHECK(recv(sv[1], buf, sizeof(buf), 0) == 3 && memcmp(buf, "one", 3) == 0);
	CHECK(recv(sv[1], buf, sizeof(buf), 0) == 0);
	m.msg_iov = &iov;
	m.msg_iovlen = 1;
	CHECK(recvmsg(sv[1], &m, 0) == 4 && (m.msg_flags & MSG_TRUNC) && memcmp(buf, "thre", 4) == 0);
	CHECK(recv(sv[1], buf, sizeof(buf), 0) == -1 && errno == EAGAIN);
	CHECK(send(sv[1], "abcdef", 6, 0) == 6);
	CHECK(recv(sv[0], buf, 2, MSG_TRUNC) == 6);
	/* Gathered pieces are one message. */
	struct iovec parts[2] = { { "ab", 2 }, { "cd", 2 } };
	m = (struct msghdr){ .msg_iov = parts, .msg_iovlen = 2 };
	CHECK(sendmsg(sv[0], &m, 0) == 4);
	CHECK(recv(sv[1], buf, sizeof(buf), 0) == 4 && memcmp(buf, "abcd", 4) == 0);
	close(sv[1]);
	if (type == SOCK_DGRAM) {
		CHECK(send(sv[0], "x", 1, 0) == -1 && errno == ECONNREFUSED);
		CHECK(send(sv[0], "x", 1, 0) == -1 && errno == ENOTCONN);
	} else {
		CHECK(recv(sv[0], buf, sizeof(buf), 0) == 0);
		CHECK(send(sv[0], "x", 1, MSG_NOSIGNAL) == -1 && errno == EPIPE);
	}
	close(sv[0]);
	printf("ok %s\n", name);
}

static void check_shutdown(void)
{
	int sv[2];
	char buf[8];

	pair(SOCK_STREAM, sv);
	CHECK(write(sv[0], "ab", 2) == 2);
	CHECK(shutdown(sv[0], SHUT_WR) == 0);
	CHECK(readable(sv[1], 0) == (POLLIN));
	CHECK(read(sv[1], buf, sizeof(buf)) == 2 && read(sv[1], buf, sizeof(buf)) == 0);
	CHECK(send(sv[0], "x", 1, MSG_NOSIGNAL) == -1 && errno == EPIPE);
	CHECK(write(sv[1], "cd", 2) == 2);  /* the other way still works */
	CHECK(read(sv[0], buf, sizeof(buf)) == 2);
	CHECK(shutdown(sv[1], SHUT_RDWR) == 0);
	CHECK(readable(sv[0], 0) == (POLLIN | POLLHUP));
	CHECK(shutdown(sv[1], 7) == -1 && errno == EINVAL);
	CHECK(shutdown(1, SHUT_RD) == -1 && errno == ENOTSOCK);
	close(sv[0]);
	close(sv[1]);
	printf("ok shutdown\n");
}

static void check_sockopt(void)
{
	int sv[2], v = 0;
	socklen_t len = sizeof(v);
	struct sockaddr_un sa;
	struct ucred cred;
	struct timeval tv = { 0, 30000 };
	char buf[4];

	pair(SOCK_SEQPACKET | SOCK_CLOEXEC, sv);
	CHECK(fcntl(sv[1], F_GETFD) == FD_CLOEXEC);
	CHECK(getsockopt(sv[0], SOL_SOCKET, SO_ERROR, &v, &len) == 0 && v == 0);
	CHECK(getsockopt(sv[0], SOL_SOCKET, SO_TYPE, &v, &len) == 0 && v == SOCK_SEQPACKET);
	CHECK(getsockopt(sv[0], SOL_SOCKET, SO_DOMAIN, &v, &len) == 0 && v == AF_UNIX);
	v = 65536;
	CHECK(setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &v, sizeof(v)) == 0);
	CHECK(getsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &v, &len) == 0 && v == 131072);
	CHECK(getsockopt(sv[0], SOL_SOCKET, SO_RCVBUF, &v, &len) == 0 && v > 0);
	CHECK(getsockopt(sv[0], SOL_SOCKET, 9999, &v, &len) == -1 && errno == ENOPROTOOPT);
	len = sizeof(cred);
	CHECK(getsockopt(sv[0], SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0 &&
	      cred.pid == getpid() && len == sizeof(cred));
	len = sizeof(sa);
	CHECK(getsockname(sv[0], (struct sockaddr *)&sa, &len) == 0 && len == sizeof(sa_family_t) &&
	      sa.sun_family == AF_UNIX);
	len = sizeof(sa);
	CHECK(getpeername(sv[0], (struct sockaddr *)&sa, &len) == 0 && len == sizeof(sa_family_t));
	CHECK(getsockname(0, (struct sockaddr *)&sa, &len) == -1 && errno == ENOTSOCK);
	/* A receive timeout ends a blocking read with EAGAIN. */
	CHECK(setsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) == 0);
	CHECK(recv(sv[0], buf, sizeof(buf), 0) == -1 && errno == EAGAIN);
	CHECK(socketpair(AF_INET, SOCK_STREAM, 0, sv) == -1 && errno == EOPNOTSUPP);
	CHECK(socketpair(AF_UNIX, SOCK_RDM, 0, sv) == -1 && errno == ESOCKTNOSUPPORT);
	CHECK(socketpair(AF_UNIX, 42, 0, sv) == -1 && errno == EINVAL);
	printf("ok sockopt\n");
}

/* SCM_RIGHTS: a pipe's read end passed to a child over a socket. */
static void check_rights(void)
{
	int sv[2], p[2], status, fd;
	char buf[8], ctl[CMSG_SPACE(2 * sizeof(int))];
	struct iovec iov = { "F", 1 };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl,
			    .msg_controllen = CMSG_SPACE(2 * sizeof(int)) };
	struct cmsghdr *c = CMSG_FIRSTHDR(&m);
	pid_t child;

	pair(SOCK_STREAM, sv);
	CHECK(pipe(p) == 0);
	CHECK((child = fork()) >= 0);
	if (child == 0) {
		struct iovec riov = { buf, sizeof(buf) };
		struct msghdr r = { .msg_iov = &riov, .msg_iovlen = 1, .msg_control = ctl,
				    .msg_controllen = sizeof(ctl) };

		close(p[0]);
		close(p[1]);
		if (recvmsg(sv[1], &r, MSG_CMSG_CLOEXEC) != 1 || buf[0] != 'F')
			_exit(10);
		c = CMSG_FIRSTHDR(&r);
		if (!c || c->cmsg_type != SCM_RIGHTS || c->cmsg_len != CMSG_LEN(2 * sizeof(int)))
			_exit(11);
		memcpy(&fd, CMSG_DATA(c), sizeof(fd));
		if (fcntl(fd, F_GETFD) != FD_CLOEXEC)
			_exit(12);
		if (read(fd, buf, sizeof(buf)) != 4 || memcmp(buf, "pipe", 4))
			_exit(13);
		_exit(0);
	}
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(2 * sizeof(int));
	memcpy(CMSG_DATA(c), p, sizeof(p));
	CHECK(sendmsg(sv[0], &m, 0) == 1);
	close(p[0]);
	CHECK(write(p[1], "pipe", 4) == 4);
	CHECK(waitpid(child, &status, 0) == child && WIFEXITED(status) && WEXITSTATUS(status) == 0);
	close(p[1]);
	/* Without room for them, passed fds are dropped: MSG_CTRUNC. */
	CHECK(pipe(p) == 0);
	m.msg_controllen = CMSG_SPACE(2 * sizeof(int));
	CHECK(sendmsg(sv[0], &m, 0) == 1);
	struct iovec riov = { buf, sizeof(buf) };
	struct msghdr r = { .msg_iov = &riov, .msg_iovlen = 1 };
	CHECK(recvmsg(sv[1], &r, 0) == 1 && (r.msg_flags & MSG_CTRUNC));
	close(p[0]);
	/* The dropped read end was the last one. */
	signal(SIGPIPE, SIG_IGN);
	CHECK(write(p[1], "x", 1) == -1 && errno == EPIPE);
	signal(SIGPIPE, SIG_DFL);
	close(p[1]);
	close(sv[0]);
	close(sv[1]);
	printf("ok rights\n");
}

/* ---- /proc ---- */

static char *slurp(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY);
	ssize_t n, len = 0;

	CHECK(fd >= 0);
	while ((n = read(fd, buf + len, size - 1 - len)) > 0)
		len += n;
	CHECK(n == 0);
	buf[len] = '\0';
	close(fd);
	return buf;
}

static void check_maps(const char *exe)
{
	static char buf[65536];
	char line[512], path[256];
	ssize_t n = readlink("/proc/self/exe", path, sizeof(path) - 1);
	int exe_lines = 0;

	CHECK(n > 0);
	path[n] = '\0';
	(void)exe;
	/* musl's sbrk() only reports: grow the heap with the syscall. */
	char *brk0 = (char *)syscall(SYS_brk, 0);
	CHECK((char *)syscall(SYS_brk, brk0 + 8192) == brk0 + 8192);
	brk0[0] = 1;
	slurp("/proc/self/maps", buf, sizeof(buf));
	for (char *p = buf, *nl; (nl = strchr(p, '\n')); p = nl + 1) {
		size_t len = nl - p;

		memcpy(line, p, len);
		line[len] = '\0';
		if (strstr(line, path) && strlen(line) > strlen(path) &&
		    strcmp(line + strlen(line) - strlen(path), path) == 0) {
			exe_lines++;
			/* The name starts at column 73. */
			CHECK(line[72] == ' ' && line[73] == '/');
		}
	}
	CHECK(exe_lines >= 2);
	CHECK(strstr(buf, " [heap]\n") && strstr(buf, " [stack]\n"));
	CHECK(strstr(buf, " [vdso]\n") && strstr(buf, " [vvar]\n"));
	printf("ok maps\n");
}

static void *idle_thread(void *arg)
{
	int *fd = arg;
	char c;

	CHECK(read(*fd, &c, 1) == 1);
	return NULL;
}

static void check_proc(void)
{
	char buf[4096], path[128], tids[2][16];
	int p[2], ntids = 0;
	pthread_t th;
	pid_t self = getpid();

	CHECK(strcmp(slurp("/proc/sys/kernel/ostype", buf, sizeof(buf)), "Linux\n") == 0);
	/* wisp's values; any number natively. */
	CHECK(atoi(slurp("/proc/sys/kernel/pid_max", buf, sizeof(buf))) >= 32768);
	CHECK(strlen(slurp("/proc/sys/vm/overcommit_memory", buf, sizeof(buf))) == 2);
	CHECK(strlen(slurp("/proc/sys/kernel/osrelease", buf, sizeof(buf))) > 2);
	CHECK(strlen(slurp("/proc/sys/kernel/hostname", buf, sizeof(buf))) > 1);
	char u1[64], u2[64], b1[64], b2[64];
	slurp("/proc/sys/kernel/random/uuid", u1, sizeof(u1));
	slurp("/proc/sys/kernel/random/uuid", u2, sizeof(u2));
	CHECK(strlen(u1) == 37 && u1[14] == '4' && u1[8] == '-' && strcmp(u1, u2) != 0);
	CHECK(strchr("89ab", u1[19]));
	slurp("/proc/sys/kernel/random/boot_id", b1, sizeof(b1));
	slurp("/proc/sys/kernel/random/boot_id", b2, sizeof(b2));
	CHECK(strlen(b1) == 37 && strcmp(b1, b2) == 0);
	slurp("/proc/self/comm", buf, sizeof(buf));
	CHECK(strncmp(buf, "ipc2-", 5) == 0 && strlen(buf) <= 16 && buf[strlen(buf) - 1] == '\n');
	/* task/: the main thread and a second one. */
	CHECK(pipe(p) == 0);
	CHECK(pthread_create(&th, NULL, idle_thread, &p[0]) == 0);
	int dfd = open("/proc/self/task", O_RDONLY | O_DIRECTORY);
	CHECK(dfd >= 0);
	char dents[4096];
	long nb = syscall(SYS_getdents64, dfd, dents, sizeof(dents));
	CHECK(nb > 0);
	for (long off = 0; off < nb;) {
		struct { uint64_t ino; int64_t off; unsigned short reclen; unsigned char type;
			 char name[]; } *d = (void *)(dents + off);

		if (d->name[0] != '.' && ntids < 2)
			strcpy(tids[ntids++], d->name);
		off += d->reclen;
	}
	close(dfd);
	CHECK(ntids == 2);
	for (int i = 0; i < 2; i++) {
		snprintf(path, sizeof(path), "/proc/self/task/%s/stat", tids[i]);
		slurp(path, buf, sizeof(buf));
		CHECK(atoi(buf) == atoi(tids[i]));
		snprintf(path, sizeof(path), "/proc/self/task/%s/status", tids[i]);
		slurp(path, buf, sizeof(buf));
		char want[64];
		snprintf(want, sizeof(want), "\nTgid:\t%d\n", self);
		CHECK(strstr(buf, want));
		snprintf(want, sizeof(want), "\nPid:\t%s\n", tids[i]);
		CHECK(strstr(buf, want));
		snprintf(path, sizeof(path), "/proc/self/task/%s/comm", tids[i]);
		CHECK(strncmp(slurp(path, buf, sizeof(buf)), "ipc2-", 5) == 0);
	}
	CHECK(atoi(tids[0]) == self || atoi(tids[1]) == self);
	CHECK(write(p[1], "x", 1) == 1);
	CHECK(pthread_join(th, NULL) == 0);
	/* A socket's fd link. */
	int sv[2];
	pair(SOCK_STREAM, sv);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", sv[0]);
	ssize_t n = readlink(path, buf, sizeof(buf) - 1);
	CHECK(n > 9 && memcmp(buf, "socket:[", 8) == 0);
	close(sv[0]);
	close(sv[1]);
	close(p[0]);
	close(p[1]);
	printf("ok proc\n");
}

static void sigpipe_dies(void)
{
	int sv[2];

	pair(SOCK_STREAM, sv);
	close(sv[1]);
	signal(SIGPIPE, SIG_DFL);
	write(sv[0], "x", 1);
	printf("survived\n");
	exit(1);
}

static const char *exe_path;

static void run_maps(void)
{
	check_maps(exe_path);
}

static void run_stream_dgram(void)
{
	check_dgram(SOCK_DGRAM, "dgram");
}

static void run_seqpacket(void)
{
	check_dgram(SOCK_SEQPACKET, "seqpacket");
}

static const struct {
	const char *name;
	void (*fn)(void);
} checks[] = {
	{ "signalfd", check_signalfd }, { "signalfd_block", check_signalfd_block },
	{ "stream", check_stream }, { "stream_big", check_stream_big },
	{ "dgram", run_stream_dgram }, { "seqpacket", run_seqpacket },
	{ "shutdown", check_shutdown }, { "sockopt", check_sockopt },
	{ "rights", check_rights }, { "maps", run_maps }, { "proc", check_proc },
};

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	exe_path = argv[0];
	if (argc > 1 && strcmp(argv[1], "sigpipe") == 0)
		sigpipe_dies();
	if (argc > 1 && strcmp(argv[1], "cat") == 0) {
		static char buf[65536];

		for (int i = 2; i < argc; i++)
			fputs(slurp(argv[i], buf, sizeof(buf)), stdout);
		return 0;
	}
	for (size_t i = 0; i < sizeof(checks) / sizeof(checks[0]); i++)
		if (argc < 2 || strcmp(argv[1], checks[i].name) == 0)
			checks[i].fn();
	return 0;
}
