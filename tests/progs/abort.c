/* abort.c: raise(SIGABRT) with the default disposition kills the program. */
#include <signal.h>
#include <stdio.h>

int main(void)
{
	printf("raising SIGABRT\n");
	fflush(stdout);
	raise(SIGABRT);
	printf("still alive\n");
	return 0;
}
