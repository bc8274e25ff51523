/* virtio_blk.c: a virtio 1.x block driver over virtio-mmio (virtio 1.x,
 * 4.2 and 5.2), one request at a time.
 *
 * wisp-vmm serves a queue notification before the guest's MMIO write
 * returns (include/wisp/abi.h), so a request is complete when the kick
 * is: no interrupt, no waiting. Every MMIO access is a VM exit (~20 us on a
 * PVM-style host), so a request costs one, its notification. QEMU serves
 * requests on its own time: then the driver spins on the used ring, which
 * the other platforms' idle does too (legacy.c's sleep is a TSC spin).
 */
#include "drivers/virtio_blk.h"
#include "clock.h"
#include "platform.h"
#include "lib/string.h"
#include "mm/kmalloc.h"
#include "mm/page.h"
#include <wisp/abi.h>

#define QSIZE 128
#define SLOTS 32   /* requests in flight at once, each with its header */

/* virtio-mmio registers (4.2.2) */
#define R_MAGIC 0x000
#define R_VERSION 0x004
#define R_DEVICE_ID 0x008
#define R_DEVICE_FEATURES 0x010
#define R_DEVICE_FEATURES_SEL 0x014
#define R_DRIVER_FEATURES 0x020
#define R_DRIVER_FEATURES_SEL 0x024
#define R_QUEUE_SEL 0x030
#define R_QUEUE_NUM_MAX 0x034
#define R_QUEUE_NUM 0x038
#define R_QUEUE_READY 0x044
#define R_QUEUE_NOTIFY 0x050
#define R_STATUS 0x070
#define R_QUEUE_DESC 0x080
#define R_QUEUE_DRIVER 0x090
#define R_QUEUE_DEVICE 0x0a0
#define R_CONFIG 0x100

#define MAGIC 0x74726976u
#define S_ACKNOWLEDGE 1
#define S_DRIVER 2
#define S_DRIVER_OK 4
#define S_FEATURES_OK 8
#define S_NEEDS_RESET 64

/* Feature bits in the high word (bit 32 and up) and the low word. */
#define F_VERSION_1_HI (1u << 0)
#define F_BLK_RO (1u << 5)
#define F_BLK_FLUSH (1u << 9)

#define T_IN 0
#define T_OUT 1
#define T_FLUSH 4
#define T_GET_ID 8
#define ID_LEN 20

/* QEMU microvm's virtio-mmio transports (hw/i386/microvm.c). */
#define QEMU_MMIO_BASE 0xfeb00000ull
#define QEMU_MMIO_STRIDE 0x200
#define QEMU_MMIO_SLOTS 24
#define REQUEST_TIMEOUT_NS (30ull * 1000000000)
#define SPIN_NS 1000000   /* then nap: longer than a flush of a fast disk */
#define NAP_NS 100000
#define ST_OK 0

#define DESC_F_NEXT 1
#define DESC_F_WRITE 2
#define AVAIL_F_NO_INTERRUPT 1

struct desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags, next;
};

struct avail {
	uint16_t flags, idx, ring[QSIZE], used_event;
};

struct used {
	uint16_t flags, idx;
	struct { uint32_t id, len; } ring[QSIZE];
	uint16_t avail_event;
};

struct request {
	uint32_t type, reserved;
	uint64_t sector;
	uint8_t status;
};

/* The queue page: the rings, one page, physically
 * contiguous like all kernel memory. */
struct queue_page {
	struct desc desc[QSIZE];
	struct avail avail __attribute__((aligned(16)));
	struct used used __attribute__((aligned(16)));
};

_Static_assert(sizeof(struct queue_page) <= PAGE_SIZE, "the queue fits one page");
_Static_assert(SLOTS * sizeof(struct request) <= PAGE_SIZE, "the headers fit one page");

struct vblk {
	volatile uint8_t *regs;
	struct queue_page *q;
	struct request *reqs;       /* a page of SLOTS headers */
	unsigned queued, descs;     /* requests and descriptors not yet sent */
	uint64_t sectors;
	bool read_only, can_flush;
	char mount[WISP_DEVICE_MOUNT_MAX];
};

static struct vblk disks[WISP_DEVICES_MAX];
static unsigned ndisks;

static uint32_t reg_read(const struct vblk *d, uint32_t off)
{
	return *(volatile uint32_t *)(d->regs + off);
}

static void reg_write(struct vblk *d, uint32_t off, uint32_t v)
{
	*(volatile uint32_t *)(d->regs + off) = v;
}

static void reg_write64(struct vblk *d, uint32_t off, uint64_t v)
{
	reg_write(d, off, (uint32_t)v);
	reg_write(d, off + 4, (uint32_t)(v >> 32));
}

static void barrier(void)
{
	asm volatile("" ::: "memory");
}

/* Feature negotiation (3.1.1); returns the low feature word taken or -1. */
static int negotiate(struct vblk *d)
{
	uint32_t lo, hi, take;

	reg_write(d, R_STATUS, 0);
	reg_write(d, R_STATUS, S_ACKNOWLEDGE | S_DRIVER);
	reg_write(d, R_DEVICE_FEATURES_SEL, 1);
	hi = reg_read(d, R_DEVICE_FEATURES);
	reg_write(d, R_DEVICE_FEATURES_SEL, 0);
	lo = reg_read(d, R_DEVICE_FEATURES);
	if (!(hi & F_VERSION_1_HI))
		return -1;
	take = lo & (F_BLK_RO | F_BLK_FLUSH);
	reg_write(d, R_DRIVER_FEATURES_SEL, 0);
	reg_write(d, R_DRIVER_FEATURES, take);
	reg_write(d, R_DRIVER_FEATURES_SEL, 1);
	reg_write(d, R_DRIVER_FEATURES, F_VERSION_1_HI);
	reg_write(d, R_STATUS, S_ACKNOWLEDGE | S_DRIVER | S_FEATURES_OK);
	if (!(reg_read(d, R_STATUS) & S_FEATURES_OK))
		return -1;
	return (int)take;
}

static int setup_queue(struct vblk *d)
{
	uint64_t pa;

	reg_write(d, R_QUEUE_SEL, 0);
	if (reg_read(d, R_QUEUE_NUM_MAX) < QSIZE)
		return -1;
	d->q = page_zalloc();
	d->reqs = page_zalloc();
	if (!d->q || !d->reqs)
		return -1;
	/* We look at the used ring after each kick instead. */
	d->q->avail.flags = AVAIL_F_NO_INTERRUPT;
	pa = virt_to_phys(d->q);
	reg_write(d, R_QUEUE_NUM, QSIZE);
	reg_write64(d, R_QUEUE_DESC, pa + offsetof(struct queue_page, desc));
	reg_write64(d, R_QUEUE_DRIVER, pa + offsetof(struct queue_page, avail));
	reg_write64(d, R_QUEUE_DEVICE, pa + offsetof(struct queue_page, used));
	reg_write(d, R_QUEUE_READY, 1);
	return 0;
}

static bool is_block_device(volatile uint8_t *regs)
{
	struct vblk probe = { .regs = regs };

	return reg_read(&probe, R_MAGIC) == MAGIC && reg_read(&probe, R_VERSION) == 2 &&
	       reg_read(&probe, R_DEVICE_ID) == 2;
}

static const char *vblk_init(struct vblk *d, uint64_t base, bool read_only)
{
	int features;

	d->regs = phys_to_virt(base);
	if (!is_block_device(d->regs))
		return "not a virtio 1.x block device";
	if ((features = negotiate(d)) < 0)
		return "feature negotiation failed";
	if (setup_queue(d) < 0)
		return "cannot set up its queue";
	reg_write(d, R_STATUS, S_ACKNOWLEDGE | S_DRIVER | S_FEATURES_OK | S_DRIVER_OK);
	d->sectors = reg_read(d, R_CONFIG) | (uint64_t)reg_read(d, R_CONFIG + 4) << 32;
	d->read_only = (features & F_BLK_RO) || read_only;
	d->can_flush = features & F_BLK_FLUSH;
	return NULL;
}

static void set_mount(struct vblk *d, const char *mount, size_t len)
{
	len = MIN(len, sizeof(d->mount) - 1);
	memcpy(d->mount, mount, len);
	d->mount[len] = '\0';
}

int vblk_probe(const struct wisp_device *devs, unsigned n)
{
	for (unsigned i = 0; i < n && ndisks < WISP_DEVICES_MAX; i++) {
		struct vblk *d = &disks[ndisks];
		const char *why;

		if (devs[i].virtio_id != 2)
			continue;
		set_mount(d, devs[i].mount, strnlen(devs[i].mount, sizeof(devs[i].mount)));
		why = vblk_init(d, devs[i].mmio_base, devs[i].flags & WISP_DEVICE_F_READ_ONLY);
		if (why)
			kprintf("virtio-blk %s: %s; left out\n", d->mount, why);
		else
			ndisks++;
	}
	return (int)ndisks;
}

/* "wisp" and a decimal index: the serial the VMM gave disk i. */
static int serial_index(const char id[ID_LEN], unsigned n)
{
	unsigned i = 0;
	int k = 4;

	if (memcmp(id, "wisp", 4) || id[4] < '0' || id[4] > '9')
		return -1;
	while (k < ID_LEN && id[k] >= '0' && id[k] <= '9')
		i = i * 10 + (unsigned)(id[k++] - '0');
	return (k == ID_LEN || !id[k]) && i < n ? (int)i : -1;
}

static int get_id(struct vblk *d, char id[ID_LEN]);

/* The transports QEMU microvm offers: disk i is the one whose serial is
 * "wispI"; mounts[i] is "MOUNT[:ro]". */
int vblk_probe_mmio(const char *const *mounts, unsigned n)
{
	struct vblk found[WISP_DEVICES_MAX];
	bool have[WISP_DEVICES_MAX] = { 0 };

	for (unsigned k = 0; k < QEMU_MMIO_SLOTS && n; k++) {
		uint64_t base = QEMU_MMIO_BASE + (uint64_t)k * QEMU_MMIO_STRIDE;
		struct vblk d = { 0 };
		char id[ID_LEN];
		int i;

		if (vblk_init(&d, base, false) || get_id(&d, id) || (i = serial_index(id, n)) < 0 || have[i])
			continue;
		const char *colon = strrchr(mounts[i], ':');
		bool ro = colon && !strcmp(colon, ":ro");

		set_mount(&d, mounts[i], ro ? (size_t)(colon - mounts[i]) : strlen(mounts[i]));
		d.read_only |= ro;
		found[i] = d;
		have[i] = true;
	}
	for (unsigned i = 0; i < n && ndisks < WISP_DEVICES_MAX; i++) {
		if (have[i])
			disks[ndisks++] = found[i];
		else
			kprintf("virtio-blk %s: no such device; left out\n", mounts[i]);
	}
	return (int)ndisks;
}

struct vblk *vblk_get(unsigned i)
{
	return i < ndisks ? &disks[i] : NULL;
}

uint64_t vblk_sectors(const struct vblk *d)
{
	return d->sectors;
}

bool vblk_read_only(const struct vblk *d)
{
	return d->read_only;
}

const char *vblk_mount(const struct vblk *d)
{
	return d->mount;
}

static void set_desc(struct vblk *d, unsigned i, uint64_t pa, uint32_t len, uint16_t flags)
{
	d->q->desc[i] = (struct desc){ pa, len, flags, (uint16_t)(i + 1) };
}

/* The device (wisp-vmm's disk thread, or QEMU) completes the requests
 * while the vCPU looks at the used index: a millisecond of that, then naps
 * in the host between looks, so a slow host disk costs no CPU. */
static bool wait_used(struct vblk *d, uint16_t want)
{
	uint64_t start = 0, now;

	for (;;) {
		barrier();
		if (*(volatile uint16_t *)&d->q->used.idx == want)
			return true;
		now = clock_monotonic_ns();
		if (!start)
			start = now;
		else if (now - start > REQUEST_TIMEOUT_NS)
			return false;
		if (now - start > SPIN_NS)
			platform->sleep_ns(NAP_NS);
		else
			asm volatile("pause");
	}
}

int vblk_wait(struct vblk *d)
{
	uint16_t idx = d->q->avail.idx, want = (uint16_t)(idx + d->queued);
	int err = 0;

	if (!d->queued)
		return 0;
	barrier();
	d->q->avail.idx = want;
	barrier();
	reg_write(d, R_QUEUE_NOTIFY, 0);
	if (!wait_used(d, want)) {
		kprintf("virtio-blk %s: the device did not complete a request (status 0x%x)\n",
			d->mount, reg_read(d, R_STATUS));
		err = -EIO;
	}
	for (unsigned k = 0; k < d->queued; k++)
		if (d->reqs[k].status != ST_OK)
			err = -EIO;
	d->queued = d->descs = 0;
	return err;
}

/* Chains header, the segments and the status byte into slot d->queued;
 * the ring entry goes in now, the index only at vblk_wait. */
static int add_request(struct vblk *d, uint32_t type, uint64_t sector,
		       const struct vblk_seg *segs, unsigned nseg, bool to_device)
{
	struct request *r;
	unsigned first;
	uint64_t pa;
	int err = 0;

	if (nseg + 2 > QSIZE)
		return -EINVAL;
	if (d->queued == SLOTS || d->descs + nseg + 2 > QSIZE)
		err = vblk_wait(d);
	r = &d->reqs[d->queued];
	pa = virt_to_phys(r);
	first = d->descs;
	*r = (struct request){ .type = type, .sector = sector, .status = 0xff };
	set_desc(d, d->descs++, pa, 16, DESC_F_NEXT);
	for (unsigned i = 0; i < nseg; i++)
		set_desc(d, d->descs++, virt_to_phys(segs[i].buf), segs[i].len,
			 DESC_F_NEXT | (to_device ? 0 : DESC_F_WRITE));
	set_desc(d, d->descs++, pa + offsetof(struct request, status), 1, DESC_F_WRITE);
	d->q->avail.ring[(uint16_t)(d->q->avail.idx + d->queued) % QSIZE] = (uint16_t)first;
	d->queued++;
	return err;
}

int vblk_queue(struct vblk *d, uint64_t sector, const struct vblk_seg *segs, unsigned nseg,
	       bool write)
{
	uint64_t bytes = 0;

	if (write && d->read_only)
		return -EROFS;
	for (unsigned i = 0; i < nseg; i++)
		bytes += segs[i].len;
	if (bytes % VBLK_SECTOR || sector > d->sectors || bytes / VBLK_SECTOR > d->sectors - sector)
		return -EINVAL;
	if (!bytes)
		return 0;
	return add_request(d, write ? T_OUT : T_IN, sector, segs, nseg, write);
}

int vblk_rw(struct vblk *d, uint64_t sector, void *buf, uint32_t nsec, bool write)
{
	struct vblk_seg seg = { buf, nsec * VBLK_SECTOR };
	int err;

	if (nsec > UINT32_MAX / VBLK_SECTOR)
		return -EINVAL;
	err = vblk_queue(d, sector, &seg, 1, write);
	return vblk_wait(d) ?: err;
}

int vblk_flush(struct vblk *d)
{
	int err;

	/* A flush covers the writes completed before it: wait for those. */
	if ((err = vblk_wait(d)) || d->read_only || !d->can_flush)
		return err;
	err = add_request(d, T_FLUSH, 0, NULL, 0, false);
	return vblk_wait(d) ?: err;
}

static int get_id(struct vblk *d, char id[ID_LEN])
{
	struct vblk_seg seg = { kzalloc(ID_LEN), ID_LEN };
	int err;

	if (!seg.buf)
		return -ENOMEM;
	err = add_request(d, T_GET_ID, 0, &seg, 1, false);
	err = vblk_wait(d) ?: err;
	memcpy(id, seg.buf, ID_LEN);
	kfree(seg.buf);
	return err;
}
