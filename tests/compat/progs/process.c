/* process.c: fork/vfork/execve/wait4/waitid/pipe/dup2, exit statuses,
 * getpid/getppid, posix_spawn, process groups and sessions, and a
 * parent-child pipeline (a child that execs this program with "child"
 * arguments). Needs this program at its own path (argv[0]) in the guest. */
#include "compat.h"
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static int child_mode(int argc, char **argv)
{
	if (argc >= 3 && strcmp(argv[2], "upper") == 0) {
		int c;
		while ((c = getchar()) != EOF)
			putchar(c >= 'a' && c <= 'z' ? c - 32 : c);
		return 0;
	}
	if (argc >= 3 && strcmp(argv[2], "exit") == 0)
		return atoi(argv[3]);
	if (argc >= 3 && strcmp(argv[2], "env") == 0) {
		const char *v = getenv("COMPAT_VAR");
		printf("child env COMPAT_VAR=%s\n", v ? v : "(unset)");
		return 0;
	}
	return 99;
}

int main(int argc, char **argv)
{
	int st, fds[2];
	pid_t pid, me;
	char buf[128];

	if (argc >= 2 && strcmp(argv[1], "child") == 0)
		return child_mode(argc, argv);
	compat_begin();
	me = getpid();
	CHECK(me > 0, "getpid");

	pid = fork();
	if (pid == 0)
		_exit(getppid() == me ? 7 : 8);
	CHECK(pid > 0, "fork");
	CHECK(waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 7,
	      "child sees getppid == parent, exit 7");
	CHECK(waitpid(-1, &st, WNOHANG) < 0 && errno == ECHILD, "no more children: ECHILD");

	pid = fork();
	if (pid == 0) {
		usleep(100 * 1000);
		_exit(0);
	}
	CHECK(waitpid(pid, &st, WNOHANG) == 0, "WNOHANG while child runs");
	CHECK(waitpid(pid, &st, 0) == pid, "then wait reaps it");

	{
		struct rusage ru;
		pid = fork();
		if (pid == 0)
			_exit(5);
		CHECK(wait4(pid, &st, 0, &ru) == pid && WEXITSTATUS(st) == 5, "wait4 with rusage");
	}
	{
		siginfo_t si;
		memset(&si, 0, sizeof si);
		pid = fork();
		if (pid == 0)
			_exit(6);
		CHECK(waitid(P_PID, pid, &si, WEXITED) == 0 && si.si_pid == pid &&
		      si.si_code == CLD_EXITED && si.si_status == 6, "waitid CLD_EXITED 6");
	}

	pid = fork();
	if (pid == 0) {
		raise(SIGKILL);
		_exit(0);
	}
	CHECK(waitpid(pid, &st, 0) == pid && WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL,
	      "child killed by SIGKILL");

	{
		int n = 0;
		for (int i = 0; i < 10; i++) {
			if (fork() == 0)
				_exit(i);
		}
		int sum = 0;
		while ((pid = wait(&st)) > 0) {
			n++;
			sum += WEXITSTATUS(st);
		}
		CHECK(n == 10 && sum == 45, "10 children reaped, statuses sum to 45");
	}

	{
		volatile int shared = 0;
		pid = vfork();
		if (pid == 0) {
			shared = 42;
			_exit(0);
		}
		waitpid(pid, &st, 0);
		CHECK(shared == 42, "vfork shares memory until _exit");
	}

	CHECK(pipe(fds) == 0, "pipe");
	pid = fork();
	if (pid == 0) {
		close(fds[0]);
		const char msg[] = "through the pipe";
		write(fds[1], msg, sizeof msg);
		_exit(0);
	}
	close(fds[1]);
	memset(buf, 0, sizeof buf);
	CHECK(read(fds[0], buf, sizeof buf) == 17 && strcmp(buf, "through the pipe") == 0,
	      "child writes, parent reads");
	CHECK(read(fds[0], buf, sizeof buf) == 0, "EOF once the writer is gone");
	close(fds[0]);
	waitpid(pid, &st, 0);

	{
		int in[2], out[2];
		pipe(in);
		pipe(out);
		pid = fork();
		if (pid == 0) {
			dup2(in[0], 0);
			dup2(out[1], 1);
			close(in[0]); close(in[1]); close(out[0]); close(out[1]);
			execl(argv[0], argv[0], "child", "upper", (char *)NULL);
			_exit(127);
		}
		close(in[0]);
		close(out[1]);
		write(in[1], "hello exec\n", 11);
		close(in[1]);
		memset(buf, 0, sizeof buf);
		int n = 0, r;
		while ((r = read(out[0], buf + n, sizeof buf - 1 - n)) > 0)
			n += r;
		close(out[0]);
		CHECK(waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0,
		      "exec'd filter exits 0");
		printf("filter output: %s", buf);
	}

	pid = fork();
	if (pid == 0) {
		execl(argv[0], argv[0], "child", "exit", "33", (char *)NULL);
		_exit(127);
	}
	CHECK(waitpid(pid, &st, 0) == pid && WEXITSTATUS(st) == 33, "execve child exits 33");

	pid = fork();
	if (pid == 0) {
		execl("/nonexistent/prog", "prog", (char *)NULL);
		_exit(errno == ENOENT ? 44 : 45);
	}
	CHECK(waitpid(pid, &st, 0) == pid && WEXITSTATUS(st) == 44, "execve missing file: ENOENT");

	{
		char *cargv[] = { argv[0], "child", "env", NULL };
		char *cenv[] = { "COMPAT_VAR=spawned", NULL };
		fflush(stdout);
		int r = posix_spawn(&pid, argv[0], NULL, NULL, cargv, cenv);
		CHECK(r == 0 && waitpid(pid, &st, 0) == pid && WEXITSTATUS(st) == 0,
		      "posix_spawn, child exits 0");
	}

	{
		int fd = open("/tmp/compat-proc-cloexec", O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
		pid = fork();
		if (pid == 0) {
			execl(argv[0], argv[0], "child", "exit", "0", (char *)NULL);
			_exit(127);
		}
		waitpid(pid, &st, 0);
		CHECK(fd >= 0 && fcntl(fd, F_GETFD) == FD_CLOEXEC, "O_CLOEXEC fd kept in parent");
		close(fd);
		unlink("/tmp/compat-proc-cloexec");
	}

	pid = fork();
	if (pid == 0) {
		pid_t s = setsid();
		_exit(s == getpid() && getpgrp() == getpid() && getsid(0) == getpid() ? 0 : 1);
	}
	CHECK(waitpid(pid, &st, 0) == pid && WEXITSTATUS(st) == 0, "setsid in child");
	pid = fork();
	if (pid == 0) {
		_exit(setpgid(0, 0) == 0 && getpgid(0) == getpid() ? 0 : 1);
	}
	CHECK(waitpid(pid, &st, 0) == pid && WEXITSTATUS(st) == 0, "setpgid in child");
	return compat_end();
}
