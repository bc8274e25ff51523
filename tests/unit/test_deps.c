/* test_deps.c: library resolution on crafted trees of shared objects, and on the host's own programs. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "deps.h"
#include "elf.h"
#include "image.h"

#define SO_LEN 4096
#define DYN_OFF 1024
#define STR_OFF 2048

static char T[64];   /* the temporary tree */

struct so {
	const char *interp;
	const char *needed[4];
	const char *runpath, *rpath;
	uint16_t machine;    /* 0: x86-64 */
	uint16_t type;       /* 0: ET_DYN */
};

static size_t put_str(uint8_t *buf, size_t *off, const char *s)
{
	size_t at = *off;

	memcpy(buf + STR_OFF + at, s, strlen(s) + 1);
	*off += strlen(s) + 1;
	return at;
}

static void add_dyn(Elf64_Dyn *dyn, size_t *n, int64_t tag, uint64_t val)
{
	dyn[*n].d_tag = tag;
	dyn[*n].d_un.d_val = val;
	++*n;
}

static void set_phdr(uint8_t *buf, int i, uint32_t type, uint64_t off, uint64_t size)
{
	Elf64_Phdr ph = { .p_type = type, .p_offset = off, .p_vaddr = 0x1000000 + off,
			  .p_filesz = size, .p_memsz = size, .p_align = 1 };

	memcpy(buf + sizeof(Elf64_Ehdr) + (size_t)i * sizeof(ph), &ph, sizeof(ph));
}

/* Writes T/rel as an ELF object mapped at 0x1000000 in one PT_LOAD. */
static void write_so(const char *rel, const struct so *s)
{
	static uint8_t buf[SO_LEN];
	Elf64_Ehdr eh = { .e_phoff = sizeof(eh), .e_phentsize = sizeof(Elf64_Phdr),
			  .e_ehsize = sizeof(eh) };
	Elf64_Dyn dyn[16];
	size_t nd = 0, so = 1;
	char path[512];
	int fd, nph = 2;

	memset(buf, 0, sizeof(buf));
	memcpy(eh.e_ident, ELFMAG, SELFMAG);
	eh.e_ident[EI_CLASS] = ELFCLASS64;
	eh.e_ident[EI_DATA] = ELFDATA2LSB;
	eh.e_type = s->type ? s->type : ET_DYN;
	eh.e_machine = s->machine ? s->machine : EM_X86_64;
	for (int i = 0; i < 4 && s->needed[i]; i++)
		add_dyn(dyn, &nd, DT_NEEDED, put_str(buf, &so, s->needed[i]));
	if (s->runpath)
		add_dyn(dyn, &nd, DT_RUNPATH, put_str(buf, &so, s->runpath));
	if (s->rpath)
		add_dyn(dyn, &nd, DT_RPATH, put_str(buf, &so, s->rpath));
	add_dyn(dyn, &nd, DT_STRTAB, 0x1000000 + STR_OFF);
	add_dyn(dyn, &nd, DT_STRSZ, so);
	add_dyn(dyn, &nd, DT_NULL, 0);
	memcpy(buf + DYN_OFF, dyn, nd * sizeof(*dyn));
	set_phdr(buf, 0, PT_LOAD, 0, SO_LEN);
	set_phdr(buf, 1, PT_DYNAMIC, DYN_OFF, nd * sizeof(*dyn));
	if (s->interp) {
		strcpy((char *)buf + 600, s->interp);
		set_phdr(buf, nph++, PT_INTERP, 600, strlen(s->interp) + 1);
	}
	eh.e_phnum = (uint16_t)nph;
	memcpy(buf, &eh, sizeof(eh));
	snprintf(path, sizeof(path), "%s/%s", T, rel);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0755);
	CHECK(fd >= 0 && write(fd, buf, sizeof(buf)) == (ssize_t)sizeof(buf));
	close(fd);
}

static void mk(const char *rel)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/%s", T, rel);
	mkdir(path, 0755);
}

static void ln(const char *target, const char *rel)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/%s", T, rel);
	CHECK(symlink(target, path) == 0);
}

static void write_text(const char *rel, const char *text)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", T, rel);
	f = fopen(path, "w");
	CHECK(f != NULL);
	if (f) {
		fputs(text, f);
		fclose(f);
	}
}

static char *tp(const char *rel)   /* T/rel in a rotating buffer */
{
	static char bufs[8][512];
	static int i;

	i = (i + 1) % 8;
	snprintf(bufs[i], sizeof(bufs[i]), "%s%s%s", T, *rel ? "/" : "", rel);
	return bufs[i];
}

/* -1 if absent; else the index of the entry (target checked if given). */
static int has(const struct deps *d, const char *rel, const char *target)
{
	const char *path = tp(rel);

	for (size_t i = 0; i < d->n; i++) {
		if (strcmp(d->v[i].path, path) != 0)
			continue;
		if (target ? d->v[i].target && strcmp(d->v[i].target, target) == 0 : !d->v[i].target)
			return (int)i;
	}
	return -1;
}

static struct deps_config config(void)
{
	static const char *sys[3];
	static char conf[512], cache[512], musl[512];
	struct deps_config c = { 0 };

	sys[0] = strdup(tp("sys"));
	sys[1] = strdup(tp("sys2"));
	snprintf(conf, sizeof(conf), "%s", tp("ld.so.conf"));
	snprintf(cache, sizeof(cache), "%s", tp("ld.so.cache"));
	snprintf(musl, sizeof(musl), "%s", tp("musl.path"));
	c.ld_so_conf = conf;
	c.ld_so_cache = cache;
	c.musl_path_file = musl;
	c.system_dirs = sys;
	return c;
}

static void free_config(struct deps_config *c)
{
	free((char *)c->system_dirs[0]);
	free((char *)c->system_dirs[1]);
}

/* Builds T/rel as a program with PT_INTERP and runs deps_add_program on it. */
static int add_prog(struct deps *d, const char *rel, const struct so *s, char *err, size_t errlen)
{
	uint8_t *data;
	size_t len;
	char *real;
	int rc;

	write_so(rel, s);
	CHECK(image_read_file(tp(rel), &data, &len) == 0);
	real = realpath(tp(rel), NULL);
	err[0] = '\0';
	rc = deps_add_program(d, "prog", real, data, len, err, errlen);
	free(real);
	free(data);
	return rc;
}

static void make_tree(void)
{
	char conf[1024];

	mk("sys"); mk("sys2"); mk("real"); mk("app"); mk("app/bin"); mk("app/lib");
	mk("conf.d"); mk("confdir"); mk("llp"); mk("rp");
	ln("real", "l64");                       /* a directory symlink on the way */
	write_so("real/ld.so", &(struct so){ 0 });
	write_so("app/lib/libA.so.1.0", &(struct so){ .needed = { "libB.so" } });
	ln("libA.so.1.0", "app/lib/libA.so.1");  /* a file symlink */
	write_so("sys/libB.so", &(struct so){ .needed = { "libC.so" } });
	write_so("confdir/libC.so", &(struct so){ 0 });
	write_so("sys/libarm.so", &(struct so){ .machine = EM_AARCH64 });
	write_so("sys/libboth.so", &(struct so){ .machine = EM_386 });
	write_so("sys2/libboth.so", &(struct so){ 0 });
	write_so("llp/libnone.so.7", &(struct so){ 0 });
	write_so("sys/libD.so", &(struct so){ .needed = { "libE.so" } });
	write_so("rp/libE.so", &(struct so){ 0 });
	write_so("sys/libgone.so", &(struct so){ .needed = { "libreallygone.so.3" } });
	write_so("sys/libc.so", &(struct so){ 0 });
	snprintf(conf, sizeof(conf), "# comment\ninclude conf.d/*.conf\nhwcap 0 nosegneg\n%s %s\n",
		 tp("nodir"), tp("sys"));
	write_text("ld.so.conf", conf);
	snprintf(conf, sizeof(conf), "%s\n", tp("confdir"));
	write_text("conf.d/a.conf", conf);
	write_text("ld.so.cache", "cache");
}

static void test_resolve_chain(void)
{
	struct deps_config c = config();
	struct deps d;
	char err[2048], interp[512], *real;
	int i;

	deps_init(&d, &c);
	snprintf(interp, sizeof(interp), "%s", tp("l64/ld.so"));
	CHECK(add_prog(&d, "app/bin/prog", &(struct so){ .interp = interp,
		.needed = { "libA.so.1" }, .runpath = "$ORIGIN/../lib" }, err, sizeof(err)) == 0);
	CHECK_STR(err, "");
	/* The loader: the directory symlink, then the real file. */
	CHECK((i = has(&d, "l64", "real")) >= 0);
	CHECK(has(&d, "real/ld.so", NULL) > i);
	/* RUNPATH with $ORIGIN, and the soname symlink. */
	CHECK(has(&d, "app/lib/libA.so.1", "libA.so.1.0") >= 0);
	CHECK(has(&d, "app/lib/libA.so.1.0", NULL) >= 0);
	/* Recursion: a system dir, then a dir only ld.so.conf (via include) names,
	 * which brings ld.so.cache along. */
	CHECK(has(&d, "sys/libB.so", NULL) >= 0);
	CHECK(has(&d, "confdir/libC.so", NULL) >= 0);
	CHECK(has(&d, "ld.so.cache", NULL) >= 0);
	CHECK(has(&d, "app/bin/prog", NULL) < 0);   /* the program is image.c's job */
	deps_free(&d);

	/* deps_resolve: "..", relative and absolute links, loops. */
	deps_init(&d, &c);
	ln("../real/./ld.so", "app/ldrel");
	ln(tp("app/ldrel"), "app/ldabs");
	real = deps_resolve(&d, tp("app/ldabs"));
	CHECK_STR(real, tp("real/ld.so"));
	CHECK(has(&d, "app/ldabs", tp("app/ldrel")) >= 0);
	CHECK(has(&d, "app/ldrel", "../real/./ld.so") >= 0);
	free(real);
	ln("loop2", "app/loop1");
	ln("loop1", "app/loop2");
	CHECK(deps_resolve(&d, tp("app/loop1")) == NULL && errno == ELOOP);
	CHECK(deps_resolve(&d, tp("app/nothere")) == NULL && errno == ENOENT);
	CHECK(deps_resolve(&d, "relative/path") == NULL);
	deps_free(&d);
	free_config(&c);
}

static void test_errors(void)
{
	struct deps_config c = config();
	struct deps d;
	char err[2048], interp[512], want[2048];

	snprintf(interp, sizeof(interp), "%s", tp("real/ld.so"));

	/* A library nobody has. */
	deps_init(&d, &c);
	CHECK(add_prog(&d, "app/bin/p2", &(struct so){ .interp = interp,
		.needed = { "libnone.so.7" } }, err, sizeof(err)) < 0);
	snprintf(want, sizeof(want), "prog: needs libnone.so.7, which was not found on this "
		 "host (searched: %s:%s:%s:%s)", tp("confdir"), tp("nodir"), tp("sys"), tp("sys2"));
	CHECK_STR(err, want);
	deps_free(&d);

	/* ...unless -e LD_LIBRARY_PATH points at it. */
	c.ld_library_path = tp("llp");
	deps_init(&d, &c);
	CHECK(add_prog(&d, "app/bin/p2", &(struct so){ .interp = interp,
		.needed = { "libnone.so.7" } }, err, sizeof(err)) == 0);
	CHECK(has(&d, "llp/libnone.so.7", NULL) >= 0);
	CHECK(has(&d, "ld.so.cache", NULL) < 0);   /* not needed: no ld.so.conf-only dir */
	deps_free(&d);
	c.ld_library_path = NULL;

	/* Missing below a library: the message names the library. */
	deps_init(&d, &c);
	CHECK(add_prog(&d, "app/bin/p3", &(struct so){ .interp = interp,
		.needed = { "libgone.so" } }, err, sizeof(err)) < 0);
	snprintf(want, sizeof(want), "prog: needs libreallygone.so.3 (for %s), which was not "
		 "found", tp("sys/libgone.so"));
	CHECK_CONTAINS(err, want);
	deps_free(&d);

	/* Only a library for another machine. */
	deps_init(&d, &c);
	CHECK(add_prog(&d, "app/bin/p4", &(struct so){ .interp = interp,
		.needed = { "libarm.so" } }, err, sizeof(err)) < 0);
	snprintf(want, sizeof(want), "prog: needs libarm.so, but %s is for AArch64, not x86-64",
		 tp("sys/libarm.so"));
	CHECK_STR(err, want);
	deps_free(&d);

	/* A 32-bit one first in the search is skipped, like ld.so does. */
	deps_init(&d, &c);
	CHECK(add_prog(&d, "app/bin/p5", &(struct so){ .interp = interp,
		.needed = { "libboth.so" } }, err, sizeof(err)) == 0);
	CHECK(has(&d, "sys2/libboth.so", NULL) >= 0 && has(&d, "sys/libboth.so", NULL) < 0);
	deps_free(&d);

	/* The loader itself. */
	deps_init(&d, &c);
	CHECK(add_prog(&d, "app/bin/p6", &(struct so){ .interp = "/nonexistent/ld.so",
		.needed = { "libB.so" } }, err, sizeof(err)) < 0);
	CHECK_STR(err, "prog: needs the dynamic loader /nonexistent/ld.so, which was not "
		  "found on this host");
	deps_free(&d);
	deps_init(&d, &c);
	snprintf(want, sizeof(want), "%s", tp("sys/libarm.so"));
	CHECK(add_prog(&d, "app/bin/p7", &(struct so){ .interp = want }, err, sizeof(err)) < 0);
	CHECK_CONTAINS(err, "is for AArch64, not x86-64");
	deps_free(&d);
	free_config(&c);
}

/* DT_RPATH is searched for the libraries below too; DT_RUNPATH is not. */
static void test_rpath(void)
{
	struct deps_config c = config();
	struct deps d;
	char err[2048], interp[512];

	snprintf(interp, sizeof(interp), "%s", tp("real/ld.so"));
	deps_init(&d, &c);
	CHECK(add_prog(&d, "app/bin/r1", &(struct so){ .interp = interp,
		.needed = { "libD.so" }, .rpath = tp("rp") }, err, sizeof(err)) == 0);
	CHECK(has(&d, "rp/libE.so", NULL) >= 0);
	deps_free(&d);

	deps_init(&d, &c);
	CHECK(add_prog(&d, "app/bin/r2", &(struct so){ .interp = interp,
		.needed = { "libD.so" }, .runpath = tp("rp") }, err, sizeof(err)) < 0);
	CHECK_CONTAINS(err, "needs libE.so (for ");
	deps_free(&d);
	free_config(&c);
}

static void test_musl_and_objects(void)
{
	struct deps_config c = config();
	struct deps d;
	char err[2048], interp[512], text[600];
	uint8_t *data;
	size_t len;

	/* musl: libc.so is the loader; the path file replaces the defaults. */
	write_so("real/ld-musl-x86_64.so.1", &(struct so){ 0 });
	snprintf(interp, sizeof(interp), "%s", tp("real/ld-musl-x86_64.so.1"));
	snprintf(text, sizeof(text), "%s:%s\n", tp("rp"), tp("sys"));
	write_text("musl.path", text);
	deps_init(&d, &c);
	CHECK(add_prog(&d, "app/bin/m1", &(struct so){ .interp = interp,
		.needed = { "libc.so", "libE.so", "libm.so.6" } }, err, sizeof(err)) == 0);
	CHECK_STR(err, "");
	CHECK(has(&d, "rp/libE.so", NULL) >= 0 && has(&d, "sys/libc.so", NULL) < 0);
	CHECK(has(&d, "musl.path", NULL) >= 0);
	deps_free(&d);

	/* A static program needs nothing. */
	deps_init(&d, &c);
	CHECK(add_prog(&d, "app/bin/s1", &(struct so){ .type = ET_EXEC }, err, sizeof(err)) == 0);
	CHECK(d.n == 0);

	/* Objects in added trees: best effort, never an error. */
	write_so("app/lib/ext.so", &(struct so){ .needed = { "libB.so", "libmissing.so" } });
	write_so("app/lib/ext2.so", &(struct so){ .needed = { "libD.so" } });
	CHECK(image_read_file(tp("app/lib/ext.so"), &data, &len) == 0);
	deps_add_object(&d, tp("app/lib/ext.so"), data, len);
	deps_add_object(&d, tp("app/lib/ext.so"), data, len);   /* seen once */
	deps_add_object(&d, tp("app/lib/ext.so"), "not elf", 7);
	free(data);
	CHECK(image_read_file(tp("app/lib/ext2.so"), &data, &len) == 0);
	deps_add_object(&d, tp("app/lib/ext2.so"), data, len);
	free(data);
	/* A program the guest may exec brings its loader too. */
	snprintf(interp, sizeof(interp), "%s", tp("l64/ld.so"));
	write_so("app/bin/tool", &(struct so){ .interp = interp, .type = ET_EXEC,
		.needed = { "libD.so" } });
	CHECK(image_read_file(tp("app/bin/tool"), &data, &len) == 0);
	deps_add_object(&d, tp("app/bin/tool"), data, len);
	free(data);
	CHECK(deps_finish(&d, err, sizeof(err)) == 0);
	CHECK(has(&d, "l64", "real") >= 0 && has(&d, "real/ld.so", NULL) >= 0);
	CHECK(has(&d, "sys/libB.so", NULL) >= 0);
	CHECK(has(&d, "confdir/libC.so", NULL) >= 0);
	CHECK(has(&d, "sys/libD.so", NULL) >= 0);
	deps_free(&d);
	free_config(&c);
}

/* The host's own /bin/true, resolved with the host's configuration. */
static void test_host(void)
{
	struct deps d;
	char err[2048], *real;
	uint8_t *data;
	size_t len;
	bool libc = false, loader = false;

	if (image_read_file("/bin/true", &data, &len) < 0)
		return;
	real = realpath("/bin/true", NULL);
	deps_init(&d, NULL);
	CHECK(deps_add_program(&d, "/bin/true", real, data, len, err, sizeof(err)) == 0);
	for (size_t i = 0; i < d.n; i++) {
		const char *base = strrchr(d.v[i].path, '/') + 1;

		libc |= !d.v[i].target && strncmp(base, "libc.so", 7) == 0;
		loader |= !d.v[i].target && strncmp(base, "ld-", 3) == 0;
		CHECK(d.v[i].path[0] == '/');
	}
	/* Skipped where /bin/true is static. */
	CHECK(d.n == 0 || (libc && loader));
	deps_free(&d);
	free(real);
	free(data);
}

int main(void)
{
	char cmd[128];

	snprintf(T, sizeof(T), "/tmp/wisp-test-deps-XXXXXX");
	if (!mkdtemp(T))
		return 1;
	make_tree();
	test_resolve_chain();
	test_errors();
	test_rpath();
	test_musl_and_objects();
	test_host();
	snprintf(cmd, sizeof(cmd), "rm -rf %s", T);
	if (system(cmd) != 0)
		return 1;
	return check_report();
}
