/* fs.c: file-system syscalls: open/creat/read/write/lseek/pread/pwrite,
 * readv/writev, stat family, rename/link/symlink/readlink, mkdir/rmdir,
 * getdents (via readdir), truncate, dup/fcntl, access/chmod/utimensat,
 * openat/fstatat with a dirfd, chdir/getcwd, O_APPEND, O_EXCL, O_CLOEXEC. */
#include "compat.h"
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

static int cmpstr(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int main(void)
{
	char dir[] = "/tmp/compat-fs-XXXXXX", path[256], buf[256];
	struct stat st;
	int fd, fd2, dfd;

	compat_begin();
	if (!CHECK(mkdtemp(dir) != NULL, "mkdtemp"))
		return compat_end();
	CHECK(chdir(dir) == 0, "chdir");
	CHECK(getcwd(buf, sizeof buf) && strcmp(buf, dir) == 0, "getcwd matches");

	fd = open("a.txt", O_CREAT | O_WRONLY | O_TRUNC, 0644);
	CHECK(fd >= 0, "open O_CREAT");
	CHECK(write(fd, "hello, world\n", 13) == 13, "write 13");
	CHECK(close(fd) == 0, "close");

	fd = open("a.txt", O_RDWR);
	CHECK(fd >= 0, "open O_RDWR");
	memset(buf, 0, sizeof buf);
	CHECK(read(fd, buf, sizeof buf) == 13, "read 13");
	printf("content: %s", buf);
	CHECK(lseek(fd, 7, SEEK_SET) == 7, "lseek SEEK_SET");
	CHECK(read(fd, buf, 5) == 5 && memcmp(buf, "world", 5) == 0, "read after lseek");
	CHECK(lseek(fd, 0, SEEK_END) == 13, "lseek SEEK_END");
	CHECK(lseek(fd, -3, SEEK_CUR) == 10, "lseek SEEK_CUR");
	CHECK(pwrite(fd, "WORLD", 5, 7) == 5, "pwrite");
	CHECK(pread(fd, buf, 5, 7) == 5 && memcmp(buf, "WORLD", 5) == 0, "pread");
	CHECK(lseek(fd, 0, SEEK_CUR) == 10, "pread/pwrite keep offset");
	CHECK(fstat(fd, &st) == 0 && st.st_size == 13 && S_ISREG(st.st_mode), "fstat size 13");
	CHECK(ftruncate(fd, 5) == 0, "ftruncate 5");
	CHECK(fstat(fd, &st) == 0 && st.st_size == 5, "size after ftruncate");
	CHECK(ftruncate(fd, 8192) == 0, "ftruncate grow");
	CHECK(pread(fd, buf, 4, 4096) == 4 && memcmp(buf, "\0\0\0\0", 4) == 0, "hole reads zero");
	close(fd);
	CHECK(truncate("a.txt", 5) == 0, "truncate");
	CHECK(stat("a.txt", &st) == 0 && st.st_size == 5, "stat size 5");

	{
		struct iovec iov[3] = {
			{ "one ", 4 }, { "two ", 4 }, { "three\n", 6 },
		};
		char a[4], b[10];
		struct iovec riov[2] = { { a, 4 }, { b, 10 } };

		fd = open("v.txt", O_CREAT | O_RDWR | O_TRUNC, 0600);
		CHECK(writev(fd, iov, 3) == 14, "writev 14");
		CHECK(lseek(fd, 0, SEEK_SET) == 0, "rewind");
		CHECK(readv(fd, riov, 2) == 14 && memcmp(a, "one ", 4) == 0 &&
		      memcmp(b, "two three\n", 10) == 0, "readv");
		close(fd);
	}

	fd = open("app.txt", O_CREAT | O_WRONLY | O_APPEND, 0644);
	CHECK(write(fd, "ab", 2) == 2 && lseek(fd, 0, SEEK_SET) == 0 &&
	      write(fd, "cd", 2) == 2, "O_APPEND writes");
	close(fd);
	fd = open("app.txt", O_RDONLY);
	memset(buf, 0, sizeof buf);
	CHECK(read(fd, buf, 10) == 4 && strcmp(buf, "abcd") == 0, "O_APPEND appended");
	close(fd);

	CHECK(open("a.txt", O_CREAT | O_EXCL | O_WRONLY, 0644) < 0 && errno == EEXIST,
	      "O_EXCL gives EEXIST");
	CHECK(open("missing", O_RDONLY) < 0 && errno == ENOENT, "missing gives ENOENT");
	CHECK(open("a.txt/x", O_RDONLY) < 0 && errno == ENOTDIR, "file as dir gives ENOTDIR");

	CHECK(mkdir("sub", 0755) == 0, "mkdir");
	CHECK(mkdir("sub", 0755) < 0 && errno == EEXIST, "mkdir again gives EEXIST");
	CHECK(stat("sub", &st) == 0 && S_ISDIR(st.st_mode), "stat dir");
	CHECK(rename("a.txt", "sub/b.txt") == 0, "rename into dir");
	CHECK(access("a.txt", F_OK) < 0 && errno == ENOENT, "old name gone");
	CHECK(access("sub/b.txt", R_OK | W_OK) == 0, "access new name");
	CHECK(link("sub/b.txt", "hard") == 0, "link");
	CHECK(stat("hard", &st) == 0 && st.st_nlink == 2, "nlink 2");
	CHECK(symlink("sub/b.txt", "soft") == 0, "symlink");
	memset(buf, 0, sizeof buf);
	CHECK(readlink("soft", buf, sizeof buf) == 9 && strcmp(buf, "sub/b.txt") == 0, "readlink");
	CHECK(lstat("soft", &st) == 0 && S_ISLNK(st.st_mode), "lstat sees link");
	CHECK(stat("soft", &st) == 0 && S_ISREG(st.st_mode) && st.st_size == 5, "stat follows link");
	CHECK(rmdir("sub") < 0 && errno == ENOTEMPTY, "rmdir non-empty gives ENOTEMPTY");

	CHECK(chmod("hard", 0600) == 0 && stat("hard", &st) == 0 && (st.st_mode & 0777) == 0600,
	      "chmod 0600");
	{
		struct timespec ts[2] = { { 1000000000, 0 }, { 1234567890, 0 } };

		CHECK(utimensat(AT_FDCWD, "hard", ts, 0) == 0 && stat("hard", &st) == 0 &&
		      st.st_mtime == 1234567890, "utimensat mtime");
	}

	dfd = open("sub", O_RDONLY | O_DIRECTORY);
	CHECK(dfd >= 0, "open O_DIRECTORY");
	fd = openat(dfd, "c.txt", O_CREAT | O_WRONLY, 0644);
	CHECK(fd >= 0 && write(fd, "x", 1) == 1, "openat dirfd");
	close(fd);
	CHECK(fstatat(dfd, "c.txt", &st, 0) == 0 && st.st_size == 1, "fstatat dirfd");
	CHECK(unlinkat(dfd, "c.txt", 0) == 0, "unlinkat");
	CHECK(mkdirat(dfd, "deep", 0700) == 0, "mkdirat");
	CHECK(unlinkat(dfd, "deep", AT_REMOVEDIR) == 0, "unlinkat AT_REMOVEDIR");
	close(dfd);

	for (int i = 0; i < 5; i++) {
		snprintf(path, sizeof path, "sub/f%d", 4 - i);
		fd = open(path, O_CREAT | O_WRONLY, 0644);
		close(fd);
	}
	{
		DIR *d = opendir("sub");
		struct dirent *e;
		char *names[64];
		int n = 0;

		CHECK(d != NULL, "opendir");
		while (d && (e = readdir(d)) && n < 64)
			names[n++] = strdup(e->d_name);
		if (d)
			closedir(d);
		qsort(names, n, sizeof *names, cmpstr);
		printf("readdir sub:");
		for (int i = 0; i < n; i++)
			printf(" %s", names[i]);
		printf("\n");
	}

	fd = open("hard", O_RDONLY);
	fd2 = dup(fd);
	CHECK(fd2 > fd, "dup");
	CHECK(dup2(fd, 20) == 20, "dup2 to 20");
	CHECK(fcntl(20, F_GETFD) == 0, "dup2 clears FD_CLOEXEC");
	CHECK(fcntl(fd, F_SETFD, FD_CLOEXEC) == 0 && fcntl(fd, F_GETFD) == FD_CLOEXEC,
	      "F_SETFD FD_CLOEXEC");
	CHECK((fcntl(fd, F_GETFL) & O_ACCMODE) == O_RDONLY, "F_GETFL O_RDONLY");
	CHECK(fcntl(fd, F_DUPFD, 30) >= 30, "F_DUPFD >= 30");
	CHECK(lseek(fd, 2, SEEK_SET) == 2 && lseek(fd2, 0, SEEK_CUR) == 2, "dup shares offset");
	CHECK(close(20) == 0 && close(20) < 0 && errno == EBADF, "double close gives EBADF");
	close(fd);
	close(fd2);
	fd = open("hard", O_RDONLY | O_CLOEXEC);
	CHECK(fcntl(fd, F_GETFD) == FD_CLOEXEC, "O_CLOEXEC");
	close(fd);

	CHECK(unlink("soft") == 0 && unlink("hard") == 0 && unlink("sub/b.txt") == 0, "unlink");
	for (int i = 0; i < 5; i++) {
		snprintf(path, sizeof path, "sub/f%d", i);
		unlink(path);
	}
	CHECK(rmdir("sub") == 0, "rmdir");
	unlink("v.txt");
	unlink("app.txt");
	CHECK(chdir("/") == 0 && rmdir(dir) == 0, "rmdir tmpdir");
	return compat_end();
}
