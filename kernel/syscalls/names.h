/* names.h: syscall and errno names, for traces and "unimplemented" messages. */
#ifndef SYSCALLS_NAMES_H
#define SYSCALLS_NAMES_H

#include "syscalls/syscall.h"

#define ERRNO_MAX 134  /* EHWPOISON + 1 */

/* Indexed by number; NULL where no name is known. */
extern const char *const syscall_names[SYSCALL_MAX];
extern const char *const errno_names[ERRNO_MAX];

#endif
