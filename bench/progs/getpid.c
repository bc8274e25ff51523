/* getpid.c: system-call round trip: N x syscall(SYS_getpid) (the raw
 * syscall, never a libc cache). Usage: getpid [N=100000] */
#include "bench.h"
#include <sys/syscall.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	long n = arg_or(argc, argv, 1, 100000);
	long pid = 0;
	double t0, t1;

	for (long i = 0; i < 1000; i++)   /* warm up */
		pid += syscall(SYS_getpid);
	t0 = now_ns();
	for (long i = 0; i < n; i++)
		pid += syscall(SYS_getpid);
	t1 = now_ns();
	if (pid <= 0)
		return 1;
	printf("RESULT getpid %.1f ns/call %ld\n", (t1 - t0) / n, n);
	return 0;
}
