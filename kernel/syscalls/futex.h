/* futex.h: waking futex waiters from elsewhere in the kernel. */
#ifndef SYSCALLS_FUTEX_H
#define SYSCALLS_FUTEX_H

#include "kernel.h"

/* Wakes up to n tasks waiting on the futex at uaddr in the current
 * process's memory (thread exit with CLONE_CHILD_CLEARTID); returns how
 * many it woke. */
int futex_wake(uint64_t uaddr, int n);

#endif
