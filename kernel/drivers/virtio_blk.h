/* virtio_blk.h: virtio block devices on virtio-mmio, as wisp-vmm describes
 * them in the boot info. */
#ifndef DRIVERS_VIRTIO_BLK_H
#define DRIVERS_VIRTIO_BLK_H

#include "kernel.h"

#define VBLK_SECTOR 512

struct wisp_device;
struct vblk;

/* Sets up the block devices among devs; one that fails is reported and
 * left out. Returns how many work. */
int vblk_probe(const struct wisp_device *devs, unsigned n);
/* The same for QEMU microvm's virtio-mmio transports: mounts[i] is
 * "MOUNT[:ro]" for the device whose serial is "wispI". */
int vblk_probe_mmio(const char *const *mounts, unsigned n);
struct vblk *vblk_get(unsigned i);      /* NULL past the last */
uint64_t vblk_sectors(const struct vblk *d);
bool vblk_read_only(const struct vblk *d);
const char *vblk_mount(const struct vblk *d);
/* A piece of a request: kernel memory (any direct-map or kernel-image
 * address), physically contiguous. */
struct vblk_seg {
	void *buf;
	uint32_t len;
};
/* Queues a transfer of the segments, one after the other, at sector.
 * Requests are sent together (one VM exit) at vblk_wait, or when the queue
 * is full; the device may complete them in any order, so a batch holds
 * only requests whose order does not matter, and the buffers stay untouched
 * until vblk_wait. Returns 0 or -errno (-EROFS for a write to a read-only
 * disk, -EINVAL out of range, -EIO from a batch it had to send). */
int vblk_queue(struct vblk *d, uint64_t sector, const struct vblk_seg *segs, unsigned nseg,
	       bool write);
/* Sends what is queued and waits for all of it: 0 or -EIO if any failed. */
int vblk_wait(struct vblk *d);
/* vblk_queue of one buffer of nsec sectors, then vblk_wait. */
int vblk_rw(struct vblk *d, uint64_t sector, void *buf, uint32_t nsec, bool write);
/* Sends what is queued, then makes everything written durable on the host's
 * disk. */
int vblk_flush(struct vblk *d);

#endif
