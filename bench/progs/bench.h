/* bench.h: shared by the micro-benchmark programs (bench/micro.py). Each
 * program times its own inner loop with CLOCK_MONOTONIC, so VM boot and
 * program start-up are not in the figure, and prints one line:
 *   RESULT <name> <value> <unit> <iterations>
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static inline double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static inline long arg_or(int argc, char **argv, int i, long dflt)
{
	return argc > i ? atol(argv[i]) : dflt;
}
