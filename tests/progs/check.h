/* check.h: tiny assertion helper shared by the test programs.
 * A failed CHECK prints the expression, errno and line to stderr and exits 1.
 */
#ifndef CHECK_H
#define CHECK_H
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(cond) do { \
	if (!(cond)) { \
		int e_ = errno; \
		fprintf(stderr, "CHECK failed at %s:%d: %s (errno %d: %s)\n", \
			__FILE__, __LINE__, #cond, e_, strerror(e_)); \
		exit(1); \
	} \
} while (0)

#endif
