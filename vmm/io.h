/* io.h: whole reads and writes on host file descriptors. */
#ifndef WISP_IO_H
#define WISP_IO_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

/* Writes all len bytes, retrying after signals. 0, or -1 with errno set. */
int io_write_all(int fd, const void *buf, size_t len);
/* Reads len bytes at off, or fewer at the end of the file, retrying after
 * signals. Returns the bytes read, or -1 with errno set. */
ssize_t io_pread_upto(int fd, void *buf, size_t len, uint64_t off);

/* 0 if all len bytes at off were read; -1 with errno set, EIO if the file
 * ends before. */
int io_pread_exact(int fd, void *buf, size_t len, uint64_t off);
/* io_write_all for each of n pieces in turn; a piece with a NULL base is
 * iov_len zero bytes, left as a hole where fd can seek. */
int io_write_parts(int fd, const struct iovec *parts, int n);
/* Writes the n pieces to a new file next to path (path.XXXXXX, mode 0666
 * less the umask) and renames it over path, so that a reader sees the old
 * file or the whole new one, never a part. 0, or -1 with errno set and no
 * temporary file left. */
int io_replace_file(const char *path, const struct iovec *parts, int n);
/* Maps a whole regular file read-only (private): nothing is copied, and no
 * fresh memory is touched. -1 with errno set: EISDIR for a directory,
 * ENOEXEC if it is empty or not a regular file. munmap(*buf, *len) after. */
int io_map_file(const char *path, void **buf, size_t *len);

#endif
