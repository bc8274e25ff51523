/* signal.h: per-process signal dispositions and the signal helpers other
 * kernel code uses (kill, faults, pipes). */
#ifndef SYSCALLS_SIGNAL_H
#define SYSCALLS_SIGNAL_H

#include "kernel.h"

#define NSIG_K 64

/* The x86-64 kernel's struct sigaction, as rt_sigaction passes it. */
struct sigaction_k {
	uint64_t handler;   /* SIG_DFL (0), SIG_IGN (1) or a user address */
	uint64_t flags;     /* SA_* */
	uint64_t restorer;  /* SA_RESTORER: the user's rt_sigreturn trampoline */
	uint64_t mask;      /* blocked while the handler runs; bit sig-1 */
};

/* True if the default action of sig ends the process (terminate or core). */
bool signal_is_fatal_default(int sig);
/* The current process's disposition of sig (1..64); NULL means SIG_DFL. */
const struct sigaction_k *signal_action(int sig);
/* Sends sig (1..64) to the current process: kills it if the action is the
 * fatal default, leaves it pending if blocked, else ignores it (handlers are
 * not run yet). Returns 0 if it returns at all. */
long signal_send_self(int sig);
/* execve: caught signals revert to SIG_DFL (their handlers are gone with
 * the old image) and the alternate stack is dropped; ignored signals, the
 * mask and pending signals stay, as on Linux. */
void signal_exec_reset(void);

#endif
