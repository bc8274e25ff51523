/* io.h: whole reads and writes on host file descriptors. */
#ifndef WISP_IO_H
#define WISP_IO_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Writes all len bytes, retrying after signals. 0, or -1 with errno set. */
int io_write_all(int fd, const void *buf, size_t len);
/* Reads len bytes at off, or fewer at the end of the file, retrying after
 * signals. Returns the bytes read, or -1 with errno set. */
ssize_t io_pread_upto(int fd, void *buf, size_t len, uint64_t off);

#endif
