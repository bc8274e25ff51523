/* oom.c: touches memory until there is none left; the kernel must end it
 * with SIGKILL and say why, not hang or crash the VM. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(void)
{
	for (int mib = 0;; mib++) {
		char *p = malloc(1 << 20);

		if (!p) {
			printf("malloc failed after %d MiB\n", mib);
			return 0;
		}
		memset(p, 1, 1 << 20);
	}
}
