/* blockdev.c: the virtio disks as block devices /dev/vda, /dev/vdb, ...:
 * reads and writes at any offset and length, through a bounce buffer
 * (read-modify-write for partial sectors), and fsync to the host's disk.
 * Uncached: the file system mounted on a disk keeps its own cache. */
#include <linux/fs.h>
#include <linux/stat.h>
#include "drivers/virtio_blk.h"
#include "fs/vfs.h"
#include "lib/string.h"
#include "mm/page.h"
#include "mm/uaccess.h"
#include "platform.h"

#define BOUNCE_SECTORS 128                   /* 64 KiB a transfer */
#define MKDEV(major, minor) ((major) << 8 | (minor))
#define VIRTBLK_MAJOR 254                    /* dynamic on Linux; 254 is usual */

/* One CPU and no sleeping in here: one buffer serves every disk. */
static uint8_t *bounce;

static struct vblk *disk_of(const struct file *f)
{
	return f->inode->priv;
}

static uint64_t disk_bytes(const struct vblk *d)
{
	return vblk_sectors(d) * VBLK_SECTOR;
}

/* Copies out of (or, for a write, into) the disk's bytes [pos, pos+len),
 * len at most a bounce buffer minus the offset into the first sector. */
static int transfer(struct vblk *d, uint64_t pos, void *buf, size_t len, bool write)
{
	uint64_t sector = pos / VBLK_SECTOR;
	size_t off = pos % VBLK_SECTOR;
	uint32_t nsec = (uint32_t)((off + len + VBLK_SECTOR - 1) / VBLK_SECTOR);
	int err;

	/* A write that covers its sectors whole needs no read first. */
	if (!write || off || len % VBLK_SECTOR)
		if ((err = vblk_rw(d, sector, bounce, nsec, false)))
			return err;
	if (!write) {
		memcpy(buf, bounce + off, len);
		return 0;
	}
	memcpy(bounce + off, buf, len);
	return vblk_rw(d, sector, bounce, nsec, true);
}

static ssize_t rw(struct file *f, void *buf, size_t len, off_t *pos, bool write)
{
	struct vblk *d = disk_of(f);
	uint64_t size = disk_bytes(d);
	size_t done = 0;

	if ((uint64_t)*pos >= size)
		return write && len ? -ENOSPC : 0;
	len = MIN(len, size - (uint64_t)*pos);
	while (done < len) {
		uint64_t at = (uint64_t)*pos + done;
		size_t n = MIN(len - done, BOUNCE_SECTORS * VBLK_SECTOR - at % VBLK_SECTOR);
		int err = transfer(d, at, (uint8_t *)buf + done, n, write);

		if (err)
			return done ? (ssize_t)done : err;
		done += n;
	}
	*pos += (off_t)done;
	return (ssize_t)done;
}

static ssize_t blk_read(struct file *f, void *buf, size_t len, off_t *pos)
{
	return rw(f, buf, len, pos, false);
}

static ssize_t blk_write(struct file *f, const void *buf, size_t len, off_t *pos)
{
	if (vblk_read_only(disk_of(f)))
		return -EROFS;
	return rw(f, (void *)buf, len, pos, true);
}

static int blk_fsync(struct file *f)
{
	return vblk_flush(disk_of(f));
}

/* What tools ask a block device: its size and sector size. */
static long blk_ioctl(struct file *f, unsigned long cmd, unsigned long arg)
{
	uint64_t bytes = disk_bytes(disk_of(f));
	int sector = VBLK_SECTOR, ro = vblk_read_only(disk_of(f));

	switch (cmd) {
	case BLKGETSIZE64:
		return copy_to_user((void *)arg, &bytes, sizeof(bytes));
	case BLKSSZGET:
		return copy_to_user((void *)arg, &sector, sizeof(sector));
	case BLKROGET:
		return copy_to_user((void *)arg, &ro, sizeof(ro));
	default:
		return -ENOTTY;
	}
}

static const struct file_ops blk_ops = {
	.read = blk_read, .write = blk_write, .ioctl = blk_ioctl, .fsync = blk_fsync,
	.seekable = true,
};

void blockdev_init(const char *const *mounts, unsigned nmounts)
{
	struct vfs_name nm;
	int n = platform_ndevices ? vblk_probe(platform_devices, platform_ndevices)
				  : vblk_probe_mmio(mounts, nmounts);

	if (n <= 0 || vfs_parent_from(vfs_root(), "dev/vda", &nm))
		return;
	bounce = page_alloc_n(BOUNCE_SECTORS * VBLK_SECTOR / PAGE_SIZE);
	if (!bounce) {
		kprintf("virtio-blk: out of memory; no disks\n");
		return;
	}
	for (int i = 0; i < n; i++) {
		struct vblk *d = vblk_get((unsigned)i);
		char name[4] = { 'v', 'd', (char)('a' + i), '\0' };
		struct inode *in;

		if (tmpfs_mknod(nm.dir, name, 3, S_IFBLK | (vblk_read_only(d) ? 0440 : 0660), &in))
			continue;
		in->fops = &blk_ops;
		in->rdev = MKDEV(VIRTBLK_MAJOR, 16 * i);
		in->size = disk_bytes(d);
		in->priv = d;
	}
}
