/* virtio_mmio.h: the virtio-mmio transport, version 2 (virtio 1.x, 4.2):
 * the register window of one device and its virtqueues. The device type
 * (block, ...) plugs in through struct virtio_dev_ops. */
#ifndef WISP_VIRTIO_MMIO_H
#define WISP_VIRTIO_MMIO_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "devices/virtq.h"
#include "kvm.h"

#define VIRTIO_MMIO_SIZE 0x200     /* registers 0x000-0x0ff, config from 0x100 */
#define VIRTIO_MMIO_QUEUES_MAX 2

/* Register offsets (4.2.2). */
#define VIRTIO_MMIO_MAGIC 0x000
#define VIRTIO_MMIO_VERSION 0x004
#define VIRTIO_MMIO_DEVICE_ID 0x008
#define VIRTIO_MMIO_VENDOR_ID 0x00c
#define VIRTIO_MMIO_DEVICE_FEATURES 0x010
#define VIRTIO_MMIO_DEVICE_FEATURES_SEL 0x014
#define VIRTIO_MMIO_DRIVER_FEATURES 0x020
#define VIRTIO_MMIO_DRIVER_FEATURES_SEL 0x024
#define VIRTIO_MMIO_QUEUE_SEL 0x030
#define VIRTIO_MMIO_QUEUE_NUM_MAX 0x034
#define VIRTIO_MMIO_QUEUE_NUM 0x038
#define VIRTIO_MMIO_QUEUE_READY 0x044
#define VIRTIO_MMIO_QUEUE_NOTIFY 0x050
#define VIRTIO_MMIO_INTERRUPT_STATUS 0x060
#define VIRTIO_MMIO_INTERRUPT_ACK 0x064
#define VIRTIO_MMIO_STATUS 0x070
#define VIRTIO_MMIO_QUEUE_DESC_LOW 0x080
#define VIRTIO_MMIO_QUEUE_DESC_HIGH 0x084
#define VIRTIO_MMIO_QUEUE_DRIVER_LOW 0x090
#define VIRTIO_MMIO_QUEUE_DRIVER_HIGH 0x094
#define VIRTIO_MMIO_QUEUE_DEVICE_LOW 0x0a0
#define VIRTIO_MMIO_QUEUE_DEVICE_HIGH 0x0a4
#define VIRTIO_MMIO_CONFIG_GENERATION 0x0fc
#define VIRTIO_MMIO_CONFIG 0x100

#define VIRTIO_MMIO_MAGIC_VALUE 0x74726976u  /* "virt" */
#define VIRTIO_MMIO_INT_VRING 1
#define VIRTIO_MMIO_INT_CONFIG 2

/* Device status bits (2.1). */
#define VIRTIO_STATUS_ACKNOWLEDGE 1
#define VIRTIO_STATUS_DRIVER 2
#define VIRTIO_STATUS_DRIVER_OK 4
#define VIRTIO_STATUS_FEATURES_OK 8
#define VIRTIO_STATUS_NEEDS_RESET 64
#define VIRTIO_STATUS_FAILED 128

#define VIRTIO_F_VERSION_1 (1ull << 32)
#define VIRTIO_RING_F_EVENT_IDX (1ull << 29)

struct virtio_mmio_dev;

struct virtio_dev_ops {
	uint32_t device_id;
	unsigned queues;                 /* up to VIRTIO_MMIO_QUEUES_MAX */
	uint64_t features;               /* device-specific bits */
	/* Serves what the driver made available on queue q (called with the
	 * device lock held); the transport asks for the next notification. */
	void (*notify)(struct virtio_mmio_dev *d, unsigned q);
};

struct virtio_mmio_queue {
	uint16_t num;
	bool ready;
	uint64_t desc, avail, used;      /* as the driver wrote them */
	struct virtq vq;                 /* valid once ready */
};

struct virtio_mmio_dev {
	const char *name;                /* for messages: "virtio-blk /data" */
	const struct virtio_dev_ops *ops;
	void *priv;                      /* the device type's state */
	const struct kvm_mem *mem;
	const uint8_t *config;           /* device config space, read-only here */
	uint32_t config_len;
	/* Raises the device's interrupt in the guest; NULL: none yet. */
	void (*irq)(void *ctx);
	void *irq_ctx;

	pthread_mutex_t lock;            /* registers vs. the device thread */
	uint32_t status, int_status;
	uint32_t dev_feat_sel, drv_feat_sel, queue_sel;
	uint64_t driver_features;
	struct virtio_mmio_queue q[VIRTIO_MMIO_QUEUES_MAX];
};

void virtio_mmio_init(struct virtio_mmio_dev *d, const char *name,
		      const struct virtio_dev_ops *ops, void *priv, const struct kvm_mem *mem,
		      const void *config, uint32_t config_len);
void virtio_mmio_destroy(struct virtio_mmio_dev *d);
/* A guest access at off into the register window (len 1, 2, 4 or 8). Bad
 * offsets and sizes read as 0 and are ignored on write, as on hardware. */
void virtio_mmio_read(struct virtio_mmio_dev *d, uint64_t off, void *data, unsigned len);
void virtio_mmio_write(struct virtio_mmio_dev *d, uint64_t off, const void *data, unsigned len);
/* A notification of any of the device's queues, from a thread that serves
 * them (an ioeventfd on QueueNotify); it looks for more work for
 * VIRTIO_MMIO_POLL_NS before it returns. */
#define VIRTIO_MMIO_POLL_NS 50000
void virtio_mmio_kick(void *dev);
/* For the device type, lock held: its queue q, NULL unless the driver set it
 * up and the device is live (DRIVER_OK, not broken). */
struct virtq *virtio_mmio_queue(struct virtio_mmio_dev *d, unsigned q);
/* After pushing used buffers: interrupts the driver if it asked for it. */
void virtio_mmio_signal(struct virtio_mmio_dev *d, unsigned q);
/* The guest broke the device (a malformed queue): says so once on stderr
 * and stops serving it until the driver resets it. */
void virtio_mmio_fail(struct virtio_mmio_dev *d, const char *why);

#endif
