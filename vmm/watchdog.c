/* watchdog.c: notices a vCPU that is stuck in guest ring 0.
 *
 * The wisp kernel spends microseconds at a time in ring 0 (boot, trap
 * stubs): the rest of it runs in ring 3 on a PVM-style host, or moves on
 * under VMX and SVM, where a long copy can keep it on one `rep movsb` for
 * seconds, but with changing registers. A vCPU seen in ring 0 with every
 * register the same on three kicks a second apart is in a loop it cannot
 * leave (the kernel never waits in ring 0 with interrupts on), typically an
 * exception delivered to a handler that itself faults after a program
 * overwrote the kernel (on a PVM-style host kernel pages are the program's
 * to write). Without this the VM would spin emulated instructions for
 * ever. */
#define _GNU_SOURCE
#include "watchdog.h"
#include "devices/timer.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>

#define WATCHDOG_SIGNAL SIGUSR2
#define WATCHDOG_SAMPLES 3

/* The handler can only reach globals; one vCPU today. */
static struct kvm_run *kick_run;
static volatile sig_atomic_t kicked;

static void on_kick(int sig)
{
	(void)sig;
	kicked = 1;
	kick_run->immediate_exit = 1;
}

int watchdog_start(struct watchdog *w, struct kvm_run *run)
{
	struct itimerspec its = { .it_interval = { 1, 0 }, .it_value = { 1, 0 } };

	memset(w, 0, sizeof(*w));
	kick_run = run;
	/* SA_RESTART: KVM_RUN still returns, through immediate_exit. */
	if (thread_timer_create(WATCHDOG_SIGNAL, on_kick, SA_RESTART, &w->id) < 0 ||
	    timer_settime(w->id, 0, &its, NULL) < 0) {
		fprintf(stderr, "wisp: cannot start the vCPU watchdog: %s\n", strerror(errno));
		return -1;
	}
	w->created = true;
	return 0;
}

bool watchdog_stuck(struct watchdog *w, int vcpu_fd)
{
	struct kvm_regs regs;
	struct kvm_sregs sregs;

	if (!kicked)
		return false;
	kicked = 0;
	if (ioctl(vcpu_fd, KVM_GET_REGS, &regs) < 0 || ioctl(vcpu_fd, KVM_GET_SREGS, &sregs) < 0 ||
	    (sregs.cs.selector & 3) != 0 || memcmp(&regs, &w->last, sizeof(regs)) != 0) {
		w->last = regs;
		w->same = 1;
		return false;
	}
	return ++w->same >= WATCHDOG_SAMPLES;
}

void watchdog_stop(struct watchdog *w)
{
	if (w->created)
		timer_delete(w->id);
	w->created = false;
}
