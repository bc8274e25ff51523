/* main.c: the wisp command: check everything on the host, then run, pack or build. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include <wisp/abi.h>

#include "boot.h"
#include "cli.h"
#include "cmdline.h"
#include "devices/hypercall.h"
#include "devices/virtio_blk.h"
#include "disk.h"
#include "image.h"
#include "imgcache.h"
#include "io.h"
#include "ioeventfd.h"
#include "kvm.h"
#include "qemu.h"
#include "vcpu.h"

#define WISP_VERSION "0.1.0"
#define KERNEL_NAME "wisp-kernel.elf"
#define PREPARE_OVERFLOW (-2)

struct job {
	struct cli_opts opts;
	struct image img;
	struct imgcache cache;    /* run PROGRAM: packed images of earlier runs */
	struct image_meta meta;   /* run --image: what the image stores */
	char **argv, **env;       /* run --image: the merged argv and env */
	size_t argc, nenv;
	const char *name;         /* the program as the user knows it, for messages */
	char *cmdline;
	char kernel_path[PATH_MAX + 32];
	void *kernel_elf;         /* mapped from kernel_path */
	size_t kernel_len;
	struct boot_kernel kernel;
	uint64_t mem;
	/* run --disk: the images, opened and checked before anything else, the
	 * devices serving them and what the kernel is told about them */
	struct disk disks[CLI_DISKS_MAX];
	struct virtio_blk blks[CLI_DISKS_MAX];
	struct virtio_mmio_dev *mmio[CLI_DISKS_MAX];
	struct ioeventfd kicks[CLI_DISKS_MAX];  /* each disk's QueueNotify */
	struct wisp_device devices[CLI_DISKS_MAX];
	unsigned ndisks;
};

static int write_file(const char *path, const void *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	const char *p = data;

	if (fd < 0)
		return -1;
	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int e = errno;

			close(fd);
			errno = e;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return close(fd);
}

static int pack(struct job *j)
{
	if (write_file(j->opts.output, j->img.cpio.buf, j->img.cpio.len) < 0) {
		fprintf(stderr, "wisp: cannot write initramfs: %s: %s\n", j->opts.output,
			strerror(errno));
		return 1;
	}
	printf("%s\n", j->cmdline);
	return fflush(stdout) == 0 ? 0 : 1;
}

/* out must hold PATH_MAX + sizeof(KERNEL_NAME) + 1 bytes. */
static int kernel_default_path(char *out, size_t len)
{
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	char *slash;

	if (n < 0)
		return -1;
	exe[n] = '\0';
	slash = strrchr(exe, '/');
	if (slash)
		*slash = '\0';
	snprintf(out, len, "%s/%s", exe, KERNEL_NAME);
	return 0;
}

static int load_kernel(struct job *j)
{
	char why[256];

	if (j->opts.kernel)
		snprintf(j->kernel_path, sizeof(j->kernel_path), "%s", j->opts.kernel);
	else if (kernel_default_path(j->kernel_path, sizeof(j->kernel_path)) < 0) {
		fprintf(stderr, "wisp: /proc/self/exe: %s (pass --kernel)\n", strerror(errno));
		return -1;
	}
	if (io_map_file(j->kernel_path, &j->kernel_elf, &j->kernel_len) < 0) {
		fprintf(stderr, "wisp: kernel %s: %s%s\n", j->kernel_path, strerror(errno),
			j->opts.kernel ? "" : " (build it with make, or pass --kernel)");
		return -1;
	}
	if (boot_kernel_parse(j->kernel_elf, j->kernel_len, &j->kernel, why, sizeof(why)) < 0) {
		fprintf(stderr, "wisp: %s: %s\n", j->kernel_path, why);
		return -1;
	}
	return 0;
}

/* Guest RAM is a whole number of 2 MiB pages so the host can back it with
 * huge pages and qemu gets a whole number of MiB. */
static uint64_t mem_size(const struct job *j)
{
	return (j->opts.mem + (2ull << 20) - 1) & ~((2ull << 20) - 1);
}

static int check_mem(struct job *j)
{
	/* Only wisp's own VMM passes the index. */
	size_t index_len = j->opts.backend == CLI_BACKEND_KVM ? j->img.index_len : 0;
	uint64_t need = boot_mem_needed(&j->kernel, j->img.cpio.len, index_len);

	j->mem = mem_size(j);
	if (j->mem < need) {
		fprintf(stderr, "wisp: --mem %s is too small: this program needs at least %llu MiB\n",
			j->opts.mem_str ? j->opts.mem_str : "128M",
			(unsigned long long)(need >> 20));
		return -1;
	}
	return 0;
}

static void fill_seed(uint8_t *seed, size_t len)
{
	struct timespec ts;

	if (getrandom(seed, len, 0) == (ssize_t)len)
		return;
	/* Not secret, but still differs between runs. */
	clock_gettime(CLOCK_REALTIME, &ts);
	for (size_t i = 0; i < len; i++)
		seed[i] = (uint8_t)((uint64_t)ts.tv_nsec >> (i % 8 * 8)) ^ (uint8_t)(getpid() + i);
}

static int boot_vm(struct job *j, struct vm *vm, struct vcpu *cpu)
{
	struct boot_params bp = {
		.kernel = &j->kernel, .initrd = j->img.cpio.buf, .initrd_len = j->img.cpio.len,
		.index = j->img.index, .index_len = j->img.index_len,
		.cmdline = j->cmdline, .tsc_khz = vcpu_tsc_khz(cpu),
		.flags = j->opts.trace ? WISP_BOOT_F_TRACE_SYSCALLS : 0,
		.devices = j->devices, .ndevices = j->ndisks,
	};
	struct boot_layout layout;
	char why[256];

	fill_seed(bp.seed, sizeof(bp.seed));
	if (boot_setup(&vm->mem, &bp, &layout, why, sizeof(why)) < 0) {
		fprintf(stderr, "wisp: %s: %s\n", j->kernel_path, why);
		return -1;
	}
	return vcpu_setup_pvh(cpu, layout.entry, layout.start_info);
}

static int build(struct job *j)
{
	struct image_meta m = {
		.prog = j->img.prog_path, .argv = j->opts.argv, .argc = (size_t)j->opts.argc,
		.env = j->opts.env, .nenv = j->opts.nenv,
	};
	char err[PATH_MAX + 256];

	if (image_save(j->opts.output, &j->img, &m, err, sizeof(err)) < 0) {
		fprintf(stderr, "wisp: %s\n", err);
		return 1;
	}
	return 0;
}

/* run --image: the stored env with this run's -e on top; the stored argv[0]
 * with this run's ARGS if there are any, else the stored ones. */
static int merge_image_args(struct job *j)
{
	const struct image_meta *m = &j->meta;
	size_t nargs = j->opts.argc ? (size_t)j->opts.argc : m->argc - 1, n = 0;

	j->argv = calloc(nargs + 2, sizeof(char *));
	j->env = calloc(m->nenv + j->opts.nenv_flags + 1, sizeof(char *));
	if (!j->argv || !j->env)
		return -1;
	j->argv[0] = m->argv[0];
	for (size_t i = 0; i < nargs; i++)
		j->argv[i + 1] = j->opts.argc ? j->opts.argv[i] : m->argv[i + 1];
	for (size_t i = 0; i < m->nenv; i++)
		j->env[n++] = m->env[i];
	for (size_t i = 0; i < j->opts.nenv_flags; i++) {
		const char *kv = j->opts.env_flags[i];
		size_t k = 0, len = (size_t)(strchr(kv, '=') - kv) + 1;

		while (k < n && strncmp(j->env[k], kv, len) != 0)
			k++;
		j->env[k] = (char *)kv;
		n += k == n;
	}
	j->nenv = n;
	j->argc = nargs + 1;
	return 0;
}

static int load_image(struct job *j, char *err, size_t errlen)
{
	if (image_load(j->opts.image, &j->img, &j->meta, err, errlen) < 0 ||
	    image_append(&j->img, &j->opts, err, errlen) < 0)
		return -1;
	if (merge_image_args(j) < 0) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	j->name = j->meta.argv[0];
	return 0;
}

/* Packs PROGRAM into img (image_init'd for buf, cap), or maps the archive
 * an earlier run cached for the same inputs. -1 with a reason in err, or
 * with img->cpio.overflow set if buf is too small. */
static int build_image(struct job *j, uint8_t *buf, size_t cap, char *err, size_t errlen)
{
	struct manifest inputs = { 0 };
	int rc;

	if (!j->cache.enabled)
		return image_build(&j->opts, &j->img, err, errlen);
	rc = imgcache_load(&j->cache, &j->img);
	if (rc != 0)
		return rc > 0 ? 0 : -1;
	image_free(&j->img);
	image_init(&j->img, buf, cap);
	j->img.inputs = &inputs;
	rc = image_build(&j->opts, &j->img, err, errlen);
	j->img.inputs = NULL;
	if (rc == 0 && image_index(&j->img) == 0)
		imgcache_store(&j->cache, &j->img, &inputs);
	manifest_free(&inputs);
	return rc;
}

/* Builds or loads the image into buf (cap bytes), or the heap if buf is
 * NULL, and the kernel command line. Returns -1 after a message, or
 * PREPARE_OVERFLOW, silently, if the image does not fit in buf. */
static int prepare(struct job *j, uint8_t *buf, size_t cap)
{
	struct cmdline_in ci;
	char err[PATH_MAX + 256];

	image_free(&j->img);
	image_meta_free(&j->meta);
	free(j->argv);
	free(j->env);
	free(j->cmdline);
	j->argv = j->env = NULL;
	j->cmdline = NULL;
	image_init(&j->img, buf, cap);
	if (j->opts.image ? load_image(j, err, sizeof(err)) < 0
			  : build_image(j, buf, cap, err, sizeof(err)) < 0) {
		if (j->img.cpio.overflow)
			return PREPARE_OVERFLOW;
		fprintf(stderr, "wisp: %s\n", err);
		return -1;
	}
	if (j->opts.image)
		ci = (struct cmdline_in){
			.env = j->env, .nenv = j->nenv, .trace = j->opts.trace,
			.prog = j->img.prog_path, .argv = j->argv, .argc = j->argc,
		};
	else
		ci = (struct cmdline_in){
			.env = j->opts.env, .nenv = j->opts.nenv, .trace = j->opts.trace,
			.prog = j->img.prog_path, .argv = j->opts.argv, .argc = (size_t)j->opts.argc,
		};
	if (j->opts.backend == CLI_BACKEND_QEMU) {
		ci.disks = j->disks;
		ci.ndisks = j->ndisks;
	}
	j->cmdline = cmdline_build(&ci, err, sizeof(err));
	if (!j->cmdline) {
		fprintf(stderr, "wisp: %s\n", err);
		return -1;
	}
	return 0;
}

static int open_disks(struct job *j)
{
	char err[PATH_MAX + 256];

	for (size_t i = 0; i < j->opts.ndisks; i++)
		if (strlen(j->opts.disks[i].mount) >= WISP_DEVICE_MOUNT_MAX) {
			fprintf(stderr, "wisp: --disk %s: the MOUNT path is too long (at most %d "
				"bytes)\n", j->opts.disks[i].spec, WISP_DEVICE_MOUNT_MAX - 1);
			return -1;
		}
	if (disk_open_all(j->disks, &j->opts, err, sizeof(err)) < 0) {
		fprintf(stderr, "wisp: %s\n", err);
		return -1;
	}
	j->ndisks = (unsigned)j->opts.ndisks;
	return 0;
}

static void close_disks(struct job *j)
{
	for (unsigned i = 0; i < j->ndisks; i++)
		disk_close(&j->disks[i]);
	j->ndisks = 0;
}

/* Disk i is virtio-mmio device i. Its requests are served by a thread of
 * its own, woken through an ioeventfd, so that the vCPU does not wait in
 * wisp-vmm for the host's I/O; where KVM has no ioeventfds, the vCPU loop
 * serves them as MMIO exits. */
static void attach_disks(struct job *j, struct vm *vm, struct hc_ctx *hc)
{
	for (unsigned i = 0; i < j->ndisks; i++) {
		struct wisp_device *d = &j->devices[i];

		virtio_blk_init(&j->blks[i], &j->disks[i], &vm->mem);
		j->mmio[i] = &j->blks[i].mmio;
		memset(d, 0, sizeof(*d));
		d->mmio_base = WISP_VIRTIO_MMIO_BASE + i * WISP_VIRTIO_MMIO_STRIDE;
		ioeventfd_start(&j->kicks[i], vm->vm_fd, d->mmio_base + VIRTIO_MMIO_QUEUE_NOTIFY, 4,
				virtio_mmio_kick, j->mmio[i]);
		d->virtio_id = VIRTIO_ID_BLOCK;
		d->flags = j->disks[i].read_only ? WISP_DEVICE_F_READ_ONLY : 0;
		snprintf(d->mount, sizeof(d->mount), "%s", j->disks[i].mount);
	}
	hc->mmio = j->mmio;
	hc->nmmio = j->ndisks;
}

static void detach_disks(struct job *j, struct vm *vm)
{
	for (unsigned i = 0; i < j->ndisks; i++) {
		ioeventfd_stop(&j->kicks[i], vm->vm_fd);
		virtio_blk_destroy(&j->blks[i]);
	}
}

static int run_vm(struct job *j, struct kvm_mem *ram)
{
	struct hc_ctx hc = { .program = j->name, .out_fd = 1, .err_fd = 2, .in_fd = 0 };
	struct vm vm;
	struct vcpu cpu;
	int rc = 1;

	if (kvm_vm_create(&vm, ram) < 0)
		return 1;
	attach_disks(j, &vm, &hc);
	if (vcpu_create(&vm, 0, &cpu) == 0) {
		struct vtimer timer;

		hc.mem = &vm.mem;
		if (vtimer_init(&timer, cpu.run, vm.lapic_in_kernel ? cpu.fd : -1) == 0) {
			hc.timer = &timer;
			if (boot_vm(j, &vm, &cpu) == 0)
				rc = vcpu_run(&cpu, &hc);
			vtimer_destroy(&timer);
		}
		vcpu_destroy(&cpu);
	}
	detach_disks(j, &vm);
	kvm_vm_destroy(&vm);
	return rc;
}

static int index_image(struct job *j)
{
	if (image_index(&j->img) == 0)
		return 0;
	fprintf(stderr, "wisp: out of memory indexing the guest image\n");
	return -1;
}

/* The image is built straight into guest RAM at the initramfs address, so
 * that it is never copied; only when it does not fit is it built again on
 * the heap, for check_mem to say how much memory it needs. */
static int run_kvm(struct job *j)
{
	struct kvm_mem ram;
	uint64_t at = boot_initrd_addr(&j->kernel), room;
	int rc;

	if (kvm_ram_map(&ram, mem_size(j)) < 0)
		return 1;
	room = ram.size > at + BOOT_HEADROOM ? ram.size - at - BOOT_HEADROOM : 0;
	rc = prepare(j, ram.base + at, room);
	if (rc == PREPARE_OVERFLOW)
		rc = prepare(j, NULL, 0);
	if (rc < 0 || index_image(j) < 0 || check_mem(j) < 0) {
		kvm_ram_unmap(&ram);
		return 1;
	}
	return run_vm(j, &ram);
}

static int run(struct job *j)
{
	struct qemu_params qp;

	if (open_disks(j) < 0 || load_kernel(j) < 0)
		return 1;
	if (!j->opts.image)
		imgcache_open(&j->cache, &j->opts);
	if (j->opts.backend == CLI_BACKEND_KVM)
		return run_kvm(j);
	if (prepare(j, NULL, 0) < 0 || check_mem(j) < 0)
		return 1;
	qp = (struct qemu_params){
		.kernel = j->kernel_path, .initrd = j->img.cpio.buf, .initrd_len = j->img.cpio.len,
		.cmdline = j->cmdline, .mem = j->mem, .program = j->name,
		.disks = j->disks, .ndisks = j->ndisks,
	};
	return qemu_run(&qp);
}

static int dispatch(struct job *j, int argc, char **argv)
{
	char err[512];
	int rc = cli_parse(argc, argv, &j->opts, err, sizeof(err));

	if (rc) {
		if (argc < 2)
			fputs(cli_usage(), stderr);
		fprintf(stderr, "wisp: %s\n", err);
		return rc;
	}
	if (j->opts.cmd == CLI_HELP) {
		fputs(cli_usage(), stdout);
		return 0;
	}
	if (j->opts.cmd == CLI_VERSION) {
		printf("wisp %s (guest ABI %d)\n", WISP_VERSION, WISP_ABI_VERSION);
		return 0;
	}
	j->name = j->opts.program;
	if (j->opts.cmd == CLI_RUN)
		return run(j);
	if (prepare(j, NULL, 0) < 0)
		return 1;
	return j->opts.cmd == CLI_BUILD ? build(j) : pack(j);
}

int main(int argc, char **argv)
{
	static struct job j;
	int rc;

	/* A closed host pipe must turn into EPIPE for the guest, not kill wisp. */
	signal(SIGPIPE, SIG_IGN);
	rc = dispatch(&j, argc, argv);
	close_disks(&j);
	free(j.cmdline);
	if (j.kernel_elf)
		munmap(j.kernel_elf, j.kernel_len);
	image_free(&j.img);
	image_meta_free(&j.meta);
	imgcache_close(&j.cache);
	free(j.argv);
	free(j.env);
	cli_free(&j.opts);
	return rc;
}
