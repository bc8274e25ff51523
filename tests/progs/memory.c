/* memory.c: heap and mappings: malloc 50 MiB, brk, mmap/munmap/mprotect.
 * Prints "memory: ok" when every check passed.
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "check.h"

#define MiB (1024ul * 1024ul)

int main(void)
{
	long page = sysconf(_SC_PAGESIZE);
	CHECK(page == 4096);

	/* malloc 50 MiB, touch every page, verify, free. */
	size_t big = 50 * MiB;
	unsigned char *p = malloc(big);
	CHECK(p != NULL);
	for (size_t i = 0; i < big; i += 4096)
		p[i] = (unsigned char)(i >> 12);
	for (size_t i = 0; i < big; i += 4096)
		CHECK(p[i] == (unsigned char)(i >> 12));
	free(p);

	/* Many small allocations. */
	void *ptrs[1000];
	for (int i = 0; i < 1000; i++) {
		ptrs[i] = malloc(16 + i * 8);
		CHECK(ptrs[i] != NULL);
		memset(ptrs[i], i & 0xff, 16 + i * 8);
	}
	for (int i = 0; i < 1000; i++)
		free(ptrs[i]);

	/* brk: raw syscall, as libc malloc may not use it. */
	uintptr_t cur = (uintptr_t)syscall(SYS_brk, 0);
	CHECK(cur != 0);
	uintptr_t want = cur + 4 * MiB;
	CHECK((uintptr_t)syscall(SYS_brk, want) == want);
	memset((void *)cur, 0xab, 4 * MiB);
	CHECK(((unsigned char *)cur)[4 * MiB - 1] == 0xab);
	CHECK((uintptr_t)syscall(SYS_brk, cur) == cur);

	/* Anonymous mmap: zero-filled, writable, unmappable. */
	size_t len = 8 * MiB;
	unsigned char *m = mmap(NULL, len, PROT_READ | PROT_WRITE,
				MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(m != MAP_FAILED);
	CHECK(((uintptr_t)m & 4095) == 0);
	for (size_t i = 0; i < len; i += 4096)
		CHECK(m[i] == 0);
	memset(m, 0x5a, len);
	/* Partial munmap from the middle, then the rest. */
	CHECK(munmap(m + 4096, 4096) == 0);
	CHECK(m[0] == 0x5a && m[8192] == 0x5a);
	CHECK(munmap(m, len) == 0);

	/* mprotect: RW -> R (reads still work) -> RW. */
	unsigned char *q = mmap(NULL, 4 * 4096, PROT_READ | PROT_WRITE,
				MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(q != MAP_FAILED);
	q[0] = 1;
	q[3 * 4096] = 2;
	CHECK(mprotect(q, 4 * 4096, PROT_READ) == 0);
	CHECK(q[0] == 1 && q[3 * 4096] == 2);
	CHECK(mprotect(q, 4 * 4096, PROT_READ | PROT_WRITE) == 0);
	q[4096] = 3;
	CHECK(q[4096] == 3);
	CHECK(munmap(q, 4 * 4096) == 0);

	/* MAP_FIXED over an existing mapping replaces it with zeros. */
	unsigned char *r = mmap(NULL, 2 * 4096, PROT_READ | PROT_WRITE,
				MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(r != MAP_FAILED);
	r[4096] = 7;
	CHECK(mmap(r + 4096, 4096, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) == r + 4096);
	CHECK(r[4096] == 0);
	CHECK(munmap(r, 2 * 4096) == 0);

	/* Bad arguments. */
	CHECK(munmap((void *)1, 4096) == -1 && errno == EINVAL);
	CHECK(mmap(NULL, 0, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) == MAP_FAILED
	      && errno == EINVAL);

	printf("memory: ok\n");
	return 0;
}
