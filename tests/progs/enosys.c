/* enosys.c: an unknown syscall fails with ENOSYS instead of killing us. */
#define _GNU_SOURCE
#include <sys/syscall.h>
#include <unistd.h>
#include "check.h"

int main(void)
{
	errno = 0;
	long r = syscall(1000, 1, 2, 3);
	CHECK(r == -1 && errno == ENOSYS);
	errno = 0;
	r = syscall(100000);
	CHECK(r == -1 && errno == ENOSYS);
	printf("enosys: ok\n");
	return 0;
}
