/* virtq.c: split virtqueues (virtio 1.x, 2.7): the device's side.
 *
 * The guest can change its rings at any time, from another vCPU or while
 * the device thread works, so each field is read once into a local copy
 * and checked there; indices are loaded with acquire and stored with
 * release ordering, as the spec's memory barriers require.
 */
#include "devices/virtq.h"

#include <string.h>

#define AVAIL_FLAGS 0
#define AVAIL_IDX 1
#define AVAIL_RING 2             /* in uint16_t units */
#define USED_IDX_OFF 2
#define USED_RING_OFF 4          /* in bytes; 8 bytes an entry */

static bool power_of_two(unsigned n)
{
	return n && !(n & (n - 1));
}

const char *virtq_setup(struct virtq *q, const struct kvm_mem *mem, uint16_t size,
			uint64_t desc, uint64_t avail, uint64_t used, bool event_idx)
{
	memset(q, 0, sizeof(*q));
	if (!power_of_two(size) || size > VIRTQ_SIZE_MAX)
		return "queue size is not a power of two up to 256";
	if (desc % 16 || avail % 2 || used % 4)
		return "queue rings are misaligned";
	q->desc = kvm_mem_ptr(mem, desc, 16ull * size);
	q->avail = kvm_mem_ptr(mem, avail, 6 + 2ull * size);
	q->used = kvm_mem_ptr(mem, used, 6 + 8ull * size);
	if (!q->desc || !q->avail || !q->used) {
		memset(q, 0, sizeof(*q));
		return "queue rings lie outside guest RAM";
	}
	q->size = size;
	q->event_idx = event_idx;
	return NULL;
}

static int broken(struct virtq *q, const char **why, const char *what)
{
	q->broken = true;
	*why = what;
	return -1;
}

/* Reads descriptor i once: the guest may rewrite it while we look. */
static struct vring_desc read_desc(const struct virtq *q, uint16_t i)
{
	struct vring_desc d;

	memcpy(&d, &q->desc[i], sizeof(d));
	return d;
}

int virtq_pop(struct virtq *q, const struct kvm_mem *mem, struct virtq_chain *c,
	      const char **why)
{
	uint16_t avail_idx, idx;
	unsigned limit = q->size < VIRTQ_CHAIN_MAX ? q->size : VIRTQ_CHAIN_MAX;

	if (!q->size || q->broken)
		return 0;
	avail_idx = __atomic_load_n(&q->avail[AVAIL_IDX], __ATOMIC_ACQUIRE);
	if (avail_idx == q->last_avail)
		return 0;
	if ((uint16_t)(avail_idx - q->last_avail) > q->size)
		return broken(q, why, "available index moved by more than the queue size");
	idx = __atomic_load_n(&q->avail[AVAIL_RING + q->last_avail % q->size], __ATOMIC_RELAXED);
	q->last_avail++;
	c->head = idx;
	for (c->n = 0;; c->n++) {
		struct vring_desc d;

		if (idx >= q->size)
			return broken(q, why, "descriptor index out of range");
		if (c->n == limit)
			return broken(q, why, "descriptor chain too long (or a loop)");
		d = read_desc(q, idx);
		if (d.flags & VRING_DESC_F_INDIRECT)
			return broken(q, why, "indirect descriptor (not offered)");
		c->buf[c->n].p = kvm_mem_ptr(mem, d.addr, d.len);
		if (!c->buf[c->n].p)
			return broken(q, why, "buffer outside guest RAM");
		c->buf[c->n].len = d.len;
		c->buf[c->n].writable = d.flags & VRING_DESC_F_WRITE;
		if (!(d.flags & VRING_DESC_F_NEXT))
			break;
		idx = d.next;
	}
	c->n++;
	return 1;
}

void virtq_push(struct virtq *q, uint16_t head, uint32_t len)
{
	uint8_t *e = q->used + USED_RING_OFF + 8 * (q->used_idx % q->size);
	uint32_t id = head;

	memcpy(e, &id, 4);
	memcpy(e + 4, &len, 4);
	q->used_idx++;
	__atomic_store_n((uint16_t *)(q->used + USED_IDX_OFF), q->used_idx, __ATOMIC_RELEASE);
}

bool virtq_need_interrupt(struct virtq *q)
{
	uint16_t old = q->signalled, now = q->used_idx, event;

	if (!q->size)
		return false;
	q->signalled = now;
	/* The used index must be visible before we read what the driver wants. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (!q->event_idx)
		return now != old && !(__atomic_load_n(&q->avail[AVAIL_FLAGS], __ATOMIC_RELAXED) &
				       VRING_AVAIL_F_NO_INTERRUPT);
	event = __atomic_load_n(&q->avail[AVAIL_RING + q->size], __ATOMIC_RELAXED);
	/* vring_need_event: did the index pass used_event since the last time? */
	return (uint16_t)(now - event - 1) < (uint16_t)(now - old);
}

bool virtq_pending(const struct virtq *q)
{
	return q->size && !q->broken &&
	       __atomic_load_n(&q->avail[AVAIL_IDX], __ATOMIC_ACQUIRE) != q->last_avail;
}

bool virtq_arm_notify(struct virtq *q)
{
	if (!q->size || q->broken)
		return false;
	if (q->event_idx)
		__atomic_store_n((uint16_t *)(q->used + USED_RING_OFF + 8 * q->size), q->last_avail,
				 __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	return __atomic_load_n(&q->avail[AVAIL_IDX], __ATOMIC_ACQUIRE) != q->last_avail;
}
