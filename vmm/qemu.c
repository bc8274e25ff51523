/* qemu.c: run the guest under qemu-system-x86_64 -M microvm and collect its exit status. */
#define _GNU_SOURCE
#include "qemu.h"

#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "devices/hypercall.h"
#include "io.h"
#include "kvm.h"

#define QEMU_DEFAULT "qemu-system-x86_64"
#define QEMU_MAX_ARGS (50 + 4 * CLI_DISKS_MAX)
#define CTL_MAX 256

static volatile pid_t qemu_pid;
static volatile sig_atomic_t forwarded_signal;

struct tmpfiles {
	char initrd[4096];
	char ctl[4096];
};

/* The guest ends qemu through isa-debug-exit; a Ctrl-C or kill aimed at wisp
 * must reach qemu too, and wisp must outlive it to remove the temp files. */
static void forward_signal(int sig)
{
	forwarded_signal = sig;
	if (qemu_pid > 0)
		kill(qemu_pid, sig);
}

static void set_forwarding(void (*handler)(int))
{
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT };
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = handler;
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaction(sigs[i], &sa, NULL);
}

static int make_tmp(char *path, size_t len, const char *what, const void *data, size_t size)
{
	const char *dir = getenv("TMPDIR");
	int fd;

	if (!dir || !*dir)
		dir = "/tmp";
	snprintf(path, len, "%s/wisp-%s-XXXXXX", dir, what);
	fd = mkstemp(path);
	if (fd < 0) {
		fprintf(stderr, "wisp: cannot create a temporary file: %s: %s\n", path, strerror(errno));
		path[0] = '\0';
		return -1;
	}
	if (io_write_all(fd, data, size) < 0) {
		fprintf(stderr, "wisp: cannot write temporary file: %s: %s\n", path, strerror(errno));
		close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

static void remove_tmp(struct tmpfiles *t)
{
	if (t->initrd[0])
		unlink(t->initrd);
	if (t->ctl[0])
		unlink(t->ctl);
}

/* QemuOpts values end at ',' unless it is doubled. */
static void opt_escape(char *out, size_t len, const char *s)
{
	size_t o = 0;

	for (; *s && o + 2 < len; s++) {
		if (*s == ',')
			out[o++] = ',';
		out[o++] = *s;
	}
	out[o] = '\0';
}

/* Disk i as QEMU's virtio-mmio block device with serial "wispI", which is
 * how the kernel tells the disks apart (vblk_probe_mmio). */
static int disk_args(const struct qemu_params *p, const char **args, int n)
{
	static char drive[CLI_DISKS_MAX][2 * PATH_MAX + 64], device[CLI_DISKS_MAX][64];
	char file[2 * PATH_MAX];

	/* QEMU's virtio-mmio is the legacy (version 1) transport by default;
	 * the kernel drives virtio 1.x only. */
	if (p->ndisks) {
		args[n++] = "-global";
		args[n++] = "virtio-mmio.force-legacy=false";
	}
	for (unsigned i = 0; i < p->ndisks && i < CLI_DISKS_MAX; i++) {
		opt_escape(file, sizeof(file), p->disks[i].image);
		snprintf(drive[i], sizeof(drive[i]), "id=d%u,file=%s,format=raw,if=none%s", i, file,
			 p->disks[i].read_only ? ",readonly=on" : "");
		snprintf(device[i], sizeof(device[i]), "virtio-blk-device,drive=d%u,serial=wisp%u",
			 i, i);
		args[n++] = "-drive";
		args[n++] = drive[i];
		args[n++] = "-device";
		args[n++] = device[i];
	}
	return n;
}

/* Builds qemu's argv into args; strings live in bufs. */
static void build_args(const struct qemu_params *p, const struct tmpfiles *t,
		       const char **args, char bufs[3][8400])
{
	const char *accel = getenv("WISP_QEMU_ACCEL");
	bool kvm = accel && *accel ? strcmp(accel, "tcg") != 0 : kvm_usable() == 0;
	const char *qemu = getenv("WISP_QEMU");
	int n = 0;

	snprintf(bufs[0], sizeof(bufs[0]), "%" PRIu64 "M", p->mem >> 20);
	opt_escape(bufs[2], sizeof(bufs[2]), t->ctl);
	snprintf(bufs[1], sizeof(bufs[1]), "file,id=ctl,path=%s", bufs[2]);
	args[n++] = qemu && *qemu ? qemu : QEMU_DEFAULT;
	args[n++] = "-M";
	/* auto-kernel-cmdline=off: microvm would otherwise append its own words,
	 * which the guest would take as program arguments. */
	args[n++] = kvm ? "microvm,accel=kvm,rtc=on,auto-kernel-cmdline=off"
			: "microvm,accel=tcg,rtc=on,auto-kernel-cmdline=off";
	args[n++] = "-cpu";
	args[n++] = kvm ? "host" : "max";
	args[n++] = "-m";
	args[n++] = bufs[0];
	args[n++] = "-nodefaults";
	args[n++] = "-no-user-config";
	args[n++] = "-nographic";
	args[n++] = "-no-reboot";
	args[n++] = "-kernel";
	args[n++] = p->kernel;
	args[n++] = "-initrd";
	args[n++] = t->initrd;
	args[n++] = "-append";
	args[n++] = p->cmdline;
	args[n++] = "-chardev";
	args[n++] = "file,id=out,path=/proc/self/fd/1,append=on";
	args[n++] = "-serial";
	args[n++] = "chardev:out";
	args[n++] = "-chardev";
	args[n++] = "file,id=err,path=/proc/self/fd/2,append=on";
	args[n++] = "-device";
	args[n++] = "isa-serial,chardev=err,iobase=0x2f8,irq=3";
	args[n++] = "-chardev";
	args[n++] = bufs[1];
	args[n++] = "-device";
	args[n++] = "isa-serial,chardev=ctl,iobase=0x3e8,irq=4";
	args[n++] = "-device";
	args[n++] = "isa-debug-exit,iobase=0xf4,iosize=4";
	n = disk_args(p, args, n);
	args[n] = NULL;
}

/* Child side: stdin from /dev/null, stdout/stderr into the relay pipes. */
static void exec_child(const char **args, const int out[2], const int err[2], int report_fd)
{
	int null = open("/dev/null", O_RDONLY), e;

	if (null >= 0)
		dup2(null, 0);
	dup2(out[1], 1);
	dup2(err[1], 2);
	execvp(args[0], (char *const *)args);
	e = errno;
	if (write(report_fd, &e, sizeof(e)) < 0)
		_exit(127);
	_exit(127);
}

/* Reports exec failure through a close-on-exec pipe so the parent can tell
 * "qemu is not installed" from "qemu ran and failed". */
static pid_t spawn(const char **args, const int out[2], const int err[2], int *exec_errno)
{
	int pfd[2], e = 0;
	pid_t pid;

	*exec_errno = 0;
	if (pipe2(pfd, O_CLOEXEC) < 0)
		return -1;
	pid = fork();
	if (pid == 0)
		exec_child(args, out, err, pfd[1]);
	close(pfd[1]);
	if (pid > 0 && read(pfd[0], &e, sizeof(e)) == (ssize_t)sizeof(e))
		*exec_errno = e;
	close(pfd[0]);
	return pid;
}

/* Copies one chunk from a relay pipe to wisp's own fd; returns -1 at EOF.
 * Once the host side is gone (EPIPE) the rest is read and dropped. */
static int relay_chunk(int from, int to, bool *to_broken)
{
	char buf[65536];
	ssize_t n = read(from, buf, sizeof(buf));

	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return 0;
	if (n <= 0)
		return -1;
	if (!*to_broken && io_write_all(to, buf, (size_t)n) < 0)
		*to_broken = true;
	return 0;
}

/* qemu writes the guest's stdout/stderr into pipes and wisp copies them to
 * its own fds 1 and 2. Letting qemu reopen /proc/self/fd/1 instead would give
 * it a separate file offset, so output redirected to a file could be
 * overwritten by whatever the shell writes next. */
static void relay(int out_r, int err_r)
{
	struct pollfd pfd[2] = { { out_r, POLLIN, 0 }, { err_r, POLLIN, 0 } };
	bool broken[2] = { false, false };

	while (pfd[0].fd >= 0 || pfd[1].fd >= 0) {
		if (poll(pfd, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		for (int i = 0; i < 2; i++) {
			if (pfd[i].fd < 0 || !(pfd[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			if (relay_chunk(pfd[i].fd, i + 1, &broken[i]) < 0) {
				close(pfd[i].fd);
				pfd[i].fd = -1;
			}
		}
	}
	for (int i = 0; i < 2; i++)
		if (pfd[i].fd >= 0)
			close(pfd[i].fd);
}

static int wait_child(pid_t pid)
{
	int status;

	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	return status;
}

int qemu_parse_ctl(const char *text, const char *program, int *code)
{
	int status, sig;
	uint64_t addr = 0;

	if (sscanf(text, "exit %d", &status) == 1) {
		*code = status & 0xff;
		return 0;
	}
	if (sscanf(text, "killed %d %" SCNx64, &sig, &addr) >= 1) {
		*code = hc_exit_status(program, 0, sig, addr);
		return 0;
	}
	return -1;
}

static void read_ctl(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? read(fd, buf, len - 1) : -1;

	buf[n > 0 ? n : 0] = '\0';
	if (fd >= 0)
		close(fd);
}

static int report(const struct qemu_params *p, const char *ctl, int status)
{
	char text[CTL_MAX];
	int code;

	read_ctl(ctl, text, sizeof(text));
	if (qemu_parse_ctl(text, p->program, &code) == 0)
		return code;
	if (forwarded_signal) {
		const char *name = sigabbrev_np(forwarded_signal);

		fprintf(stderr, "wisp: interrupted by SIG%s\n", name ? name : "?");
		return 128 + forwarded_signal;
	}
	if (WIFSIGNALED(status))
		fprintf(stderr, "wisp: qemu killed by signal %d without a guest exit status\n",
			WTERMSIG(status));
	else
		fprintf(stderr, "wisp: qemu exited with status %d without a guest exit status\n",
			WEXITSTATUS(status));
	return 1;
}

static void close_pipes(int out[2], int err[2])
{
	int *fds[4] = { &out[0], &out[1], &err[0], &err[1] };

	for (int i = 0; i < 4; i++)
		if (*fds[i] >= 0) {
			close(*fds[i]);
			*fds[i] = -1;
		}
}

static int run_child(const struct qemu_params *p, const char **args, const char *ctl)
{
	int out[2] = { -1, -1 }, err[2] = { -1, -1 }, exec_errno, status, rc = 1;
	pid_t pid;

	if (pipe2(out, O_CLOEXEC) < 0 || pipe2(err, O_CLOEXEC) < 0) {
		fprintf(stderr, "wisp: cannot create a pipe for qemu: %s\n", strerror(errno));
		close_pipes(out, err);
		return 1;
	}
	pid = spawn(args, out, err, &exec_errno);
	qemu_pid = pid;
	close(out[1]);
	close(err[1]);
	out[1] = err[1] = -1;
	if (pid < 0 || exec_errno) {
		fprintf(stderr, "wisp: cannot run qemu: %s: %s\n", args[0],
			strerror(pid < 0 ? errno : exec_errno));
		close_pipes(out, err);
		if (pid > 0)
			wait_child(pid);
		return 1;
	}
	relay(out[0], err[0]);
	if ((status = wait_child(pid)) < 0)
		fprintf(stderr, "wisp: waiting for qemu: %s\n", strerror(errno));
	else
		rc = report(p, ctl, status);
	return rc;
}

int qemu_run(const struct qemu_params *p)
{
	struct tmpfiles t = { "", "" };
	const char *args[QEMU_MAX_ARGS];
	static char bufs[3][8400];
	int rc;

	if (make_tmp(t.initrd, sizeof(t.initrd), "initrd", p->initrd, p->initrd_len) < 0 ||
	    make_tmp(t.ctl, sizeof(t.ctl), "ctl", "", 0) < 0) {
		remove_tmp(&t);
		return 1;
	}
	build_args(p, &t, args, bufs);
	forwarded_signal = 0;
	set_forwarding(forward_signal);
	rc = run_child(p, args, t.ctl);
	qemu_pid = 0;
	set_forwarding(SIG_DFL);
	remove_tmp(&t);
	return rc;
}
