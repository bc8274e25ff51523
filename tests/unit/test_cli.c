/* test_cli.c: unit tests for size parsing and wisp's option parsing. */
#include <stdlib.h>

#include "check.h"
#include "cli.h"

#define ARGC(a) ((int)(sizeof(a) / sizeof((a)[0])))

static void test_sizes(void)
{
	uint64_t v = 0;

	CHECK(cli_parse_size("64M", &v) == 0 && v == 64ull << 20);
	CHECK(cli_parse_size("1G", &v) == 0 && v == 1ull << 30);
	CHECK(cli_parse_size("1g", &v) == 0 && v == 1ull << 30);
	CHECK(cli_parse_size("524288K", &v) == 0 && v == 512ull << 20);
	CHECK(cli_parse_size("1048576", &v) == 0 && v == 1048576);
	CHECK(cli_parse_size("0", &v) == 0 && v == 0);
	CHECK(cli_parse_size("", &v) < 0);
	CHECK(cli_parse_size("M", &v) < 0);
	CHECK(cli_parse_size("x", &v) < 0);
	CHECK(cli_parse_size("-1M", &v) < 0);
	CHECK(cli_parse_size("12MB", &v) < 0);
	CHECK(cli_parse_size("1.5G", &v) < 0);
	CHECK(cli_parse_size(" 64M", &v) < 0);
	CHECK(cli_parse_size("64M ", &v) < 0);
	CHECK(cli_parse_size("99999999999999999999", &v) < 0);
	CHECK(cli_parse_size("99999999999999G", &v) < 0);
}

static void test_guest_path(void)
{
	char *p;

	CHECK_STR(p = cli_guest_path("/a//b/./c/"), "/a/b/c"); free(p);
	CHECK_STR(p = cli_guest_path("/"), "/"); free(p);
	CHECK_STR(p = cli_guest_path("//."), "/"); free(p);
	CHECK_STR(p = cli_guest_path("/..a/b.."), "/..a/b.."); free(p);
	CHECK(cli_guest_path("rel/x") == NULL);
	CHECK(cli_guest_path("/a/../b") == NULL);
	CHECK(cli_guest_path("/..") == NULL);
}

static void test_run_basic(void)
{
	char *argv[] = { "wisp", "run", "/bin/busybox", "sh", "-c", "exit 7" };
	struct cli_opts o;
	char err[256] = "";

	CHECK(cli_parse(ARGC(argv), argv, &o, err, sizeof(err)) == 0);
	CHECK(o.cmd == CLI_RUN);
	CHECK(o.mem == 128ull << 20);
	CHECK(o.backend == CLI_BACKEND_KVM);
	CHECK(!o.trace);
	CHECK(!o.no_cache);
	CHECK_STR(o.program, "/bin/busybox");
	CHECK(o.argc == 4);
	CHECK_STR(o.argv[0], "/bin/busybox");
	CHECK_STR(o.argv[1], "sh");
	CHECK_STR(o.argv[2], "-c");
	CHECK_STR(o.argv[3], "exit 7");
	CHECK(o.nenv == 2);
	CHECK_STR(o.env[0], "PATH=/usr/local/bin:/usr/bin:/bin");
	CHECK_STR(o.env[1], "HOME=/");
	cli_free(&o);
}

static void test_run_options(void)
{
	char *argv[] = { "wisp", "run", "-m", "64M", "--mem=1G", "-m256M", "--add", "/h:/g//x/",
			 "--add=/a:b:/c", "-e", "FOO=bar", "--env", "HOME=/root", "-eX=",
			 "--trace-syscalls", "--backend", "qemu", "--kernel", "/k.elf",
			 "--", "-prog", "--mem", "1M" };
	struct cli_opts o;
	char err[256] = "";

	CHECK(cli_parse(ARGC(argv), argv, &o, err, sizeof(err)) == 0);
	CHECK(o.mem == 256ull << 20);
	CHECK_STR(o.mem_str, "256M");
	CHECK(o.nadds == 2);
	CHECK_STR(o.adds[0].host, "/h");
	CHECK_STR(o.adds[0].guest, "/g/x");
	CHECK_STR(o.adds[1].host, "/a:b");
	CHECK_STR(o.adds[1].guest, "/c");
	CHECK(o.nenv == 4);
	CHECK_STR(o.env[1], "HOME=/root");   /* replaced in place */
	CHECK_STR(o.env[2], "FOO=bar");
	CHECK_STR(o.env[3], "X=");
	CHECK(o.trace);
	CHECK(o.backend == CLI_BACKEND_QEMU);
	CHECK_STR(o.kernel, "/k.elf");
	CHECK_STR(o.program, "-prog");
	CHECK(o.argc == 3);
	CHECK_STR(o.argv[1], "--mem");
	cli_free(&o);
}

static void test_stop_at_program(void)
{
	char *argv[] = { "wisp", "run", "busybox", "--trace-syscalls", "-m", "x" };
	struct cli_opts o;
	char err[256] = "";

	CHECK(cli_parse(ARGC(argv), argv, &o, err, sizeof(err)) == 0);
	CHECK(!o.trace);
	CHECK(o.mem == CLI_MEM_DEFAULT);
	CHECK(o.argc == 4);
	cli_free(&o);
}

/* Runs cli_parse on a NULL-terminated list and returns its result and message. */
static int parse(char **argv, char *err, size_t errlen)
{
	struct cli_opts o;
	int argc = 0, rc;

	while (argv[argc])
		argc++;
	err[0] = '\0';
	rc = cli_parse(argc, argv, &o, err, errlen);
	cli_free(&o);
	return rc;
}

/* Usage errors exit 2, bad values of known options exit 1. */
static void test_errors(void)
{
	char err[256];

	CHECK(parse((char *[]){ "wisp", "run", "--x", "/bin/true", NULL }, err, sizeof(err)) == 2);
	CHECK_STR(err, "unknown option '--x' (see wisp --help)");
	CHECK(parse((char *[]){ "wisp", "run", "--x=3", "/bin/true", NULL }, err, sizeof(err)) == 2);
	CHECK_STR(err, "unknown option '--x' (see wisp --help)");
	CHECK(parse((char *[]){ "wisp", "run", "-q", "/bin/true", NULL }, err, sizeof(err)) == 2);
	CHECK_STR(err, "unknown option '-q' (see wisp --help)");
	CHECK(parse((char *[]){ "wisp", "run", "--trace-syscalls=1", "p", NULL }, err, sizeof(err)) == 2);
	CHECK(parse((char *[]){ "wisp", "run", NULL }, err, sizeof(err)) == 2);
	CHECK_CONTAINS(err, "missing PROGRAM");
	CHECK(parse((char *[]){ "wisp", "run", "-m", "64M", NULL }, err, sizeof(err)) == 2);
	CHECK_CONTAINS(err, "missing PROGRAM");
	CHECK(parse((char *[]){ "wisp", "run", "--", NULL }, err, sizeof(err)) == 2);
	CHECK(parse((char *[]){ "wisp", "run", "-m", NULL }, err, sizeof(err)) == 2);
	CHECK_CONTAINS(err, "needs a value");
	CHECK(parse((char *[]){ "wisp", "run", "-m", "x", "p", NULL }, err, sizeof(err)) == 1);
	CHECK_STR(err, "invalid --mem value 'x': expected a size like 64M");
	CHECK(parse((char *[]){ "wisp", "run", "--mem", "4G", "p", NULL }, err, sizeof(err)) == 1);
	CHECK_CONTAINS(err, "at most 3G");
	CHECK(parse((char *[]){ "wisp", "run", "--mem", "3G", "p", NULL }, err, sizeof(err)) == 0);
	CHECK(parse((char *[]){ "wisp", "run", "--add", "nocolon", "p", NULL }, err, sizeof(err)) == 1);
	CHECK_CONTAINS(err, "invalid --add value 'nocolon'");
	CHECK(parse((char *[]){ "wisp", "run", "--add", "/h:rel", "p", NULL }, err, sizeof(err)) == 1);
	CHECK(parse((char *[]){ "wisp", "run", "--add", ":/g", "p", NULL }, err, sizeof(err)) == 1);
	CHECK(parse((char *[]){ "wisp", "run", "--add", "/h:/a/../b", "p", NULL }, err, sizeof(err)) == 1);
	CHECK(parse((char *[]){ "wisp", "run", "-e", "NOEQUALS", "p", NULL }, err, sizeof(err)) == 1);
	CHECK_CONTAINS(err, "invalid --env value 'NOEQUALS'");
	CHECK(parse((char *[]){ "wisp", "run", "-e", "=v", "p", NULL }, err, sizeof(err)) == 1);
	CHECK(parse((char *[]){ "wisp", "run", "--backend", "xen", "p", NULL }, err, sizeof(err)) == 1);
	CHECK(parse((char *[]){ "wisp", "run", "-o", "f", "p", NULL }, err, sizeof(err)) == 2);
	CHECK(parse((char *[]){ "wisp", "frob", NULL }, err, sizeof(err)) == 2);
	CHECK_CONTAINS(err, "unknown command 'frob'");
	CHECK(parse((char *[]){ "wisp", "--bogus", NULL }, err, sizeof(err)) == 2);
	CHECK(parse((char *[]){ "wisp", NULL }, err, sizeof(err)) == 2);
	CHECK(parse((char *[]){ "wisp", "pack", "p", NULL }, err, sizeof(err)) == 2);
	CHECK_CONTAINS(err, "-o FILE");
}

static void test_disks(void)
{
	char *argv[] = { "wisp", "run", "--disk", "/d/a.img:/data", "--disk=b:c.img://mnt/./x/:ro",
			 "--disk", "/dev/sdb1:/ro", "--image", "x.img" };
	struct cli_opts o;
	char err[256] = "";

	CHECK(cli_parse(ARGC(argv), argv, &o, err, sizeof(err)) == 0);
	CHECK(o.ndisks == 3);
	CHECK_STR(o.disks[0].spec, "/d/a.img:/data");
	CHECK_STR(o.disks[0].image, "/d/a.img");
	CHECK_STR(o.disks[0].mount, "/data");
	CHECK(!o.disks[0].read_only);
	CHECK_STR(o.disks[1].image, "b:c.img");     /* IMAGE may contain ':' */
	CHECK_STR(o.disks[1].mount, "/mnt/x");
	CHECK(o.disks[1].read_only);
	CHECK_STR(o.disks[2].image, "/dev/sdb1");   /* "/ro" is a MOUNT, not the flag */
	CHECK_STR(o.disks[2].mount, "/ro");
	CHECK(!o.disks[2].read_only);
	cli_free(&o);
	CHECK(strstr(cli_usage(), "--disk IMAGE:MOUNT[:ro]") != NULL);
}

static void test_disk_errors(void)
{
	static const char *const syntax[] = { "nocolon", ":/m", ":/m:ro", "/i:", "/i:/m:rw",
					      "/i:/m:", "/i::ro", "/i:/m:RO" };
	char *many[] = { "wisp", "run", "--disk", "/0:/0", "--disk", "/1:/1", "--disk", "/2:/2",
			 "--disk", "/3:/3", "--disk", "/4:/4", "--disk", "/5:/5", "--disk", "/6:/6",
			 "--disk", "/7:/7", "--disk", "/8:/8", "p", NULL };
	char err[256], expect[128];

	for (size_t i = 0; i < sizeof(syntax) / sizeof(syntax[0]); i++) {
		CHECK(parse((char *[]){ "wisp", "run", "--disk", (char *)syntax[i], "p", NULL },
			    err, sizeof(err)) == 1);
		snprintf(expect, sizeof(expect), "invalid --disk value '%s': expected IMAGE:MOUNT "
			 "or IMAGE:MOUNT:ro", syntax[i]);
		CHECK_STR(err, expect);
	}
	CHECK(parse((char *[]){ "wisp", "run", "--disk", "/i:rel", "p", NULL }, err, sizeof(err)) == 1);
	CHECK_STR(err, "invalid --disk value '/i:rel': the MOUNT path must be absolute and "
		  "must not contain '..'");
	CHECK(parse((char *[]){ "wisp", "run", "--disk", "/i:/a/../b:ro", "p", NULL },
		    err, sizeof(err)) == 1);
	CHECK_CONTAINS(err, "must not contain '..'");
	CHECK(parse((char *[]){ "wisp", "run", "--disk", "/i:/", "p", NULL }, err, sizeof(err)) == 1);
	CHECK_CONTAINS(err, "MOUNT cannot be /,");
	CHECK(parse((char *[]){ "wisp", "run", "--disk", "/i://.:ro", "p", NULL }, err, sizeof(err)) == 1);
	CHECK_CONTAINS(err, "MOUNT cannot be /,");
	CHECK(parse((char *[]){ "wisp", "run", "--disk", "/a:/m", "--disk", "/b://m/:ro", "p", NULL },
		    err, sizeof(err)) == 1);
	CHECK_STR(err, "invalid --disk value '/b://m/:ro': /m is already the MOUNT of --disk '/a:/m'");
	CHECK(parse(many, err, sizeof(err)) == 1);
	CHECK_STR(err, "too many --disk options: wisp supports at most 8");
	many[18] = "p";   /* 8 disks are fine */
	many[19] = NULL;
	CHECK(parse(many, err, sizeof(err)) == 0);
	CHECK(parse((char *[]){ "wisp", "build", "-o", "f", "--disk", "/i:/m", "p", NULL },
		    err, sizeof(err)) == 2);
	CHECK_STR(err, "option '--disk' does not apply to wisp build (see wisp --help)");
	CHECK(parse((char *[]){ "wisp", "pack", "-o", "f", "--disk=/i:/m", "p", NULL },
		    err, sizeof(err)) == 2);
	CHECK_STR(err, "option '--disk=/i:/m' does not apply to wisp pack (see wisp --help)");
	CHECK(parse((char *[]){ "wisp", "run", "--disk", NULL }, err, sizeof(err)) == 2);
	CHECK_CONTAINS(err, "needs a value");
}

static void test_commands(void)
{
	struct cli_opts o;
	char err[256];

	CHECK(cli_parse(2, (char *[]){ "wisp", "--help", NULL }, &o, err, sizeof(err)) == 0);
	CHECK(o.cmd == CLI_HELP);
	cli_free(&o);
	CHECK(cli_parse(2, (char *[]){ "wisp", "-h", NULL }, &o, err, sizeof(err)) == 0);
	CHECK(o.cmd == CLI_HELP);
	cli_free(&o);
	CHECK(cli_parse(3, (char *[]){ "wisp", "run", "--help", NULL }, &o, err, sizeof(err)) == 0);
	CHECK(o.cmd == CLI_HELP);
	cli_free(&o);
	CHECK(cli_parse(2, (char *[]){ "wisp", "--version", NULL }, &o, err, sizeof(err)) == 0);
	CHECK(o.cmd == CLI_VERSION);
	cli_free(&o);
	CHECK(cli_parse(6, (char *[]){ "wisp", "pack", "-o", "out.cpio", "-m64M", "prog", NULL },
			&o, err, sizeof(err)) == 0);
	CHECK(o.cmd == CLI_PACK);
	CHECK_STR(o.output, "out.cpio");
	CHECK_STR(o.program, "prog");
	CHECK(o.argc == 1);
	cli_free(&o);
	CHECK(strstr(cli_usage(), "wisp run") != NULL);
}

static void test_no_cache(void)
{
	struct cli_opts o;
	char err[256];

	CHECK(cli_parse(4, (char *[]){ "wisp", "run", "--no-cache", "prog", NULL }, &o, err,
			sizeof(err)) == 0);
	CHECK(o.no_cache);
	CHECK_STR(o.program, "prog");
	cli_free(&o);
	/* After PROGRAM it is the program's. */
	CHECK(cli_parse(4, (char *[]){ "wisp", "run", "prog", "--no-cache", NULL }, &o, err,
			sizeof(err)) == 0);
	CHECK(!o.no_cache);
	CHECK(o.argc == 2);
	cli_free(&o);
	CHECK(parse((char *[]){ "wisp", "build", "-o", "f", "--no-cache", "p", NULL },
		    err, sizeof(err)) == 2);
	CHECK_STR(err, "option '--no-cache' does not apply to wisp build (see wisp --help)");
	CHECK(parse((char *[]){ "wisp", "pack", "-o", "f", "--no-cache", "p", NULL },
		    err, sizeof(err)) == 2);
	CHECK(parse((char *[]){ "wisp", "run", "--no-cache=1", "p", NULL }, err, sizeof(err)) == 2);
	CHECK_STR(err, "unknown option '--no-cache' (see wisp --help)");
	CHECK(strstr(cli_usage(), "--no-cache") != NULL);
	CHECK(strstr(cli_usage(), "WISP_NO_CACHE=1") != NULL);
	CHECK(strstr(cli_usage(), "WISP_VERBOSE=1") != NULL);
}

int main(void)
{
	test_sizes();
	test_guest_path();
	test_run_basic();
	test_run_options();
	test_stop_at_program();
	test_errors();
	test_disks();
	test_disk_errors();
	test_commands();
	test_no_cache();
	return check_report();
}
