/* virtq.h: the device side of a virtio 1.x split virtqueue in guest memory.
 *
 * Everything the guest wrote is checked before use: ring indices, descriptor
 * indices and chain lengths, and every buffer must lie inside guest RAM. A
 * queue the guest broke is marked so and left alone; it never makes the VMM
 * touch memory outside guest RAM.
 */
#ifndef WISP_VIRTQ_H
#define WISP_VIRTQ_H

#include <stdbool.h>
#include <stdint.h>

#include "kvm.h"

#define VIRTQ_SIZE_MAX 256
/* Descriptors in one chain at most (a block request: header, data, status). */
#define VIRTQ_CHAIN_MAX 128

#define VRING_DESC_F_NEXT 1
#define VRING_DESC_F_WRITE 2
#define VRING_DESC_F_INDIRECT 4
#define VRING_AVAIL_F_NO_INTERRUPT 1
#define VRING_USED_F_NO_NOTIFY 1

struct vring_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};

struct virtq {
	uint16_t size;            /* 0: not set up */
	bool event_idx;           /* VIRTIO_RING_F_EVENT_IDX negotiated */
	bool broken;              /* the guest broke it: no more requests taken */
	struct vring_desc *desc;  /* host pointers into guest RAM */
	uint16_t *avail;          /* flags, idx, ring[size], used_event */
	uint8_t *used;            /* flags, idx, {id, len}[size], avail_event */
	uint16_t last_avail;      /* next avail slot the device takes */
	uint16_t used_idx;        /* next used slot the device fills */
	uint16_t signalled;       /* used_idx when the driver was last interrupted */
};

/* One buffer of a chain, already translated to a host pointer. */
struct virtq_buf {
	uint8_t *p;
	uint32_t len;
	bool writable;            /* device-writable (VRING_DESC_F_WRITE) */
};

struct virtq_chain {
	uint16_t head;
	unsigned n;
	struct virtq_buf buf[VIRTQ_CHAIN_MAX];
};

/* Points q at the rings at these guest-physical addresses. Returns NULL,
 * or why the guest's values are unusable (size not a power of two up to
 * VIRTQ_SIZE_MAX, misaligned, outside guest RAM). */
const char *virtq_setup(struct virtq *q, const struct kvm_mem *mem, uint16_t size,
			uint64_t desc, uint64_t avail, uint64_t used, bool event_idx);
/* Takes the next chain the driver made available: 1 and *c filled, 0 if
 * there is none, -1 if the guest broke the queue (q->broken is set and
 * *why says how). */
int virtq_pop(struct virtq *q, const struct kvm_mem *mem, struct virtq_chain *c,
	      const char **why);
/* Returns a chain to the driver with len bytes written into it. */
void virtq_push(struct virtq *q, uint16_t head, uint32_t len);
/* Whether the driver asked to be interrupted for what was pushed since the
 * last true answer (used_event with EVENT_IDX, else the avail flags). */
bool virtq_need_interrupt(struct virtq *q);
/* With EVENT_IDX: asks the driver to notify once it adds a chain after
 * the ones taken so far. Returns true if some were added meanwhile, so the
 * caller takes them instead of waiting for a notification that won't come. */
bool virtq_arm_notify(struct virtq *q);
/* Whether the driver has made chains available that the device has not
 * taken yet. */
bool virtq_pending(const struct virtq *q);

#endif
