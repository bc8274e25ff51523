/* sched.c: kernel features under programs: preemption of busy threads,
 * copy-on-write fork, shared and PROT_NONE mappings, the vDSO, #! scripts.
 * Usage: sched CHECK; prints "ok CHECK" (see tests/integration/test_kernel.py). */
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "check.h"

static volatile int stop;
static volatile long spins[4];

static void *spin(void *arg)
{
	long i = (long)arg;

	while (!stop)
		spins[i]++;
	return NULL;
}

/* Four threads never block; the main thread's sleep must still end, and
 * every thread must have run: only a timer can make that happen. */
static void check_preempt(void)
{
	struct timespec t = { 0, 100 * 1000 * 1000 };
	pthread_t th[4];

	for (long i = 0; i < 4; i++)
		CHECK(pthread_create(&th[i], NULL, spin, (void *)i) == 0);
	CHECK(nanosleep(&t, NULL) == 0);
	stop = 1;
	for (int i = 0; i < 4; i++)
		CHECK(pthread_join(th[i], NULL) == 0);
	for (int i = 0; i < 4; i++)
		CHECK(spins[i] > 0);
}

static void check_cow(void)
{
	static char page[8192] = "parent";
	int status;
	pid_t pid = fork();

	CHECK(pid >= 0);
	if (pid == 0) {
		strcpy(page, "child");
		_exit(strcmp(page, "child") ? 1 : 0);
	}
	CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && !WEXITSTATUS(status));
	CHECK(strcmp(page, "parent") == 0);
}

static void check_shared(void)
{
	int *n = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	pid_t pid;

	CHECK(n != MAP_FAILED);
	*n = 1;
	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		*n = 42;
		_exit(0);
	}
	CHECK(waitpid(pid, NULL, 0) == pid);
	CHECK(*n == 42);
}

static sigjmp_buf jump;

static void on_segv(int sig)
{
	(void)sig;
	siglongjmp(jump, 1);
}

static void check_protnone(void)
{
	char *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	volatile char c;

	CHECK(p != MAP_FAILED);
	strcpy(p, "kept");
	signal(SIGSEGV, on_segv);
	CHECK(mprotect(p, 4096, PROT_NONE) == 0);
	if (!sigsetjmp(jump, 1)) {
		c = p[0];
		(void)c;
		CHECK(!"PROT_NONE page was readable");
	}
	CHECK(mprotect(p, 4096, PROT_READ) == 0);
	CHECK(strcmp(p, "kept") == 0);
}

static void check_vdso(void)
{
	struct timespec a, b;

	CHECK(getauxval(AT_SYSINFO_EHDR) != 0);
	CHECK(clock_gettime(CLOCK_MONOTONIC, &a) == 0);
	CHECK(clock_gettime(CLOCK_MONOTONIC, &b) == 0);
	CHECK(b.tv_sec > a.tv_sec || (b.tv_sec == a.tv_sec && b.tv_nsec >= a.tv_nsec));
	CHECK(time(NULL) > 1600000000);
}

/* Writes a script whose interpreter is this program, and runs it. */
static void check_script(void)
{
	char script[64] = "/tmp/script-XXXXXX", self[4096];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	int fd = mkstemp(script), status;
	pid_t pid;

	CHECK(n > 0);
	self[n] = '\0';
	CHECK(fd >= 0);
	CHECK(dprintf(fd, "#!%s script-arg\n", self) > 0);
	CHECK(close(fd) == 0 && chmod(script, 0755) == 0);
	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		execl(script, script, "tail", (char *)NULL);
		_exit(127);
	}
	CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status));
	CHECK(WEXITSTATUS(status) == 33);
}

int main(int argc, char **argv)
{
	const char *what = argc > 1 ? argv[1] : "";

	if (!strcmp(what, "script-arg"))  /* run as a script's interpreter */
		return argc == 4 && !strncmp(argv[2], "/tmp/script-", 12) &&
		       !strcmp(argv[3], "tail") ? 33 : 1;
	if (!strcmp(what, "preempt"))
		check_preempt();
	else if (!strcmp(what, "cow"))
		check_cow();
	else if (!strcmp(what, "shared"))
		check_shared();
	else if (!strcmp(what, "protnone"))
		check_protnone();
	else if (!strcmp(what, "vdso"))
		check_vdso();
	else if (!strcmp(what, "script"))
		check_script();
	else
		return 2;
	printf("ok %s\n", what);
	return 0;
}
