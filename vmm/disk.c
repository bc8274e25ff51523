/* disk.c: open, lock and check the ext2 images given with run --disk. */
#include "disk.h"
#include "errmsg.h"
#include "io.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#define DISK_SECTOR 512

/* The ext2 superblock: SB_SIZE bytes at byte SB_OFFSET, little-endian. */
#define SB_OFFSET 1024
#define SB_SIZE 1024
#define SB_MAGIC 56             /* u16 s_magic */
#define SB_REV_LEVEL 76         /* u32 s_rev_level */
#define SB_INCOMPAT 96          /* u32 s_feature_incompat */
#define SB_RO_COMPAT 100        /* u32 s_feature_ro_compat */
#define EXT2_MAGIC 0xEF53
#define EXT2_DYNAMIC_REV 1      /* revision 0 has no feature fields */

/* The features wisp's ext2 driver handles. An unknown incompat feature
 * changes the on-disk format, so the disk cannot be read at all; an unknown
 * ro_compat one may be read but not written. Compat ones are safe to ignore. */
#define INCOMPAT_OK 0x2         /* FILETYPE */
#define RO_COMPAT_OK 0x3        /* SPARSE_SUPER, LARGE_FILE */

static uint32_t le16(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8;
}

static uint32_t le32(const uint8_t *p)
{
	return le16(p) | le16(p + 2) << 16;
}

/* The type is checked before the open, so that a FIFO does not hang it and
 * a character device is never opened. */
static int open_image(const struct cli_disk *c, char *err, size_t errlen)
{
	struct stat st;
	int fd;

	if (stat(c->image, &st) < 0)
		return errmsg(err, errlen, "%s: %s", c->image, strerror(errno));
	if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode))
		return errmsg(err, errlen, "%s is not a regular file or block device", c->image);
	fd = open(c->image, (c->read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC);
	if (fd < 0 && !c->read_only && (errno == EACCES || errno == EROFS) &&
	    access(c->image, R_OK) == 0)
		return errmsg(err, errlen, "%s is read-only on the host: add :ro to use it "
				 "read-only", c->image);
	if (fd < 0)
		return errmsg(err, errlen, "%s: %s", c->image, strerror(errno));
	/* No host read-ahead: it fills the host's page cache of the image with
	 * large folios (up to 2 MiB on ext4), and a small write into one makes
	 * the fdatasync after it cost twice (host-only test: 48 against
	 * 105 us). wisp's own read-ahead (virtio_blk.c) reads 4 KiB pages. */
	posix_fadvise(fd, 0, 0, POSIX_FADV_RANDOM);
	return fd;
}

/* flock, not fcntl, locks: they belong to the open file, so two --disk of one
 * image in the same wisp conflict too, and udev and systemd honour them on
 * block devices. Readers share the lock; a writer excludes everyone. */
static int lock_image(int fd, const struct cli_disk *c, char *err, size_t errlen)
{
	if (flock(fd, (c->read_only ? LOCK_SH : LOCK_EX) | LOCK_NB) == 0)
		return 0;
	if (errno == EWOULDBLOCK)
		return errmsg(err, errlen, "%s is in use by another wisp (or program holding "
				 "a lock on it)", c->image);
	return errmsg(err, errlen, "%s: lock: %s", c->image, strerror(errno));
}

/* Re-checks the type on the open file: the path may have changed since stat. */
static int image_size(int fd, const char *image, uint64_t *size, char *err, size_t errlen)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return errmsg(err, errlen, "%s: %s", image, strerror(errno));
	if (S_ISREG(st.st_mode))
		*size = (uint64_t)st.st_size;
	else if (!S_ISBLK(st.st_mode))
		return errmsg(err, errlen, "%s is not a regular file or block device", image);
	else if (ioctl(fd, BLKGETSIZE64, size) < 0)
		return errmsg(err, errlen, "%s: BLKGETSIZE64: %s", image, strerror(errno));
	if (*size == 0)
		return errmsg(err, errlen, "%s is empty: it must hold an ext2 file system",
				 image);
	if (*size % DISK_SECTOR)
		return errmsg(err, errlen, "%s: its size, %llu bytes, is not a multiple of %d",
				 image, (unsigned long long)*size, DISK_SECTOR);
	return 0;
}

static int check_ext2(int fd, const struct cli_disk *c, char *err, size_t errlen)
{
	uint8_t sb[SB_SIZE];
	ssize_t got = io_pread_upto(fd, sb, SB_SIZE, SB_OFFSET);
	uint32_t rev, incompat, ro_compat;

	if (got < 0)
		return errmsg(err, errlen, "%s: read: %s", c->image, strerror(errno));
	if (got < SB_SIZE || le16(sb + SB_MAGIC) != EXT2_MAGIC)
		return errmsg(err, errlen, "%s is not an ext2 file system (make one with "
				 "mke2fs -t ext2)", c->image);
	rev = le32(sb + SB_REV_LEVEL);
	if (rev > EXT2_DYNAMIC_REV)
		return errmsg(err, errlen, "%s has ext2 revision %u; wisp supports 0 and 1",
				 c->image, rev);
	if (rev < EXT2_DYNAMIC_REV)
		return 0;
	incompat = le32(sb + SB_INCOMPAT) & ~(uint32_t)INCOMPAT_OK;
	if (incompat)
		return errmsg(err, errlen, "%s uses file system features wisp does not support "
				 "(incompat 0x%x): make an ext2 one with mke2fs -t ext2", c->image, incompat);
	ro_compat = le32(sb + SB_RO_COMPAT) & ~(uint32_t)RO_COMPAT_OK;
	if (ro_compat && !c->read_only)
		return errmsg(err, errlen, "%s uses file system features wisp cannot write "
				 "(ro_compat 0x%x): add :ro to use it read-only", c->image, ro_compat);
	return 0;
}

int disk_open(struct disk *d, const struct cli_disk *c, char *err, size_t errlen)
{
	int fd;

	*d = (struct disk){ .fd = -1, .read_only = c->read_only, .image = c->image,
			    .mount = c->mount };
	fd = open_image(c, err, errlen);
	if (fd < 0)
		return -1;
	if (lock_image(fd, c, err, errlen) < 0 ||
	    image_size(fd, c->image, &d->size, err, errlen) < 0 ||
	    check_ext2(fd, c, err, errlen) < 0) {
		close(fd);
		return -1;
	}
	d->fd = fd;
	return 0;
}

void disk_close(struct disk *d)
{
	if (d->fd >= 0)
		close(d->fd);
	d->fd = -1;
}

int disk_open_all(struct disk *disks, const struct cli_opts *o, char *err, size_t errlen)
{
	for (size_t i = 0; i < o->ndisks; i++) {
		if (disk_open(&disks[i], &o->disks[i], err, errlen) < 0) {
			while (i--)
				disk_close(&disks[i]);
			return -1;
		}
	}
	return 0;
}
