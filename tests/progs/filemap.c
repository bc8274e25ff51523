/* filemap.c: private file mappings of a large file from the image, which
 * the kernel maps from the initramfs itself (copy-on-write) instead of
 * copying: contents, protection, private writes, fork, and a file changed
 * after it was mapped. Usage: filemap FILE, where FILE holds at least 64 KiB
 * of byte i = i * 7 % 251. */
#include "check.h"
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define LEN (64 * 1024)

static unsigned char expect(size_t i)
{
	return (unsigned char)(i * 7 % 251);
}

static int matches(const unsigned char *p, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (p[i] != expect(i))
			return 0;
	return 1;
}

static unsigned char *map(int fd, int prot)
{
	unsigned char *p = mmap(NULL, LEN, prot, MAP_PRIVATE, fd, 0);

	CHECK(p != MAP_FAILED);
	return p;
}

/* A write to a read-only private mapping kills with SIGSEGV. */
static void check_read_only(int fd)
{
	unsigned char *p = map(fd, PROT_READ);
	int status;
	pid_t pid;

	CHECK(matches(p, LEN));
	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		p[4096] = 1;
		_exit(0);
	}
	CHECK(waitpid(pid, &status, 0) == pid);
	CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGSEGV);
	CHECK(munmap(p, LEN) == 0);
}

/* Made writable, a mapping gets its own copy: the file and other
 * mappings keep the original, and so does a forked parent. */
static void check_private_writes(int fd)
{
	unsigned char *p = map(fd, PROT_READ), *q = map(fd, PROT_READ), buf[16];
	int status;
	pid_t pid;

	CHECK(mprotect(p, LEN, PROT_READ | PROT_WRITE) == 0);
	p[8192] = 0xee;
	CHECK(p[8192] == 0xee && q[8192] == expect(8192));
	CHECK(pread(fd, buf, sizeof(buf), 8192) == (ssize_t)sizeof(buf) && buf[0] == expect(8192));
	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		CHECK(mprotect(q, LEN, PROT_READ | PROT_WRITE) == 0);
		q[12288] = 0xdd;
		_exit(q[12288] == 0xdd && p[8192] == 0xee ? 0 : 1);
	}
	CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0);
	CHECK(q[12288] == expect(12288));
	CHECK(munmap(p, LEN) == 0 && munmap(q, LEN) == 0);
}

/* Mapping and unmapping many times frees nothing that belongs to the image. */
static void check_remap(int fd)
{
	for (int i = 0; i < 200; i++) {
		unsigned char *p = map(fd, PROT_READ | (i & 1 ? PROT_WRITE : 0));

		CHECK(matches(p, LEN));
		if (i & 1)
			p[i * 64] ^= 0xff;
		CHECK(munmap(p, LEN) == 0);
	}
}

/* A mapping made after the file changed shows the change. */
static void check_after_write(int fd)
{
	unsigned char *p;

	CHECK(pwrite(fd, "\xaa", 1, 20000) == 1);
	p = map(fd, PROT_READ);
	CHECK(p[20000] == 0xaa && p[19999] == expect(19999) && p[20001] == expect(20001));
	CHECK(munmap(p, LEN) == 0);
}

int main(int argc, char **argv)
{
	int fd;

	CHECK(argc == 2);
	fd = open(argv[1], O_RDWR);
	CHECK(fd >= 0);
	check_read_only(fd);
	check_private_writes(fd);
	check_remap(fd);
	check_after_write(fd);
	puts("filemap: ok");
	return 0;
}
