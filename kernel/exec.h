/* exec.h: loading an ELF program into a fresh address space. */
#ifndef EXEC_H
#define EXEC_H

#include "kernel.h"

struct task;

/* Replaces the address space of t's process with the program at path and
 * sets t's user registers to start it with a Linux initial stack. On error
 * nothing has changed. Returns 0 or -errno. */
int exec_load(struct task *t, const char *path, char *const argv[], char *const envp[]);

#endif
