/* syscall.h: how syscall families register their handlers.
 *
 * Each family file (fs.c, mm.c, time.c, ...) declares its handlers with
 * SYSCALL(); the linker collects the descriptors into one section and
 * syscall_init() indexes them by number, so no central table is edited.
 */
#ifndef SYSCALLS_SYSCALL_H
#define SYSCALLS_SYSCALL_H

#include "kernel.h"
#include <asm/unistd_64.h>

typedef long (*syscall_fn)(long, long, long, long, long, long);

struct syscall_desc {
	int nr;
	const char *name;
	syscall_fn fn;
	/* One char per argument for --trace-syscalls: d int, u unsigned,
	 * x hex, p pointer, s user string, o open flags, f fd. */
	const char *args;
};

#define SYSCALL(name, fn, args)                                              \
	static const struct syscall_desc __syscall_##name                    \
		__attribute__((used, section(".syscalls"), aligned(8))) = {  \
			__NR_##name, #name,                                  \
			(syscall_fn)(void (*)(void))(fn), args }

#define SYSCALL_MAX 512

void syscall_init(void);
struct trapframe;
void syscall_dispatch(struct trapframe *tf);

#endif
