/* hypercall.h: the wisp hypercall device (ports WISP_HC_PORT_BASE + n). */
#ifndef WISP_HYPERCALL_H
#define WISP_HYPERCALL_H

#include <stdbool.h>
#include <stdint.h>

#include "kvm.h"
#include "devices/timer.h"
#include "devices/virtio_mmio.h"

struct hc_ctx {
	struct kvm_mem *mem;
	const char *program;   /* as the user typed it, for the exit message */
	int out_fd;            /* host fds for guest fd 1 and 2, and stdin */
	int err_fd;
	int in_fd;
	struct vtimer *timer;  /* the guest timer device, NULL if none */
	/* virtio-mmio devices, device i at WISP_VIRTIO_MMIO_BASE + i * stride */
	struct virtio_mmio_dev **mmio;
	unsigned nmmio;
};

enum hc_result { HC_CONTINUE, HC_STOP };

/* True if port belongs to the hypercall device. */
bool hc_port(uint16_t port);

/* Handles an `outl gpa, port`. Returns HC_STOP with *exit_code set when the
 * VM must end (guest exit, panic, or guest error, already reported). */
enum hc_result hc_handle(struct hc_ctx *ctx, uint16_t port, uint32_t gpa, int *exit_code);

/* Reports a guest program's end the same way for every backend: returns the
 * host exit status (status & 0xff, or 128+signal after printing
 * "wisp: PROGRAM killed by SIGx ..."). */
int hc_exit_status(const char *program, int32_t status, int32_t signal, uint64_t fault_addr);

#endif
