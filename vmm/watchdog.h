/* watchdog.h: notices a vCPU that is stuck in guest ring 0. */
#ifndef WISP_WATCHDOG_H
#define WISP_WATCHDOG_H

#include <linux/kvm.h>
#include <signal.h>
#include <stdbool.h>
#include <time.h>

struct watchdog {
	timer_t id;
	bool created;
	struct kvm_regs last;          /* the registers at the last sample */
	int same;                      /* samples in a row with just these */
};

/* Starts a once-a-second kick of KVM_RUN on the calling (vCPU) thread. */
int watchdog_start(struct watchdog *w, struct kvm_run *run);
/* Samples the vCPU if a kick came since the last call; true when it has
 * been in ring 0 with the very same registers for WATCHDOG_SAMPLES kicks in
 * a row. */
bool watchdog_stuck(struct watchdog *w, int vcpu_fd);
void watchdog_stop(struct watchdog *w);

#endif
