/* version.h: what the kernel says it is (uname, /proc/sys/kernel). */
#ifndef VERSION_H
#define VERSION_H

/* glibc refuses to run on kernels older than it was built for, so the
 * release must look like a recent Linux. */
#define KERNEL_RELEASE "6.1.0-wisp"
#define KERNEL_VERSION_STRING "#1 SMP wisp"

#endif
