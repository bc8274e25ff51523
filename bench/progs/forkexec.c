/* forkexec.c: process creation: N x (fork, execv PROG, waitpid), where PROG
 * is a static program that exits at once (nop.c).
 * Usage: forkexec PROG [N=50] */
#include "bench.h"
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	long n = arg_or(argc, argv, 2, 50);
	double t0, t1;
	int st;

	if (argc < 2) {
		fprintf(stderr, "usage: forkexec PROG [N]\n");
		return 2;
	}
	t0 = now_ns();
	for (long i = 0; i < n; i++) {
		pid_t pid = fork();
		if (pid < 0) {
			perror("fork");
			return 1;
		}
		if (pid == 0) {
			execv(argv[1], (char *[]){ argv[1], NULL });
			_exit(127);
		}
		if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
			fprintf(stderr, "forkexec: child failed (status %#x)\n", st);
			return 1;
		}
	}
	t1 = now_ns();
	printf("RESULT forkexec %.1f us/iteration %ld\n", (t1 - t0) / n / 1e3, n);
	return 0;
}
