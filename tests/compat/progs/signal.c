/* signal.c: signal delivery: sigaction + raise/kill, SA_SIGINFO fields,
 * sigprocmask blocking and pending, sigsuspend, sigtimedwait, sigaltstack,
 * SA_RESETHAND, a SIGSEGV handler with siglongjmp, SIGCHLD on child exit,
 * SIG_IGN, and a handler interrupting a blocking read (EINTR). */
#include "compat.h"
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile sig_atomic_t got, got_code, got_pid_ok, on_alt;
static char *alt_base;
static size_t alt_size = 64 * 1024;
static sigjmp_buf env;

static void handler(int sig)
{
	got = sig;
}

static void info_handler(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	got = sig;
	got_code = si->si_code;
	got_pid_ok = si->si_pid == getpid();
}

static void alt_handler(int sig)
{
	char here;

	got = sig;
	on_alt = (char *)&here >= alt_base && (char *)&here < alt_base + alt_size;
}

static void segv_handler(int sig)
{
	(void)sig;
	siglongjmp(env, 1);
}

int main(void)
{
	struct sigaction sa;
	sigset_t set, old, pending;

	compat_begin();
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = handler;
	CHECK(sigaction(SIGUSR1, &sa, NULL) == 0, "sigaction SIGUSR1");
	got = 0;
	CHECK(raise(SIGUSR1) == 0 && got == SIGUSR1, "raise runs the handler");
	got = 0;
	CHECK(kill(getpid(), SIGUSR1) == 0 && got == SIGUSR1, "kill(getpid) runs the handler");

	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = info_handler;
	sa.sa_flags = SA_SIGINFO;
	CHECK(sigaction(SIGUSR2, &sa, NULL) == 0, "sigaction SA_SIGINFO");
	got = got_code = got_pid_ok = 0;
	kill(getpid(), SIGUSR2);
	CHECK(got == SIGUSR2 && got_code == SI_USER && got_pid_ok, "siginfo si_code SI_USER, si_pid");
	{
		union sigval v = { .sival_int = 7 };
		got = got_code = 0;
		CHECK(sigqueue(getpid(), SIGUSR2, v) == 0 && got == SIGUSR2 && got_code == SI_QUEUE,
		      "sigqueue si_code SI_QUEUE");
	}

	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	CHECK(sigprocmask(SIG_BLOCK, &set, &old) == 0, "sigprocmask block SIGUSR1");
	got = 0;
	kill(getpid(), SIGUSR1);
	CHECK(got == 0, "blocked signal not delivered");
	CHECK(sigpending(&pending) == 0 && sigismember(&pending, SIGUSR1), "sigpending shows it");
	CHECK(sigprocmask(SIG_SETMASK, &old, NULL) == 0 && got == SIGUSR1, "delivered on unblock");

	sigprocmask(SIG_BLOCK, &set, &old);
	kill(getpid(), SIGUSR1);
	{
		siginfo_t si;
		struct timespec to = { 1, 0 };
		got = 0;
		CHECK(sigtimedwait(&set, &si, &to) == SIGUSR1 && got == 0, "sigtimedwait takes it");
		to.tv_sec = 0;
		to.tv_nsec = 10 * 1000 * 1000;
		CHECK(sigtimedwait(&set, &si, &to) < 0 && errno == EAGAIN, "sigtimedwait times out");
	}
	{
		struct itimerval it = { { 0, 0 }, { 0, 20000 } };
		sigset_t wait_mask;

		memset(&sa, 0, sizeof sa);
		sa.sa_handler = handler;
		sigaction(SIGALRM, &sa, NULL);
		sigaddset(&set, SIGALRM);
		sigprocmask(SIG_BLOCK, &set, NULL);
		setitimer(ITIMER_REAL, &it, NULL);
		sigemptyset(&wait_mask);
		got = 0;
		CHECK(sigsuspend(&wait_mask) < 0 && errno == EINTR && got == SIGALRM,
		      "sigsuspend wakes for SIGALRM");
		sigprocmask(SIG_SETMASK, &old, NULL);
	}

	{
		stack_t ss = { 0 };

		alt_base = malloc(alt_size);
		ss.ss_sp = alt_base;
		ss.ss_size = alt_size;
		CHECK(sigaltstack(&ss, NULL) == 0, "sigaltstack");
		memset(&sa, 0, sizeof sa);
		sa.sa_handler = alt_handler;
		sa.sa_flags = SA_ONSTACK;
		sigaction(SIGUSR1, &sa, NULL);
		got = on_alt = 0;
		raise(SIGUSR1);
		CHECK(got == SIGUSR1 && on_alt, "SA_ONSTACK handler runs on the alternate stack");
	}

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = handler;
	sa.sa_flags = SA_RESETHAND;
	sigaction(SIGUSR1, &sa, NULL);
	raise(SIGUSR1);
	sigaction(SIGUSR1, NULL, &sa);
	CHECK(sa.sa_handler == SIG_DFL, "SA_RESETHAND resets to SIG_DFL");

	signal(SIGUSR2, SIG_IGN);
	CHECK(raise(SIGUSR2) == 0, "ignored signal is harmless");

	signal(SIGSEGV, segv_handler);
	if (sigsetjmp(env, 1) == 0) {
		volatile int *volatile bad = (int *)16;
		*bad = 1;
		CHECK(0, "SIGSEGV handler");
	} else {
		CHECK(1, "SIGSEGV handler + siglongjmp");
	}
	signal(SIGSEGV, SIG_DFL);

	{
		int fds[2], st;
		char c;
		pid_t pid;

		memset(&sa, 0, sizeof sa);
		sa.sa_handler = handler;
		sigaction(SIGCHLD, &sa, NULL);
		got = 0;
		pid = fork();
		if (pid == 0)
			_exit(3);
		CHECK(waitpid(pid, &st, 0) == pid && WEXITSTATUS(st) == 3, "child exit 3");
		CHECK(got == SIGCHLD, "SIGCHLD delivered");

		sigaction(SIGALRM, &sa, NULL);  /* no SA_RESTART */
		CHECK(pipe(fds) == 0, "pipe");
		alarm(1);
		got = 0;
		CHECK(read(fds[0], &c, 1) < 0 && errno == EINTR && got == SIGALRM,
		      "SIGALRM interrupts a blocking read with EINTR");
	}

	{
		int st;
		pid_t pid = fork();
		if (pid == 0) {
			pause();
			_exit(0);
		}
		kill(pid, SIGTERM);
		CHECK(waitpid(pid, &st, 0) == pid && WIFSIGNALED(st) && WTERMSIG(st) == SIGTERM,
		      "SIGTERM kills a child in pause()");
	}
	return compat_end();
}
