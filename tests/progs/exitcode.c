/* exitcode.c: exit(N) with N = argv[1] (default 42). */
#include <stdlib.h>

int main(int argc, char **argv)
{
	exit(argc > 1 ? atoi(argv[1]) : 42);
}
