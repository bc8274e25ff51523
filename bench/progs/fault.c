/* fault.c: page-fault cost, two ways (bench/micro.py):
 *
 *   fault_seq     mmap SEQ_MIB MiB of fresh anonymous memory and write one
 *                 byte per 4 KiB page, in order: ns per touched page. A
 *                 kernel that maps several pages per fault ("fault-around",
 *                 or filling a new page table's 2 MiB range) takes fewer traps
 *                 than pages here: this is what a program pays per page, not
 *                 the cost of one trap.
 *   fault_stride  the round trip of one single-page fault: BLOCKS 2 MiB-
 *                 aligned 2 MiB blocks, one write each (at +1 MiB), so every
 *                 write is in a different page table and no fault-around
 *                 (bounded by a page table, as in Linux) can have mapped it:
 *                 each write is a trap of its own. Beforehand (not timed) the
 *                 first page of each block is made a separate PROT_READ
 *                 mapping and read, so the block's page table exists already
 *                 (natively too): the timed trap neither allocates a page
 *                 table nor triggers wisp's fill-the-new-table fault-around.
 *                 What is left is one trap, one zeroed page, one PTE, back.
 *                 Each write is timed alone; the median over ROUNDS rounds
 *                 (fresh mappings) of BLOCKS writes, in ns per fault.
 *
 * MADV_NOHUGEPAGE is asked for (errors ignored) so that a host with
 * transparent huge pages in "always" mode does not fill 2 MiB per touch.
 * The sequential region is not unmapped: munmap is not what is measured.
 * Usage: fault [SEQ_MIB=64] [BLOCKS=64] [ROUNDS=8] */
#include "bench.h"
#include <stdint.h>
#include <sys/mman.h>

#ifndef MADV_NOHUGEPAGE
#define MADV_NOHUGEPAGE 15
#endif

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static volatile char *map(size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	if (p == MAP_FAILED) {
		perror("mmap");
		exit(1);
	}
	madvise(p, len, MADV_NOHUGEPAGE);
	return p;
}

int main(int argc, char **argv)
{
	long seq_mib = arg_or(argc, argv, 1, 64);
	long blocks = arg_or(argc, argv, 2, 64);
	long rounds = arg_or(argc, argv, 3, 8);
	const size_t block = 2UL << 20;
	size_t len, pages;
	double t0, t1, per[64], *one;
	size_t n = 0;
	volatile char *p;
	volatile char sink = 0;

	if (rounds < 1 || rounds > 64 || seq_mib < 1 || blocks < 1) {
		fprintf(stderr, "usage: fault [SEQ_MIB] [BLOCKS] [ROUNDS<=64]\n");
		return 2;
	}

	/* Sequential: one write per 4 KiB page. */
	len = (size_t)seq_mib << 20;
	pages = len / 4096;
	p = map(len);
	t0 = now_ns();
	for (size_t i = 0; i < pages; i++)
		p[i * 4096] = 1;
	t1 = now_ns();
	printf("RESULT fault_seq %.1f ns/page %zu\n", (t1 - t0) / pages, pages);

	/* Stride: one write per 2 MiB block whose page table exists, each
	 * timed on its own (clock_gettime is in the vDSO, no trap). */
	len = (size_t)(blocks + 1) * block;
	one = malloc(sizeof(*one) * blocks * rounds);
	if (!one) {
		perror("malloc");
		return 1;
	}
	for (long r = 0; r < rounds; r++) {
		volatile char *raw = map(len);
		volatile char *q = (volatile char *)(((uintptr_t)raw + block - 1) & ~(block - 1));

		for (long i = 0; i < blocks; i++) {
			if (mprotect((void *)(q + i * block), 4096, PROT_READ)) {
				perror("mprotect");
				return 1;
			}
			sink += q[i * block];
		}
		t0 = now_ns();
		for (long i = 0; i < blocks; i++) {
			double a = now_ns();

			q[i * block + block / 2] = 1;
			one[n++] = now_ns() - a;
		}
		t1 = now_ns();
		munmap((void *)raw, len);
		per[r] = (t1 - t0) / blocks;
	}
	qsort(per, rounds, sizeof(per[0]), cmp_double);
	qsort(one, n, sizeof(one[0]), cmp_double);
	printf("INFO fault_stride: per-round means %.1f-%.1f ns/fault; single faults: "
	       "min %.1f, p10 %.1f, p90 %.1f ns\n", per[0], per[rounds - 1], one[0],
	       one[n / 10], one[n * 9 / 10]);
	printf("RESULT fault_stride %.1f ns/fault %zu\n", one[n / 2], n);
	if (sink) {
		fprintf(stderr, "fault: fresh memory did not read as zeros\n");
		return 1;
	}
	return 0;
}
