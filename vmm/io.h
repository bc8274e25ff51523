/* io.h: whole reads and writes on host file descriptors. */
#ifndef WISP_IO_H
#define WISP_IO_H

#include <stddef.h>
#include <stdint.h>

/* Writes all len bytes, retrying after signals. 0, or -1 with errno set. */
int io_write_all(int fd, const void *buf, size_t len);

#endif
