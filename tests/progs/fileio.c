/* fileio.c: file-system syscalls in /tmp: mkdir, open, write, lseek, read,
 * pread, pwrite, fstat, stat, getdents (readdir), rename, unlink, rmdir.
 * With an argument, it also prints the contents of that file (used with
 * `wisp run --add`). Prints "fileio: ok" when every check passed.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include "check.h"

static int dir_has(const char *dir, const char *name)
{
	DIR *d = opendir(dir);
	CHECK(d != NULL);
	struct dirent *de;
	int found = 0, dot = 0;
	errno = 0;
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, name) == 0)
			found = 1;
		if (strcmp(de->d_name, ".") == 0)
			dot = 1;
	}
	CHECK(errno == 0);
	CHECK(closedir(d) == 0);
	(void)dot;
	return found;
}

int main(int argc, char **argv)
{
	char buf[256];
	struct stat st;

	if (argc > 1) {
		int fd = open(argv[1], O_RDONLY);
		CHECK(fd >= 0);
		ssize_t n;
		while ((n = read(fd, buf, sizeof buf)) > 0)
			CHECK(write(1, buf, n) == n);
		CHECK(n == 0);
		CHECK(close(fd) == 0);
		return 0;
	}

	CHECK(mkdir("/tmp/wisp-d", 0755) == 0);
	CHECK(mkdir("/tmp/wisp-d", 0755) == -1 && errno == EEXIST);
	CHECK(stat("/tmp/wisp-d", &st) == 0 && S_ISDIR(st.st_mode));

	int fd = open("/tmp/wisp-d/f", O_CREAT | O_EXCL | O_RDWR, 0644);
	CHECK(fd >= 0);
	CHECK(write(fd, "hello world", 11) == 11);
	CHECK(lseek(fd, 0, SEEK_CUR) == 11);
	CHECK(lseek(fd, 0, SEEK_SET) == 0);
	memset(buf, 0, sizeof buf);
	CHECK(read(fd, buf, sizeof buf) == 11);
	CHECK(memcmp(buf, "hello world", 11) == 0);
	CHECK(read(fd, buf, sizeof buf) == 0); /* EOF */

	memset(buf, 0, sizeof buf);
	CHECK(pread(fd, buf, 5, 6) == 5);
	CHECK(memcmp(buf, "world", 5) == 0);
	CHECK(lseek(fd, 0, SEEK_CUR) == 11); /* pread leaves the offset alone */

	CHECK(pwrite(fd, "W", 1, 6) == 1);
	CHECK(fstat(fd, &st) == 0);
	CHECK(S_ISREG(st.st_mode));
	CHECK(st.st_size == 11);

	/* Extend past EOF: the hole reads back as zeros. */
	CHECK(lseek(fd, 100, SEEK_SET) == 100);
	CHECK(write(fd, "!", 1) == 1);
	CHECK(fstat(fd, &st) == 0 && st.st_size == 101);
	CHECK(pread(fd, buf, 3, 50) == 3 && buf[0] == 0 && buf[1] == 0 && buf[2] == 0);
	CHECK(lseek(fd, 0, SEEK_END) == 101);
	CHECK(close(fd) == 0);
	CHECK(close(fd) == -1 && errno == EBADF);

	/* Reopen: the data persisted. */
	fd = open("/tmp/wisp-d/f", O_RDONLY);
	CHECK(fd >= 0);
	memset(buf, 0, sizeof buf);
	CHECK(read(fd, buf, 11) == 11);
	CHECK(memcmp(buf, "hello World", 11) == 0);
	CHECK(close(fd) == 0);

	/* O_APPEND and O_TRUNC. */
	fd = open("/tmp/wisp-d/g", O_CREAT | O_WRONLY | O_TRUNC, 0600);
	CHECK(fd >= 0);
	CHECK(write(fd, "abc", 3) == 3);
	CHECK(close(fd) == 0);
	fd = open("/tmp/wisp-d/g", O_WRONLY | O_APPEND);
	CHECK(fd >= 0);
	CHECK(lseek(fd, 0, SEEK_SET) == 0);
	CHECK(write(fd, "def", 3) == 3);
	CHECK(close(fd) == 0);
	CHECK(stat("/tmp/wisp-d/g", &st) == 0 && st.st_size == 6);
	fd = open("/tmp/wisp-d/g", O_RDWR | O_TRUNC);
	CHECK(fd >= 0);
	CHECK(fstat(fd, &st) == 0 && st.st_size == 0);
	CHECK(close(fd) == 0);

	/* getdents via readdir. */
	CHECK(dir_has("/tmp/wisp-d", "f"));
	CHECK(dir_has("/tmp/wisp-d", "g"));
	CHECK(dir_has("/tmp", "wisp-d"));

	CHECK(rename("/tmp/wisp-d/g", "/tmp/wisp-d/h") == 0);
	CHECK(!dir_has("/tmp/wisp-d", "g"));
	CHECK(dir_has("/tmp/wisp-d", "h"));

	CHECK(unlink("/tmp/wisp-d/f") == 0);
	CHECK(unlink("/tmp/wisp-d/h") == 0);
	CHECK(open("/tmp/wisp-d/f", O_RDONLY) == -1 && errno == ENOENT);
	CHECK(!dir_has("/tmp/wisp-d", "f"));
	CHECK(rmdir("/tmp/wisp-d") == 0);
	CHECK(stat("/tmp/wisp-d", &st) == -1 && errno == ENOENT);

	CHECK(open("/nonexistent/file", O_RDONLY) == -1 && errno == ENOENT);

	printf("fileio: ok\n");
	return 0;
}
