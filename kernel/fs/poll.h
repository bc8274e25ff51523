/* poll.h: readiness of open files and waiting for it (poll, select, epoll).
 *
 * All waiters sleep on one channel: a file whose readiness may have changed
 * calls poll_notify(), and every waiter rescans its files. Simple, and cheap
 * with the few tasks one VM runs.
 */
#ifndef FS_POLL_H
#define FS_POLL_H

#include "kernel.h"

struct file;
struct __kernel_timespec;

/* Wakes every task in poll_wait(): some file's readiness may have changed. */
void poll_notify(void);
/* Wakes them without counting a change: epoll_ctl changed what a waiter
 * may be waiting for, not whether files are ready. */
void poll_rescan(void);
/* Counts poll_notify() calls: edge-triggered epoll reports a ready file
 * again only after something changed. */
uint64_t poll_generation(void);
/* The readiness bits of f (file_ops.poll, or always readable and writable). */
unsigned poll_file(struct file *f);
/* Calls scan(arg) until it returns nonzero (a ready count or -errno), then
 * returns that; sleeps between scans until poll_notify(). Returns 0 once
 * timeout_ns has passed (< 0: never; 0: one scan), -EINTR on a signal. */
long poll_until(long (*scan)(void *arg), void *arg, int64_t timeout_ns);
/* ppoll, pselect6, epoll_pwait: blocks the user's mask (if umask) while
 * the call sleeps. Returns 0 or -errno. */
long poll_sigmask(const uint64_t *umask, size_t size);
/* A user timeout for poll_until: -1 for NULL (none), else ns or -errno. */
int64_t poll_timeout_ns(const struct __kernel_timespec *uts);

/* ---- syscalls/timerfd.c ---- */
/* The earliest monotonic time an armed timerfd expires, 0 if none: nothing
 * notifies pollers of an expiry, so poll_wait wakes up then. */
uint64_t timerfd_next_expiry(void);

#endif
