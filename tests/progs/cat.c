/* cat.c: copies stdin to stdout with read/write; reports the byte count on
 * stderr as "cat: N bytes".
 */
#include <unistd.h>
#include "check.h"

int main(void)
{
	static char buf[65536];
	long long total = 0;
	for (;;) {
		ssize_t n = read(0, buf, sizeof buf);
		CHECK(n >= 0);
		if (n == 0)
			break;
		for (ssize_t off = 0; off < n;) {
			ssize_t w = write(1, buf + off, n - off);
			CHECK(w > 0);
			off += w;
		}
		total += n;
	}
	fprintf(stderr, "cat: %lld bytes\n", total);
	return 0;
}
