/* virtio_blk.c: virtio block requests (virtio 1.x, 5.2.6) against a host
 * image file.
 *
 * A request is a descriptor chain: a 16-byte header the device reads, the
 * data (read for a write, written for a read), and a status byte the device
 * writes last. The driver may split these bytes over descriptors any way it
 * likes (5.2.6.4), so the chain is treated as two byte streams, the
 * device-readable part and the device-writable part. Anything malformed
 * gets VIRTIO_BLK_S_IOERR where there is a status byte to put it in; a
 * chain without one breaks the device (virtio_mmio_fail).
 */
#define _GNU_SOURCE
#include "devices/virtio_blk.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#define HDR_LEN 16
#define SEG_MAX (VIRTQ_CHAIN_MAX - 2)  /* header and status take two */

struct blk_hdr {
	uint32_t type;
	uint32_t reserved;
	uint64_t sector;
};

/* The chain as the readable and the writable byte streams. */
struct streams {
	const struct virtq_chain *c;
	unsigned first_writable;     /* buffers before it are readable */
	uint64_t in_len, out_len;    /* bytes readable, bytes writable */
};

/* False if a readable buffer follows a writable one (2.7.4.2). */
static bool split_streams(const struct virtq_chain *c, struct streams *s)
{
	unsigned i = 0;

	s->c = c;
	s->in_len = s->out_len = 0;
	for (; i < c->n && !c->buf[i].writable; i++)
		s->in_len += c->buf[i].len;
	s->first_writable = i;
	for (; i < c->n; i++) {
		if (!c->buf[i].writable)
			return false;
		s->out_len += c->buf[i].len;
	}
	return true;
}

/* iovecs for len bytes of one stream starting at byte skip. */
static int stream_iov(const struct streams *s, bool writable, uint64_t skip, uint64_t len,
		      struct iovec *iov)
{
	unsigned i = writable ? s->first_writable : 0, end = writable ? s->c->n : s->first_writable;
	int n = 0;

	for (; i < end && len; i++) {
		const struct virtq_buf *b = &s->c->buf[i];
		uint64_t take;

		if (skip >= b->len) {
			skip -= b->len;
			continue;
		}
		take = b->len - skip < len ? b->len - skip : len;
		iov[n++] = (struct iovec){ b->p + skip, take };
		len -= take;
		skip = 0;
	}
	return n;
}

static void stream_copy(const struct streams *s, bool to_guest, uint64_t at, void *data,
			uint64_t len)
{
	struct iovec iov[VIRTQ_CHAIN_MAX];
	int n = stream_iov(s, to_guest, at, len, iov);
	uint8_t *p = data;

	for (int i = 0; i < n; i++) {
		if (to_guest)
			memcpy(iov[i].iov_base, p, iov[i].iov_len);
		else
			memcpy(p, iov[i].iov_base, iov[i].iov_len);
		p += iov[i].iov_len;
	}
}

/* Whole transfer or an error: a short one is an I/O error to the guest.
 * Consumes v (advanced past what each partial transfer did). */
static int transfer(int fd, bool write, struct iovec *v, int n, uint64_t off, uint64_t len)
{
	int first = 0;

	while (len) {
		ssize_t done = write ? pwritev(fd, v + first, n - first, (off_t)off)
				     : preadv(fd, v + first, n - first, (off_t)off);

		if (done < 0 && errno == EINTR)
			continue;
		if (done <= 0)
			return -1;
		off += (uint64_t)done;
		len -= (uint64_t)done;
		while (first < n && (size_t)done >= v[first].iov_len)
			done -= (ssize_t)v[first++].iov_len;
		if (first < n) {
			v[first].iov_base = (uint8_t *)v[first].iov_base + done;
			v[first].iov_len -= (size_t)done;
		}
	}
	return 0;
}

static bool in_range(const struct virtio_blk *b, uint64_t sector, uint64_t len)
{
	uint64_t sectors = len / VIRTIO_BLK_SECTOR;

	return len % VIRTIO_BLK_SECTOR == 0 && sector <= b->config.capacity &&
	       sectors <= b->config.capacity - sector;
}

/* The image is read without the host's own read-ahead (disk.c says why),
 * so a large read that continues the last one and that the host's page
 * cache cannot serve at once starts reading the next READ_AHEAD_FACTOR
 * such requests' worth itself. Returns true if the cache served it all. */
#define READ_AHEAD_MIN (128u << 10)
#define READ_AHEAD_FACTOR 4

static bool read_cached_or_ahead(struct virtio_blk *b, const struct iovec *iov, int n,
				 uint64_t off, uint64_t len)
{
	bool sequential = off == b->read_end;

	b->read_end = off + len;
	if (len < READ_AHEAD_MIN || !sequential)
		return false;
	if (preadv2(b->disk->fd, iov, n, (off_t)off, RWF_NOWAIT) == (ssize_t)len)
		return true;
	readahead(b->disk->fd, (off_t)(off + len), (size_t)len * READ_AHEAD_FACTOR);
	return false;
}

static uint8_t do_read(struct virtio_blk *b, const struct streams *s, uint64_t sector,
		       uint32_t *written)
{
	uint64_t len = s->out_len - 1, off = sector * VIRTIO_BLK_SECTOR;
	struct iovec iov[VIRTQ_CHAIN_MAX];
	int n = stream_iov(s, true, 0, len, iov);

	if (!in_range(b, sector, len))
		return VIRTIO_BLK_S_IOERR;
	if (!read_cached_or_ahead(b, iov, n, off, len) &&
	    transfer(b->disk->fd, false, iov, n, off, len) < 0)
		return VIRTIO_BLK_S_IOERR;
	*written = (uint32_t)len;
	return VIRTIO_BLK_S_OK;
}

/* A small write into a hole of a sparse image makes the host allocate a
 * block, and the fdatasync that follows commit a journal transaction for
 * it; an overwrite needs none (an append + fdatasync measured ~150 us
 * into a hole, ~120 us over written blocks). So the first small write
 * into a chunk has the chunk's holes filled with zeros, which the holes
 * read as already: the image's contents stay the same, only its host
 * blocks are allocated, one chunk at a time. Large writes allocate their
 * own. The filling waits for the next flush, the first that gains from
 * it: a small write (an indirect block) often comes amid large ones that
 * are about to write the rest of its chunk, over the zeros. */
#define FILL_CHUNK (1u << 20)
#define FILL_WRITE_MAX (64u << 10)

static void write_zeros(int fd, uint64_t from, uint64_t to)
{
	static const char zeros[64 << 10];

	for (uint64_t at = from; at < to;) {
		uint64_t n = to - at > sizeof(zeros) ? sizeof(zeros) : to - at;

		if (pwrite(fd, zeros, n, (off_t)at) != (ssize_t)n)
			return;  /* only an optimisation: the requests report errors */
		at += n;
	}
}

static void fill_chunk(struct virtio_blk *b, uint64_t c)
{
	uint64_t start = c * FILL_CHUNK, size = b->disk->size;
	uint64_t end = start + FILL_CHUNK < size ? start + FILL_CHUNK : size;
	int fd = b->disk->fd;

	for (uint64_t at = start; at < end;) {
		off_t hole = lseek(fd, (off_t)at, SEEK_HOLE), data;

		if (hole < 0 || (uint64_t)hole >= end)
			break;
		data = lseek(fd, hole, SEEK_DATA);
		if (data < 0 || (uint64_t)data > end)
			data = (off_t)end;
		write_zeros(fd, (uint64_t)hole, (uint64_t)data);
		at = (uint64_t)data;
	}
}

/* Notes the chunks of a small write for fill_pending. */
static void want_fill(struct virtio_blk *b, uint64_t off, uint64_t len)
{
	for (uint64_t c = off / FILL_CHUNK; c <= (off + len - 1) / FILL_CHUNK; c++) {
		if (b->filled[c / 8] & (1u << (c % 8)))
			continue;
		b->filled[c / 8] |= (uint8_t)(1u << (c % 8));
		if (b->nfill == FILL_PENDING_MAX)
			fill_chunk(b, c);
		else
			b->fill[b->nfill++] = c;
	}
}

static void fill_pending(struct virtio_blk *b)
{
	for (unsigned i = 0; i < b->nfill; i++)
		fill_chunk(b, b->fill[i]);
	b->nfill = 0;
}

static uint8_t do_write(struct virtio_blk *b, const struct streams *s, uint64_t sector)
{
	uint64_t len = s->in_len - HDR_LEN;
	struct iovec iov[VIRTQ_CHAIN_MAX];
	int n = stream_iov(s, false, HDR_LEN, len, iov);

	if (b->disk->read_only) {
		if (!b->warned_ro)
			fprintf(stderr, "wisp: %s: the guest wrote to a read-only disk (%s:%s:ro); "
				"the write failed\n", b->name, b->disk->image, b->disk->mount);
		b->warned_ro = true;
		return VIRTIO_BLK_S_IOERR;
	}
	if (!in_range(b, sector, len))
		return VIRTIO_BLK_S_IOERR;
	if (transfer(b->disk->fd, true, iov, n, sector * VIRTIO_BLK_SECTOR, len) < 0)
		return VIRTIO_BLK_S_IOERR;
	if (len && len <= FILL_WRITE_MAX && b->filled)
		want_fill(b, sector * VIRTIO_BLK_SECTOR, len);
	/* The guest has its own page cache: what reaches the device was
	 * written back on purpose, and a flush often follows. Starting the
	 * host's write-out now lets that flush find it under way. */
	sync_file_range(b->disk->fd, (off_t)(sector * VIRTIO_BLK_SECTOR), (off_t)len,
			SYNC_FILE_RANGE_WRITE);
	return VIRTIO_BLK_S_OK;
}

/* Flush means on the host's disk, not in its page cache. */
static uint8_t do_flush(struct virtio_blk *b)
{
	if (b->disk->read_only)
		return VIRTIO_BLK_S_OK;
	fill_pending(b);
	while (fdatasync(b->disk->fd) < 0)
		if (errno != EINTR)
			return VIRTIO_BLK_S_IOERR;
	return VIRTIO_BLK_S_OK;
}

static uint8_t do_get_id(struct virtio_blk *b, const struct streams *s, uint32_t *written)
{
	char id[VIRTIO_BLK_ID_BYTES] = { 0 };
	uint64_t len = s->out_len - 1 < sizeof(id) ? s->out_len - 1 : sizeof(id);
	size_t name = strlen(b->disk->mount);

	/* The mount point names the disk; not NUL-terminated when it fills all
	 * 20 bytes (5.2.6). */
	memcpy(id, b->disk->mount, name < sizeof(id) ? name : sizeof(id));
	stream_copy(s, true, 0, id, len);
	*written = (uint32_t)len;
	return VIRTIO_BLK_S_OK;
}

/* Serves one chain; returns the bytes written into it, or -1 if it has no
 * status byte (then nothing was written). */
static int64_t serve(struct virtio_blk *b, const struct virtq_chain *c)
{
	struct streams s;
	struct blk_hdr h;
	uint32_t written = 0;
	uint8_t status;

	if (!split_streams(c, &s) || s.out_len < 1)
		return -1;
	if (s.in_len < HDR_LEN) {
		status = VIRTIO_BLK_S_IOERR;
	} else {
		stream_copy(&s, false, 0, &h, HDR_LEN);
		switch (h.type) {
		case VIRTIO_BLK_T_IN: status = do_read(b, &s, h.sector, &written); break;
		case VIRTIO_BLK_T_OUT: status = do_write(b, &s, h.sector); break;
		case VIRTIO_BLK_T_FLUSH: status = do_flush(b); break;
		case VIRTIO_BLK_T_GET_ID: status = do_get_id(b, &s, &written); break;
		default: status = VIRTIO_BLK_S_UNSUPP; break;
		}
	}
	stream_copy(&s, true, s.out_len - 1, &status, 1);
	return (int64_t)written + 1;
}

/* Serves the chains the driver has made available (the transport asks
 * for the next notification, virtio_mmio.c). */
static void blk_notify(struct virtio_mmio_dev *d, unsigned qi)
{
	struct virtio_blk *b = d->priv;
	struct virtq *q = virtio_mmio_queue(d, qi);
	struct virtq_chain c;
	const char *why;
	int rc;

	if (!q)
		return;
	while ((rc = virtq_pop(q, d->mem, &c, &why)) > 0) {
		int64_t len = serve(b, &c);

		if (len < 0) {
			virtio_mmio_fail(d, "request without a status byte");
			return;
		}
		virtq_push(q, c.head, (uint32_t)len);
	}
	if (rc < 0) {
		virtio_mmio_fail(d, why);
		return;
	}
	virtio_mmio_signal(d, qi);
}

static const struct virtio_dev_ops blk_ops = {
	.device_id = VIRTIO_ID_BLOCK,
	.queues = 1,
	.features = VIRTIO_BLK_F_SEG_MAX | VIRTIO_BLK_F_BLK_SIZE | VIRTIO_BLK_F_FLUSH,
	.notify = blk_notify,
};

static const struct virtio_dev_ops blk_ro_ops = {
	.device_id = VIRTIO_ID_BLOCK,
	.queues = 1,
	.features = VIRTIO_BLK_F_SEG_MAX | VIRTIO_BLK_F_BLK_SIZE | VIRTIO_BLK_F_FLUSH |
		    VIRTIO_BLK_F_RO,
	.notify = blk_notify,
};

void virtio_blk_init(struct virtio_blk *b, const struct disk *disk, const struct kvm_mem *mem)
{
	memset(b, 0, sizeof(*b));
	b->disk = disk;
	snprintf(b->name, sizeof(b->name), "virtio-blk %s", disk->mount);
	b->config.capacity = disk->size / VIRTIO_BLK_SECTOR;
	b->config.seg_max = SEG_MAX;
	b->config.blk_size = VIRTIO_BLK_SECTOR;
	/* Without the map, writes just skip the filling. */
	b->filled = disk->read_only ? NULL : calloc(disk->size / FILL_CHUNK / 8 + 1, 1);
	virtio_mmio_init(&b->mmio, b->name, disk->read_only ? &blk_ro_ops : &blk_ops, b, mem,
			 &b->config, sizeof(b->config));
}

void virtio_blk_destroy(struct virtio_blk *b)
{
	virtio_mmio_destroy(&b->mmio);
	free(b->filled);
	b->filled = NULL;
}
