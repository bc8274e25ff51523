/* poll.c: readiness: poll, ppoll, select, pselect on pipes; epoll
 * (level- and edge-triggered, EPOLL_CTL_MOD/DEL, timeouts); eventfd,
 * timerfd, signalfd; socketpair; O_NONBLOCK and EAGAIN; pipe capacity. */
#include "compat.h"
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/select.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int main(void)
{
	int p[2], ep, efd, tfd, sfd, sv[2];
	struct pollfd pfd;
	struct epoll_event ev, evs[4];
	char buf[256];
	fd_set rs;
	struct timeval tv;

	compat_begin();
	CHECK(pipe(p) == 0, "pipe");
	pfd.fd = p[0];
	pfd.events = POLLIN;
	CHECK(poll(&pfd, 1, 0) == 0, "poll empty pipe: 0");
	CHECK(poll(&pfd, 1, 20) == 0, "poll 20ms timeout: 0");
	write(p[1], "x", 1);
	CHECK(poll(&pfd, 1, 0) == 1 && (pfd.revents & POLLIN), "poll after write: POLLIN");
	{
		struct timespec ts = { 0, 0 };
		CHECK(ppoll(&pfd, 1, &ts, NULL) == 1, "ppoll");
	}
	FD_ZERO(&rs);
	FD_SET(p[0], &rs);
	tv.tv_sec = 0;
	tv.tv_usec = 0;
	CHECK(select(p[0] + 1, &rs, NULL, NULL, &tv) == 1 && FD_ISSET(p[0], &rs), "select");
	{
		struct timespec ts = { 0, 0 };
		FD_ZERO(&rs);
		FD_SET(p[0], &rs);
		CHECK(pselect(p[0] + 1, &rs, NULL, NULL, &ts, NULL) == 1, "pselect");
	}
	read(p[0], buf, 1);
	pfd.fd = p[1];
	pfd.events = POLLOUT;
	CHECK(poll(&pfd, 1, 0) == 1 && (pfd.revents & POLLOUT), "write end POLLOUT");

	CHECK(fcntl(p[0], F_SETFL, O_NONBLOCK) == 0, "O_NONBLOCK");
	CHECK(read(p[0], buf, 1) < 0 && errno == EAGAIN, "empty non-blocking read: EAGAIN");
	fcntl(p[1], F_SETFL, O_NONBLOCK);
	{
		long total = 0, n;
		memset(buf, 'z', sizeof buf);
		while ((n = write(p[1], buf, sizeof buf)) > 0)
			total += n;
		int werr = errno;
		CHECK(werr == EAGAIN && total >= 4096, "pipe fills up, then EAGAIN");
		while (read(p[0], buf, sizeof buf) > 0)
			;
	}

	CHECK((ep = epoll_create1(EPOLL_CLOEXEC)) >= 0, "epoll_create1");
	ev.events = EPOLLIN;
	ev.data.u64 = 1234;
	CHECK(epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev) == 0, "EPOLL_CTL_ADD");
	CHECK(epoll_wait(ep, evs, 4, 0) == 0, "epoll_wait empty: 0");
	CHECK(epoll_wait(ep, evs, 4, 20) == 0, "epoll_wait 20ms timeout: 0");
	write(p[1], "ab", 2);
	CHECK(epoll_wait(ep, evs, 4, 100) == 1 && evs[0].data.u64 == 1234 &&
	      (evs[0].events & EPOLLIN), "epoll_wait: readable, data kept");
	CHECK(epoll_wait(ep, evs, 4, 0) == 1, "level-triggered: still readable");
	ev.events = EPOLLIN | EPOLLET;
	CHECK(epoll_ctl(ep, EPOLL_CTL_MOD, p[0], &ev) == 0, "EPOLL_CTL_MOD to EPOLLET");
	write(p[1], "c", 1);
	CHECK(epoll_wait(ep, evs, 4, 0) == 1, "edge-triggered: one event");
	CHECK(epoll_wait(ep, evs, 4, 0) == 0, "edge-triggered: no second event");
	read(p[0], buf, sizeof buf);
	CHECK(epoll_ctl(ep, EPOLL_CTL_DEL, p[0], NULL) == 0, "EPOLL_CTL_DEL");

	CHECK((efd = eventfd(0, EFD_NONBLOCK)) >= 0, "eventfd");
	{
		uint64_t v = 3, r = 0;
		ev.events = EPOLLIN;
		ev.data.fd = efd;
		epoll_ctl(ep, EPOLL_CTL_ADD, efd, &ev);
		write(efd, &v, 8);
		write(efd, &v, 8);
		CHECK(epoll_wait(ep, evs, 4, 100) == 1 && evs[0].data.fd == efd, "epoll sees eventfd");
		CHECK(read(efd, &r, 8) == 8 && r == 6, "eventfd counter 6");
		CHECK(read(efd, &r, 8) < 0 && errno == EAGAIN, "eventfd empty: EAGAIN");
	}

	CHECK((tfd = timerfd_create(CLOCK_MONOTONIC, 0)) >= 0, "timerfd_create");
	{
		struct itimerspec its = { { 0, 0 }, { 0, 20 * 1000 * 1000 } };
		uint64_t exp = 0;
		CHECK(timerfd_settime(tfd, 0, &its, NULL) == 0, "timerfd_settime 20ms");
		pfd.fd = tfd;
		pfd.events = POLLIN;
		CHECK(poll(&pfd, 1, 2000) == 1, "poll wakes on timerfd");
		CHECK(read(tfd, &exp, 8) == 8 && exp == 1, "timerfd expirations 1");
	}

	{
		sigset_t set;
		struct signalfd_siginfo si;
		sigemptyset(&set);
		sigaddset(&set, SIGUSR1);
		sigprocmask(SIG_BLOCK, &set, NULL);
		CHECK((sfd = signalfd(-1, &set, 0)) >= 0, "signalfd");
		raise(SIGUSR1);
		CHECK(read(sfd, &si, sizeof si) == sizeof si && si.ssi_signo == SIGUSR1,
		      "signalfd reads SIGUSR1");
	}

	CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0, "socketpair");
	{
		pid_t pid = fork();
		if (pid == 0) {
			char b[16];
			int n = read(sv[1], b, sizeof b);
			for (int i = 0; i < n; i++)
				b[i] ^= 0x20;
			write(sv[1], b, n);
			_exit(0);
		}
		write(sv[0], "echo", 4);
		pfd.fd = sv[0];
		pfd.events = POLLIN;
		memset(buf, 0, sizeof buf);
		CHECK(poll(&pfd, 1, 5000) == 1 && read(sv[0], buf, sizeof buf) == 4 &&
		      strcmp(buf, "ECHO") == 0, "socketpair round trip via a child");
		waitpid(pid, NULL, 0);
	}

	{
		int q[2];
		pipe(q);
		close(q[1]);
		pfd.fd = q[0];
		pfd.events = POLLIN;
		CHECK(poll(&pfd, 1, 0) == 1 && (pfd.revents & POLLHUP), "closed writer: POLLHUP");
		close(q[0]);
		pipe(q);
		close(q[0]);
		signal(SIGPIPE, SIG_IGN);
		CHECK(write(q[1], "x", 1) < 0 && errno == EPIPE, "closed reader: EPIPE");
		close(q[1]);
	}
	return compat_end();
}
