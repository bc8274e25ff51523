/* procfs.c: /proc and the little of /sys programs read: files generated at
 * open time, computed symlinks, and directories (/proc, /proc/PID/fd) kept
 * in step with the processes and their fds by the tmpfs refresh hook. */
#include <linux/elf.h>
#include <linux/fcntl.h>
#include <linux/limits.h>
#include <linux/stat.h>
#include "arch/x86_64/cpu.h"
#include "arch/x86_64/x86.h"
#include "clock.h"
#include "fs/vfs.h"
#include "lib/string.h"
#include "mm/kmalloc.h"
#include "mm/page.h"
#include "mm/vm.h"
#include "platform.h"
#include "random.h"
#include "sched/proc.h"
#include "sched/sched.h"
#include "syscalls/signal.h"
#include "version.h"

#define NS_PER_S 1000000000ULL
#define USER_HZ 100
/* inode->priv of a procfs node: the pid it shows (0: none) and an index
 * into entries[] or, for /proc/PID/fd/N, the fd. */
#define NODE(pid, n) ((void *)(((uintptr_t)(pid) << 16) | (n)))
#define NODE_PID(in) ((int)((uintptr_t)(in)->priv >> 16))
#define NODE_N(in) ((int)((uintptr_t)(in)->priv & 0xffff))

/* ------------------------------------------------------ generated text */

/* A file's contents, made at open and read with pread semantics. */
struct procbuf {
	char *data;
	size_t len, cap;
};

static bool buf_grow(struct procbuf *b, size_t need)
{
	size_t cap = MAX(b->cap * 2, b->len + need + 256);
	char *p;

	if (b->cap - b->len > need)
		return true;
	if (!(p = krealloc(b->data, cap)))
		return false;
	b->data = p;
	b->cap = cap;
	return true;
}

static void buf_put(struct procbuf *b, const void *p, size_t n)
{
	if (buf_grow(b, n)) {
		memcpy(b->data + b->len, p, n);
		b->len += n;
	}
}

static __attribute__((format(printf, 2, 3))) void buf_printf(struct procbuf *b,
							     const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (!buf_grow(b, n + 1))
		return;
	va_start(ap, fmt);
	vsnprintf(b->data + b->len, n + 1, fmt, ap);
	va_end(ap);
	b->len += n;
}

/* --------------------------------------------------------- processes */

/* Calls fn on p and every descendant: orphans go to process 1, so the
 * tree from there holds every process. */
static void for_each_proc(struct proc *p, void (*fn)(struct proc *p, void *arg), void *arg)
{
	for (; p; p = p->sibling) {
		fn(p, arg);
		for_each_proc(p->children, fn, arg);
	}
}

static void count_one(struct proc *p, void *arg)
{
	(void)p;
	++*(int *)arg;
}

static int proc_count(void)
{
	int n = 0;

	for_each_proc(proc_find(1), count_one, &n);
	return n;
}


static struct task *main_thread(const struct proc *p);

/* A thread's name; a zombie, which has none left, is named by its program. */
static void comm_of(const struct proc *p, const struct task *t, char out[16])
{
	const char *exe = p->exe_path ? p->exe_path : "", *base = strrchr(exe, '/');

	if (!t)
		t = main_thread(p);
	strlcpy(out, t ? t->comm : base ? base + 1 : exe, 16);
}

/* The thread whose tid is the pid, or another if it has ended. */
static struct task *main_thread(const struct proc *p)
{
	for (struct task *t = p->threads; t; t = t->proc_next)
		if (t->tid == p->pid)
			return t;
	return p->threads;
}

/* One thread's state (t), or the process's (t NULL). */
static char state_of_task(const struct proc *p, const struct task *t)
{
	if (p->zombie)
		return 'Z';
	return t && t->state == TASK_SLEEPING ? 'S' : 'R';
}

static char state_of(const struct proc *p)
{
	if (p->zombie)
		return 'Z';
	for (struct task *t = p->threads; t; t = t->proc_next)
		if (t->state != TASK_SLEEPING)
			return 'R';
	return 'S';
}

static int thread_count(const struct proc *p)
{
	int n = 0;

	for (struct task *t = p->threads; t; t = t->proc_next)
		n++;
	return n;
}

/* Present pages among those that table (at level, mapping from base)
 * covers in [start, end); absent tables are skipped whole. */
static uint64_t count_present(const pte_t *table, int level, uint64_t base,
			      uint64_t start, uint64_t end)
{
	uint64_t span = PAGE_SIZE << (9 * level), n = 0;

	for (int i = 0; i < 512; i++) {
		uint64_t lo = base + i * span;

		if (lo >= end || lo + span <= start || !(table[i] & PTE_P))
			continue;
		n += level ? count_present(phys_to_virt(table[i] & PTE_ADDR_MASK), level - 1, lo,
					   start, end) : 1;
	}
	return n;
}

struct mem_sizes {
	uint64_t total, data, stack, rss;  /* bytes */
};

static struct mem_sizes mem_sizes(const struct proc *p)
{
	struct mem_sizes s = { 0 };

	if (!p->mm)
		return s;
	for (const struct vma *v = p->mm->vmas; v; v = v->next) {
		s.total += v->end - v->start;
		if (v->end == USER_STACK_TOP)
			s.stack += v->end - v->start;
		else if (v->prot & VM_WRITE)
			s.data += v->end - v->start;
	}
	s.rss = count_present(p->mm->root, 3, 0, 0, USER_SPACE_END) * PAGE_SIZE;
	return s;
}

/* Signal sets as status shows them: ignored and caught by disposition. */
static void signal_sets(const struct proc *p, uint64_t *ign, uint64_t *cgt)
{
	*ign = *cgt = 0;
	for (int i = 0; p->sigactions && i < NSIG_K; i++) {
		if (p->sigactions[i].handler == 1)
			*ign |= 1ULL << i;
		else if (p->sigactions[i].handler > 1)
			*cgt |= 1ULL << i;
	}
}

/* Copies [start, end) of p's memory straight from its page tables (p may
 * not be the caller); stops at a page that is not there. */
static void show_user_range(struct procbuf *b, const struct proc *p, uint64_t start,
			    uint64_t end)
{
	while (p->mm && start < end) {
		uint64_t n = MIN(end - start, PAGE_SIZE - (start & (PAGE_SIZE - 1)));
		pte_t *e = paging_walk(p->mm->root, start, false);

		if (!e || !(*e & PTE_P))
			return;
		buf_put(b, (char *)phys_to_virt(*e & PTE_ADDR_MASK) + (start & (PAGE_SIZE - 1)), n);
		start += n;
	}
}

/* -------------------------------------------------- /proc/PID/ files */

static void show_cmdline(struct procbuf *b, struct proc *p)
{
	if (p->mm)
		show_user_range(b, p, p->mm->arg_start, p->mm->arg_end);
}

static void show_environ(struct procbuf *b, struct proc *p)
{
	if (p->mm)
		show_user_range(b, p, p->mm->env_start, p->mm->env_end);
}

static void show_comm(struct procbuf *b, struct proc *p)
{
	char comm[16];

	comm_of(p, NULL, comm);
	buf_printf(b, "%s\n", comm);
}

/* The program's own ELF image, to name its mappings: VMAs record no file,
 * but exec put the image's PT_LOAD segments at a known load bias. */
struct exe_image {
	const char *path;
	struct inode *in;
	const Elf64_Ehdr *eh;  /* the file's bytes, from fdata_flat */
	uint64_t bias;
};

static bool exe_image(const struct proc *p, struct exe_image *x)
{
	struct inode *in;
	const Elf64_Ehdr *eh;
	int err;

	if (!p->exe_path || vfs_lookup(p->exe_path, &in) || !S_ISREG(in->mode) ||
	    in->size < sizeof(*eh) || !(eh = (const void *)fdata_flat(in, &err)))
		return false;
	if (memcmp(eh->e_ident, ELFMAG, SELFMAG) || eh->e_phentsize != sizeof(Elf64_Phdr) ||
	    eh->e_phoff > in->size || eh->e_phnum > (in->size - eh->e_phoff) / sizeof(Elf64_Phdr)) {
		fdata_unflat(in, (const char *)eh);
		return false;
	}
	*x = (struct exe_image){ p->exe_path, in, eh, eh->e_type == ET_DYN ? USER_PIE_BASE : 0 };
	return true;
}

/* The file offset of the image page at addr if a PT_LOAD segment maps it. */
static bool exe_offset(const struct exe_image *x, uint64_t addr, uint64_t *off)
{
	const Elf64_Phdr *ph = (const void *)((const char *)x->eh + x->eh->e_phoff);

	for (int i = 0; i < x->eh->e_phnum; i++, ph++) {
		uint64_t lo = ALIGN_DOWN(x->bias + ph->p_vaddr, PAGE_SIZE);
		uint64_t hi = ALIGN_UP(x->bias + ph->p_vaddr + ph->p_memsz, PAGE_SIZE);

		if (ph->p_type == PT_LOAD && addr >= lo && addr < hi) {
			*off = ALIGN_DOWN(ph->p_offset, PAGE_SIZE) + (addr - lo);
			return true;
		}
	}
	return false;
}

static const char *vma_name(const struct mm *mm, const struct vma *v)
{
	if (v->prot & VM_KERNEL)
		return v->prot & VM_EXEC ? "[vdso]" : "[vvar]";
	if (v->end == USER_STACK_TOP)
		return "[stack]";
	if (v->start >= mm->brk_start && v->end <= ALIGN_UP(mm->brk, PAGE_SIZE) &&
	    mm->brk > mm->brk_start)
		return "[heap]";
	return "";
}

/* As Linux: the fields and a space, then a name from column 73 on (or after
 * one more space). */
static void show_maps(struct procbuf *b, struct proc *p)
{
	struct exe_image x = { 0 };
	bool have_exe = p->mm && exe_image(p, &x);

	for (const struct vma *v = p->mm ? p->mm->vmas : NULL; v; v = v->next) {
		const char *name = vma_name(p->mm, v);
		uint64_t off = 0, ino = 0;
		unsigned dev = 0;
		int n;

		if (!name[0] && have_exe && exe_offset(&x, v->start, &off)) {
			name = x.path;
			ino = x.in->ino;
			dev = inode_dev(x.in);
		}
		n = snprintf(NULL, 0, "%08lx-%08lx ---p %08lx 00:00 %lu", v->start, v->end,
			     off, ino);
		buf_printf(b, "%08lx-%08lx %c%c%cp %08lx %02x:%02x %lu %*s%s\n", v->start, v->end,
			   v->prot & VM_READ ? 'r' : '-', v->prot & VM_WRITE ? 'w' : '-',
			   v->prot & VM_EXEC ? 'x' : '-', off, dev >> 8, dev & 0xff, ino,
			   name[0] ? MAX(72 - n, 1) : 0, "", name);
	}
	if (have_exe)
		fdata_unflat(x.in, (const char *)x.eh);
}

/* /proc/PID/stat, or with a thread (t) /proc/PID/task/TID/stat. */
static void stat_of(struct procbuf *b, struct proc *p, struct task *thread)
{
	struct mem_sizes m = mem_sizes(p);
	struct task *t = thread ? thread : main_thread(p);
	struct mm *mm = p->mm;
	uint64_t ign, cgt;
	char comm[16];

	comm_of(p, thread, comm);
	signal_sets(p, &ign, &cgt);
	/* No CPU accounting or start times are kept: those fields are 0. */
	buf_printf(b, "%d (%s) %c %d %d %d 0 -1 4194304 0 0 0 0 0 0 0 0 20 0 %d 0 0 %lu %lu "
		   "18446744073709551615 0 0 %lu 0 0 %lu %lu %lu %lu 0 0 0 17 0 0 0 0 0 0 "
		   "0 0 %lu %lu %lu %lu %lu %d\n",
		   thread ? thread->tid : p->pid, comm,
		   thread ? state_of_task(p, thread) : state_of(p), p->ppid, p->pgid, p->sid, thread_count(p),
		   m.total, m.rss / PAGE_SIZE, USER_STACK_TOP, p->sigpending,
		   t ? t->sigmask : 0, ign, cgt, mm ? mm->brk_start : 0,
		   mm ? mm->arg_start : 0, mm ? mm->arg_end : 0, mm ? mm->env_start : 0,
		   mm ? mm->env_end : 0, p->zombie ? p->wait_status : 0);
}

static void show_pid_stat(struct procbuf *b, struct proc *p)
{
	stat_of(b, p, NULL);
}

static void show_task_stat(struct procbuf *b, struct proc *p, struct task *t)
{
	stat_of(b, p, t);
}

/* /proc/PID/status, or with a thread (t) /proc/PID/task/TID/status. */
static void status_of(struct procbuf *b, struct proc *p, struct task *thread)
{
	static const char *const names[] = { ['R'] = "running", ['S'] = "sleeping",
					     ['Z'] = "zombie" };
	struct mem_sizes m = mem_sizes(p);
	struct task *t = thread ? thread : main_thread(p);
	char comm[16], st = thread ? state_of_task(p, thread) : state_of(p);
	uint64_t ign, cgt;

	comm_of(p, thread, comm);
	signal_sets(p, &ign, &cgt);
	buf_printf(b, "Name:\t%s\nUmask:\t%04o\nState:\t%c (%s)\nTgid:\t%d\nNgid:\t0\n"
		   "Pid:\t%d\nPPid:\t%d\nTracerPid:\t0\nUid:\t0\t0\t0\t0\nGid:\t0\t0\t0\t0\n"
		   "FDSize:\t%d\nGroups:\t\n", comm, p->umask, st, names[(int)st], p->pid,
		   thread ? thread->tid : p->pid, p->ppid, FD_MAX);
	buf_printf(b, "VmPeak:\t%8lu kB\nVmSize:\t%8lu kB\nVmLck:\t       0 kB\n"
		   "VmHWM:\t%8lu kB\nVmRSS:\t%8lu kB\nVmData:\t%8lu kB\nVmStk:\t%8lu kB\n",
		   m.total >> 10, m.total >> 10, m.rss >> 10, m.rss >> 10, m.data >> 10,
		   m.stack >> 10);
	buf_printf(b, "Threads:\t%d\nSigQ:\t0/4096\nSigPnd:\t%016lx\nShdPnd:\t%016lx\n"
		   "SigBlk:\t%016lx\nSigIgn:\t%016lx\nSigCgt:\t%016lx\n",
		   thread_count(p), t ? t->sigpending : 0, p->sigpending, t ? t->sigmask : 0,
		   ign, cgt);
	buf_printf(b, "CapInh:\t0000000000000000\nCapPrm:\t000001ffffffffff\n"
		   "CapEff:\t000001ffffffffff\nCapBnd:\t000001ffffffffff\n"
		   "CapAmb:\t0000000000000000\nNoNewPrivs:\t0\nSeccomp:\t0\n"
		   "Cpus_allowed:\t1\nCpus_allowed_list:\t0\nMems_allowed:\t1\n"
		   "Mems_allowed_list:\t0\nvoluntary_ctxt_switches:\t0\n"
		   "nonvoluntary_ctxt_switches:\t0\n");
}

static void show_status(struct procbuf *b, struct proc *p)
{
	status_of(b, p, NULL);
}

static void show_task_status(struct procbuf *b, struct proc *p, struct task *t)
{
	status_of(b, p, t);
}

/* ------------------------------------------------------ global files */

/* A feature flag of /proc/cpuinfo: CPUID leaf, register, bit. */
struct cpu_flag {
	uint32_t leaf;
	uint8_t reg, bit;  /* reg: 1 ebx, 2 ecx, 3 edx */
	const char *name;
};

#define EBX 1
#define ECX 2
#define EDX 3

static const struct cpu_flag cpu_flags[] = {
	{ 1, EDX, 0, "fpu" }, { 1, EDX, 1, "vme" }, { 1, EDX, 2, "de" }, { 1, EDX, 3, "pse" },
	{ 1, EDX, 4, "tsc" }, { 1, EDX, 5, "msr" }, { 1, EDX, 6, "pae" }, { 1, EDX, 7, "mce" },
	{ 1, EDX, 8, "cx8" }, { 1, EDX, 9, "apic" }, { 1, EDX, 11, "sep" },
	{ 1, EDX, 12, "mtrr" }, { 1, EDX, 13, "pge" }, { 1, EDX, 14, "mca" },
	{ 1, EDX, 15, "cmov" }, { 1, EDX, 16, "pat" }, { 1, EDX, 17, "pse36" },
	{ 1, EDX, 19, "clflush" }, { 1, EDX, 23, "mmx" }, { 1, EDX, 24, "fxsr" },
	{ 1, EDX, 25, "sse" }, { 1, EDX, 26, "sse2" }, { 1, EDX, 27, "ss" },
	{ 1, EDX, 28, "ht" }, { 0x80000001, EDX, 11, "syscall" },
	{ 0x80000001, EDX, 20, "nx" }, { 0x80000001, EDX, 26, "pdpe1gb" },
	{ 0x80000001, EDX, 27, "rdtscp" }, { 0x80000001, EDX, 29, "lm" },
	{ 1, ECX, 0, "pni" }, { 1, ECX, 1, "pclmulqdq" }, { 1, ECX, 3, "monitor" },
	{ 1, ECX, 5, "vmx" }, { 1, ECX, 9, "ssse3" }, { 1, ECX, 12, "fma" },
	{ 1, ECX, 13, "cx16" }, { 1, ECX, 17, "pcid" }, { 1, ECX, 19, "sse4_1" },
	{ 1, ECX, 20, "sse4_2" }, { 1, ECX, 21, "x2apic" }, { 1, ECX, 22, "movbe" },
	{ 1, ECX, 23, "popcnt" }, { 1, ECX, 24, "tsc_deadline_timer" }, { 1, ECX, 25, "aes" },
	{ 1, ECX, 26, "xsave" }, { 1, ECX, 28, "avx" }, { 1, ECX, 29, "f16c" },
	{ 1, ECX, 30, "rdrand" }, { 1, ECX, 31, "hypervisor" },
	{ 0x80000001, ECX, 0, "lahf_lm" }, { 0x80000001, ECX, 2, "svm" },
	{ 0x80000001, ECX, 5, "abm" }, { 0x80000001, ECX, 6, "sse4a" },
	{ 0x80000001, ECX, 8, "3dnowprefetch" }, { 7, EBX, 0, "fsgsbase" },
	{ 7, EBX, 3, "bmi1" }, { 7, EBX, 4, "hle" }, { 7, EBX, 5, "avx2" },
	{ 7, EBX, 7, "smep" }, { 7, EBX, 8, "bmi2" }, { 7, EBX, 9, "erms" },
	{ 7, EBX, 10, "invpcid" }, { 7, EBX, 11, "rtm" }, { 7, EBX, 16, "avx512f" },
	{ 7, EBX, 17, "avx512dq" }, { 7, EBX, 18, "rdseed" }, { 7, EBX, 19, "adx" },
	{ 7, EBX, 20, "smap" }, { 7, EBX, 21, "avx512ifma" }, { 7, EBX, 23, "clflushopt" },
	{ 7, EBX, 24, "clwb" }, { 7, EBX, 28, "avx512cd" }, { 7, EBX, 29, "sha_ni" },
	{ 7, EBX, 30, "avx512bw" }, { 7, EBX, 31, "avx512vl" }, { 7, ECX, 1, "avx512vbmi" },
	{ 7, ECX, 2, "umip" }, { 7, ECX, 3, "pku" }, { 7, ECX, 6, "avx512_vbmi2" },
	{ 7, ECX, 8, "gfni" }, { 7, ECX, 9, "vaes" }, { 7, ECX, 10, "vpclmulqdq" },
	{ 7, ECX, 11, "avx512_vnni" }, { 7, ECX, 12, "avx512_bitalg" },
	{ 7, ECX, 14, "avx512_vpopcntdq" }, { 7, ECX, 22, "rdpid" },
};

static void show_cpu_flags(struct procbuf *b)
{
	uint32_t r[4], leaf = UINT32_MAX, max, ext_max;

	cpuid(0, 0, r);
	max = r[0];
	cpuid(0x80000000, 0, r);
	ext_max = r[0];
	buf_printf(b, "flags\t\t:");
	for (size_t i = 0; i < ARRAY_SIZE(cpu_flags); i++) {
		const struct cpu_flag *f = &cpu_flags[i];

		if (f->leaf > (f->leaf >= 0x80000000 ? ext_max : max))
			continue;
		if (f->leaf != leaf)
			cpuid(leaf = f->leaf, 0, r);
		if (r[f->reg] & (1U << f->bit))
			buf_printf(b, " %s", f->name);
	}
	buf_printf(b, "\n");
}

static void show_cpuinfo(struct procbuf *b, struct proc *p)
{
	uint32_t r[4], brand[12] = { 0 }, family, model, max_leaf;
	char vendor[13];

	(void)p;
	cpuid(0, 0, r);
	max_leaf = r[0];
	memcpy(vendor, &r[1], 4);
	memcpy(vendor + 4, &r[3], 4);
	memcpy(vendor + 8, &r[2], 4);
	vendor[12] = '\0';
	cpuid(0x80000000, 0, r);
	for (uint32_t i = 0; r[0] >= 0x80000004 && i < 3; i++)
		cpuid(0x80000002 + i, 0, brand + 4 * i);
	cpuid(1, 0, r);
	family = (r[0] >> 8) & 0xf;
	model = (r[0] >> 4) & 0xf;
	if (family == 0xf)
		family += (r[0] >> 20) & 0xff;
	if (family >= 6)
		model |= ((r[0] >> 16) & 0xf) << 4;
	buf_printf(b, "processor\t: 0\nvendor_id\t: %s\ncpu family\t: %u\nmodel\t\t: %u\n"
		   "model name\t: %.48s\nstepping\t: %u\ncpu MHz\t\t: %lu.%03lu\n"
		   "cache size\t: 0 KB\nphysical id\t: 0\nsiblings\t: 1\ncore id\t\t: 0\n"
		   "cpu cores\t: 1\napicid\t\t: 0\nfpu\t\t: yes\nfpu_exception\t: yes\n"
		   "cpuid level\t: %u\nwp\t\t: yes\n",
		   vendor, family, model, (const char *)brand, r[0] & 0xf,
		   platform_tsc_khz / 1000, platform_tsc_khz % 1000, max_leaf);
	show_cpu_flags(b);
	buf_printf(b, "bogomips\t: %lu.%02lu\nclflush size\t: 64\ncache_alignment\t: 64\n"
		   "address sizes\t: 48 bits physical, 48 bits virtual\npower management:\n\n",
		   platform_tsc_khz / 500, platform_tsc_khz / 5 % 100);
}

static void show_meminfo(struct procbuf *b, struct proc *p)
{
	uint64_t total = page_total_count() * (PAGE_SIZE / 1024);
	uint64_t free = page_free_count() * (PAGE_SIZE / 1024);
	uint64_t cached = fdata_disk_pages() * (PAGE_SIZE / 1024);
	uint64_t dirty = MIN(ext2_dirty_bytes() / 1024, cached);

	(void)p;
	/* Clean pages of files on disks are dropped when memory runs out. */
	buf_printf(b, "MemTotal:       %8lu kB\nMemFree:        %8lu kB\n"
		   "MemAvailable:   %8lu kB\nBuffers:               0 kB\n"
		   "Cached:         %8lu kB\nSwapCached:            0 kB\n"
		   "Active:         %8lu kB\nInactive:              0 kB\n"
		   "SwapTotal:             0 kB\nSwapFree:              0 kB\n"
		   "Dirty:          %8lu kB\nShmem:                 0 kB\n"
		   "CommitLimit:    %8lu kB\nCommitted_AS:   %8lu kB\n"
		   "HugePages_Total:       0\nHugePages_Free:        0\nHugepagesize:       2048 kB\n",
		   total, free, free + cached - dirty, cached, total - free, dirty, total,
		   total - free);
}

static void show_stat(struct procbuf *b, struct proc *p)
{
	uint64_t up = clock_monotonic_ns() / (NS_PER_S / USER_HZ);
	uint64_t btime = (clock_realtime_ns() - clock_monotonic_ns()) / NS_PER_S;

	(void)p;
	/* No CPU accounting: the CPU counts as idle since boot. */
	buf_printf(b, "cpu  0 0 0 %lu 0 0 0 0 0 0\ncpu0 0 0 0 %lu 0 0 0 0 0 0\nintr 0\nctxt 0\n"
		   "btime %lu\nprocesses %d\nprocs_running 1\nprocs_blocked 0\nsoftirq 0\n",
		   up, up, btime, proc_count());
}

/* Linux's two rows for what the kernel takes: the timer's firings (LOC) and,
 * where they come as NMIs (a PVM-style host under wisp-vmm), the NMIs. */
static void show_interrupts(struct procbuf *b, struct proc *p)
{
	(void)p;
	buf_printf(b, "           CPU0\nNMI: %10lu   Non-maskable interrupts\n"
		   "LOC: %10lu   Local timer interrupts\n", cpu_nmis, sched_timer_ticks());
}

static void show_uptime(struct procbuf *b, struct proc *p)
{
	uint64_t cs = clock_monotonic_ns() / (NS_PER_S / 100);

	(void)p;
	buf_printf(b, "%lu.%02lu %lu.%02lu\n", cs / 100, cs % 100, cs / 100, cs % 100);
}

static void show_loadavg(struct procbuf *b, struct proc *p)
{
	(void)p;
	buf_printf(b, "0.00 0.00 0.00 1/%d %d\n", proc_count(), current()->pid);
}

/* ------------------------------------------------------ /proc/sys */

/* 16 random bytes as a version 4 (random) UUID. */
static void put_uuid(struct procbuf *b, uint8_t u[16])
{
	u[6] = (u[6] & 0x0f) | 0x40;
	u[8] = (u[8] & 0x3f) | 0x80;
	buf_printf(b, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x\n",
		   u[0], u[1], u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11],
		   u[12], u[13], u[14], u[15]);
}

static void show_uuid(struct procbuf *b, struct proc *p)
{
	uint8_t u[16];

	(void)p;
	random_bytes(u, sizeof(u));
	put_uuid(b, u);
}

/* Made on first use: the same for the whole boot. */
static void show_boot_id(struct procbuf *b, struct proc *p)
{
	static uint8_t id[16];
	static bool made;

	(void)p;
	if (!made) {
		random_bytes(id, sizeof(id));
		made = true;
	}
	put_uuid(b, id);
}

/* --------------------------------------------------------- the nodes */

enum scope { IN_PROC, IN_PID, IN_CPU, IN_SYS_KERNEL, IN_SYS_RANDOM, IN_SYS_VM };

/* The file systems, as mount(8) and df read them. */
static void show_mounts(struct procbuf *b, struct proc *p)
{
	const char *at;
	unsigned disk;
	bool writable;

	(void)p;
	buf_printf(b, "rootfs / tmpfs rw 0 0\nproc /proc proc rw 0 0\nsysfs /sys sysfs ro 0 0\n");
	for (unsigned i = 0; (at = ext2_mounted(i, &disk, &writable)); i++)
		buf_printf(b, "/dev/vd%c %s ext2 %s 0 0\n", 'a' + disk, at, writable ? "rw" : "ro");
}

/* A file is made by show, or is the fixed text. */
static const struct entry {
	const char *name;
	enum scope scope;
	void (*show)(struct procbuf *b, struct proc *p);
	const char *text;
} entries[] = {
	{ "cpuinfo", IN_PROC, show_cpuinfo, NULL }, { "meminfo", IN_PROC, show_meminfo, NULL },
	{ "stat", IN_PROC, show_stat, NULL }, { "uptime", IN_PROC, show_uptime, NULL },
	{ "loadavg", IN_PROC, show_loadavg, NULL }, { "mounts", IN_PROC, show_mounts, NULL },
	{ "interrupts", IN_PROC, show_interrupts, NULL },
	{ "cmdline", IN_PID, show_cmdline, NULL }, { "environ", IN_PID, show_environ, NULL },
	{ "comm", IN_PID, show_comm, NULL }, { "maps", IN_PID, show_maps, NULL },
	{ "stat", IN_PID, show_pid_stat, NULL }, { "status", IN_PID, show_status, NULL },
	{ "mounts", IN_PID, show_mounts, NULL },
	{ "ostype", IN_SYS_KERNEL, NULL, "Linux\n" },
	{ "osrelease", IN_SYS_KERNEL, NULL, KERNEL_RELEASE "\n" },
	{ "hostname", IN_SYS_KERNEL, NULL, "wisp\n" },
	{ "pid_max", IN_SYS_KERNEL, NULL, "4194304\n" },
	{ "uuid", IN_SYS_RANDOM, show_uuid, NULL }, { "boot_id", IN_SYS_RANDOM, show_boot_id, NULL },
	{ "overcommit_memory", IN_SYS_VM, NULL, "0\n" },
	/* CPU 0 only. */
	{ "online", IN_CPU, NULL, "0\n" }, { "possible", IN_CPU, NULL, "0\n" },
	{ "present", IN_CPU, NULL, "0\n" },
};

/* The files of /proc/PID/task/TID: per thread (show_task) or the same as
 * the process's (show). Their nodes hold the tid and TASK_FILE | index. */
#define TASK_FILE 0x8000
static const struct task_entry {
	const char *name;
	void (*show_task)(struct procbuf *b, struct proc *p, struct task *t);
	void (*show)(struct procbuf *b, struct proc *p);
} task_entries[] = {
	{ "stat", show_task_stat, NULL }, { "status", show_task_status, NULL },
	{ "comm", NULL, show_comm }, { "cmdline", NULL, show_cmdline },
	{ "environ", NULL, show_environ }, { "maps", NULL, show_maps },
};

struct find_task {
	int tid;
	struct task *found;
};

static void find_task_in(struct proc *p, void *arg)
{
	struct find_task *ft = arg;

	for (struct task *t = p->threads; t && !ft->found; t = t->proc_next)
		if (t->tid == ft->tid)
			ft->found = t;
}

/* The thread with id tid in any process, or NULL. */
static struct task *find_task(int tid)
{
	struct find_task ft = { tid, NULL };

	for_each_proc(proc_find(1), find_task_in, &ft);
	return ft.found;
}

/* Fills b with what the node of a /proc/PID/task/TID file shows. */
static int show_task_file(struct procbuf *b, int tid, int n)
{
	const struct task_entry *e = &task_entries[n & ~TASK_FILE];
	struct task *t = find_task(tid);

	if (!t)
		return -ESRCH;
	if (e->show_task)
		e->show_task(b, t->proc, t);
	else
		e->show(b, t->proc);
	return 0;
}

static int proc_open(struct file *f)
{
	int id = NODE_PID(f->inode), n = NODE_N(f->inode);
	struct proc *p = id && !(n & TASK_FILE) ? proc_find(id) : NULL;
	struct procbuf *b;
	int err = 0;

	if (id && !(n & TASK_FILE) && !p)
		return -ESRCH;
	if (!(b = kzalloc(sizeof(*b))))
		return -ENOMEM;
	if (n & TASK_FILE)
		err = show_task_file(b, id, n);
	else if (entries[n].show)
		entries[n].show(b, p);
	else
		buf_printf(b, "%s", entries[n].text);
	if (err) {
		kfree(b);
		return err;
	}
	f->priv = b;
	return 0;
}

static ssize_t proc_read(struct file *f, void *buf, size_t len, off_t *pos)
{
	struct procbuf *b = f->priv;
	size_t n;

	if ((uint64_t)*pos >= b->len)
		return 0;
	n = MIN(len, b->len - *pos);
	memcpy(buf, b->data + *pos, n);
	*pos += n;
	return n;
}

static void proc_release(struct file *f)
{
	struct procbuf *b = f->priv;

	if (b)
		kfree(b->data);
	kfree(b);
}

static const struct file_ops proc_file_ops = {
	.open = proc_open, .read = proc_read, .release = proc_release, .seekable = true,
};

/* Computed symlinks keep their latest target in data, so the pointer they
 * return lives as long as the inode. */
static const char *set_link(struct inode *in, const char *target)
{
	char *copy = kstrdup(target ? target : "");

	if (!copy)
		return NULL;
	kfree(in->data);
	in->data = copy;
	in->size = strlen(copy);
	return copy;
}

static struct proc *node_proc(struct inode *in)
{
	return proc_find(NODE_PID(in));
}

static const char *self_link(struct inode *in)
{
	char pid[16];

	snprintf(pid, sizeof(pid), "%d", current()->pid);
	return set_link(in, pid);
}

static const char *exe_link(struct inode *in)
{
	struct proc *p = node_proc(in);

	return set_link(in, p ? p->exe_path : NULL);
}

static const char *cwd_link(struct inode *in)
{
	struct proc *p = node_proc(in);
	char path[PATH_MAX];

	if (!p || !p->cwd || vfs_dir_path(p->cwd, path, sizeof(path)) < 0)
		return set_link(in, NULL);
	return set_link(in, path);
}

/* What /proc/PID/fd/N points to: a path, or a pseudo-name as on Linux. */
static int file_path(struct file *f, char *buf, size_t size)
{
	struct inode *in = f->inode;
	struct dentry *d;
	int n;

	if (S_ISFIFO(in->mode))
		return snprintf(buf, size, "pipe:[%lu]", in->ino);
	if (S_ISSOCK(in->mode))
		return snprintf(buf, size, "socket:[%lu]", in->ino);
	if (!(in->mode & S_IFMT))
		return snprintf(buf, size, "anon_inode:%s", in->data);
	if (S_ISDIR(in->mode))
		return vfs_dir_path(in, buf, size);
	if (!(d = tmpfs_name_of(in)))
		return snprintf(buf, size, "(deleted)");
	n = vfs_dir_path(d->dir, buf, size);
	if (n < 0)
		return n;
	return n + snprintf(buf + n, size - n, "%s%s", n > 1 ? "/" : "", d->name);
}

static const char *fd_link(struct inode *in)
{
	struct proc *p = node_proc(in);
	struct file *f = p && p->files ? p->files->fd[NODE_N(in)] : NULL;
	char path[PATH_MAX];

	if (!f || file_path(f, path, sizeof(path)) < 0)
		return set_link(in, NULL);
	return set_link(in, path);
}

static struct inode *make_dir(struct inode *dir, const char *name, unsigned mode)
{
	struct inode *in;

	return tmpfs_mknod(dir, name, strlen(name), S_IFDIR | mode, &in) ? NULL : in;
}

static struct inode *make_link(struct inode *dir, const char *name, const char *target,
			       const char *(*get_link)(struct inode *), void *priv)
{
	struct inode *in;

	if (tmpfs_symlink(dir, name, strlen(name), target, strlen(target), &in))
		return NULL;
	in->get_link = get_link;
	in->priv = priv;
	return in;
}

static void make_files(struct inode *dir, enum scope scope, int pid)
{
	struct inode *in;

	for (size_t i = 0; i < ARRAY_SIZE(entries); i++) {
		if (entries[i].scope != scope ||
		    tmpfs_mknod(dir, entries[i].name, strlen(entries[i].name), S_IFREG | 0444, &in))
			continue;
		in->fops = &proc_file_ops;
		in->priv = NODE(pid, i);
	}
}

static void make_task_files(struct inode *dir, int tid)
{
	struct inode *in;

	for (size_t i = 0; i < ARRAY_SIZE(task_entries); i++) {
		const char *name = task_entries[i].name;

		if (tmpfs_mknod(dir, name, strlen(name), S_IFREG | 0444, &in))
			continue;
		in->fops = &proc_file_ops;
		in->priv = NODE(tid, TASK_FILE | i);
	}
}

/* Removes dir's entries, and their entries. */
static void remove_children(struct inode *dir)
{
	while (dir->children) {
		struct dentry *d = dir->children;
		bool is_dir = S_ISDIR(d->inode->mode);

		if (is_dir)
			remove_children(d->inode);
		tmpfs_unlink(dir, d->name, d->len, is_dir);
	}
}

/* /proc/PID/fd: one computed symlink per open fd. */
static void fd_refresh(struct inode *dir)
{
	struct proc *p = proc_find(NODE_PID(dir));
	struct fdtable *t = p ? p->files : NULL;
	struct dentry *d, *next;
	char name[8];

	for (d = dir->children; d; d = next) {
		next = d->next;
		if (!t || !t->fd[NODE_N(d->inode)])
			tmpfs_unlink(dir, d->name, d->len, false);
	}
	for (int fd = 0; t && fd < FD_MAX; fd++) {
		if (!t->fd[fd])
			continue;
		snprintf(name, sizeof(name), "%d", fd);
		make_link(dir, name, "", fd_link, NODE(p->pid, fd));  /* -EEXIST if there */
	}
}

static bool is_pid_name(const struct dentry *d, int *pid);

/* /proc/PID/task: one directory per thread. */
static void task_refresh(struct inode *dir)
{
	struct proc *p = proc_find(NODE_PID(dir));
	struct dentry *d, *next;
	struct inode *tdir;
	char name[16];
	int tid;

	for (d = dir->children; d; d = next) {
		next = d->next;
		is_pid_name(d, &tid);
		if (!p || !find_task(tid) || find_task(tid)->proc != p) {
			remove_children(d->inode);
			tmpfs_unlink(dir, d->name, d->len, true);
		}
	}
	for (struct task *t = p ? p->threads : NULL; t; t = t->proc_next) {
		snprintf(name, sizeof(name), "%d", t->tid);
		if (!(tdir = make_dir(dir, name, 0555)))
			continue;  /* there already */
		tdir->priv = NODE(t->tid, 0);
		make_task_files(tdir, t->tid);
	}
}

static void make_pid_dir(struct proc *p, void *arg)
{
	struct inode *root = arg, *dir, *fd, *task;
	char name[16];

	snprintf(name, sizeof(name), "%d", p->pid);
	if (!(dir = make_dir(root, name, 0555)))
		return;  /* there already */
	dir->priv = NODE(p->pid, 0);
	make_files(dir, IN_PID, p->pid);
	make_link(dir, "exe", "", exe_link, NODE(p->pid, 0));
	make_link(dir, "cwd", "", cwd_link, NODE(p->pid, 0));
	make_link(dir, "root", "/", NULL, NULL);
	if ((fd = make_dir(dir, "fd", 0500))) {
		fd->refresh = fd_refresh;
		fd->priv = NODE(p->pid, 0);
	}
	if ((task = make_dir(dir, "task", 0555))) {
		task->refresh = task_refresh;
		task->priv = NODE(p->pid, 0);
	}
}

static bool is_pid_name(const struct dentry *d, int *pid)
{
	*pid = 0;
	for (uint32_t i = 0; i < d->len; i++) {
		if (d->name[i] < '0' || d->name[i] > '9')
			return false;
		*pid = *pid * 10 + (d->name[i] - '0');
	}
	return true;
}

/* /proc: one directory per process, reaped ones removed. */
static void root_refresh(struct inode *root)
{
	struct dentry *d, *next;
	int pid;

	for (d = root->children; d; d = next) {
		next = d->next;
		if (is_pid_name(d, &pid) && !proc_find(pid)) {
			remove_children(d->inode);
			tmpfs_unlink(root, d->name, d->len, true);
		}
	}
	for_each_proc(proc_find(1), make_pid_dir, root);
}

/* /proc/sys/kernel, /proc/sys/kernel/random, /proc/sys/vm. */
static bool make_sysctl(struct inode *proc)
{
	struct inode *sys = make_dir(proc, "sys", 0555);
	struct inode *kernel = sys ? make_dir(sys, "kernel", 0555) : NULL;
	struct inode *random = kernel ? make_dir(kernel, "random", 0555) : NULL;
	struct inode *vm = sys ? make_dir(sys, "vm", 0555) : NULL;

	if (!random || !vm)
		return false;
	make_files(kernel, IN_SYS_KERNEL, 0);
	make_files(random, IN_SYS_RANDOM, 0);
	make_files(vm, IN_SYS_VM, 0);
	return true;
}

void procfs_init(void)
{
	struct inode *proc = make_dir(vfs_root(), "proc", 0555);
	struct inode *sys = make_dir(vfs_root(), "sys", 0555);
	struct inode *devices = sys ? make_dir(sys, "devices", 0755) : NULL;
	struct inode *system = devices ? make_dir(devices, "system", 0755) : NULL;
	struct inode *cpu = system ? make_dir(system, "cpu", 0755) : NULL;

	if (!proc || !cpu || !make_link(proc, "self", "", self_link, NULL) || !make_sysctl(proc) ||
	    !make_dir(cpu, "cpu0", 0755))
		panic("procfs: out of memory");
	proc->refresh = root_refresh;
	make_files(proc, IN_PROC, 0);
	make_files(cpu, IN_CPU, 0);
}
