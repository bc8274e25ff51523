/* test_disk.c: unit tests for opening, locking and checking --disk images. */
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "cli.h"
#include "disk.h"

#define PATHLEN 128

static char dir[64];
static char mnt[] = "/mnt";
static const char *mke2fs;

static void tpath(char *buf, const char *name)
{
	snprintf(buf, PATHLEN, "%s/%s", dir, name);
}

/* mke2fs is a declared dependency (e2fsprogs): missing, it fails the test. */
static const char *find_mke2fs(void)
{
	static const char *const paths[] = { "/sbin/mke2fs", "/usr/sbin/mke2fs" };

	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
		if (access(paths[i], X_OK) == 0)
			return paths[i];
	fprintf(stderr, "test_disk: mke2fs not found in /sbin or /usr/sbin\n");
	return NULL;
}

/* A 4 MiB file system of type fs ("ext2", "ext4") at dir/name. */
static void make_fs(char *path, const char *name, const char *fs)
{
	char cmd[3 * PATHLEN];

	tpath(path, name);
	snprintf(cmd, sizeof(cmd), "%s -q -t %s -F %s 4M >/dev/null", mke2fs ? mke2fs : "mke2fs",
		 fs, path);
	CHECK(system(cmd) == 0);
}

/* size bytes of zeros at dir/name. */
static void make_zeros(char *path, const char *name, off_t size)
{
	int fd;

	tpath(path, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	CHECK(fd >= 0 && ftruncate(fd, size) == 0);
	close(fd);
}

/* Writes a little-endian value of len bytes at off. */
static void poke(const char *path, off_t off, uint32_t v, size_t len)
{
	uint8_t b[4] = { (uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24) };
	int fd = open(path, O_WRONLY);

	CHECK(fd >= 0 && pwrite(fd, b, len, off) == (ssize_t)len);
	close(fd);
}

static struct cli_disk cdisk(char *image, bool ro)
{
	return (struct cli_disk){ .spec = image, .image = image, .mount = mnt, .read_only = ro };
}

/* Opens image, expects failure with a message that starts with the image path
 * and contains phrase. */
static void check_refused(char *image, bool ro, const char *phrase)
{
	struct cli_disk c = cdisk(image, ro);
	struct disk d;
	char err[256] = "";

	CHECK(disk_open(&d, &c, err, sizeof(err)) < 0);
	CHECK(d.fd == -1);
	CHECK(strncmp(err, image, strlen(image)) == 0);
	CHECK_CONTAINS(err, phrase);
}

static void check_opens(char *image, bool ro)
{
	struct cli_disk c = cdisk(image, ro);
	struct disk d;
	char err[256] = "";

	CHECK(disk_open(&d, &c, err, sizeof(err)) == 0);
	CHECK_STR(err, "");
	disk_close(&d);
}

static void test_good(void)
{
	char img[PATHLEN], err[256] = "";
	struct cli_disk c;
	struct disk d;

	make_fs(img, "good.img", "ext2");
	c = cdisk(img, false);
	CHECK(disk_open(&d, &c, err, sizeof(err)) == 0);
	CHECK(d.fd >= 0);
	CHECK(d.size == 4u << 20);
	CHECK(!d.read_only);
	CHECK(d.image == c.image && d.mount == c.mount);
	CHECK(fcntl(d.fd, F_GETFD) & FD_CLOEXEC);
	CHECK((fcntl(d.fd, F_GETFL) & O_ACCMODE) == O_RDWR);
	disk_close(&d);
	CHECK(d.fd == -1);
	disk_close(&d);   /* closing twice is harmless */
	c = cdisk(img, true);
	CHECK(disk_open(&d, &c, err, sizeof(err)) == 0);
	CHECK(d.read_only);
	CHECK((fcntl(d.fd, F_GETFL) & O_ACCMODE) == O_RDONLY);
	disk_close(&d);
}

static void test_bad_files(void)
{
	char p[PATHLEN];

	tpath(p, "missing.img");
	check_refused(p, false, "No such file or directory");
	check_refused(p, true, "No such file or directory");
	check_refused(dir, false, "is not a regular file or block device");
	check_refused(dir, true, "is not a regular file or block device");
	check_refused((char[]){ "/dev/null" }, false, "is not a regular file or block device");
	tpath(p, "fifo");
	CHECK(mkfifo(p, 0644) == 0);
	check_refused(p, true, "is not a regular file or block device");   /* must not hang */
	make_zeros(p, "empty.img", 0);
	check_refused(p, false, "is empty");
	make_zeros(p, "1000.img", 1000);
	check_refused(p, true, "is not a multiple of 512");
	make_zeros(p, "1024.img", 1024);   /* the superblock is cut short */
	check_refused(p, false, "is not an ext2 file system (make one with mke2fs -t ext2)");
	make_zeros(p, "zeros.img", 1 << 20);
	check_refused(p, false, "is not an ext2 file system (make one with mke2fs -t ext2)");
	check_refused(p, true, "is not an ext2 file system");
	make_fs(p, "ext4.img", "ext4");
	check_refused(p, false, "features wisp does not support");
	check_refused(p, true, "make an ext2 one with mke2fs -t ext2");
}

static void test_features(void)
{
	char p[PATHLEN];

	make_fs(p, "ro_compat.img", "ext2");
	poke(p, 1024 + 100, 0x3 | 0x400, 4);   /* METADATA_CSUM */
	check_refused(p, false, "cannot write (ro_compat 0x400): add :ro");
	check_opens(p, true);
	make_fs(p, "incompat.img", "ext2");
	poke(p, 1024 + 96, 0x2 | 0x40, 4);     /* EXTENTS */
	check_refused(p, false, "(incompat 0x40)");
	check_refused(p, true, "(incompat 0x40)");
	make_fs(p, "rev2.img", "ext2");
	poke(p, 1024 + 76, 2, 4);
	check_refused(p, true, "revision 2");
	/* Revision 0 has no feature fields: whatever is there is ignored. */
	make_zeros(p, "rev0.img", 1 << 20);
	poke(p, 1024 + 56, 0xEF53, 2);
	poke(p, 1024 + 96, 0xffffffff, 4);
	poke(p, 1024 + 100, 0xffffffff, 4);
	check_opens(p, false);
}

static void test_read_only_host(void)
{
	char p[PATHLEN];

	make_fs(p, "ro-host.img", "ext2");
	CHECK(chmod(p, 0444) == 0);
	/* Root opens a 0444 file for writing all the same, so there is no
	 * refusal to check then. */
	if (geteuid() != 0)
		check_refused(p, false, "is read-only on the host: add :ro to use it read-only");
	else
		fprintf(stderr, "test_disk: running as root, 0444 image not refused: not checked\n");
	check_opens(p, true);
}

static void test_locks(void)
{
	char p[PATHLEN], err[256];
	struct cli_disk rw, ro;
	struct disk a, b;

	make_fs(p, "shared.img", "ext2");
	rw = cdisk(p, false);
	ro = cdisk(p, true);
	CHECK(disk_open(&a, &rw, err, sizeof(err)) == 0);
	check_refused(p, false, "is in use by another wisp (or program holding a lock on it)");
	check_refused(p, true, "is in use by another wisp");
	disk_close(&a);
	CHECK(disk_open(&a, &ro, err, sizeof(err)) == 0);
	CHECK(disk_open(&b, &ro, err, sizeof(err)) == 0);   /* readers share */
	check_refused(p, false, "is in use by another wisp");
	disk_close(&a);
	disk_close(&b);
	check_opens(p, false);   /* closing dropped the locks */
}

/* --disk A:/a --disk B:/b:ro --disk LAST:/c through cli_parse. */
static int parse_three(struct cli_opts *o, const char *last, char *specs[3])
{
	char *argv[] = { "wisp", "run", "--disk", specs[0], "--disk", specs[1], "--disk", specs[2],
			 "p" };
	char err[256];

	snprintf(specs[0], 2 * PATHLEN, "%s/all-a.img:/a", dir);
	snprintf(specs[1], 2 * PATHLEN, "%s/all-b.img:/b:ro", dir);
	snprintf(specs[2], 2 * PATHLEN, "%s/%s:/c", dir, last);
	return cli_parse((int)(sizeof(argv) / sizeof(argv[0])), argv, o, err, sizeof(err));
}

static void test_open_all(void)
{
	char s0[2 * PATHLEN], s1[2 * PATHLEN], s2[2 * PATHLEN], p[PATHLEN], err[256] = "";
	static const char *const mounts[] = { "/a", "/b", "/c" };
	char *specs[3] = { s0, s1, s2 };
	struct disk disks[CLI_DISKS_MAX];
	struct cli_opts o;

	make_fs(p, "all-a.img", "ext2");
	make_fs(p, "all-b.img", "ext2");
	make_fs(p, "all-c.img", "ext2");
	CHECK(parse_three(&o, "all-missing.img", specs) == 0);
	CHECK(disk_open_all(disks, &o, err, sizeof(err)) < 0);
	CHECK_CONTAINS(err, "all-missing.img: No such file or directory");
	tpath(p, "all-a.img");
	check_opens(p, false);   /* the first one was closed again */
	cli_free(&o);

	CHECK(parse_three(&o, "all-c.img", specs) == 0);
	CHECK(disk_open_all(disks, &o, err, sizeof(err)) == 0);
	for (size_t i = 0; i < o.ndisks; i++) {
		CHECK(disks[i].fd >= 0);
		CHECK(disks[i].read_only == (i == 1));
		CHECK_STR(disks[i].mount, mounts[i]);
		disk_close(&disks[i]);
	}
	cli_free(&o);
}

/* The image is read without the host's read-ahead (disk.c says why): a
 * 4 KiB read at the start of a dropped image, which the host takes as the
 * start of a sequential read, brings in that page and no more. */
static void test_no_host_read_ahead(void)
{
	char img[PATHLEN], err[256] = "", page[4096];
	struct cli_disk c;
	struct disk d;

	make_fs(img, "ra.img", "ext2");
	c = cdisk(img, false);
	CHECK(disk_open(&d, &c, err, sizeof(err)) == 0);
	CHECK(fdatasync(d.fd) == 0);
	CHECK(posix_fadvise(d.fd, 0, 0, POSIX_FADV_DONTNEED) == 0);
	if (resident_pages(d.fd, 0, 16) != 0) {
		printf("# read-ahead not checked: %s keeps its files in memory\n", dir);
	} else {
		CHECK(pread(d.fd, page, sizeof(page), 0) == (ssize_t)sizeof(page));
		CHECK(resident_pages(d.fd, 0, 1) == 1);
		CHECK(resident_pages(d.fd, 4096, 15) == 0);
	}
	disk_close(&d);
}

int main(void)
{
	char cmd[128];

	snprintf(dir, sizeof(dir), "/tmp/wisp-test-disk-XXXXXX");
	if (!mkdtemp(dir))
		return 1;
	mke2fs = find_mke2fs();
	CHECK(mke2fs != NULL);
	test_good();
	test_bad_files();
	test_features();
	test_read_only_host();
	test_locks();
	test_open_all();
	test_no_host_read_ahead();
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		return 1;
	return check_report();
}
