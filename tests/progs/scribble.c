/* scribble.c: overwrites guest kernel memory, as a buggy or hostile program
 * might: scribble ADDR LEN BYTE writes LEN bytes of BYTE from ADDR (hex or
 * decimal) and prints "survived" if it gets back.
 * Where the kernel is protected this dies of SIGSEGV at once; where it is
 * not (a PVM-style host) the VM may break in any way but wisp must end it
 * with a message (tests/integration/test_containment.py). */
#include <stdint.h>
#include <string.h>
#include "check.h"

int main(int argc, char **argv)
{
	uintptr_t addr;
	size_t len;
	int byte;

	CHECK(argc == 4);
	addr = (uintptr_t)strtoull(argv[1], NULL, 0);
	len = (size_t)strtoull(argv[2], NULL, 0);
	byte = (int)strtol(argv[3], NULL, 0);
	printf("writing %zu bytes of 0x%02x at %#lx\n", len, byte, (unsigned long)addr);
	fflush(stdout);
	memset((void *)addr, byte, len);
	printf("survived\n");
	return 0;
}
