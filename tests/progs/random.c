/* random.c: getrandom(2). Prints 32 random bytes in hex and "random: ok". */
#define _GNU_SOURCE
#include <sys/random.h>
#include "check.h"

int main(void)
{
	unsigned char a[32], b[32];
	CHECK(getrandom(a, sizeof a, 0) == (ssize_t)sizeof a);
	CHECK(getrandom(b, sizeof b, GRND_NONBLOCK) == (ssize_t)sizeof b);
	CHECK(memcmp(a, b, sizeof a) != 0);
	int nonzero = 0;
	for (size_t i = 0; i < sizeof a; i++)
		nonzero |= a[i];
	CHECK(nonzero);
	/* A larger request is filled completely. */
	static unsigned char big[4096];
	CHECK(getrandom(big, sizeof big, 0) == (ssize_t)sizeof big);
	printf("random=");
	for (size_t i = 0; i < sizeof a; i++)
		printf("%02x", a[i]);
	printf("\nrandom: ok\n");
	return 0;
}
