/* exec.h: loading an ELF program into a fresh address space. */
#ifndef EXEC_H
#define EXEC_H

#include "kernel.h"

struct proc;

/* Loads path into p (which gets a new address space) and prepares p->tf to
 * start it with a Linux initial stack. Returns 0 or -errno. */
int exec_load(struct proc *p, const char *path, char *const argv[], char *const envp[]);

#endif
