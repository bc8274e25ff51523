/* mm.c: memory syscalls: brk/sbrk, anonymous mmap/munmap, mprotect (with a
 * SIGSEGV handler to see PROT_NONE work), MAP_FIXED, mremap, madvise
 * MADV_DONTNEED, file-backed MAP_PRIVATE and MAP_SHARED with msync. */
#include "compat.h"
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

static sigjmp_buf env;

static void on_segv(int sig)
{
	(void)sig;
	siglongjmp(env, 1);
}

static int touch_faults(volatile char *p, int write)
{
	if (sigsetjmp(env, 1))
		return 1;
	if (write)
		*p = 1;
	else
		(void)*p;
	return 0;
}

int main(void)
{
	long pg = sysconf(_SC_PAGESIZE);
	char *p, *q;

	compat_begin();
	printf("page size %ld\n", pg);

	{
		/* The raw syscall: musl's sbrk() refuses to grow the heap. */
		char *b0 = (char *)syscall(SYS_brk, 0);
		char *b1 = (char *)syscall(SYS_brk, b0 + (1 << 20));
		CHECK(b0 != NULL, "brk(0)");
		if (CHECK(b1 == b0 + (1 << 20), "brk +1 MiB")) {
			memset(b0, 0x5a, 1 << 20);
			CHECK(b0[(1 << 20) - 1] == 0x5a, "brk memory usable");
		}
		CHECK((char *)syscall(SYS_brk, b0) == b0, "brk shrink");
	}
	{
		size_t n = 64 << 20;
		unsigned long sum = 0;
		char *m = malloc(n);

		CHECK(m != NULL, "malloc 64 MiB");
		for (size_t i = 0; m && i < n; i += 4096)
			m[i] = (char)(i >> 12), sum += (unsigned char)m[i];
		printf("malloc sum %lu\n", sum);
		free(m);
	}

	CHECK((p = mmap(NULL, 16 * pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0))
	      != MAP_FAILED, "mmap anon 16 pages");
	CHECK(p[0] == 0 && p[15 * pg] == 0, "anon pages are zero");
	memset(p, 'a', 16 * pg);
	CHECK(munmap(p + 4 * pg, 4 * pg) == 0, "munmap middle");
	CHECK(p[3 * pg] == 'a' && p[8 * pg] == 'a', "neighbours survive");

	signal(SIGSEGV, on_segv);
	CHECK(touch_faults(p + 5 * pg, 0), "unmapped hole faults");
	CHECK(mprotect(p, pg, PROT_READ) == 0, "mprotect PROT_READ");
	CHECK(!touch_faults(p, 0), "read-only readable");
	CHECK(touch_faults(p, 1), "read-only write faults");
	CHECK(mprotect(p, pg, PROT_NONE) == 0 && touch_faults(p, 0), "PROT_NONE read faults");
	CHECK(mprotect(p, pg, PROT_READ | PROT_WRITE) == 0 && !touch_faults(p, 1),
	      "mprotect back to RW");
	signal(SIGSEGV, SIG_DFL);

	q = mmap(p + 4 * pg, pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	CHECK(q == p + 4 * pg, "MAP_FIXED into the hole");
	CHECK(q[0] == 0, "MAP_FIXED page zero");

	CHECK(madvise(p + 8 * pg, pg, MADV_DONTNEED) == 0 && p[8 * pg] == 0,
	      "MADV_DONTNEED zeroes");

	{
		char *r = mmap(NULL, 2 * pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		memset(r, 'r', 2 * pg);
		char *r2 = mremap(r, 2 * pg, 64 * pg, MREMAP_MAYMOVE);
		CHECK(r2 != MAP_FAILED, "mremap grow");
		if (r2 != MAP_FAILED) {
			CHECK(r2[2 * pg - 1] == 'r' && r2[63 * pg] == 0, "mremap keeps data");
			munmap(r2, 64 * pg);
		}
	}

	{
		char path[] = "/tmp/compat-mm-XXXXXX";
		int fd = mkstemp(path);
		char buf[16] = { 0 };

		CHECK(fd >= 0 && write(fd, "file contents 0123456789", 24) == 24, "file for mmap");
		CHECK(ftruncate(fd, 2 * pg) == 0, "ftruncate 2 pages");
		char *f = mmap(NULL, 2 * pg, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
		CHECK(f != MAP_FAILED && memcmp(f, "file contents", 13) == 0, "MAP_PRIVATE file read");
		if (f != MAP_FAILED) {
			f[0] = 'F';
			CHECK(pread(fd, buf, 4, 0) == 4 && buf[0] == 'f', "MAP_PRIVATE write not in file");
			munmap(f, 2 * pg);
		}
		char *s = mmap(NULL, 2 * pg, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		CHECK(s != MAP_FAILED, "MAP_SHARED file");
		if (s != MAP_FAILED) {
			memcpy(s + 14, "SHARED", 6);
			CHECK(msync(s, 2 * pg, MS_SYNC) == 0, "msync");
			CHECK(pread(fd, buf, 6, 14) == 6 && memcmp(buf, "SHARED", 6) == 0,
			      "MAP_SHARED write reaches file");
			munmap(s, 2 * pg);
		}
		close(fd);
		unlink(path);
	}
	CHECK(munmap(p, 16 * pg) == 0, "munmap all");
	return compat_end();
}
