/* main.c: kernel start-up after the switch to native execution: memory,
 * clock, filesystem, then the program. */
#include "kernel.h"
#include "arch/x86_64/cpu.h"
#include "arch/x86_64/trap.h"
#include "cmdline.h"
#include "clock.h"
#include "exec.h"
#include "fs/vfs.h"
#include "lib/string.h"
#include "mm/page.h"
#include "mm/pageref.h"
#include "platform.h"
#include "random.h"
#include "sched/proc.h"
#include "sched/sched.h"
#include "syscalls/syscall.h"
#include <wisp/abi.h>

#define MAX_RESERVED 8
#define DIRECT_MAP_LIMIT (4UL << 30)

extern char __kernel_end[];

struct range {
	uint64_t start, end;
};

static bool kernel_started;

/* Adds [start, end) to the page allocator minus the reserved ranges. */
static void add_ram(uint64_t start, uint64_t end, const struct range *res, int nres)
{
	for (int i = 0; i < nres && start < end; i++) {
		if (res[i].end <= start || res[i].start >= end)
			continue;
		add_ram(start, res[i].start, res + i + 1, nres - i - 1);
		start = res[i].end;
	}
	if (start < end)
		page_add_range(start, end);
}

static void mm_init(const struct hvm_start_info *si)
{
	const struct hvm_memmap_table_entry *map = phys_to_virt(si->memmap_paddr);
	const struct hvm_modlist_entry *mods = phys_to_virt(si->modlist_paddr);
	struct range res[MAX_RESERVED];
	int nres = 0;

	/* Low memory holds the boot structures; then the kernel image. */
	res[nres++] = (struct range){ 0, virt_to_phys(__kernel_end) };
	res[nres++] = (struct range){ si->cmdline_paddr, si->cmdline_paddr + WISP_CMDLINE_MAX };
	for (uint32_t i = 0; i < si->nr_modules && nres < MAX_RESERVED; i++)
		res[nres++] = (struct range){ mods[i].paddr, mods[i].paddr + mods[i].size };
	for (uint32_t i = 0; i < si->memmap_entries; i++) {
		if (map[i].type != HVM_MEMMAP_TYPE_RAM || map[i].addr >= DIRECT_MAP_LIMIT)
			continue;
		add_ram(map[i].addr, MIN(map[i].addr + map[i].size, DIRECT_MAP_LIMIT), res, nres);
	}
}

/* Module 0 is the archive; wisp-vmm adds its index as module 2. */
static void unpack_initramfs(const struct hvm_start_info *si)
{
	const struct hvm_modlist_entry *mods = phys_to_virt(si->modlist_paddr);
	bool indexed = si->nr_modules > 2;
	int err;

	if (!si->nr_modules)
		panic("no initramfs: nothing to run");
	page_ref_pin(mods[0].paddr, mods[0].paddr + mods[0].size);
	err = cpio_unpack(phys_to_virt(mods[0].paddr), mods[0].size,
			  indexed ? phys_to_virt(mods[2].paddr) : NULL, indexed ? mods[2].size : 0);
	if (err)
		panic("initramfs is not a valid cpio newc archive%s (%d)",
		      indexed ? ", or wisp-vmm's index of it is wrong" : "", err);
}

static const char *exec_error(int err)
{
	switch (err) {
	case -ENOENT: return "no such file in the guest image";
	case -ELIBACC: return "its dynamic loader (PT_INTERP) is not in the guest image";
	case -ELIBBAD: return "its dynamic loader (PT_INTERP) is not a valid ELF loader";
	case -ENOEXEC: return "not an x86-64 ELF executable";
	case -ENOMEM: return "not enough guest memory (try a larger --mem)";
	default: return "cannot execute";
	}
}

static _Noreturn void start_program(const struct boot_args *args)
{
	struct proc *p;
	struct task *t;
	int err;

	p = proc_create(NULL);
	t = p ? task_create(p, NULL) : NULL;
	if (!t)
		panic("out of memory");
	p->files = fdtable_create_console();
	p->cwd = vfs_root();
	inode_get(p->cwd);
	sched_set_first(t);
	err = exec_load(t, args->prog, args->argv, args->envp);
	if (err) {
		kprintf("%s: %s\n", args->prog, exec_error(err));
		proc_exit(err == -ENOENT ? 127 : 126);
	}
	sched_start();
}

/* Where host and VMM allow it, the timer fires as an NMI, which a
 * PVM-style host delivers without an exit to the VMM (~10 us a tick less
 * than one the VMM injects). */
static void timer_nmi_init(void)
{
	int err;

	if (!cpu->timer_nmi || !platform->timer_nmi)
		return;
	err = platform->timer_nmi();
	if (!err)
		platform_timer_nmi = true;
	else if (err != -ENODEV)
		kprintf("timer NMIs refused (%d): ticks come as interrupts\n", err);
}

/* The first kernel entry from ring 3 (see arch_enter_native). */
static _Noreturn void kernel_main(void)
{
	const struct hvm_start_info *si = phys_to_virt(boot_start_info_pa);
	struct boot_args args;

	kernel_started = true;
	arch_init_native();
	if (si->magic != HVM_START_MAGIC)
		panic("not started through the PVH boot protocol");
	platform_init(si);
	timer_nmi_init();
	mm_init(si);
	clock_init();
	random_init();
	syscall_init();
	vfs_init();
	if (cmdline_parse(si->cmdline_paddr ? phys_to_virt(si->cmdline_paddr) : "", &args))
		panic("no program given on the command line (expected '-- PROGRAM ARGS')");
	platform_trace_syscalls |= args.trace;
	unpack_initramfs(si);
	blockdev_init(args.disks, args.ndisks);
	ext2_mount_all();
	start_program(&args);
}

void syscall_entry_c(struct trapframe *tf)
{
	if (__builtin_expect(!kernel_started, 0))
		kernel_main();
	syscall_dispatch(tf);
	proc_before_user();
}
