/* test_imgcache.c: the packed-image cache: keys, hits, misses on changed inputs,
 * damaged entries, racy inputs, unwritable directories and eviction. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "cpio_index.h"
#include "elf.h"
#include "imgcache.h"

static char dir[64], prog[128], data[128], add[160];

static void put(const char *path, const void *buf, size_t len, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);

	CHECK(fd >= 0 && write(fd, buf, len) == (ssize_t)len);
	close(fd);
}

/* The smallest program image_load_program takes: a static x86-64 ELF. */
static void put_elf(const char *path)
{
	uint8_t buf[512] = { 0 };
	Elf64_Ehdr eh = { .e_type = ET_EXEC, .e_machine = EM_X86_64, .e_phoff = sizeof(eh),
			  .e_phentsize = sizeof(Elf64_Phdr), .e_phnum = 1 };
	Elf64_Phdr ph = { .p_type = PT_LOAD, .p_filesz = sizeof(buf), .p_memsz = sizeof(buf) };

	memcpy(eh.e_ident, ELFMAG, SELFMAG);
	eh.e_ident[EI_CLASS] = ELFCLASS64;
	eh.e_ident[EI_DATA] = ELFDATA2LSB;
	memcpy(buf, &eh, sizeof(eh));
	memcpy(buf + sizeof(eh), &ph, sizeof(ph));
	put(path, buf, sizeof(buf), 0755);
}

static void parse(struct cli_opts *o, char **argv)
{
	char err[256];
	int argc = 0;

	while (argv[argc])
		argc++;
	CHECK(cli_parse(argc, argv, o, err, sizeof(err)) == 0);
}

static void open_run(struct imgcache *c, struct cli_opts *o)
{
	parse(o, (char *[]){ "wisp", "run", "--add", add, prog, "arg", NULL });
	imgcache_open(c, o);
}

/* A miss, then packing as main.c does; the inputs changed "long ago" as
 * far as the racy check knows, unless racy. */
static void pack_and_store(struct imgcache *c, const struct cli_opts *o, bool racy)
{
	struct image img;
	struct manifest m = { 0 };
	char err[512];

	image_init(&img, NULL, 0);
	CHECK(imgcache_load(c, &img) == 0);
	image_free(&img);
	image_init(&img, NULL, 0);
	img.inputs = &m;
	CHECK(image_build(o, &img, err, sizeof(err)) == 0);
	CHECK(m.n >= 3);   /* the program, the --add dir and its file */
	CHECK(manifest_unchanged(m.buf, m.len));
	if (!racy)
		c->pack_start_ns += 2000000000ll;
	CHECK(image_index(&img) == 0 && img.index_len > 0);
	imgcache_store(c, &img, &m);
	manifest_free(&m);
	image_free(&img);
}

static int load(struct imgcache *c, struct image *img)
{
	image_init(img, NULL, 0);
	return imgcache_load(c, img);
}

/* A hit brings the archive's index with it, as made from the archive. */
static void check_index_stored(const struct image *img)
{
	uint8_t *fresh;
	size_t len;

	CHECK(img->index != NULL);
	CHECK(cpio_index_build(img->cpio.buf, img->cpio.len, &fresh, &len) == 0);
	CHECK(img->index && img->index_len == len && memcmp(img->index, fresh, len) == 0);
	free(fresh);
}

static void test_hit_and_change(void)
{
	struct cli_opts o;
	struct imgcache c;
	struct image img;
	char real[PATH_MAX];

	open_run(&c, &o);
	CHECK(c.enabled);
	unlink(c.path);
	pack_and_store(&c, &o, false);
	CHECK(access(c.path, F_OK) == 0);
	CHECK(load(&c, &img) == 1);
	CHECK(realpath(prog, real) && img.prog_path && strcmp(img.prog_path, real) == 0);
	CHECK(img.cpio.len > 0 && memmem(img.cpio.buf, img.cpio.len, "hello", 5));
	check_index_stored(&img);
	image_free(&img);
	/* Same size, new content: mtime and ctime tell. */
	put(data, "HELLO", 5, 0644);
	CHECK(load(&c, &img) == 0);
	image_free(&img);
	pack_and_store(&c, &o, false);
	CHECK(load(&c, &img) == 1);
	CHECK(memmem(img.cpio.buf, img.cpio.len, "HELLO", 5) != NULL);
	image_free(&img);
	/* A file appearing in an --add directory. */
	snprintf(real, sizeof(real), "%s/data/new", dir);
	put(real, "n", 1, 0644);
	CHECK(load(&c, &img) == 0);
	image_free(&img);
	unlink(real);
	imgcache_close(&c);
	cli_free(&o);
}

static void test_keys(void)
{
	struct cli_opts o1, o2;
	struct imgcache c1, c2;
	char other[200];

	open_run(&c1, &o1);
	snprintf(other, sizeof(other), "%s/data:/elsewhere", dir);
	parse(&o2, (char *[]){ "wisp", "run", "--add", other, prog, NULL });
	imgcache_open(&c2, &o2);
	CHECK(strcmp(c1.path, c2.path) != 0);
	imgcache_close(&c2);
	cli_free(&o2);
	/* -e settings and arguments go on the kernel command line, not into
	 * the archive: they share the entry, but the library search path does not. */
	parse(&o2, (char *[]){ "wisp", "run", "--add", add, "-e", "X=1", prog, "other", NULL });
	imgcache_open(&c2, &o2);
	CHECK(strcmp(c1.path, c2.path) == 0);
	imgcache_close(&c2);
	cli_free(&o2);
	parse(&o2, (char *[]){ "wisp", "run", "--add", add, "-e", "LD_LIBRARY_PATH=/x", prog, NULL });
	imgcache_open(&c2, &o2);
	CHECK(strcmp(c1.path, c2.path) != 0);
	imgcache_close(&c2);
	cli_free(&o2);
	imgcache_close(&c1);
	cli_free(&o1);
}

/* Damage done to a good entry: each must be a miss, never a hit. */
static void damage(const char *path, int how)
{
	int fd = open(path, O_RDWR);
	struct stat st;
	char b;

	CHECK(fd >= 0 && fstat(fd, &st) == 0);
	switch (how) {
	case 0: CHECK(ftruncate(fd, st.st_size / 2) == 0); break;       /* truncated */
	case 1: CHECK(ftruncate(fd, 0) == 0); break;                    /* empty */
	case 2: CHECK(pwrite(fd, "X", 1, 0) == 1); break;               /* magic */
	case 3:                                                         /* the key */
		CHECK(pread(fd, &b, 1, 80) == 1);
		b ^= 1;
		CHECK(pwrite(fd, &b, 1, 80) == 1);
		break;
	case 4: CHECK(pwrite(fd, "XXXX", 4, st.st_size - 124) == 4); break;   /* trailer */
	case 5: {                                                       /* foreign */
		static char junk[8192];

		memset(junk, 'j', sizeof(junk));
		CHECK(pwrite(fd, junk, sizeof(junk), 0) == (ssize_t)sizeof(junk));
		CHECK(ftruncate(fd, sizeof(junk)) == 0);
		break;
	}
	}
	close(fd);
}

static void test_damaged(void)
{
	struct cli_opts o;
	struct imgcache c;
	struct image img;

	open_run(&c, &o);
	for (int how = 0; how < 6; how++) {
		pack_and_store(&c, &o, false);
		damage(c.path, how);
		CHECK(load(&c, &img) == 0);
		image_free(&img);
	}
	pack_and_store(&c, &o, false);   /* rebuilt over the damaged one */
	CHECK(load(&c, &img) == 1);
	image_free(&img);
	imgcache_close(&c);
	cli_free(&o);
}

static void test_not_stored(void)
{
	struct cli_opts o;
	struct imgcache c;
	char file[128];

	open_run(&c, &o);
	unlink(c.path);
	pack_and_store(&c, &o, true);   /* data/a.txt changed just now */
	CHECK(access(c.path, F_OK) < 0);
	imgcache_close(&c);
	cli_free(&o);
	/* A cache directory that cannot be made: silently nothing. */
	snprintf(file, sizeof(file), "%s/file", dir);
	put(file, "x", 1, 0644);
	setenv("XDG_CACHE_HOME", file, 1);
	open_run(&c, &o);
	CHECK(c.enabled);
	pack_and_store(&c, &o, false);
	CHECK(access(c.path, F_OK) < 0);
	imgcache_close(&c);
	cli_free(&o);
}

static void test_off(void)
{
	struct cli_opts o;
	struct imgcache c;
	const char *home = getenv("HOME");
	char *saved = home ? strdup(home) : NULL;

	parse(&o, (char *[]){ "wisp", "run", "--no-cache", prog, NULL });
	imgcache_open(&c, &o);
	CHECK(!c.enabled);
	imgcache_close(&c);
	cli_free(&o);
	setenv("WISP_NO_CACHE", "1", 1);
	open_run(&c, &o);
	CHECK(!c.enabled);
	imgcache_close(&c);
	cli_free(&o);
	setenv("WISP_NO_CACHE", "0", 1);
	open_run(&c, &o);
	CHECK(c.enabled);
	imgcache_close(&c);
	cli_free(&o);
	unsetenv("WISP_NO_CACHE");
	setenv("XDG_CACHE_HOME", "relative", 1);
	unsetenv("HOME");
	open_run(&c, &o);
	CHECK(!c.enabled);
	imgcache_close(&c);
	cli_free(&o);
	setenv("HOME", "/somewhere", 1);
	open_run(&c, &o);
	CHECK(c.enabled && strncmp(c.path, "/somewhere/.cache/wisp/", 23) == 0);
	imgcache_close(&c);
	cli_free(&o);
	if (saved)
		setenv("HOME", saved, 1);
	free(saved);
	parse(&o, (char *[]){ "wisp", "run", "/no/such/program", NULL });
	imgcache_open(&c, &o);
	CHECK(!c.enabled);
	imgcache_close(&c);
	cli_free(&o);
}

static void put_aged(const char *cache, const char *name, size_t size, time_t age)
{
	char path[256];
	struct timespec t[2] = { { time(NULL) - age, 0 }, { time(NULL) - age, 0 } };
	char *buf = calloc(1, size);

	snprintf(path, sizeof(path), "%s/%s", cache, name);
	put(path, buf, size, 0644);
	free(buf);
	CHECK(utimensat(AT_FDCWD, path, t, 0) == 0);
}

static bool there(const char *cache, const char *name)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", cache, name);
	return access(path, F_OK) == 0;
}

static void test_evict(void)
{
	char cache[128];

	snprintf(cache, sizeof(cache), "%s/evict", dir);
	CHECK(mkdir(cache, 0700) == 0);
	put_aged(cache, "a.wimg", 100, 50);
	put_aged(cache, "b.wimg", 100, 40);
	put_aged(cache, "c.wimg", 100, 30);
	put_aged(cache, "d.wimg", 100, 20);
	put_aged(cache, "e.wimg", 100, 10);
	put_aged(cache, "other", 100, 99);
	put_aged(cache, "f.wimg.AbC123", 10, 2 * 3600);   /* a writer that died */
	put_aged(cache, "g.wimg.XyZ789", 10, 1);          /* one writing now */
	imgcache_evict(cache, 3, 1 << 20);
	CHECK(!there(cache, "a.wimg") && !there(cache, "b.wimg"));
	CHECK(there(cache, "c.wimg") && there(cache, "d.wimg") && there(cache, "e.wimg"));
	CHECK(there(cache, "other") && there(cache, "g.wimg.XyZ789"));
	CHECK(!there(cache, "f.wimg.AbC123"));
	imgcache_evict(cache, 3, 250);
	CHECK(!there(cache, "c.wimg") && there(cache, "d.wimg") && there(cache, "e.wimg"));
}

int main(void)
{
	char cmd[128], sub[128];

	snprintf(dir, sizeof(dir), "/tmp/wisp-test-imgcache-XXXXXX");
	if (!mkdtemp(dir))
		return 1;
	snprintf(prog, sizeof(prog), "%s/prog", dir);
	snprintf(sub, sizeof(sub), "%s/data", dir);
	snprintf(data, sizeof(data), "%s/data/a.txt", dir);
	snprintf(add, sizeof(add), "%s:/data", sub);
	snprintf(cmd, sizeof(cmd), "%s/cache", dir);
	setenv("XDG_CACHE_HOME", cmd, 1);
	unsetenv("WISP_NO_CACHE");
	unsetenv("WISP_VERBOSE");
	put_elf(prog);
	CHECK(mkdir(sub, 0755) == 0);
	put(data, "hello", 5, 0644);
	test_hit_and_change();
	test_keys();
	test_damaged();
	test_not_stored();
	test_off();
	test_evict();
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		return 1;
	return check_report();
}
