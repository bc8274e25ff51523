/* compat.h: helpers for the compatibility-suite programs (tests/compat/progs).
 *
 * Each program exercises one syscall family and prints one line per check,
 * "NAME: ok" or "NAME: FAIL (ERRNO)", plus deterministic values. The suite
 * runs it natively and in wisp and compares stdout, so a program must never
 * print pids, addresses, times or anything else that differs between runs.
 * A program keeps going after a failed check, so one run shows every gap,
 * and exits with the number of failed checks (capped at 100).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int compat_failures;

static const char *errname(int e)
{
	switch (e) {
	case 0: return "no errno";
	case EPERM: return "EPERM";
	case ENOENT: return "ENOENT";
	case ESRCH: return "ESRCH";
	case EINTR: return "EINTR";
	case EIO: return "EIO";
	case EBADF: return "EBADF";
	case ECHILD: return "ECHILD";
	case EAGAIN: return "EAGAIN";
	case ENOMEM: return "ENOMEM";
	case EACCES: return "EACCES";
	case EFAULT: return "EFAULT";
	case EBUSY: return "EBUSY";
	case EEXIST: return "EEXIST";
	case EXDEV: return "EXDEV";
	case ENOTDIR: return "ENOTDIR";
	case EISDIR: return "EISDIR";
	case EINVAL: return "EINVAL";
	case EMFILE: return "EMFILE";
	case ENOTTY: return "ENOTTY";
	case ENOSPC: return "ENOSPC";
	case ESPIPE: return "ESPIPE";
	case EPIPE: return "EPIPE";
	case ERANGE: return "ERANGE";
	case ENAMETOOLONG: return "ENAMETOOLONG";
	case ENOSYS: return "ENOSYS";
	case ENOTEMPTY: return "ENOTEMPTY";
	case ELOOP: return "ELOOP";
	case ETIMEDOUT: return "ETIMEDOUT";
	case EOPNOTSUPP: return "EOPNOTSUPP";
	case EAFNOSUPPORT: return "EAFNOSUPPORT";
	default: return "errno ?";
	}
}

/* CHECK(cond, "name %d", ...): prints "name: ok" or "name: FAIL (ERRNO)". */
static int check(int ok, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	if (ok) {
		printf(": ok\n");
	} else {
		printf(": FAIL (%s)\n", errname(err));
		compat_failures++;
	}
	fflush(stdout);
	return ok;
}
/* The errno shown is the one cond sets, else the one left by the code just
 * before the CHECK (typically the call whose result cond tests). */
#define CHECK(cond, ...) ({ int pre_ = errno; errno = 0; int ok_ = !!(cond); \
	int e_ = errno ? errno : pre_; check(ok_, e_, __VA_ARGS__); })

static void compat_begin(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
}

static int compat_end(void)
{
	printf("failures: %d\n", compat_failures);
	fflush(stdout);
	return compat_failures > 100 ? 100 : compat_failures;
}
