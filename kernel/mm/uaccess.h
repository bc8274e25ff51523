/* uaccess.h: checked copies between the kernel and the current process's memory. */
#ifndef MM_UACCESS_H
#define MM_UACCESS_H

#include "kernel.h"

/* Each returns 0 or -EFAULT; the user range is faulted in first. */
int copy_from_user(void *dst, const void *usrc, size_t n);
int copy_to_user(void *udst, const void *src, size_t n);
/* Copies a NUL-terminated string of at most max-1 chars; returns its length,
 * -EFAULT, or -ENAMETOOLONG. */
long strncpy_from_user(char *dst, const char *usrc, size_t max);
/* Checks and faults in a user buffer the kernel will access directly. */
int user_access_ok(const void *uaddr, size_t n, bool write);
/* The kernel's (direct-map) address of a byte of the current process's
 * memory that is mapped writable, or NULL: a device can transfer to it. */
void *user_to_kernel(const void *uaddr);

#endif
