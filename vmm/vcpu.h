/* vcpu.h: one virtual CPU: creation, PVH entry state and the run loop. */
#ifndef WISP_VCPU_H
#define WISP_VCPU_H

#include <stdint.h>

#include "devices/hypercall.h"
#include "kvm.h"

struct kvm_run;

struct vcpu {
	struct vm *vm;
	int id;
	int fd;
	struct kvm_run *run;
};

/* Creates vCPU id with the host-supported CPUID. Prints and returns -1 on error. */
int vcpu_create(struct vm *vm, int id, struct vcpu *v);
void vcpu_destroy(struct vcpu *v);

/* Guest TSC frequency in kHz, 0 if KVM cannot tell. */
uint64_t vcpu_tsc_khz(struct vcpu *v);

/* Puts the vCPU in the PVH entry state: 32-bit flat protected mode, paging
 * off, RIP = entry, RBX = start_info. */
int vcpu_setup_pvh(struct vcpu *v, uint64_t entry, uint64_t start_info);

/* Runs until the guest exits or fails; returns wisp's exit status. */
int vcpu_run(struct vcpu *v, struct hc_ctx *hc);

#endif
