/* check.h: a tiny CHECK macro and the one-line summary shared by the unit tests. */
#ifndef WISP_CHECK_H
#define WISP_CHECK_H

#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

static int check_passed, check_failed;

#define CHECK(cond) do { \
	if (cond) { \
		check_passed++; \
	} else { \
		check_failed++; \
		fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
	} \
} while (0)

/* Compares strings, printing both on failure; NULL never equals anything. */
#define CHECK_STR(a, b) do { \
	const char *check_a_ = (a), *check_b_ = (b); \
	if (check_a_ && check_b_ && strcmp(check_a_, check_b_) == 0) { \
		check_passed++; \
	} else { \
		check_failed++; \
		fprintf(stderr, "%s:%d: CHECK failed: %s == %s\n  got:      '%s'\n  expected: '%s'\n", \
			__FILE__, __LINE__, #a, #b, check_a_ ? check_a_ : "(null)", \
			check_b_ ? check_b_ : "(null)"); \
	} \
} while (0)

#define CHECK_CONTAINS(hay, needle) do { \
	const char *check_h_ = (hay), *check_n_ = (needle); \
	if (check_h_ && strstr(check_h_, check_n_)) { \
		check_passed++; \
	} else { \
		check_failed++; \
		fprintf(stderr, "%s:%d: CHECK failed: '%s' does not contain '%s'\n", \
			__FILE__, __LINE__, check_h_ ? check_h_ : "(null)", check_n_); \
	} \
} while (0)

/* How many of the 4 KiB pages of fd at [off, off + pages * 4096) are in
 * the host's page cache; -1 if that cannot be told. */
static inline long resident_pages(int fd, long off, size_t pages)
{
	unsigned char vec[pages];
	void *p = mmap(NULL, pages * 4096, PROT_READ, MAP_SHARED, fd, off);
	long n = 0;

	if (p == MAP_FAILED)
		return -1;
	if (mincore(p, pages * 4096, vec) < 0)
		n = -1;
	for (size_t i = 0; i < pages && n >= 0; i++)
		n += vec[i] & 1;
	munmap(p, pages * 4096);
	return n;
}

static inline int check_report(void)
{
	printf("%d passed, %d failed\n", check_passed, check_failed);
	return check_failed ? 1 : 0;
}

#endif
