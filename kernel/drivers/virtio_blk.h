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
/* Transfers nsec sectors at sector to or from buf, kernel memory (any
 * direct-map or kernel-image address). 0 or -EIO (-EROFS for a write to a
 * read-only disk, -EINVAL out of range). */
int vblk_rw(struct vblk *d, uint64_t sector, void *buf, uint32_t nsec, bool write);
/* Makes what was written durable on the host's disk. */
int vblk_flush(struct vblk *d);

#endif
