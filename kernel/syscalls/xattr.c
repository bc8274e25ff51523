/* xattr.c: extended attributes. tmpfs files here carry none, so reads find
 * nothing and writes are refused, after the usual path and fd checks. */
#include "kernel.h"
#include "fs/vfs.h"
#include "syscalls/syscall.h"
#include <linux/fcntl.h>

/* syscall-partial: getxattr, lgetxattr, fgetxattr, listxattr, llistxattr, flistxattr, setxattr, lsetxattr, fsetxattr, removexattr, lremovexattr, fremovexattr: files have no attributes; setting one fails with EOPNOTSUPP */

static long check_path(const char *upath, bool follow)
{
	struct inode *in;

	return vfs_lookup_user(AT_FDCWD, upath, follow ? 0 : AT_SYMLINK_NOFOLLOW, &in);
}

static long check_fd(int fd)
{
	return fd_get(fd) ? 0 : -EBADF;
}

static long no_attr(long err)
{
	return err ? err : -ENODATA;
}

static long no_list(long err)
{
	return err ? err : 0;
}

static long refuse(long err)
{
	return err ? err : -EOPNOTSUPP;
}

static long sys_getxattr(const char *p) { return no_attr(check_path(p, true)); }
static long sys_lgetxattr(const char *p) { return no_attr(check_path(p, false)); }
static long sys_fgetxattr(int fd) { return no_attr(check_fd(fd)); }
static long sys_listxattr(const char *p) { return no_list(check_path(p, true)); }
static long sys_llistxattr(const char *p) { return no_list(check_path(p, false)); }
static long sys_flistxattr(int fd) { return no_list(check_fd(fd)); }
static long sys_setxattr(const char *p) { return refuse(check_path(p, true)); }
static long sys_lsetxattr(const char *p) { return refuse(check_path(p, false)); }
static long sys_fsetxattr(int fd) { return refuse(check_fd(fd)); }
static long sys_removexattr(const char *p) { return no_attr(check_path(p, true)); }
static long sys_lremovexattr(const char *p) { return no_attr(check_path(p, false)); }
static long sys_fremovexattr(int fd) { return no_attr(check_fd(fd)); }

SYSCALL(getxattr, sys_getxattr, "sspu");
SYSCALL(lgetxattr, sys_lgetxattr, "sspu");
SYSCALL(fgetxattr, sys_fgetxattr, "fspu");
SYSCALL(listxattr, sys_listxattr, "spu");
SYSCALL(llistxattr, sys_llistxattr, "spu");
SYSCALL(flistxattr, sys_flistxattr, "fpu");
SYSCALL(setxattr, sys_setxattr, "sspux");
SYSCALL(lsetxattr, sys_lsetxattr, "sspux");
SYSCALL(fsetxattr, sys_fsetxattr, "fspux");
SYSCALL(removexattr, sys_removexattr, "ss");
SYSCALL(lremovexattr, sys_lremovexattr, "ss");
SYSCALL(fremovexattr, sys_fremovexattr, "fs");
