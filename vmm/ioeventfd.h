/* ioeventfd.h: a doorbell register served by a thread of its own. KVM
 * signals an eventfd when the guest writes the register (KVM_IOEVENTFD),
 * without an exit to wisp-vmm, so the vCPU runs on while the thread does
 * the work the doorbell asks for (a virtio queue's requests). */
#ifndef WISP_IOEVENTFD_H
#define WISP_IOEVENTFD_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

struct ioeventfd {
	int fd;                  /* the eventfd; -1 when not running */
	uint64_t addr;
	unsigned len;
	void (*fn)(void *arg);   /* called in the thread for each ring */
	void *arg;
	bool stop;
	pthread_t thread;
};

/* Starts serving writes of len bytes at guest physical addr with fn(arg).
 * Returns 0, or -1 with errno set (e->fd is then -1: the writes keep
 * reaching the vCPU loop as MMIO exits). */
int ioeventfd_start(struct ioeventfd *e, int vm_fd, uint64_t addr, unsigned len,
		    void (*fn)(void *), void *arg);
/* Detaches the eventfd from the VM and ends the thread (after its current
 * call to fn). Nothing if not running. */
void ioeventfd_stop(struct ioeventfd *e, int vm_fd);

#endif
