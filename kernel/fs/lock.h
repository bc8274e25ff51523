/* lock.h: advisory file locks: flock(2), and fcntl(2) byte ranges owned by a process or an open file. */
#ifndef FS_LOCK_H
#define FS_LOCK_H

#include "kernel.h"

struct file;
struct fdtable;
struct flock;

/* flock(2) on f: op is LOCK_SH, LOCK_EX or LOCK_UN, maybe | LOCK_NB.
 * The lock belongs to the open file. Returns 0 or -errno. */
int lock_flock(struct file *f, int op);

/* fcntl(2) F_GETLK, F_SETLK, F_SETLKW and their F_OFD_* forms on f.
 * fl is a kernel copy of the caller's struct flock; F_GETLK rewrites it.
 * Classic (POSIX) locks belong to owner, the process's fd table, and
 * report pid; OFD locks belong to f. The caller holds a reference on f
 * for as long as this may sleep. Returns 0 or -errno. */
int lock_fcntl(struct file *f, int cmd, struct flock *fl,
	       const struct fdtable *owner, int pid);

/* A process closed an fd of f (or exited): the POSIX locks owner holds
 * on f's inode go, whichever fd they were taken through. */
void lock_posix_close(struct file *f, const struct fdtable *owner);

/* The last reference to f went away: its flock and OFD locks go. */
void lock_file_release(struct file *f);

#endif
