/* test_cpio.c: the newc writer's output parses back, by our reader and by cpio(1). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <wisp/abi.h>

#include "check.h"
#include "cpio.h"
#include "cpio_index.h"

struct entry {
	char name[4096];
	uint32_t fields[13];   /* ino mode uid gid nlink mtime filesize devmaj devmin rdevmaj rdevmin namesize check */
	const uint8_t *data;
};

static uint32_t hex8(const uint8_t *p, int *ok)
{
	uint32_t v = 0;

	for (int i = 0; i < 8; i++) {
		char c = (char)p[i];

		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= (uint32_t)(c - '0');
		else if (c >= 'A' && c <= 'F')
			v |= (uint32_t)(c - 'A' + 10);
		else
			*ok = 0;
	}
	return v;
}

/* Reads the entry at *off; returns 0 and advances, -1 if malformed. */
static int read_entry(const uint8_t *buf, size_t len, size_t *off, struct entry *e)
{
	size_t o = *off, namesize, size;
	int ok = 1;

	if (o % 4 || len - o < 110 || memcmp(buf + o, "070701", 6) != 0)
		return -1;
	for (int i = 0; i < 13; i++)
		e->fields[i] = hex8(buf + o + 6 + 8 * i, &ok);
	namesize = e->fields[11];
	size = e->fields[6];
	if (!ok || namesize == 0 || namesize > sizeof(e->name) || len - o - 110 < namesize)
		return -1;
	memcpy(e->name, buf + o + 110, namesize);
	if (e->name[namesize - 1] != '\0')
		return -1;
	o = (o + 110 + namesize + 3) & ~(size_t)3;
	if (o > len || len - o < size)
		return -1;
	for (size_t i = *off + 110 + namesize; i < o; i++)
		if (buf[i] != 0)
			return -1;      /* padding must be zero */
	e->data = buf + o;
	o = (o + size + 3) & ~(size_t)3;
	if (o > len)
		return -1;
	*off = o;
	return 0;
}

static void test_roundtrip(void)
{
	static const char content[] = "hello, world\n";   /* 13 bytes: needs data padding */
	struct cpio c;
	struct entry e;
	size_t off = 0;

	cpio_init(&c);
	CHECK(cpio_add_dir(&c, "/tmp", 01777, 0) == 0);
	CHECK(cpio_add_file(&c, "/tmp/hello.txt", 0644, 1234, content, 13) == 0);
	CHECK(cpio_add_file(&c, "/empty", 0600, 0, NULL, 0) == 0);
	CHECK(cpio_add_symlink(&c, "/link", "tmp/hello.txt") == 0);
	CHECK(cpio_add_dir(&c, "/abc", 0755, 0) == 0);   /* name length 3+1: header+name = 114 */
	CHECK(cpio_finish(&c) == 0);
	CHECK(c.len % 4 == 0);

	CHECK(read_entry(c.buf, c.len, &off, &e) == 0);
	CHECK_STR(e.name, "tmp");
	CHECK(e.fields[1] == (S_IFDIR | 01777));
	CHECK(e.fields[4] == 2);
	CHECK(e.fields[6] == 0);

	CHECK(read_entry(c.buf, c.len, &off, &e) == 0);
	CHECK_STR(e.name, "tmp/hello.txt");
	CHECK(e.fields[1] == (S_IFREG | 0644));
	CHECK(e.fields[2] == 0 && e.fields[3] == 0);
	CHECK(e.fields[4] == 1);
	CHECK(e.fields[5] == 1234);
	CHECK(e.fields[6] == 13);
	CHECK(e.fields[11] == strlen("tmp/hello.txt") + 1);
	CHECK(e.fields[12] == 0);
	CHECK(memcmp(e.data, content, 13) == 0);
	CHECK(e.data[13] == 0 && e.data[14] == 0 && e.data[15] == 0);

	CHECK(read_entry(c.buf, c.len, &off, &e) == 0);
	CHECK_STR(e.name, "empty");
	CHECK(e.fields[6] == 0);

	CHECK(read_entry(c.buf, c.len, &off, &e) == 0);
	CHECK_STR(e.name, "link");
	CHECK(e.fields[1] == (S_IFLNK | 0777));
	CHECK(e.fields[6] == strlen("tmp/hello.txt"));
	CHECK(memcmp(e.data, "tmp/hello.txt", e.fields[6]) == 0);

	CHECK(read_entry(c.buf, c.len, &off, &e) == 0);
	CHECK_STR(e.name, "abc");

	CHECK(read_entry(c.buf, c.len, &off, &e) == 0);
	CHECK_STR(e.name, "TRAILER!!!");
	CHECK(e.fields[0] == 0 && e.fields[6] == 0 && e.fields[4] == 1);
	CHECK(off == c.len);
	cpio_free(&c);
}

static void test_inodes_unique(void)
{
	struct cpio c;
	struct entry e;
	size_t off = 0;
	uint32_t prev = 0;
	int ok = 1;

	cpio_init(&c);
	for (int i = 0; i < 100; i++) {
		char name[32];

		snprintf(name, sizeof(name), "/f%d", i);
		CHECK(cpio_add_file(&c, name, 0644, 0, name, strlen(name)) == 0);
	}
	CHECK(cpio_finish(&c) == 0);
	for (int i = 0; i < 100; i++) {
		if (read_entry(c.buf, c.len, &off, &e) < 0 || e.fields[0] <= prev)
			ok = 0;
		prev = e.fields[0];
	}
	CHECK(ok);
	cpio_free(&c);
}

/* Lists the archive with cpio(1) from GNU cpio, the reference reader,
 * minus the names of the root directory; out gets one name per line, or
 * stays empty if cpio failed. */
static void gnu_cpio_list(const struct cpio *c, char *out, size_t outlen)
{
	char path[] = "/tmp/wisp-test-cpio-XXXXXX", cmd[256], line[256];
	int fd = mkstemp(path);
	FILE *p;

	out[0] = '\0';
	CHECK(fd >= 0);
	if (fd < 0)
		return;
	CHECK(write(fd, c->buf, c->len) == (ssize_t)c->len);
	close(fd);
	snprintf(cmd, sizeof(cmd), "cpio -it --quiet < %s 2>&1 | grep -v '^\\.[/.]*$'", path);
	p = popen(cmd, "r");
	CHECK(p != NULL);
	while (p && fgets(line, sizeof(line), p))
		strncat(out, line, outlen - strlen(out) - 1);
	CHECK(p && pclose(p) == 0);
	unlink(path);
}

static void test_gnu_cpio(void)
{
	char all[1024];
	struct cpio c;

	cpio_init(&c);
	cpio_add_dir(&c, "/bin", 0755, 0);
	cpio_add_file(&c, "/bin/prog", 0755, 0, "\x7f" "ELF", 4);
	cpio_add_file(&c, "/bin/odd name", 0644, 0, "x", 1);
	cpio_finish(&c);
	gnu_cpio_list(&c, all, sizeof(all));
	CHECK_STR(all, "bin\nbin/prog\nbin/odd name\n");
	cpio_free(&c);
}

static void test_large_file(void)
{
	size_t n = 3 * 1024 * 1024 + 1;
	uint8_t *big = malloc(n);
	struct cpio c;
	struct entry e;
	size_t off = 0;

	for (size_t i = 0; i < n; i++)
		big[i] = (uint8_t)(i * 7);
	cpio_init(&c);
	CHECK(cpio_add_file(&c, "big", 0644, 0, big, n) == 0);
	CHECK(cpio_finish(&c) == 0);
	CHECK(read_entry(c.buf, c.len, &off, &e) == 0 && S_ISDIR(e.fields[1]));  /* padding */
	CHECK(read_entry(c.buf, c.len, &off, &e) == 0);
	CHECK(e.fields[6] == n);
	CHECK(memcmp(e.data, big, n) == 0);
	CHECK(read_entry(c.buf, c.len, &off, &e) == 0);
	CHECK_STR(e.name, "TRAILER!!!");
	cpio_free(&c);
	free(big);
}

/* "." then "/." repeated: a name for the root directory. */
static int is_root_name(const char *name)
{
	if (name[0] != '.')
		return 0;
	for (name++; *name; name += 2)
		if (name[0] != '/' || name[1] != '.')
			return 0;
	return 1;
}

/* Large files start on a page of the archive, after a padding entry that
 * names the root directory; small ones are packed tight; cpio(1) reads it. */
static void test_aligned(void)
{
	static uint8_t big[40 * 1024];
	char all[256];
	int pads = 0;
	struct cpio c;
	struct entry e;
	size_t off = 0;

	cpio_init(&c);
	CHECK(cpio_add_file(&c, "/a", 0644, 0, "a", 1) == 0);
	CHECK(cpio_add_file(&c, "/b", 0644, 0, big, sizeof(big)) == 0);
	CHECK(cpio_add_file(&c, "/c", 0644, 0, big, sizeof(big)) == 0);
	CHECK(cpio_add_file(&c, "/d", 0644, 0, "d", 1) == 0);
	CHECK(cpio_finish(&c) == 0);
	while (read_entry(c.buf, c.len, &off, &e) == 0 && strcmp(e.name, "TRAILER!!!")) {
		if (is_root_name(e.name)) {
			pads++;
			CHECK(e.fields[1] == (S_IFDIR | 0755) && e.fields[11] <= 4096);
		} else if (e.fields[6] == sizeof(big)) {
			CHECK((size_t)(e.data - c.buf) % 4096 == 0);
		}
	}
	CHECK_STR(e.name, "TRAILER!!!");
	CHECK(pads == 2);
	gnu_cpio_list(&c, all, sizeof(all));
	CHECK_STR(all, "a\nb\nc\nd\n");
	cpio_free(&c);
}

/* The index holds every entry but the trailer, in order, with the fields
 * and data the archive has; padding entries are named "." there. */
static void test_index(void)
{
	static uint8_t big[40 * 1024];
	const struct wisp_index_hdr *h;
	const struct wisp_index_entry *x;
	struct cpio c;
	struct entry e;
	size_t off = 0, len, n = 0, pads = 0;
	uint8_t *ix;
	int same = 1;

	cpio_init(&c);
	CHECK(cpio_add_dir(&c, "/d", 0750, 77) == 0);
	CHECK(cpio_add_file(&c, "/d/small", 0640, 88, "xyz", 3) == 0);
	CHECK(cpio_add_file(&c, "/d/big", 0644, 99, big, sizeof(big)) == 0);
	CHECK(cpio_add_symlink(&c, "/d/link", "small") == 0);
	CHECK(cpio_finish(&c) == 0);
	CHECK(cpio_index_build(c.buf, c.len, &ix, &len) == 0);
	h = (const struct wisp_index_hdr *)ix;
	x = (const struct wisp_index_entry *)(h + 1);
	CHECK(h->magic == WISP_INDEX_MAGIC && h->archive_size == c.len);
	while (read_entry(c.buf, c.len, &off, &e) == 0 && strcmp(e.name, "TRAILER!!!")) {
		const char *name = (const char *)ix + x[n].name_off;

		pads += is_root_name(e.name);
		if (x[n].ino != e.fields[0] || x[n].mode != e.fields[1] || x[n].uid != e.fields[2] ||
		    x[n].gid != e.fields[3] || x[n].nlink != e.fields[4] ||
		    x[n].mtime != e.fields[5] || x[n].size != e.fields[6] ||
		    c.buf + x[n].data_off != e.data || x[n].name_off + x[n].name_len >= len ||
		    strlen(name) != x[n].name_len ||
		    strcmp(name, is_root_name(e.name) ? "." : e.name))
			same = 0;
		n++;
	}
	CHECK(same);
	CHECK(pads == 1);
	CHECK(h->count == n && n == 5);
	free(ix);

	/* A cut archive, or one without its trailer, has no index. */
	CHECK(cpio_index_build(c.buf, c.len - 4, &ix, &len) < 0);
	CHECK(cpio_index_build(c.buf, off - 124, &ix, &len) < 0);
	c.buf[0] = 'x';
	CHECK(cpio_index_build(c.buf, c.len, &ix, &len) < 0);
	cpio_free(&c);
}

/* A fixed buffer is written in place and never grows or gets freed. */
static void test_fixed(void)
{
	uint8_t buf[512];
	struct cpio c;
	int added = 0;

	cpio_init_fixed(&c, buf, sizeof(buf));
	while (cpio_add_file(&c, "/file", 0644, 0, "data", 4) == 0)
		added++;
	CHECK(added == (int)(sizeof(buf) / 128));  /* 110 + "file\0" + 4, padded */
	CHECK(c.overflow && c.failed && c.buf == buf && c.len <= sizeof(buf));
	CHECK(memcmp(buf, "070701", 6) == 0);
	CHECK(cpio_finish(&c) < 0);
	cpio_free(&c);
	CHECK(c.overflow && !c.buf);
}

int main(void)
{
	test_fixed();
	test_aligned();
	test_roundtrip();
	test_inodes_unique();
	test_gnu_cpio();
	test_large_file();
	test_index();
	return check_report();
}
