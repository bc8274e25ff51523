/* test_image.c: program resolution/checks and the guest file tree built into the cpio. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bundle.h"
#include "check.h"
#include "elf.h"
#include "image.h"

static char dir[64];

struct listing {
	char names[64][256];
	uint32_t modes[64];
	char data[64][64];
	int n;
};

static void write_file(const char *name, const void *data, size_t len, mode_t mode)
{
	char path[512];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
	CHECK(fd >= 0 && write(fd, data, len) == (ssize_t)len);
	close(fd);
	chmod(path, mode);
}

static void write_elf(const char *name, int bits, uint16_t machine)
{
	uint8_t buf[512];
	Elf64_Ehdr eh;
	Elf64_Phdr ph;

	memset(buf, 0, sizeof(buf));
	memset(&eh, 0, sizeof(eh));
	memcpy(eh.e_ident, ELFMAG, SELFMAG);
	eh.e_ident[EI_CLASS] = bits == 32 ? ELFCLASS32 : ELFCLASS64;
	eh.e_ident[EI_DATA] = ELFDATA2LSB;
	eh.e_type = ET_EXEC;
	eh.e_machine = machine;
	eh.e_phoff = sizeof(eh);
	eh.e_phentsize = sizeof(ph);
	eh.e_phnum = 1;
	memset(&ph, 0, sizeof(ph));
	ph.p_type = PT_LOAD;
	ph.p_filesz = ph.p_memsz = sizeof(buf);
	memcpy(buf, &eh, sizeof(eh));
	memcpy(buf + sizeof(eh), &ph, sizeof(ph));
	write_file(name, buf, sizeof(buf), 0755);
}

static uint32_t hex8(const uint8_t *p)
{
	char tmp[9];

	memcpy(tmp, p, 8);
	tmp[8] = '\0';
	return (uint32_t)strtoul(tmp, NULL, 16);
}

static void list(const struct cpio *c, struct listing *l)
{
	size_t off = 0;

	l->n = 0;
	while (off + 110 <= c->len && l->n < 64) {
		uint32_t mode = hex8(c->buf + off + 14), size = hex8(c->buf + off + 54);
		uint32_t namesize = hex8(c->buf + off + 94);
		const char *name = (const char *)c->buf + off + 110;

		if (strcmp(name, "TRAILER!!!") == 0)
			break;
		snprintf(l->names[l->n], sizeof(l->names[0]), "%s", name);
		l->modes[l->n] = mode;
		off = (off + 110 + namesize + 3) & ~(size_t)3;
		snprintf(l->data[l->n], sizeof(l->data[0]), "%.*s", (int)(size < 63 ? size : 63),
			 (const char *)c->buf + off);
		off = (off + size + 3) & ~(size_t)3;
		l->n++;
	}
}

static int find(const struct listing *l, const char *name)
{
	int found = -1;

	for (int i = 0; i < l->n; i++)
		if (strcmp(l->names[i], name) == 0) {
			if (found >= 0)
				return -2;   /* duplicate */
			found = i;
		}
	return found;
}

static void test_load_program(void)
{
	char path[512], err[512], *real, *saved_path;
	uint8_t *data;
	size_t len;

	write_elf("app", 64, EM_X86_64);
	write_elf("a32", 32, EM_386);
	write_elf("arm", 64, EM_AARCH64);
	write_file("file.txt", "hello\n", 6, 0644);
	write_file("noexec", "x", 1, 0644);
	mkdir(strcat(strcpy(path, dir), "/sub"), 0755);

	snprintf(path, sizeof(path), "%s/app", dir);
	CHECK(image_load_program(path, &real, &data, &len, err, sizeof(err)) == 0);
	CHECK(real && strstr(real, "/app") && real[0] == '/');
	CHECK(len == 512);
	free(real);
	free(data);

	CHECK(image_load_program("/no/such", &real, &data, &len, err, sizeof(err)) < 0);
	CHECK_STR(err, "/no/such: No such file or directory");
	snprintf(path, sizeof(path), "%s/file.txt", dir);
	CHECK(image_load_program(path, &real, &data, &len, err, sizeof(err)) < 0);
	CHECK_CONTAINS(err, "file.txt: not an ELF executable");
	snprintf(path, sizeof(path), "%s/a32", dir);
	CHECK(image_load_program(path, &real, &data, &len, err, sizeof(err)) < 0);
	CHECK_CONTAINS(err, "a32: 32-bit ELF is not supported (wisp runs x86-64 programs)");
	snprintf(path, sizeof(path), "%s/arm", dir);
	CHECK(image_load_program(path, &real, &data, &len, err, sizeof(err)) < 0);
	CHECK_CONTAINS(err, "arm: is for AArch64, not x86-64");
	snprintf(path, sizeof(path), "%s/sub", dir);
	CHECK(image_load_program(path, &real, &data, &len, err, sizeof(err)) < 0);
	CHECK_CONTAINS(err, "not a regular file");

	/* PATH search like execvp, with messages naming what was typed. */
	snprintf(path, sizeof(path), "/nonexistent:%s", dir);
	saved_path = strdup(getenv("PATH") ? getenv("PATH") : "/usr/bin:/bin");
	setenv("PATH", path, 1);
	CHECK(image_load_program("app", &real, &data, &len, err, sizeof(err)) == 0);
	free(real);
	free(data);
	CHECK(image_load_program("file.txt", &real, &data, &len, err, sizeof(err)) < 0);
	CHECK_STR(err, "file.txt: Permission denied");
	CHECK(image_load_program("nothere", &real, &data, &len, err, sizeof(err)) < 0);
	CHECK_CONTAINS(err, "nothere: ");
	CHECK(image_load_program("", &real, &data, &len, err, sizeof(err)) < 0);
	setenv("PATH", saved_path, 1);
	free(saved_path);
}

static void test_build(void)
{
	char app[512], tree[512], link[512], spec1[600], spec2[600], spec3[600], err[512];
	char *argv[] = { app, "arg" };
	struct cli_add adds[3];
	struct cli_opts o;
	struct listing *l = calloc(1, sizeof(*l));
	struct image img;
	char guest_app[600];
	int i;

	snprintf(app, sizeof(app), "%s/app", dir);
	snprintf(tree, sizeof(tree), "%s/tree", dir);
	mkdir(tree, 0750);
	write_file("tree/a.txt", "AAA", 3, 0640);
	snprintf(link, sizeof(link), "%s/tree/ln", dir);
	symlink("a.txt", link);
	snprintf(spec1, sizeof(spec1), "%s:/opt/t", tree);
	snprintf(spec2, sizeof(spec2), "%s:/opt/t", tree);   /* the same tree twice: no duplicates */
	snprintf(spec3, sizeof(spec3), "%s:/tmp", tree);     /* merges into the base /tmp */
	adds[0] = (struct cli_add){ spec1, tree, "/opt/t" };
	adds[1] = (struct cli_add){ spec2, tree, "/opt/t" };
	adds[2] = (struct cli_add){ spec3, tree, "/tmp" };
	memset(&o, 0, sizeof(o));
	o.program = app;
	o.argv = argv;
	o.argc = 2;
	o.adds = adds;
	o.nadds = 3;

	image_init(&img, NULL, 0);
	CHECK(image_build(&o, &img, err, sizeof(err)) == 0);
	list(&img.cpio, l);
	CHECK((i = find(l, "tmp")) >= 0 && l->modes[i] == (S_IFDIR | 01777));
	CHECK(find(l, "dev") >= 0);
	CHECK(find(l, "proc") >= 0);
	CHECK(find(l, "etc") >= 0);
	snprintf(guest_app, sizeof(guest_app), "%s", img.prog_path + 1);
	CHECK((i = find(l, guest_app)) >= 0 && l->modes[i] == (S_IFREG | 0755));
	CHECK((i = find(l, "opt")) >= 0 && l->modes[i] == (S_IFDIR | 0755));
	CHECK((i = find(l, "opt/t")) >= 0 && l->modes[i] == (S_IFDIR | 0750));
	CHECK((i = find(l, "opt/t/a.txt")) >= 0 && l->modes[i] == (S_IFREG | 0640));
	CHECK(i >= 0 && strcmp(l->data[i], "AAA") == 0);
	CHECK((i = find(l, "opt/t/ln")) >= 0 && l->modes[i] == (S_IFLNK | 0777));
	CHECK(i >= 0 && strcmp(l->data[i], "a.txt") == 0);
	CHECK(find(l, "tmp/a.txt") >= 0);
	/* Every parent precedes its children. */
	for (int k = 0; k < l->n; k++) {
		char parent[256], *slash;

		snprintf(parent, sizeof(parent), "%s", l->names[k]);
		slash = strrchr(parent, '/');
		if (slash) {
			*slash = '\0';
			CHECK(find(l, parent) >= 0 && find(l, parent) < k);
		}
	}

	/* Built into a fixed buffer (guest RAM): the same archive, in place
	 * (an entry reserves a word of slack); too small, it overflows and
	 * says so. */
	{
		size_t len = img.cpio.len;
		uint8_t *ram = malloc(len + 4);
		struct image fixed;

		CHECK(ram != NULL);
		image_init(&fixed, ram, len + 4);
		CHECK(image_build(&o, &fixed, err, sizeof(err)) == 0);
		CHECK(fixed.cpio.buf == ram && fixed.cpio.len == len);
		CHECK(memcmp(ram, img.cpio.buf, len) == 0);
		image_free(&fixed);
		image_init(&fixed, ram, len / 2);
		CHECK(image_build(&o, &fixed, err, sizeof(err)) < 0);
		CHECK(fixed.cpio.overflow);
		image_free(&fixed);
		free(ram);
	}
	image_free(&img);

	/* A missing --add host path is named in the error. */
	adds[0] = (struct cli_add){ "/no/such/dir:/x", "/no/such/dir", "/x" };
	o.nadds = 1;
	image_init(&img, NULL, 0);
	CHECK(image_build(&o, &img, err, sizeof(err)) < 0);
	CHECK_STR(err, "/no/such/dir:/x: /no/such/dir: No such file or directory");

	/* A file where the program needs a directory. */
	snprintf(spec1, sizeof(spec1), "%s/tree/a.txt:/opt", dir);
	adds[0] = (struct cli_add){ spec1, spec1, "/opt" };
	spec1[strlen(spec1) - 5] = '\0';
	adds[0].spec = "a.txt:/opt";
	adds[1] = (struct cli_add){ "tree:/opt", tree, "/opt" };
	o.nadds = 2;
	image_init(&img, NULL, 0);
	CHECK(image_build(&o, &img, err, sizeof(err)) < 0);
	CHECK_CONTAINS(err, "both a directory and a file");
	free(l);
}

/* A program reached through a symlinked directory (merged /usr: /bin ->
 * usr/bin) sits at its realpath, and the symlink is recreated so that the
 * typed path works in the guest too. */
static void test_alias(void)
{
	char linkdir[512], typed[600], err[512], name[600], spec[1200], host[600];
	char *argv[] = { typed };
	struct cli_add add;
	struct cli_opts o;
	struct listing *l = calloc(1, sizeof(*l));
	struct image img;
	int i;

	snprintf(linkdir, sizeof(linkdir), "%s/bin", dir);
	symlink(".", linkdir);
	snprintf(typed, sizeof(typed), "%s/bin/app", dir);
	memset(&o, 0, sizeof(o));
	o.program = typed;
	o.argv = argv;
	o.argc = 1;
	image_init(&img, NULL, 0);
	CHECK(image_build(&o, &img, err, sizeof(err)) == 0);
	list(&img.cpio, l);
	CHECK(strstr(img.prog_path, "/bin/") == NULL);
	snprintf(name, sizeof(name), "%s", linkdir + 1);
	CHECK((i = find(l, name)) >= 0 && l->modes[i] == (S_IFLNK | 0777));
	CHECK(i >= 0 && strcmp(l->data[i], ".") == 0);
	image_free(&img);

	/* Where --add put a directory in the symlink's place, the typed path
	 * itself becomes a symlink to the program. */
	snprintf(spec, sizeof(spec), "%s/tree:%s", dir, linkdir);
	add = (struct cli_add){ spec, NULL, linkdir };
	snprintf(host, sizeof(host), "%s/tree", dir);
	add.host = host;
	o.adds = &add;
	o.nadds = 1;
	image_init(&img, NULL, 0);
	CHECK(image_build(&o, &img, err, sizeof(err)) == 0);
	list(&img.cpio, l);
	CHECK((i = find(l, name)) >= 0 && l->modes[i] == (S_IFDIR | 0750));
	snprintf(name, sizeof(name), "%s", typed + 1);
	CHECK((i = find(l, name)) >= 0 && l->modes[i] == (S_IFLNK | 0777));
	CHECK(i >= 0 && strcmp(l->data[i], img.prog_path) == 0);
	image_free(&img);
	free(l);
}

/* A dynamic host program brings its loader and libc; generated /etc files
 * appear unless --add put something at their path. */
static void test_dynamic(void)
{
	char *argv[] = { "/bin/true" }, spec[700], host[600], err[1024];
	struct cli_add add;
	struct cli_opts o;
	struct image img;
	struct listing *l = calloc(1, sizeof(*l));
	int i;

	memset(&o, 0, sizeof(o));
	o.program = "/bin/true";
	o.argv = argv;
	o.argc = 1;
	write_file("passwd", "me:x:0:0::/:/bin/sh\n", 20, 0644);
	snprintf(host, sizeof(host), "%s/passwd", dir);
	snprintf(spec, sizeof(spec), "%s:/etc/passwd", host);
	add = (struct cli_add){ spec, host, "/etc/passwd" };
	o.adds = &add;
	o.nadds = 1;
	image_init(&img, NULL, 0);
	CHECK(image_build(&o, &img, err, sizeof(err)) == 0);
	list(&img.cpio, l);   /* the first 64 entries: enough for /bin/true */
	CHECK((i = find(l, "etc/passwd")) >= 0 && strncmp(l->data[i], "me:", 3) == 0);
	CHECK((i = find(l, "etc/group")) >= 0 && strncmp(l->data[i], "root:x:0:", 9) == 0);
	CHECK(find(l, "etc/nsswitch.conf") >= 0);
	if (access("/lib64/ld-linux-x86-64.so.2", F_OK) == 0) {
		char *ld = realpath("/lib64/ld-linux-x86-64.so.2", NULL);

		CHECK(ld && find(l, ld + 1) >= 0);
		free(ld);
	}
	image_free(&img);
	free(l);
}

static void test_bundles(void)
{
	struct bundle_set set;

	CHECK(bundle_find("/usr/bin/true", &set) == 0 && set.n == 0);
	bundle_free(&set);
	CHECK(bundle_find("/nowhere/python3.11", &set) == 0);
	CHECK(bundle_skip(&set, "test") && bundle_skip(&set, "lib2to3/tests"));
	CHECK(bundle_skip(&set, "config-3.11-x86_64-linux-gnu/libpython3.11.a"));
	CHECK(!bundle_skip(&set, "json") && !bundle_skip(&set, "json/test"));
	CHECK(!bundle_skip(&set, "lib-dynload") && !bundle_skip(&set, "site-packages"));
	for (size_t i = 0; i < set.n; i++)
		CHECK(strstr(set.dirs[i], "python3.11") != NULL);
	bundle_free(&set);
}

static void corrupt(const char *path, long off, const void *bytes, size_t n)
{
	int fd = open(path, O_WRONLY);

	CHECK(fd >= 0 && pwrite(fd, bytes, n, off) == (ssize_t)n);
	close(fd);
}

/* The archive starts at 2 MiB, for huge pages, after a hole. */
static void check_archive_at_2m(const char *path)
{
	uint64_t cpio_off = 0;
	struct stat st;
	int fd = open(path, O_RDONLY);

	CHECK(fd >= 0 && pread(fd, &cpio_off, 8, 40) == 8 && fstat(fd, &st) == 0);
	CHECK(cpio_off == 2u << 20);
	CHECK((uint64_t)st.st_blocks * 512 < (uint64_t)st.st_size - (1u << 20));
	close(fd);
}

/* wisp build / run --image: what is saved comes back, bit for bit. */
static void test_image_file(void)
{
	char app[512], path[600], bad[600], err[512], cmd[1400];
	char *argv[] = { app, "-c", "" }, *env[] = { "A=1", "HOME=/" };
	struct cli_opts o;
	struct image img, back;
	struct image_meta m = { 0 }, mb;
	uint32_t big = 99;

	snprintf(app, sizeof(app), "%s/app", dir);
	snprintf(path, sizeof(path), "%s/app.img", dir);
	snprintf(bad, sizeof(bad), "%s/bad.img", dir);
	memset(&o, 0, sizeof(o));
	o.program = app;
	o.argv = argv;
	o.argc = 3;
	image_init(&img, NULL, 0);
	CHECK(image_build(&o, &img, err, sizeof(err)) == 0);
	m = (struct image_meta){ img.prog_path, argv, 3, env, 2, NULL };
	CHECK(image_save(path, &img, &m, err, sizeof(err)) == 0);
	check_archive_at_2m(path);
	image_init(&back, NULL, 0);
	CHECK(image_load(path, &back, &mb, err, sizeof(err)) == 0);
	CHECK(back.cpio.len == img.cpio.len &&
	      memcmp(back.cpio.buf, img.cpio.buf, img.cpio.len) == 0);
	CHECK_STR(back.prog_path, img.prog_path);
	CHECK_STR(mb.prog, img.prog_path);
	CHECK(mb.argc == 3 && mb.nenv == 2);
	CHECK_STR(mb.argv[0], app);
	CHECK_STR(mb.argv[2], "");
	CHECK_STR(mb.env[1], "HOME=/");

	/* --add at run time appends to the stored archive. */
	{
		struct cli_add add = { "x", app, "/extra/app" };
		struct listing *l = calloc(1, sizeof(*l));

		o.adds = &add;
		o.nadds = 1;
		CHECK(image_append(&back, &o, err, sizeof(err)) == 0);
		list(&back.cpio, l);
		CHECK(find(l, "extra/app") >= 0 && find(l, "etc/passwd") >= 0);
		CHECK(memcmp(back.cpio.buf + back.cpio.len - 124 + 110, "TRAILER!!!", 11) == 0);
		free(l);
		o.nadds = 0;
	}
	image_free(&back);
	image_meta_free(&mb);

	/* Corrupt files: one clear error each, nothing loaded. */
	image_init(&back, NULL, 0);
	CHECK(image_load("/no/such.img", &back, &mb, err, sizeof(err)) < 0);
	CHECK_STR(err, "image /no/such.img: No such file or directory");
	snprintf(cmd, sizeof(cmd), "%s/app", dir);
	image_init(&back, NULL, 0);
	CHECK(image_load(cmd, &back, &mb, err, sizeof(err)) < 0);
	CHECK_CONTAINS(err, "not a wisp image");
	snprintf(cmd, sizeof(cmd), "head -c 3000 %s > %s", path, bad);
	CHECK(system(cmd) == 0);
	image_init(&back, NULL, 0);
	CHECK(image_load(bad, &back, &mb, err, sizeof(err)) < 0);
	CHECK_CONTAINS(err, "wrong size");
	CHECK(image_save(bad, &img, &m, err, sizeof(err)) == 0);
	corrupt(bad, 8, &big, 4);            /* version */
	image_init(&back, NULL, 0);
	CHECK(image_load(bad, &back, &mb, err, sizeof(err)) < 0);
	CHECK_CONTAINS(err, "version");
	CHECK(image_save(bad, &img, &m, err, sizeof(err)) == 0);
	corrupt(bad, 73, "X", 1);            /* a string of the metadata */
	image_init(&back, NULL, 0);
	CHECK(image_load(bad, &back, &mb, err, sizeof(err)) < 0);
	CHECK_CONTAINS(err, "checksum");
	CHECK(image_save(bad, &img, &m, err, sizeof(err)) == 0);
	corrupt(bad, 56, &big, 4);           /* argc */
	image_init(&back, NULL, 0);
	CHECK(image_load(bad, &back, &mb, err, sizeof(err)) < 0);
	CHECK_CONTAINS(err, "corrupt");
	CHECK(image_save(bad, &img, &m, err, sizeof(err)) == 0);
	corrupt(bad, 2 << 20, "X", 1);       /* the archive's first header */
	image_init(&back, NULL, 0);
	CHECK(image_load(bad, &back, &mb, err, sizeof(err)) < 0);
	CHECK_CONTAINS(err, "cpio");
	CHECK(back.cpio.buf == NULL && mb.block == NULL);
	image_free(&img);
}

int main(void)
{
	char cmd[128];

	snprintf(dir, sizeof(dir), "/tmp/wisp-test-image-XXXXXX");
	if (!mkdtemp(dir))
		return 1;
	test_load_program();
	test_build();
	test_alias();
	test_dynamic();
	test_bundles();
	test_image_file();
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		return 1;
	return check_report();
}
