/* test_virtio_blk.c: the virtio-blk device driven through its virtio-mmio
 * registers with rings in a fake guest RAM, as a guest driver would: set-up
 * and feature negotiation, each request type against a real file, the
 * driver's freedom to split requests over descriptors, read-only disks, and
 * guests that break the rules (which must get errors, never a crash or an
 * access outside guest RAM; ASan watches). */
#define _GNU_SOURCE  /* SEEK_DATA */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "devices/virtio_blk.h"

#define RAM_SIZE (1u << 20)
#define DESC 0x1000
#define AVAIL 0x2000
#define USED 0x3000
#define DATA 0x10000
#define QSIZE 8
#define DISK_SIZE (64 * 1024)

static uint8_t *ram;
static struct kvm_mem mem;
static struct virtio_blk blk;
static struct disk disk;
static uint16_t avail_idx;
static int irqs;

static void on_irq(void *ctx)
{
	(void)ctx;
	irqs++;
}

static uint32_t rd(uint64_t off)
{
	uint32_t v;

	virtio_mmio_read(&blk.mmio, off, &v, 4);
	return v;
}

static void wr(uint64_t off, uint32_t v)
{
	virtio_mmio_write(&blk.mmio, off, &v, 4);
}

/* The driver's start-up (3.1.1) with a queue of QSIZE at the given rings. */
static void driver_init(uint64_t features, uint16_t qsize, uint64_t desc)
{
	wr(VIRTIO_MMIO_STATUS, 0);
	wr(VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	wr(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	wr(VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)features);
	wr(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	wr(VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)(features >> 32));
	wr(VIRTIO_MMIO_STATUS, rd(VIRTIO_MMIO_STATUS) | VIRTIO_STATUS_FEATURES_OK);
	wr(VIRTIO_MMIO_QUEUE_SEL, 0);
	wr(VIRTIO_MMIO_QUEUE_NUM, qsize);
	wr(VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)desc);
	wr(VIRTIO_MMIO_QUEUE_DESC_HIGH, (uint32_t)(desc >> 32));
	wr(VIRTIO_MMIO_QUEUE_DRIVER_LOW, AVAIL);
	wr(VIRTIO_MMIO_QUEUE_DEVICE_LOW, USED);
	wr(VIRTIO_MMIO_QUEUE_READY, 1);
	wr(VIRTIO_MMIO_STATUS, rd(VIRTIO_MMIO_STATUS) | VIRTIO_STATUS_DRIVER_OK);
	memset(ram + AVAIL, 0, 0x2000);
	avail_idx = 0;
}

static void set_desc(unsigned i, uint64_t addr, uint32_t len, uint16_t flags, uint16_t next)
{
	struct vring_desc d = { addr, len, flags, next };

	memcpy(ram + DESC + 16 * i, &d, sizeof(d));
}

static uint16_t used_idx(void)
{
	uint16_t v;

	memcpy(&v, ram + USED + 2, 2);
	return v;
}

static uint32_t used_len(uint16_t slot)
{
	uint32_t v;

	memcpy(&v, ram + USED + 4 + 8 * (slot % QSIZE) + 4, 4);
	return v;
}

static void make_available(uint16_t head)
{
	memcpy(ram + AVAIL + 4 + 2 * (avail_idx % QSIZE), &head, 2);
	avail_idx++;
	memcpy(ram + AVAIL + 2, &avail_idx, 2);
}

/* Makes the chain at head available and kicks the queue; returns whether
 * the device used it. */
static int submit(uint16_t head)
{
	uint16_t before = used_idx();

	make_available(head);
	wr(VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	return used_idx() != before;
}

static void put_hdr(uint64_t at, uint32_t type, uint64_t sector)
{
	uint32_t zero = 0;

	memcpy(ram + at, &type, 4);
	memcpy(ram + at + 4, &zero, 4);
	memcpy(ram + at + 8, &sector, 8);
}

/* header | data... | status, as Linux lays it out: one request of type,
 * nseg data buffers of seglen bytes each at DATA. Returns the status. */
static uint8_t request(uint32_t type, uint64_t sector, unsigned nseg, uint32_t seglen,
		       bool data_writable)
{
	uint64_t status = DATA - 0x100;
	unsigned i = 1;

	put_hdr(DATA - 0x200, type, sector);
	set_desc(0, DATA - 0x200, 16, VRING_DESC_F_NEXT, 1);
	for (; i <= nseg; i++)
		set_desc(i, DATA + (i - 1) * seglen, seglen,
			 VRING_DESC_F_NEXT | (data_writable ? VRING_DESC_F_WRITE : 0), (uint16_t)(i + 1));
	set_desc(i, status, 1, VRING_DESC_F_WRITE, 0);
	ram[status] = 0xff;
	CHECK(submit(0));
	return ram[status];
}

static void fill_disk(void)
{
	uint8_t buf[DISK_SIZE];

	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)(i * 13 + i / 512);
	CHECK(pwrite(disk.fd, buf, sizeof(buf), 0) == (ssize_t)sizeof(buf));
}

static uint8_t disk_byte(off_t off)
{
	uint8_t b = 0;

	CHECK(pread(disk.fd, &b, 1, off) == 1);
	return b;
}

/* A disk of size bytes (a sparse file) with data in its first DISK_SIZE. */
static void open_sized(bool read_only, uint64_t size)
{
	char path[] = "/tmp/wisp-test-blk-XXXXXX";

	disk.fd = mkstemp(path);
	CHECK(disk.fd >= 0);
	unlink(path);
	CHECK(ftruncate(disk.fd, (off_t)size) == 0);
	disk.size = size;
	disk.read_only = read_only;
	disk.image = "test.img";
	disk.mount = "/data";
	fill_disk();
	virtio_blk_init(&blk, &disk, &mem);
	blk.mmio.irq = on_irq;
}

static void open_device(bool read_only)
{
	open_sized(read_only, DISK_SIZE);
}

static void close_device(void)
{
	virtio_blk_destroy(&blk);
	close(disk.fd);
}

static void test_identity_and_features(void)
{
	uint64_t features;
	struct virtio_blk_config cfg;

	open_device(false);
	CHECK(rd(VIRTIO_MMIO_MAGIC) == VIRTIO_MMIO_MAGIC_VALUE);
	CHECK(rd(VIRTIO_MMIO_VERSION) == 2);
	CHECK(rd(VIRTIO_MMIO_DEVICE_ID) == VIRTIO_ID_BLOCK);
	wr(VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
	features = (uint64_t)rd(VIRTIO_MMIO_DEVICE_FEATURES) << 32;
	wr(VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
	features |= rd(VIRTIO_MMIO_DEVICE_FEATURES);
	CHECK(features & VIRTIO_F_VERSION_1);
	CHECK(features & VIRTIO_BLK_F_FLUSH);
	CHECK(!(features & VIRTIO_BLK_F_RO));
	for (unsigned i = 0; i < sizeof(cfg); i++)
		virtio_mmio_read(&blk.mmio, VIRTIO_MMIO_CONFIG + i, (uint8_t *)&cfg + i, 1);
	CHECK(cfg.capacity == DISK_SIZE / 512);
	CHECK(cfg.seg_max >= 2);
	/* Reading past the config space gives zeros, not host memory. */
	uint32_t past = 0xdeadbeef;
	virtio_mmio_read(&blk.mmio, VIRTIO_MMIO_CONFIG + sizeof(cfg) - 2, &past, 4);
	CHECK(past == 0);
	/* A legacy driver (no VERSION_1) does not get FEATURES_OK. */
	driver_init(VIRTIO_BLK_F_FLUSH, QSIZE, DESC);
	CHECK(!(rd(VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_FEATURES_OK));
	/* Nor one that takes a feature not offered. */
	driver_init(VIRTIO_F_VERSION_1 | VIRTIO_BLK_F_RO, QSIZE, DESC);
	CHECK(!(rd(VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_FEATURES_OK));
	driver_init(VIRTIO_F_VERSION_1 | VIRTIO_BLK_F_FLUSH, QSIZE, DESC);
	CHECK(rd(VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_FEATURES_OK);
	CHECK(rd(VIRTIO_MMIO_QUEUE_READY) == 1);
	close_device();
}

static void test_requests(void)
{
	uint8_t sector4[512];

	open_device(false);
	driver_init(VIRTIO_F_VERSION_1 | VIRTIO_BLK_F_FLUSH, QSIZE, DESC);
	irqs = 0;
	/* A read of two sectors into two buffers. */
	CHECK(request(VIRTIO_BLK_T_IN, 1, 2, 512, true) == VIRTIO_BLK_S_OK);
	CHECK(used_len((uint16_t)(used_idx() - 1)) == 1025);
	for (int i = 0; i < 1024; i++)
		CHECK(ram[DATA + i] == disk_byte(512 + i));
	CHECK(irqs == 1);
	CHECK(rd(VIRTIO_MMIO_INTERRUPT_STATUS) & VIRTIO_MMIO_INT_VRING);
	wr(VIRTIO_MMIO_INTERRUPT_ACK, VIRTIO_MMIO_INT_VRING);
	CHECK(rd(VIRTIO_MMIO_INTERRUPT_STATUS) == 0);
	/* A write whose header and data share one descriptor. */
	put_hdr(DATA, VIRTIO_BLK_T_OUT, 4);
	memset(ram + DATA + 16, 0x5a, 512);
	set_desc(0, DATA, 16 + 512, VRING_DESC_F_NEXT, 1);
	set_desc(1, DATA + 0x1000, 1, VRING_DESC_F_WRITE, 0);
	ram[DATA + 0x1000] = 0xff;
	CHECK(submit(0) && ram[DATA + 0x1000] == VIRTIO_BLK_S_OK);
	CHECK(pread(disk.fd, sector4, 512, 4 * 512) == 512);
	for (int i = 0; i < 512; i++)
		CHECK(sector4[i] == 0x5a);
	CHECK(disk_byte(3 * 512 + 511) != 0x5a || disk_byte(5 * 512) != 0x5a);
	CHECK(request(VIRTIO_BLK_T_FLUSH, 0, 0, 0, false) == VIRTIO_BLK_S_OK);
	/* get-id: the mount point. */
	CHECK(request(VIRTIO_BLK_T_GET_ID, 0, 1, 20, true) == VIRTIO_BLK_S_OK);
	CHECK(memcmp(ram + DATA, "/data", 6) == 0);
	/* Out of range, odd sizes, unknown types, short headers. */
	CHECK(request(VIRTIO_BLK_T_IN, DISK_SIZE / 512, 1, 512, true) == VIRTIO_BLK_S_IOERR);
	CHECK(request(VIRTIO_BLK_T_IN, DISK_SIZE / 512 - 1, 2, 512, true) == VIRTIO_BLK_S_IOERR);
	CHECK(request(VIRTIO_BLK_T_IN, UINT64_MAX, 1, 512, true) == VIRTIO_BLK_S_IOERR);
	CHECK(request(VIRTIO_BLK_T_OUT, 0, 1, 100, false) == VIRTIO_BLK_S_IOERR);
	CHECK(request(99, 0, 0, 0, false) == VIRTIO_BLK_S_UNSUPP);
	set_desc(0, DATA, 8, VRING_DESC_F_NEXT, 1);
	set_desc(1, DATA + 0x1000, 1, VRING_DESC_F_WRITE, 0);
	CHECK(submit(0) && ram[DATA + 0x1000] == VIRTIO_BLK_S_IOERR);
	CHECK(!(rd(VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_NEEDS_RESET));
	close_device();
}

static void test_read_only(void)
{
	uint64_t features;

	open_device(true);
	wr(VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
	features = rd(VIRTIO_MMIO_DEVICE_FEATURES);
	CHECK(features & VIRTIO_BLK_F_RO);
	driver_init(VIRTIO_F_VERSION_1 | VIRTIO_BLK_F_RO, QSIZE, DESC);
	memset(ram + DATA, 0x77, 512);
	CHECK(request(VIRTIO_BLK_T_OUT, 2, 1, 512, false) == VIRTIO_BLK_S_IOERR);
	CHECK(disk_byte(2 * 512) != 0x77);
	CHECK(request(VIRTIO_BLK_T_IN, 2, 1, 512, true) == VIRTIO_BLK_S_OK);
	close_device();
}

/* Each breaks the device (NEEDS_RESET) without a crash; a reset mends it. */
static void test_hostile_guest(void)
{
	open_device(false);
	driver_init(VIRTIO_F_VERSION_1, QSIZE, DESC);
	put_hdr(DATA, VIRTIO_BLK_T_IN, 0);
	/* A buffer outside guest RAM. */
	set_desc(0, DATA, 16, VRING_DESC_F_NEXT, 1);
	set_desc(1, RAM_SIZE - 256, 512, VRING_DESC_F_NEXT | VRING_DESC_F_WRITE, 2);
	set_desc(2, DATA + 0x1000, 1, VRING_DESC_F_WRITE, 0);
	CHECK(!submit(0));
	CHECK(rd(VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_NEEDS_RESET);
	CHECK(rd(VIRTIO_MMIO_INTERRUPT_STATUS) & VIRTIO_MMIO_INT_CONFIG);
	/* Once broken, kicks do nothing. */
	set_desc(1, DATA + 0x2000, 512, VRING_DESC_F_NEXT | VRING_DESC_F_WRITE, 2);
	CHECK(!submit(0));
	/* A loop. */
	driver_init(VIRTIO_F_VERSION_1, QSIZE, DESC);
	CHECK(!(rd(VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_NEEDS_RESET));
	set_desc(0, DATA, 16, VRING_DESC_F_NEXT, 1);
	set_desc(1, DATA + 0x2000, 512, VRING_DESC_F_NEXT | VRING_DESC_F_WRITE, 0);
	CHECK(!submit(0) && (rd(VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_NEEDS_RESET));
	/* A descriptor index past the queue, as head and as next. */
	driver_init(VIRTIO_F_VERSION_1, QSIZE, DESC);
	CHECK(!submit(QSIZE) && (rd(VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_NEEDS_RESET));
	driver_init(VIRTIO_F_VERSION_1, QSIZE, DESC);
	set_desc(0, DATA, 16, VRING_DESC_F_NEXT, 200);
	CHECK(!submit(0) && (rd(VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_NEEDS_RESET));
	/* The available index jumping past the queue size. */
	driver_init(VIRTIO_F_VERSION_1, QSIZE, DESC);
	avail_idx = QSIZE + 3;
	CHECK(!submit(0) && (rd(VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_NEEDS_RESET));
	/* No status byte: nothing device-writable at all. */
	driver_init(VIRTIO_F_VERSION_1, QSIZE, DESC);
	set_desc(0, DATA, 16, 0, 0);
	CHECK(!submit(0) && (rd(VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_NEEDS_RESET));
	/* Rings outside guest RAM, misaligned, or a bad queue size. */
	driver_init(VIRTIO_F_VERSION_1, QSIZE, RAM_SIZE - 16);
	CHECK(rd(VIRTIO_MMIO_QUEUE_READY) == 0 && (rd(VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_NEEDS_RESET));
	driver_init(VIRTIO_F_VERSION_1, QSIZE, DESC + 8);
	CHECK(rd(VIRTIO_MMIO_QUEUE_READY) == 0);
	driver_init(VIRTIO_F_VERSION_1, 6, DESC);
	CHECK(rd(VIRTIO_MMIO_QUEUE_READY) == 0);
	driver_init(VIRTIO_F_VERSION_1, 1024, DESC);
	CHECK(rd(VIRTIO_MMIO_QUEUE_READY) == 0);
	/* Registers out of the window or of odd sizes are ignored. */
	uint16_t half = 0;
	virtio_mmio_write(&blk.mmio, VIRTIO_MMIO_STATUS, &half, 2);
	virtio_mmio_write(&blk.mmio, 0x1000000, &half, 2);
	/* After all that, a reset gives a working device. */
	driver_init(VIRTIO_F_VERSION_1, QSIZE, DESC);
	CHECK(request(VIRTIO_BLK_T_IN, 0, 1, 512, true) == VIRTIO_BLK_S_OK);
	close_device();
}

/* With EVENT_IDX the driver says when it wants an interrupt (used_event)
 * and the device says when it wants a kick (avail_event). */
static void test_event_idx(void)
{
	uint16_t used_event = 5, avail_event;

	open_device(false);
	driver_init(VIRTIO_F_VERSION_1 | VIRTIO_RING_F_EVENT_IDX, QSIZE, DESC);
	memcpy(ram + AVAIL + 4 + 2 * QSIZE, &used_event, 2);
	irqs = 0;
	for (int i = 0; i < 6; i++)
		CHECK(request(VIRTIO_BLK_T_IN, 0, 1, 512, true) == VIRTIO_BLK_S_OK);
	CHECK(irqs == 1);  /* only when the used index passed 5 */
	memcpy(&avail_event, ram + USED + 4 + 8 * QSIZE, 2);
	CHECK(avail_event == 6);
	close_device();
}

static void *kick_thread(void *dev)
{
	virtio_mmio_kick(dev);
	return NULL;
}

/* The device thread's path: a kick from another thread, without a write to
 * QueueNotify, serves what the driver made available. */
static void test_kick_from_a_thread(void)
{
	uint16_t before;
	pthread_t t;

	open_device(false);
	driver_init(VIRTIO_F_VERSION_1, QSIZE, DESC);
	before = used_idx();
	put_hdr(DATA - 0x200, VIRTIO_BLK_T_IN, 2);
	set_desc(0, DATA - 0x200, 16, VRING_DESC_F_NEXT, 1);
	set_desc(1, DATA, 512, VRING_DESC_F_NEXT | VRING_DESC_F_WRITE, 2);
	set_desc(2, DATA - 0x100, 1, VRING_DESC_F_WRITE, 0);
	ram[DATA - 0x100] = 0xff;
	make_available(0);
	CHECK(pthread_create(&t, NULL, kick_thread, &blk.mmio) == 0);
	CHECK(pthread_join(t, NULL) == 0);
	CHECK(used_idx() == (uint16_t)(before + 1));
	CHECK(ram[DATA - 0x100] == VIRTIO_BLK_S_OK);
	CHECK(ram[DATA] == disk_byte(1024));
	close_device();
}

/* A small write into a hole has the rest of its 1 MiB chunk filled with
 * zeros at the next flush (host blocks allocated, contents unchanged),
 * and nothing else; what was written in the chunk since is kept. */
static void test_small_write_fills_its_chunk(void)
{
	uint64_t at = (1u << 20) + 8192, big = (1u << 20) + 65536;
	enum { BIG = 256 << 10 };
	struct stat st;
	uint8_t buf[512];
	bool zeros = true, kept = true;

	open_sized(false, 3u << 20);
	driver_init(VIRTIO_F_VERSION_1, QSIZE, DESC);
	memset(ram + DATA, 0x77, 512);
	CHECK(request(VIRTIO_BLK_T_OUT, at / 512, 1, 512, false) == VIRTIO_BLK_S_OK);
	CHECK(fstat(disk.fd, &st) == 0);
	CHECK((uint64_t)st.st_blocks * 512 < (1u << 20));   /* not before the flush */
	memset(ram + DATA, 0x66, BIG);
	CHECK(request(VIRTIO_BLK_T_OUT, big / 512, 4, BIG / 4, false) == VIRTIO_BLK_S_OK);
	CHECK(request(VIRTIO_BLK_T_FLUSH, 0, 0, 0, false) == VIRTIO_BLK_S_OK);
	CHECK(pread(disk.fd, buf, 512, (off_t)at) == 512 && buf[0] == 0x77 && buf[511] == 0x77);
	for (uint64_t off = 1u << 20; off < 2u << 20; off += 512) {
		bool in_big = off >= big && off < big + BIG;

		CHECK(pread(disk.fd, buf, 512, (off_t)off) == 512);
		for (int i = 0; i < 512 && off != at; i++) {
			zeros &= in_big || buf[i] == 0;
			kept &= !in_big || buf[i] == 0x66;
		}
	}
	CHECK(zeros);
	CHECK(kept);
	CHECK(disk_byte(100) == (uint8_t)(100 * 13));  /* the data before is intact */
	CHECK(fstat(disk.fd, &st) == 0);
	CHECK((uint64_t)st.st_blocks * 512 >= (1u << 20) + DISK_SIZE);
	CHECK((uint64_t)st.st_blocks * 512 < (2u << 20));          /* the last chunk stays a hole */
	CHECK(lseek(disk.fd, 2u << 20, SEEK_DATA) < 0);
	close_device();
}

/* Read-ahead runs in the background and mincore counts a page only once
 * its read is done: waits up to 5 s for the pages to arrive. */
static bool wait_resident(int fd, long off, size_t pages)
{
	struct timespec pause = { 0, 1000000 };

	for (int i = 0; i < 5000; i++) {
		if (resident_pages(fd, off, pages) == (long)pages)
			return true;
		nanosleep(&pause, NULL);
	}
	return false;
}

/* Large reads that continue each other read ahead of the guest, and give
 * the file's bytes whether the host had them cached or not. */
static void test_sequential_reads_read_ahead(void)
{
	enum { SEG = 32 << 10, NSEG = 4, REQ = SEG * NSEG };
	static uint8_t buf[4 << 20];
	bool same = true;

	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)(i * 7 + i / 4096);
	open_sized(false, sizeof(buf));
	CHECK(pwrite(disk.fd, buf, sizeof(buf), 0) == (ssize_t)sizeof(buf));
	CHECK(fdatasync(disk.fd) == 0);
	/* As disk_open leaves the image: no read-ahead by the host itself. */
	CHECK(posix_fadvise(disk.fd, 0, 0, POSIX_FADV_RANDOM) == 0);
	CHECK(posix_fadvise(disk.fd, 0, 0, POSIX_FADV_DONTNEED) == 0);
	if (resident_pages(disk.fd, 0, 1) != 0) {
		printf("# read-ahead not checked: /tmp keeps its files in memory\n");
		close_device();
		return;
	}
	driver_init(VIRTIO_F_VERSION_1, QSIZE, DESC);
	for (unsigned r = 0; r < 3; r++) {
		CHECK(request(VIRTIO_BLK_T_IN, r * REQ / 512, NSEG, SEG, true) == VIRTIO_BLK_S_OK);
		same &= memcmp(ram + DATA, buf + r * REQ, REQ) == 0;
		if (r == 0) {
			/* The miss started the next READ_AHEAD_FACTOR (4) requests. */
			CHECK(wait_resident(disk.fd, REQ, 4 * REQ / 4096));
			CHECK(resident_pages(disk.fd, 5 * REQ, 1) == 0);
		}
	}
	CHECK(same);
	close_device();
}

int main(void)
{
	ram = aligned_alloc(4096, RAM_SIZE);
	CHECK(ram != NULL);
	memset(ram, 0, RAM_SIZE);
	mem = (struct kvm_mem){ ram, RAM_SIZE };
	test_identity_and_features();
	test_requests();
	test_read_only();
	test_hostile_guest();
	test_event_idx();
	test_kick_from_a_thread();
	test_small_write_fills_its_chunk();
	test_sequential_reads_read_ahead();
	free(ram);
	return check_report();
}
