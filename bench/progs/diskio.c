/* diskio.c: file I/O on one file, for the storage benchmark (bench/disk.py).
 * Run natively on a host directory and in wisp on a mounted ext2 disk; each
 * mode is one process (one VM), so a read starts in a fresh VM and pays for
 * loading the file from the disk.
 *
 *   write FILE MIB     create FILE, write MIB MiB in 1 MiB write()s, fsync:
 *                      seq_write in MB/s (10^6 bytes/s), fsync included,
 *                      seq_write_fsync (the fsync alone) in ms
 *   read FILE MIB N    open FILE and read it whole in 1 MiB read()s:
 *                      seq_read in MB/s, the open included (wisp loads a
 *                      file's data whole at open), open_load alone in ms;
 *                      then N pread()s of 4 KiB at random 4 KiB-aligned
 *                      offsets: rand_read in IOPS
 *   randwrite FILE N   open FILE (not timed), N pwrite()s of 4 KiB at random
 *                      4 KiB-aligned offsets, one fsync: rand_write in IOPS
 *                      (the fsync included), rand_write_fsync (it alone)
 *   fsync FILE N       create FILE, N x (append 4 KiB, fdatasync), each
 *                      timed alone: fsync_p50 and fsync_p90 in us, and
 *                      fsync_trend, the median of the last 20 over that of
 *                      the first 20 (above 1 when the cost grows with the file)
 *   drop FILE          host only: fsync FILE, posix_fadvise(DONTNEED) to drop
 *                      its pages from the page cache, then mincore: resident,
 *                      the percentage of its pages still cached afterwards
 *
 * All data is pseudo-random and non-zero: wisp keeps all-zero unmapped
 * blocks as holes, so zeros would measure nothing. Times are CLOCK_MONOTONIC
 * around the measured calls only, so VM boot and program start-up are
 * excluded. Every call's result is checked; a short read or write fails the
 * run rather than producing a fast figure.
 * Usage: diskio write|read|randwrite|fsync|drop FILE [ARGS] */
#include "bench.h"
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define MIB (1L << 20)
#define BLK 4096L

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint64_t next(void)
{
	/* xorshift64: cheap, and never returns 0 from a non-zero state. */
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

/* Fills buf with pseudo-random words; none is zero, so no 4 KiB block of it
 * is all zeros. */
static void fill(void *buf, size_t len)
{
	uint64_t *w = buf;

	for (size_t i = 0; i < len / 8; i++)
		w[i] = next() | 1;
}

static void die(const char *what)
{
	perror(what);
	exit(1);
}

static void *buffer(size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		die("mmap");
	return p;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double median(double *v, size_t n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static int do_write(const char *path, long mib)
{
	char *buf = buffer(MIB);
	double t0, t1, t2;
	int fd;

	/* The data is made before the clock starts: the figure is the file
	 * system's, not the generator's. Each MiB differs in its first word. */
	fill(buf, MIB);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		die("open");
	t0 = now_ns();
	for (long i = 0; i < mib; i++) {
		((uint64_t *)buf)[0] = (uint64_t)i << 1 | 1;
		if (write(fd, buf, MIB) != MIB)
			die("write");
	}
	t1 = now_ns();
	if (fsync(fd) != 0)
		die("fsync");
	t2 = now_ns();
	printf("RESULT seq_write %.1f MB/s %ld\n", mib * MIB / ((t2 - t0) / 1e9) / 1e6, mib);
	printf("RESULT seq_write_fsync %.1f ms/fsync 1\n", (t2 - t1) / 1e6);
	return close(fd) != 0;
}

static int do_read(const char *path, long mib, long n)
{
	char *buf = buffer(MIB);
	long blocks = mib * MIB / BLK;
	double t0, t1, t2, t3;
	ssize_t got;
	long total = 0;
	int fd;

	t0 = now_ns();
	fd = open(path, O_RDONLY);
	if (fd < 0)
		die("open");
	t1 = now_ns();
	while ((got = read(fd, buf, MIB)) > 0)
		total += got;
	if (got < 0)
		die("read");
	t2 = now_ns();
	if (total != mib * MIB) {
		fprintf(stderr, "diskio: read %ld bytes, expected %ld\n", total, mib * MIB);
		return 1;
	}
	printf("RESULT seq_read %.1f MB/s %ld\n", total / ((t2 - t0) / 1e9) / 1e6, mib);
	printf("RESULT open_load %.3f ms/open 1\n", (t1 - t0) / 1e6);
	if (n <= 0)
		return close(fd) != 0;
	t2 = now_ns();
	for (long i = 0; i < n; i++) {
		off_t off = (off_t)(next() % blocks) * BLK;
		if (pread(fd, buf, BLK, off) != BLK)
			die("pread");
	}
	t3 = now_ns();
	printf("RESULT rand_read %.0f IOPS %ld\n", n / ((t3 - t2) / 1e9), n);
	return close(fd) != 0;
}

static int do_randwrite(const char *path, long n)
{
	char *buf = buffer((size_t)n * BLK);
	double t0, t1, t2;
	struct stat st;
	long blocks;
	int fd;

	fd = open(path, O_RDWR);
	if (fd < 0 || fstat(fd, &st) != 0)
		die("open");
	blocks = st.st_size / BLK;
	if (blocks < 1) {
		fprintf(stderr, "diskio: %s is empty: run write first\n", path);
		return 1;
	}
	/* Fresh data per write, made before the clock starts. */
	fill(buf, (size_t)n * BLK);
	t0 = now_ns();
	for (long i = 0; i < n; i++) {
		off_t off = (off_t)(next() % blocks) * BLK;
		if (pwrite(fd, buf + i * BLK, BLK, off) != BLK)
			die("pwrite");
	}
	t1 = now_ns();
	if (fsync(fd) != 0)
		die("fsync");
	t2 = now_ns();
	printf("RESULT rand_write %.0f IOPS %ld\n", n / ((t2 - t0) / 1e9), n);
	printf("RESULT rand_write_fsync %.1f ms/fsync 1\n", (t2 - t1) / 1e6);
	return close(fd) != 0;
}

static int do_fsync(const char *path, long n)
{
	double *lat = calloc(n, sizeof(*lat)), first, last;
	char *buf = buffer(BLK);
	long k = n < 20 ? n : 20;
	int fd;

	if (!lat || n < 1)
		die("calloc");
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0644);
	if (fd < 0)
		die("open");
	for (long i = 0; i < n; i++) {
		double t0, t1;

		fill(buf, BLK);
		t0 = now_ns();
		if (write(fd, buf, BLK) != BLK)
			die("write");
		if (fdatasync(fd) != 0)
			die("fdatasync");
		t1 = now_ns();
		lat[i] = (t1 - t0) / 1e3;
	}
	/* Before sorting: is the cost flat as the file grows? */
	first = median(lat, k);
	last = median(lat + n - k, k);
	printf("RESULT fsync_trend %.2f x %ld\n", last / first, n);
	qsort(lat, n, sizeof(*lat), cmp_double);
	printf("RESULT fsync_p50 %.1f us/fsync %ld\n", median(lat, n), n);
	printf("RESULT fsync_p90 %.1f us/fsync %ld\n", lat[(n * 9 + 9) / 10 - 1], n);
	return close(fd) != 0;
}

static int do_drop(const char *path)
{
	long page = sysconf(_SC_PAGESIZE), pages, resident = 0;
	unsigned char *vec;
	struct stat st;
	void *map;
	int fd;

	fd = open(path, O_RDONLY);
	if (fd < 0 || fstat(fd, &st) != 0)
		die("open");
	/* DONTNEED drops only clean pages: write everything back first. */
	if (fsync(fd) != 0)
		die("fsync");
	if ((errno = posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED)) != 0)
		die("posix_fadvise");
	pages = (st.st_size + page - 1) / page;
	if (pages == 0) {
		printf("RESULT resident 0 %% 0\n");
		return close(fd) != 0;
	}
	/* mincore on a shared mapping says which pages are in the page cache;
	 * mapping does not read them in. */
	map = mmap(NULL, st.st_size, PROT_READ, MAP_SHARED, fd, 0);
	vec = malloc(pages);
	if (map == MAP_FAILED || !vec)
		die("mmap");
	if (mincore(map, st.st_size, vec) != 0)
		die("mincore");
	for (long i = 0; i < pages; i++)
		resident += vec[i] & 1;
	printf("RESULT resident %.1f %% %ld\n", 100.0 * resident / pages, pages);
	munmap(map, st.st_size);
	return close(fd) != 0;
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "", *path = argc > 2 ? argv[2] : NULL;

	if (path && !strcmp(mode, "write"))
		return do_write(path, arg_or(argc, argv, 3, 64));
	if (path && !strcmp(mode, "read"))
		return do_read(path, arg_or(argc, argv, 3, 64), arg_or(argc, argv, 4, 2000));
	if (path && !strcmp(mode, "randwrite"))
		return do_randwrite(path, arg_or(argc, argv, 3, 2000));
	if (path && !strcmp(mode, "fsync"))
		return do_fsync(path, arg_or(argc, argv, 3, 200));
	if (path && !strcmp(mode, "drop"))
		return do_drop(path);
	fprintf(stderr, "usage: diskio write FILE [MIB] | read FILE [MIB [N]] | "
		"randwrite FILE [N] | fsync FILE [N] | drop FILE\n");
	return 2;
}
