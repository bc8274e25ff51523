/* cpu.c: descriptor tables, TSS and syscall MSRs, set up in ring 0 at boot,
 * and the choice of platform once the kernel runs natively. */
#include "kernel.h"
#include "arch/x86_64/cpu.h"
#include "arch/x86_64/trap.h"
#include "arch/x86_64/x86.h"
#include "lib/string.h"
#include "mm/page.h"

#define IO_PORTS 65536

struct idt_gate {
	uint16_t off_lo, sel;
	uint8_t ist, type;
	uint16_t off_mid;
	uint32_t off_hi, zero;
} __attribute__((packed));

/* The I/O bitmap follows the TSS proper; the byte after it must be 0xff. */
struct tss {
	uint32_t reserved0;
	uint64_t rsp[3];
	uint64_t reserved1;
	uint64_t ist[7];
	uint64_t reserved2;
	uint16_t reserved3, iomap_base;
	uint8_t iomap[IO_PORTS / 8];
	uint8_t iomap_end;
} __attribute__((packed));

extern uint64_t gdt[];
extern char boot_stack_top[];
extern void syscall_entry(void);

static struct idt_gate idt[TRAP_VECTORS];
struct tss cpu_tss;   /* pvm_entry.S uses IST 7 */
_Static_assert(offsetof(struct tss, ist[6]) == TSS_IST7, "x86.h");
_Static_assert(offsetof(struct tss, ist[3]) == TSS_NMI_FRAME, "x86.h");

const struct cpu_ops *cpu = &ring0_cpu_ops;
/* Read by entry.S on every syscall; one CPU today. */
uint64_t cpu_kstack_top;
uint64_t cpu_user_rsp;
/* The trapframe a return to user mode restores (entry.S). */
uint64_t cpu_restore_tf;
uint32_t boot_start_info_pa;
bool cpu_has_fsgsbase;
uint64_t cpu_deferred_irqs;
uint64_t cpu_nmis;

void cpu_set_gate(int vec, uint64_t handler, int ist, int dpl)
{
	idt[vec] = (struct idt_gate){
		.off_lo = handler & 0xffff,
		.sel = KERNEL_CS,
		.ist = ist,
		.type = 0x8e | dpl << 5,   /* present, 64-bit interrupt gate */
		.off_mid = (handler >> 16) & 0xffff,
		.off_hi = handler >> 32,
	};
}

/* The bitmap is always inside the TSS limit, so opening it later needs no
 * ring 0 (the limit is cached by ltr, the bitmap is read from memory). */
static void tss_install(uint64_t stack_top)
{
	uint64_t base = (uint64_t)&cpu_tss;
	uint64_t limit = sizeof(cpu_tss) - 1;

	cpu_tss.rsp[0] = stack_top;
	cpu_tss.iomap_base = offsetof(struct tss, iomap);
	cpu_tss.iomap_end = 0xff;
	gdt[TSS_SEL / 8] = (limit & 0xffff) | ((base & 0xffffff) << 16) |
			   (0x89UL << 40) | (((limit >> 16) & 0xf) << 48) |
			   (((base >> 24) & 0xff) << 56);
	gdt[TSS_SEL / 8 + 1] = base >> 32;
	asm volatile("ltr %w0" : : "r"(TSS_SEL));
}

/* The gates are written later, natively, by the platform's init: a loop
 * over 256 of them costs a millisecond emulated. No trap can happen before
 * then. */
static void idt_install(void)
{
	struct {
		uint16_t limit;
		uint64_t base;
	} __attribute__((packed)) desc = { sizeof(idt) - 1, (uint64_t)idt };

	asm volatile("lidt %0" : : "m"(desc));
}

void cpu_set_gates(const uint64_t *handlers, int ist_exceptions, int ist_interrupts)
{
	/* int3 and into are allowed from user mode. */
	for (int v = 0; v < TRAP_VECTORS; v++)
		cpu_set_gate(v, handlers[v], v < TRAP_FIRST_IRQ ? ist_exceptions : ist_interrupts,
			     v == 3 || v == 4 ? 3 : 0);
}

static void enable_fsgsbase(void)
{
	uint32_t r[4];

	cpuid(0, 0, r);
	if (r[0] < 7)
		return;
	cpuid(7, 0, r);
	if (!(r[1] & 1))
		return;
	write_cr4(read_cr4() | CR4_FSGSBASE);
	cpu_has_fsgsbase = true;
}

/* Runs emulated on this project's KVM host: keep it to the privileged
 * work that cannot happen after the switch to ring 3. */
void arch_init_ring0(uint32_t start_info_pa)
{
	boot_start_info_pa = start_info_pa;
	/* Linux starts programs with the x87 control word of fninit, not the
	 * reset value. */
	asm volatile("fninit");
	cpu_kstack_top = (uint64_t)boot_stack_top;
	idt_install();
	tss_install(cpu_kstack_top);
	enable_fsgsbase();
	/* syscall loads CS = KERNEL_CS, SS = KERNEL_CS + 8; sysret would load
	 * CS = 0x23 + 16 (USER_CS) and SS = 0x23 + 8 (USER_DS). We return with
	 * iretq but keep Linux's layout, which the PVM-style host expects. */
	wrmsr(MSR_STAR, ((uint64_t)(USER_DS - 8) << 48) | ((uint64_t)KERNEL_CS << 32));
	wrmsr(MSR_LSTAR, (uint64_t)syscall_entry);
	wrmsr(MSR_FMASK, 0x47700); /* TF, IF, DF, IOPL, NT, AC */
	wrmsr(MSR_FS_BASE, 0);
}

/* On a PVM-style host the kernel entered by syscall runs in hardware ring
 * 3 and sees CS 0x33; under VMX, SVM or TCG it runs in ring 0. */
void arch_init_native(void)
{
	cpu = (read_cs() & 3) ? &pvm_cpu_ops : &ring0_cpu_ops;
	cpu->init();
}

void cpu_allow_ports(bool allow)
{
	memset(cpu_tss.iomap, allow ? 0 : 0xff, sizeof(cpu_tss.iomap));
}

void cpu_set_trap_stack(int ist, uint64_t top)
{
	cpu_tss.ist[ist - 1] = top;
}

void cpu_set_nmi_frame(uint64_t rip, uint64_t cs, uint64_t rflags, uint64_t ss)
{
	cpu_tss.ist[3] = rip;
	cpu_tss.ist[4] = cs;
	cpu_tss.ist[5] = rflags;
	cpu_tss.reserved2 = ss;
}

void cpu_set_kernel_stack(uint64_t top)
{
	cpu_kstack_top = top;
	cpu_tss.rsp[0] = top;
}
