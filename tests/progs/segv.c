/* segv.c: dies of SIGSEGV.
 *   segv null  - writes to address 0x10 (NULL + 0x10)
 *   segv ro    - writes to a read-only page; prints its address first
 *   segv unmap - reads an unmapped page; prints its address first
 */
#include <stdint.h>
#include <sys/mman.h>
#include <unistd.h>
#include "check.h"

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "null";
	if (strcmp(mode, "null") == 0) {
		printf("before fault\n");
		fflush(stdout);
		volatile int *np = (volatile int *)(uintptr_t)0x10;
		__asm__ volatile("" : "+r"(np)); /* hide the constant from the compiler */
		*np = 1;
	} else if (strcmp(mode, "ro") == 0) {
		char *p = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		CHECK(p != MAP_FAILED);
		printf("addr=%p\n", (void *)(p + 8));
		fflush(stdout);
		*(volatile char *)(p + 8) = 1;
	} else if (strcmp(mode, "unmap") == 0) {
		char *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		CHECK(p != MAP_FAILED);
		CHECK(munmap(p, 4096) == 0);
		printf("addr=%p\n", (void *)(p + 24));
		fflush(stdout);
		(void)*(volatile char *)(p + 24);
	}
	printf("still alive\n");
	return 0;
}
