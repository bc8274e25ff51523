/* virtio_blk.h: a virtio block device (virtio 1.x, 5.2) backed by a disk
 * image on the host (struct disk): read, write, flush, get-id. */
#ifndef WISP_VIRTIO_BLK_H
#define WISP_VIRTIO_BLK_H

#include <stdbool.h>
#include <stdint.h>

#include "devices/virtio_mmio.h"
#include "disk.h"

#define VIRTIO_ID_BLOCK 2

#define VIRTIO_BLK_F_SEG_MAX (1ull << 2)
#define VIRTIO_BLK_F_RO (1ull << 5)
#define VIRTIO_BLK_F_BLK_SIZE (1ull << 6)
#define VIRTIO_BLK_F_FLUSH (1ull << 9)

#define VIRTIO_BLK_T_IN 0
#define VIRTIO_BLK_T_OUT 1
#define VIRTIO_BLK_T_FLUSH 4
#define VIRTIO_BLK_T_GET_ID 8
#define FILL_PENDING_MAX 256  /* chunks noted for filling at the next flush */

#define VIRTIO_BLK_S_OK 0
#define VIRTIO_BLK_S_IOERR 1
#define VIRTIO_BLK_S_UNSUPP 2

#define VIRTIO_BLK_SECTOR 512
#define VIRTIO_BLK_ID_BYTES 20

/* The device's configuration space (5.2.4), as the guest reads it. */
struct virtio_blk_config {
	uint64_t capacity;          /* in 512-byte sectors */
	uint32_t size_max;
	uint32_t seg_max;
	uint16_t cylinders;
	uint8_t heads, sectors;
	uint32_t blk_size;
	uint8_t physical_block_exp, alignment_offset;
	uint16_t min_io_size;
	uint32_t opt_io_size;
} __attribute__((packed));

struct virtio_blk {
	struct virtio_mmio_dev mmio;
	const struct disk *disk;
	struct virtio_blk_config config;
	char name[64];               /* "virtio-blk /data" */
	bool warned_ro;              /* told the user once about a write to :ro */
	uint8_t *filled;             /* bit per FILL_CHUNK of the image: no holes left */
	uint64_t fill[FILL_PENDING_MAX];  /* chunks to fill at the next flush */
	unsigned nfill;
	uint64_t read_end;           /* where the last read request ended */
};

/* Sets up the device for disk, whose guest RAM is mem. */
void virtio_blk_init(struct virtio_blk *b, const struct disk *disk, const struct kvm_mem *mem);
void virtio_blk_destroy(struct virtio_blk *b);

#endif
