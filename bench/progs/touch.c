/* touch.c: page-fault cost: mmap MIB MiB of anonymous memory and write one
 * byte per 4 KiB page, so every write is a first-touch page fault.
 * Usage: touch [MIB=256] */
#include "bench.h"
#include <sys/mman.h>

int main(int argc, char **argv)
{
	long mib = arg_or(argc, argv, 1, 256);
	size_t len = (size_t)mib << 20, pages = len / 4096;
	double t0, t1;
	volatile char *p;

	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		perror("mmap");
		return 1;
	}
	t0 = now_ns();
	for (size_t i = 0; i < pages; i++)
		p[i * 4096] = 1;
	t1 = now_ns();
	printf("RESULT touch %.1f ns/page %zu\n", (t1 - t0) / pages, pages);
	return munmap((void *)p, len) != 0;
}
