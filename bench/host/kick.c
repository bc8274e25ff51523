/* kick.c: the host's floor for a timer tick (bench/micro.py: host_kick,
 * host_kick10, host_trap). A bare KVM guest with no wisp in it spins in ring 3
 * (kick_guest.S); a POSIX timer signals this thread every ~1 ms, which makes
 * KVM_RUN return with EINTR, and the loop enters the guest again at once,
 * injecting nothing. The guest records the TSC gap that contains each such
 * return. The median is what any VMM pays here to have the host interrupt
 * a running guest and get control back, before it does any work of its
 * own: a timer tick under wisp costs this plus wisp's part.
 *
 * First it times N round trips int3 -> a ring-0 handler that is a bare
 * iretq -> back: the least a trap costs any guest kernel here (on a
 * PVM-style host, delivery into emulated ring 0 and out), the floor for a
 * page fault.
 *
 * Then the same kicks every ~10 ms (wisp's time slice), N/5 + 1 of them:
 * host_kick10, the floor for a preemption.
 *
 * Last, the way wisp takes its timer on a PVM-style host: KVM's local APIC
 * fires NMIs (every ~1 ms, then ~10 ms: host_nmi, host_nmi10) into a
 * ring-0 handler of two instructions that moves the counter, with no exit
 * to this program, armed by wisp-vmm's own timer device (vtimer_use_nmi,
 * vtimer_arm). Only where KVM has a split irqchip; the VM has one from
 * the start then, as wisp-vmm's has.
 *
 * Prints "RESULT host_trap <ns> ns/trap <n>", "RESULT host_kick <ns>
 * ns/kick <n>", "RESULT host_kick10 ...", "RESULT host_nmi ..." and
 * "RESULT host_nmi10 ..." (bench.h), each after an INFO line.
 * Exits 77 with a reason when /dev/kvm cannot be used.
 * Usage: kick [N=200] */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>

#include "devices/timer.h"

#define MEM_SIZE (4ull << 20)
#define PML4_GPA 0x1000
#define PDPT_GPA 0x2000
#define PD_GPA 0x3000
#define GDT_GPA 0x5000
#define IDT_GPA 0x6000
#define TSS_GPA 0x7000
#define CODE_GPA 0x10000
#define STACK_TOP 0x20000
#define GAPS_GPA 0x100000
#define TRAPS_GPA 0x180000
#define COUNTER_GPA 0x200000
#define MAX_KICKS 8192
#define TICK_NS 1013000L    /* ~1 ms, see start_ticks */
/* wisp's time slice: a kick after 10 ms of undisturbed guest costs more on
 * a loaded host than one after 1 ms (PVM host: 40-60 against 25-40 us). */
#define SLOW_TICK_NS 10013000L
#define SLOW_KICKS_DIV 5
#define GAP_MIN_NS 1000       /* the loop's own iterations are ~25 ns */
#define KICK_DONE_PORT 0x80   /* kick_guest.S */

#define PTE_P 0x1
#define PTE_W 0x2
#define PTE_U 0x4
#define PTE_PS 0x80
#define SEL_KCODE 0x08
#define SEL_KDATA 0x10
#define SEL_TSS 0x38
#define TSS_SIZE 104

extern const uint8_t kick_guest[], kick_guest_halt[], kick_guest_iret[], kick_guest_nmi[],
	kick_guest_end[];

struct vm {
	int kvm, fd, vcpu;
	bool lapic;                   /* KVM emulates the local APIC */
	uint8_t *mem;
	struct kvm_run *run;
};

static void die(const char *what)
{
	fprintf(stderr, "kick: %s: %s\n", what, strerror(errno));
	exit(1);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

/* Identity map of the first 2 MiB with one user page: the guest is all
 * ring-3 code but for its first instructions and its halt. */
static void setup_page_tables(uint8_t *mem)
{
	uint64_t *pml4 = (uint64_t *)(mem + PML4_GPA);
	uint64_t *pdpt = (uint64_t *)(mem + PDPT_GPA);
	uint64_t *pd = (uint64_t *)(mem + PD_GPA);
	uint64_t flags = PTE_P | PTE_W | PTE_U;

	pml4[0] = PDPT_GPA | flags;
	pdpt[0] = PD_GPA | flags;
	pd[0] = 0 | flags | PTE_PS;
	pd[1] = (2ull << 20) | flags | PTE_PS;
}

static struct kvm_segment segment(uint16_t sel, uint8_t type, uint8_t dpl, int code)
{
	return (struct kvm_segment){
		.base = 0, .limit = 0xffffffff, .selector = sel, .type = type, .present = 1,
		.dpl = dpl, .db = !code, .s = 1, .l = code, .g = 1,
	};
}

static void set_gate(uint64_t *idt, int vector, uint64_t handler, unsigned dpl)
{
	idt[2 * vector] = (handler & 0xffff) | (uint64_t)SEL_KCODE << 16 |
			  (uint64_t)(0x8e | dpl << 5) << 40 | ((handler >> 16) & 0xffff) << 48;
	idt[2 * vector + 1] = handler >> 32;
}

/* GDT with the Linux selectors (user CS 0x33, DS 0x2b), a TSS whose rsp0
 * takes exceptions from ring 3, and an IDT sending every vector to the
 * halt but int3, which ring 3 may raise, to a bare iretq. */
static void setup_descriptors(uint8_t *mem, struct kvm_sregs *s)
{
	uint64_t *gdt = (uint64_t *)(mem + GDT_GPA);
	uint64_t *idt = (uint64_t *)(mem + IDT_GPA);
	uint64_t halt = CODE_GPA + (uint64_t)(kick_guest_halt - kick_guest);
	uint64_t rsp0 = STACK_TOP;

	gdt[1] = 0x00af9b000000ffffull;  /* kernel code */
	gdt[2] = 0x00cf93000000ffffull;  /* kernel data */
	gdt[5] = 0x00cff3000000ffffull;  /* user data, 0x2b */
	gdt[6] = 0x00affb000000ffffull;  /* user code, 0x33 */
	gdt[7] = (TSS_SIZE - 1) | (uint64_t)TSS_GPA << 16 | 0x89ull << 40;
	memcpy(mem + TSS_GPA + 4, &rsp0, sizeof(rsp0));
	*(uint16_t *)(mem + TSS_GPA + 102) = TSS_SIZE;  /* no I/O bitmap */
	for (int v = 0; v < 256; v++)
		set_gate(idt, v, halt, 0);
	set_gate(idt, 3, CODE_GPA + (uint64_t)(kick_guest_iret - kick_guest), 3);
	set_gate(idt, 2, CODE_GPA + (uint64_t)(kick_guest_nmi - kick_guest), 0);
	s->gdt.base = GDT_GPA;
	s->gdt.limit = 8 * 8 - 1;
	s->idt.base = IDT_GPA;
	s->idt.limit = 256 * 16 - 1;
	s->cs = segment(SEL_KCODE, 0xb, 0, 1);
	s->ds = s->es = s->fs = s->gs = s->ss = segment(SEL_KDATA, 0x3, 0, 0);
	s->tr = (struct kvm_segment){ .base = TSS_GPA, .limit = TSS_SIZE - 1,
				      .selector = SEL_TSS, .type = 0xb, .present = 1 };
	s->cr3 = PML4_GPA;
	s->cr4 = 0x20;                   /* PAE */
	s->cr0 = 0x80050033;             /* PG, AM, WP, NE, ET, MP, PE */
	s->efer = 0x500;                 /* LMA, LME */
}

/* Exits 77 (skip) when /dev/kvm cannot be opened. */
static void vm_create(struct vm *vm)
{
	/* KVM's local APIC, none of the PC's other interrupt controllers. */
	struct kvm_enable_cap split_irqchip = { .cap = KVM_CAP_SPLIT_IRQCHIP };
	struct kvm_userspace_memory_region region = { .memory_size = MEM_SIZE };
	struct {
		struct kvm_cpuid2 c;
		struct kvm_cpuid_entry2 e[256];
	} cpuid = { .c.nent = 256 };
	int run_size;

	vm->kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (vm->kvm < 0) {
		printf("SKIP host_kick: /dev/kvm: %s\n", strerror(errno));
		exit(77);
	}
	if ((vm->fd = ioctl(vm->kvm, KVM_CREATE_VM, 0)) < 0)
		die("KVM_CREATE_VM");
	vm->mem = mmap(NULL, MEM_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (vm->mem == MAP_FAILED)
		die("mmap guest memory");
	/* Huge pages and touched beforehand: no faults in the timed loop. */
	madvise(vm->mem, MEM_SIZE, MADV_HUGEPAGE);
	memset(vm->mem, 0, MEM_SIZE);
	region.userspace_addr = (uint64_t)vm->mem;
	vm->lapic = ioctl(vm->fd, KVM_ENABLE_CAP, &split_irqchip) == 0;
	if (ioctl(vm->fd, KVM_SET_USER_MEMORY_REGION, &region) < 0)
		die("KVM_SET_USER_MEMORY_REGION");
	if ((vm->vcpu = ioctl(vm->fd, KVM_CREATE_VCPU, 0)) < 0)
		die("KVM_CREATE_VCPU");
	if (ioctl(vm->kvm, KVM_GET_SUPPORTED_CPUID, &cpuid) < 0 ||
	    ioctl(vm->vcpu, KVM_SET_CPUID2, &cpuid) < 0)
		die("CPUID");
	if ((run_size = ioctl(vm->kvm, KVM_GET_VCPU_MMAP_SIZE, 0)) < 0)
		die("KVM_GET_VCPU_MMAP_SIZE");
	vm->run = mmap(NULL, (size_t)run_size, PROT_READ | PROT_WRITE, MAP_SHARED, vm->vcpu, 0);
	if (vm->run == MAP_FAILED)
		die("mmap kvm_run");
}

static void vm_setup(struct vm *vm)
{
	struct kvm_sregs s;

	memcpy(vm->mem + CODE_GPA, kick_guest, (size_t)(kick_guest_end - kick_guest));
	setup_page_tables(vm->mem);
	if (ioctl(vm->vcpu, KVM_GET_SREGS, &s) < 0)
		die("KVM_GET_SREGS");
	setup_descriptors(vm->mem, &s);
	if (ioctl(vm->vcpu, KVM_SET_SREGS, &s) < 0)
		die("KVM_SET_SREGS");
}

/* From the guest's first instruction again (it halted in ring 0, with the
 * segments still as vm_setup left them). */
static void vm_restart(struct vm *vm, long traps, long kicks, uint64_t tsc_khz)
{
	struct kvm_regs r = {
		.rip = CODE_GPA, .rflags = 0x2, .rsp = STACK_TOP,
		.rsi = COUNTER_GPA, .rdi = GAPS_GPA, .r12 = (uint64_t)kicks,
		.r14 = TRAPS_GPA, .r15 = (uint64_t)traps,
		.r9 = tsc_khz * GAP_MIN_NS / 1000000,
	};

	if (ioctl(vm->vcpu, KVM_SET_REGS, &r) < 0)
		die("KVM_SET_REGS");
}

static void on_tick(int sig)
{
	(void)sig;
}

/* An interval timer aimed at this thread, made as wisp-vmm makes its own
 * (thread_timer_create); no SA_RESTART, so KVM_RUN returns. Periods are a
 * little off whole milliseconds, so that the ticks sweep every phase
 * against the host's own tick (one next to it costs twice,
 * vmm/devices/timer.c): the median is a typical tick's. */
static timer_t start_ticks(long period_ns)
{
	struct itimerspec its = { { 0, period_ns }, { 0, period_ns } };
	timer_t id;

	if (thread_timer_create(SIGUSR1, on_tick, 0, &id) < 0 ||
	    timer_settime(id, 0, &its, NULL) < 0)
		die("timer");
	return id;
}

/* Runs until the guest halts; each EINTR is a kick the guest can see. */
static void run_guest(struct vm *vm)
{
	volatile uint64_t *counter = (volatile uint64_t *)(vm->mem + COUNTER_GPA);

	for (;;) {
		if (ioctl(vm->vcpu, KVM_RUN, 0) < 0) {
			if (errno != EINTR)
				die("KVM_RUN");
			(*counter)++;
			continue;
		}
		if (vm->run->exit_reason == KVM_EXIT_IO && vm->run->io.port == KICK_DONE_PORT)
			return;
		fprintf(stderr, "kick: unexpected KVM exit %u\n", vm->run->exit_reason);
		exit(1);
	}
}

static void report(const char *name, const char *what, uint64_t *v, long n, double per_ns)
{
	qsort(v, (size_t)n, sizeof(v[0]), cmp_u64);
	printf("INFO %s: n=%ld; min %.0f ns, p10 %.0f ns, p90 %.0f ns\n", name, n,
	       v[0] / per_ns, v[n / 10] / per_ns, v[n * 9 / 10] / per_ns);
	printf("RESULT %s %.1f ns/%s %ld\n", name, v[n / 2] / per_ns, what, n);
}

/* Runs the guest from the start: traps int3 round trips, then kicks gaps
 * under a timer of period_ns: a signal timer as wisp-vmm's, or, with nmi,
 * wisp-vmm's own timer device in its NMI mode (KVM's local APIC). */
static void round_trip(struct vm *vm, long traps, long kicks, long period_ns, uint64_t khz,
		       struct vtimer *nmi)
{
	struct kvm_regs r;
	timer_t id = 0;

	vm_restart(vm, traps, kicks, khz);
	if (nmi && vtimer_arm(nmi, (uint64_t)period_ns, (uint64_t)period_ns) < 0)
		die("KVM_SET_LAPIC");
	if (!nmi)
		id = start_ticks(period_ns);
	run_guest(vm);
	if (nmi && vtimer_arm(nmi, 0, 0) < 0)
		die("KVM_SET_LAPIC");
	if (!nmi)
		timer_delete(id);
	if (ioctl(vm->vcpu, KVM_GET_REGS, &r) < 0)
		die("KVM_GET_REGS");
	if (r.r11 != (uint64_t)kicks) {
		fprintf(stderr, "kick: the guest stopped after %llu of %ld kicks (rip 0x%llx)\n",
			(unsigned long long)r.r11, kicks, (unsigned long long)r.rip);
		exit(1);
	}
}

int main(int argc, char **argv)
{
	long kicks = argc > 1 ? atol(argv[1]) : 200, slow = kicks / SLOW_KICKS_DIV + 1;
	uint64_t *gaps, *traps;
	struct vtimer nmi;
	struct vm vm;
	double per_ns;
	int khz;

	if (kicks < 1 || kicks > MAX_KICKS) {
		fprintf(stderr, "kick: N must be 1..%d\n", MAX_KICKS);
		return 2;
	}
	vm_create(&vm);
	if ((khz = ioctl(vm.vcpu, KVM_GET_TSC_KHZ, 0)) <= 0)
		die("KVM_GET_TSC_KHZ");
	per_ns = khz / 1e6;
	traps = (uint64_t *)(vm.mem + TRAPS_GPA);
	gaps = (uint64_t *)(vm.mem + GAPS_GPA);
	vm_setup(&vm);
	round_trip(&vm, kicks, kicks, TICK_NS, (uint64_t)khz, NULL);
	report("host_trap", "trap", traps, kicks, per_ns);
	report("host_kick", "kick", gaps, kicks, per_ns);
	round_trip(&vm, 0, slow, SLOW_TICK_NS, (uint64_t)khz, NULL);
	report("host_kick10", "kick", gaps, slow, per_ns);
	/* After the kicks: its signal handler replaces theirs. */
	if (!vm.lapic || vtimer_init(&nmi, vm.run, vm.vcpu) < 0 || vtimer_use_nmi(&nmi) < 0) {
		printf("SKIP host_nmi: no NMIs from KVM's local APIC here\n"
		       "SKIP host_nmi10: no NMIs from KVM's local APIC here\n");
		return 0;
	}
	round_trip(&vm, 0, kicks, TICK_NS, (uint64_t)khz, &nmi);
	report("host_nmi", "tick", gaps, kicks, per_ns);
	round_trip(&vm, 0, slow, SLOW_TICK_NS, (uint64_t)khz, &nmi);
	report("host_nmi10", "tick", gaps, slow, per_ns);
	vtimer_destroy(&nmi);
	return 0;
}
