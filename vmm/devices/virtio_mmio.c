/* virtio_mmio.c: the virtio-mmio register window (virtio 1.x, 4.2.2):
 * feature negotiation, device status, queue set-up and notification. */
#include "devices/virtio_mmio.h"
#include "clock.h"

#include <stdio.h>
#include <string.h>

#define VENDOR_ID 0x70736977u  /* "wisp" */

void virtio_mmio_init(struct virtio_mmio_dev *d, const char *name,
		      const struct virtio_dev_ops *ops, void *priv, const struct kvm_mem *mem,
		      const void *config, uint32_t config_len)
{
	memset(d, 0, sizeof(*d));
	d->name = name;
	d->ops = ops;
	d->priv = priv;
	d->mem = mem;
	d->config = config;
	d->config_len = config_len;
	pthread_mutex_init(&d->lock, NULL);
}

void virtio_mmio_destroy(struct virtio_mmio_dev *d)
{
	pthread_mutex_destroy(&d->lock);
}

static uint64_t device_features(const struct virtio_mmio_dev *d)
{
	return d->ops->features | VIRTIO_F_VERSION_1 | VIRTIO_RING_F_EVENT_IDX;
}

/* Writing 0 to the status register (4.2.2.1). */
static void reset(struct virtio_mmio_dev *d)
{
	d->status = d->int_status = 0;
	d->dev_feat_sel = d->drv_feat_sel = d->queue_sel = 0;
	d->driver_features = 0;
	memset(d->q, 0, sizeof(d->q));
}

static struct virtio_mmio_queue *selected(struct virtio_mmio_dev *d)
{
	return d->queue_sel < d->ops->queues ? &d->q[d->queue_sel] : NULL;
}

static uint32_t read_reg(struct virtio_mmio_dev *d, uint64_t off)
{
	struct virtio_mmio_queue *q = selected(d);

	switch (off) {
	case VIRTIO_MMIO_MAGIC: return VIRTIO_MMIO_MAGIC_VALUE;
	case VIRTIO_MMIO_VERSION: return 2;
	case VIRTIO_MMIO_DEVICE_ID: return d->ops->device_id;
	case VIRTIO_MMIO_VENDOR_ID: return VENDOR_ID;
	case VIRTIO_MMIO_DEVICE_FEATURES:
		return d->dev_feat_sel < 2 ? (uint32_t)(device_features(d) >> (32 * d->dev_feat_sel))
					   : 0;
	case VIRTIO_MMIO_QUEUE_NUM_MAX: return q ? VIRTQ_SIZE_MAX : 0;
	case VIRTIO_MMIO_QUEUE_READY: return q && q->ready;
	case VIRTIO_MMIO_INTERRUPT_STATUS: return d->int_status;
	case VIRTIO_MMIO_STATUS: return d->status;
	case VIRTIO_MMIO_CONFIG_GENERATION: return 0;  /* the config never changes */
	default: return 0;
	}
}

/* FEATURES_OK stays clear, as the spec asks, when the driver took a
 * feature that was not offered or left out VERSION_1 (a legacy driver). */
static void set_status(struct virtio_mmio_dev *d, uint32_t v)
{
	if (v == 0) {
		reset(d);
		return;
	}
	if ((v & VIRTIO_STATUS_FEATURES_OK) && !(d->status & VIRTIO_STATUS_FEATURES_OK) &&
	    ((d->driver_features & ~device_features(d)) ||
	     !(d->driver_features & VIRTIO_F_VERSION_1)))
		v &= ~VIRTIO_STATUS_FEATURES_OK;
	/* NEEDS_RESET is the device's to set and only a reset clears it. */
	d->status = v | (d->status & VIRTIO_STATUS_NEEDS_RESET);
}

static void set_half(uint64_t *v, bool high, uint32_t half)
{
	*v = high ? (*v & 0xffffffffull) | (uint64_t)half << 32 : (*v & ~0xffffffffull) | half;
}

static void queue_ready(struct virtio_mmio_dev *d, struct virtio_mmio_queue *q, uint32_t v)
{
	const char *why;

	if (!v) {
		q->ready = false;
		memset(&q->vq, 0, sizeof(q->vq));
		return;
	}
	why = virtq_setup(&q->vq, d->mem, q->num, q->desc, q->avail, q->used,
			  d->driver_features & VIRTIO_RING_F_EVENT_IDX);
	if (why) {
		virtio_mmio_fail(d, why);
		return;
	}
	q->ready = true;
}

/* Queue fields can change only while the queue is not ready (4.2.3.2). */
static void write_queue_reg(struct virtio_mmio_dev *d, uint64_t off, uint32_t v)
{
	struct virtio_mmio_queue *q = selected(d);

	if (!q || (q->ready && off != VIRTIO_MMIO_QUEUE_READY))
		return;
	switch (off) {
	case VIRTIO_MMIO_QUEUE_NUM: q->num = (uint16_t)(v > 0xffff ? 0 : v); break;
	case VIRTIO_MMIO_QUEUE_READY: queue_ready(d, q, v); break;
	case VIRTIO_MMIO_QUEUE_DESC_LOW: set_half(&q->desc, false, v); break;
	case VIRTIO_MMIO_QUEUE_DESC_HIGH: set_half(&q->desc, true, v); break;
	case VIRTIO_MMIO_QUEUE_DRIVER_LOW: set_half(&q->avail, false, v); break;
	case VIRTIO_MMIO_QUEUE_DRIVER_HIGH: set_half(&q->avail, true, v); break;
	case VIRTIO_MMIO_QUEUE_DEVICE_LOW: set_half(&q->used, false, v); break;
	case VIRTIO_MMIO_QUEUE_DEVICE_HIGH: set_half(&q->used, true, v); break;
	}
}

/* Serves queue q until none is left and the driver has been told to
 * notify for the next chain: no notification can be lost in between
 * (2.7.10). */
static void serve_and_arm(struct virtio_mmio_dev *d, unsigned q)
{
	struct virtq *vq;

	do
		d->ops->notify(d, q);
	while ((vq = virtio_mmio_queue(d, q)) && virtq_arm_notify(vq));
}

static void write_reg(struct virtio_mmio_dev *d, uint64_t off, uint32_t v)
{
	switch (off) {
	case VIRTIO_MMIO_DEVICE_FEATURES_SEL: d->dev_feat_sel = v; break;
	case VIRTIO_MMIO_DRIVER_FEATURES_SEL: d->drv_feat_sel = v; break;
	case VIRTIO_MMIO_DRIVER_FEATURES:
		/* Only before FEATURES_OK (3.1.1). */
		if (d->drv_feat_sel < 2 && !(d->status & VIRTIO_STATUS_FEATURES_OK))
			set_half(&d->driver_features, d->drv_feat_sel == 1, v);
		break;
	case VIRTIO_MMIO_QUEUE_SEL: d->queue_sel = v; break;
	case VIRTIO_MMIO_QUEUE_NOTIFY:
		if (v < d->ops->queues)
			serve_and_arm(d, v);
		break;
	case VIRTIO_MMIO_INTERRUPT_ACK: d->int_status &= ~v; break;
	case VIRTIO_MMIO_STATUS: set_status(d, v); break;
	default: write_queue_reg(d, off, v); break;
	}
}

void virtio_mmio_read(struct virtio_mmio_dev *d, uint64_t off, void *data, unsigned len)
{
	uint32_t v;

	memset(data, 0, len);
	pthread_mutex_lock(&d->lock);
	if (off >= VIRTIO_MMIO_CONFIG) {
		off -= VIRTIO_MMIO_CONFIG;
		if (off < d->config_len && len <= d->config_len - off)
			memcpy(data, d->config + off, len);
	} else if (len == 4 && off % 4 == 0) {
		v = read_reg(d, off);
		memcpy(data, &v, 4);
	}
	pthread_mutex_unlock(&d->lock);
}

void virtio_mmio_write(struct virtio_mmio_dev *d, uint64_t off, const void *data, unsigned len)
{
	uint32_t v;

	/* The config space is read-only for the devices wisp has. */
	if (off >= VIRTIO_MMIO_CONFIG || len != 4 || off % 4)
		return;
	memcpy(&v, data, 4);
	pthread_mutex_lock(&d->lock);
	write_reg(d, off, v);
	pthread_mutex_unlock(&d->lock);
}

/* Serves every queue once; with arm, asks for the next notification.
 * Returns whether more is waiting already. */
static bool serve_queues(struct virtio_mmio_dev *d, bool arm)
{
	bool more = false;
	struct virtq *vq;

	pthread_mutex_lock(&d->lock);
	for (unsigned q = 0; q < d->ops->queues; q++) {
		d->ops->notify(d, q);
		if ((vq = virtio_mmio_queue(d, q)))
			more |= arm ? virtq_arm_notify(vq) : virtq_pending(vq);
	}
	pthread_mutex_unlock(&d->lock);
	return more;
}

void virtio_mmio_kick(void *dev)
{
	uint64_t until = clock_ns(CLOCK_MONOTONIC) + VIRTIO_MMIO_POLL_NS;

	/* A sync is a few batches in a row, microseconds apart: looking for
	 * the next one for a moment saves waking this thread for each, and,
	 * as notifications are not asked for meanwhile (EVENT_IDX), the
	 * driver's kick too. */
	for (;;) {
		if (serve_queues(dev, false))
			until = clock_ns(CLOCK_MONOTONIC) + VIRTIO_MMIO_POLL_NS;
		else if (clock_ns(CLOCK_MONOTONIC) >= until && !serve_queues(dev, true))
			return;
		__builtin_ia32_pause();
	}
}

struct virtq *virtio_mmio_queue(struct virtio_mmio_dev *d, unsigned q)
{
	if (q >= d->ops->queues || !d->q[q].ready || !(d->status & VIRTIO_STATUS_DRIVER_OK) ||
	    (d->status & VIRTIO_STATUS_NEEDS_RESET) || d->q[q].vq.broken)
		return NULL;
	return &d->q[q].vq;
}

void virtio_mmio_signal(struct virtio_mmio_dev *d, unsigned q)
{
	if (!virtq_need_interrupt(&d->q[q].vq))
		return;
	d->int_status |= VIRTIO_MMIO_INT_VRING;
	if (d->irq)
		d->irq(d->irq_ctx);
}

void virtio_mmio_fail(struct virtio_mmio_dev *d, const char *why)
{
	if (d->status & VIRTIO_STATUS_NEEDS_RESET)
		return;
	fprintf(stderr, "wisp: guest error: %s: %s; the device stops until the guest "
		"resets it\n", d->name, why);
	d->status |= VIRTIO_STATUS_NEEDS_RESET;
	/* A configuration change interrupt tells the driver (2.1.2). */
	d->int_status |= VIRTIO_MMIO_INT_CONFIG;
	if (d->irq)
		d->irq(d->irq_ctx);
}
