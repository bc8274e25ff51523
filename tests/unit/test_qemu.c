/* test_qemu.c: the qemu backend's control protocol and process handling, with a fake qemu. */
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "qemu.h"

static char dir[64];

static void test_parse_ctl(void)
{
	int code = -1;

	CHECK(qemu_parse_ctl("exit 7\n", "p", &code) == 0 && code == 7);
	CHECK(qemu_parse_ctl("exit 0\n", "p", &code) == 0 && code == 0);
	CHECK(qemu_parse_ctl("exit 300\n", "p", &code) == 0 && code == 44);
	CHECK(qemu_parse_ctl("killed 11 dead\n", "p", &code) == 0 && code == 139);
	CHECK(qemu_parse_ctl("killed 6 0\n", "p", &code) == 0 && code == 134);
	CHECK(qemu_parse_ctl("killed 9\n", "p", &code) == 0 && code == 137);
	CHECK(qemu_parse_ctl("", "p", &code) < 0);
	CHECK(qemu_parse_ctl("garbage\n", "p", &code) < 0);
	CHECK(qemu_parse_ctl("exit\n", "p", &code) < 0);
}

/* A shell script standing in for qemu: checks a few arguments, writes to
 * stdout/stderr and puts $CTL_LINE into the control file. */
static const char fake_qemu[] =
	"#!/bin/sh\n"
	"ctl=\n"
	"while [ $# -gt 0 ]; do\n"
	"  case \"$1\" in\n"
	"    file,id=ctl,path=*) ctl=${1#file,id=ctl,path=} ;;\n"
	"    -initrd) shift; [ -s \"$1\" ] || exit 99 ;;\n"
	"    -m) shift; [ \"$1\" = 64M ] || exit 98 ;;\n"
	"  esac\n"
	"  shift\n"
	"done\n"
	"echo guest-out\n"
	"echo guest-err >&2\n"
	"[ -n \"$CTL_LINE\" ] && printf '%s\\n' \"$CTL_LINE\" > \"$ctl\"\n"
	"exit 3\n";

static int run_fake(const char *ctl_line, const char *out_path)
{
	struct qemu_params p = { "/kernel", "070701", 6, "prog=/x -- x", 64u << 20, "prog", NULL, 0 };
	int saved = dup(1), fd = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0644), rc;

	if (ctl_line)
		setenv("CTL_LINE", ctl_line, 1);
	else
		unsetenv("CTL_LINE");
	fflush(stdout);
	dup2(fd, 1);
	close(fd);
	rc = qemu_run(&p);
	dup2(saved, 1);
	close(saved);
	return rc;
}

static void read_back(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY);
	ssize_t n = fd >= 0 ? read(fd, buf, len - 1) : -1;

	buf[n > 0 ? n : 0] = '\0';
	if (fd >= 0)
		close(fd);
}

static void test_fake_qemu(void)
{
	char script[128], out[128], text[256];
	int fd;

	snprintf(script, sizeof(script), "%s/qemu", dir);
	snprintf(out, sizeof(out), "%s/out", dir);
	fd = open(script, O_WRONLY | O_CREAT | O_TRUNC, 0755);
	CHECK(fd >= 0 && write(fd, fake_qemu, sizeof(fake_qemu) - 1) == sizeof(fake_qemu) - 1);
	close(fd);
	setenv("WISP_QEMU", script, 1);
	setenv("TMPDIR", dir, 1);

	CHECK(run_fake("exit 42", out) == 42);
	read_back(out, text, sizeof(text));
	CHECK_STR(text, "guest-out\n");
	CHECK(run_fake("killed 11 1000", out) == 139);
	CHECK(run_fake(NULL, out) == 1);         /* no status line: qemu's status is reported */

	setenv("WISP_QEMU", "/no/such/qemu", 1);
	CHECK(run_fake("exit 0", out) == 1);
	unsetenv("WISP_QEMU");
	unsetenv("TMPDIR");
}

static void test_tmp_cleaned(void)
{
	char cmd[160];

	/* Only the script and the output file remain: temp files were removed. */
	snprintf(cmd, sizeof(cmd), "test $(ls %s | wc -l) -eq 2", dir);
	CHECK(system(cmd) == 0);
}

int main(void)
{
	char cmd[128];

	snprintf(dir, sizeof(dir), "/tmp/wisp-test-qemu-XXXXXX");
	if (!mkdtemp(dir))
		return 1;
	test_parse_ctl();
	test_fake_qemu();
	test_tmp_cleaned();
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		return 1;
	return check_report();
}
