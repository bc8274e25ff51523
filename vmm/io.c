/* io.c: whole reads and writes on host file descriptors. */
#include "io.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

int io_write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

ssize_t io_pread_upto(int fd, void *buf, size_t len, uint64_t off)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = pread(fd, (char *)buf + done, len - done, (off_t)(off + done));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			break;
		done += (size_t)n;
	}
	return (ssize_t)done;
}

int io_pread_exact(int fd, void *buf, size_t len, uint64_t off)
{
	ssize_t n = io_pread_upto(fd, buf, len, off);

	if (n >= 0 && (size_t)n < len)
		errno = EIO;
	return n >= 0 && (size_t)n == len ? 0 : -1;
}

static int write_zeros(int fd, size_t len)
{
	static const char zeros[4096];

	for (size_t n; len; len -= n) {
		n = len < sizeof(zeros) ? len : sizeof(zeros);
		if (io_write_all(fd, zeros, n) < 0)
			return -1;
	}
	return 0;
}

static int write_hole(int fd, size_t len)
{
	if (len > (size_t)LLONG_MAX)
		return errno = EFBIG, -1;
	if (lseek(fd, (off_t)len, SEEK_CUR) >= 0)
		return 0;
	return errno == ESPIPE ? write_zeros(fd, len) : -1;
}

int io_write_parts(int fd, const struct iovec *parts, int n)
{
	for (int i = 0; i < n; i++) {
		const struct iovec *p = &parts[i];

		if (p->iov_base ? io_write_all(fd, p->iov_base, p->iov_len) < 0 :
				  write_hole(fd, p->iov_len) < 0)
			return -1;
	}
	return 0;
}

int io_replace_file(const char *path, const struct iovec *parts, int n)
{
	char tmp[PATH_MAX + 16];
	mode_t mask;
	int fd, e;

	if (snprintf(tmp, sizeof(tmp), "%s.XXXXXX", path) >= (int)sizeof(tmp))
		return errno = ENAMETOOLONG, -1;
	fd = mkstemp(tmp);
	if (fd < 0)
		return -1;
	mask = umask(0);
	umask(mask);
	if (io_write_parts(fd, parts, n) == 0 && fchmod(fd, 0666 & ~mask) == 0 &&
	    close(fd) == 0 && rename(tmp, path) == 0)
		return 0;
	e = errno;
	close(fd);
	unlink(tmp);
	errno = e;
	return -1;
}

int io_map_file(const char *path, void **buf, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), e = 0;
	struct stat st;

	if (fd < 0)
		return -1;
	if (fstat(fd, &st) < 0)
		e = errno;
	else if (!S_ISREG(st.st_mode) || st.st_size == 0)
		e = S_ISDIR(st.st_mode) ? EISDIR : ENOEXEC;
	if (!e) {
		*len = (size_t)st.st_size;
		*buf = mmap(NULL, *len, PROT_READ, MAP_PRIVATE, fd, 0);
		e = *buf == MAP_FAILED ? errno : 0;
	}
	close(fd);
	return e ? (errno = e, -1) : 0;
}
