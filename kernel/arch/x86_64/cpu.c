/* cpu.c: descriptor tables, TSS and syscall MSRs, set up in ring 0 at boot. */
#include "kernel.h"
#include "arch/x86_64/cpu.h"
#include "arch/x86_64/trap.h"
#include "arch/x86_64/x86.h"
#include "mm/page.h"

struct idt_gate {
	uint16_t off_lo, sel;
	uint8_t ist, type;
	uint16_t off_mid;
	uint32_t off_hi, zero;
} __attribute__((packed));

struct tss {
	uint32_t reserved0;
	uint64_t rsp[3];
	uint64_t reserved1;
	uint64_t ist[7];
	uint64_t reserved2;
	uint16_t reserved3, iomap_base;
} __attribute__((packed));

extern uint64_t gdt[];
extern const uint64_t trap_stubs[TRAP_VECTORS];
extern char boot_stack_top[];
extern void syscall_entry(void);

static struct idt_gate idt[TRAP_VECTORS];
static struct tss tss;

/* Read by entry.S on every syscall; one CPU today. */
uint64_t cpu_kstack_top;
uint64_t cpu_user_rsp;
uint32_t boot_start_info_pa;

static void idt_set(int vec, uint64_t handler, int dpl)
{
	idt[vec] = (struct idt_gate){
		.off_lo = handler & 0xffff,
		.sel = KERNEL_CS,
		.type = 0x8e | (dpl << 5), /* present, 64-bit interrupt gate */
		.off_mid = (handler >> 16) & 0xffff,
		.off_hi = handler >> 32,
	};
}

static void tss_install(uint64_t stack_top)
{
	uint64_t base = (uint64_t)&tss;
	uint64_t limit = sizeof(tss) - 1;

	tss.rsp[0] = stack_top;
	tss.iomap_base = sizeof(tss);
	gdt[TSS_SEL / 8] = (limit & 0xffff) | ((base & 0xffffff) << 16) |
			   (0x89UL << 40) | (((base >> 24) & 0xff) << 56);
	gdt[TSS_SEL / 8 + 1] = base >> 32;
	asm volatile("ltr %w0" : : "r"(TSS_SEL));
}

static void idt_install(void)
{
	struct {
		uint16_t limit;
		uint64_t base;
	} __attribute__((packed)) desc = { sizeof(idt) - 1, (uint64_t)idt };

	for (int v = 0; v < TRAP_VECTORS; v++)
		idt_set(v, trap_stubs[v], v == 3 || v == 4 ? 3 : 0);
	asm volatile("lidt %0" : : "m"(desc));
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
	/* sysret would load user CS = base + 16 and SS = base + 8; we return
	 * with iretq but keep the layout conventional. */
	wrmsr(MSR_STAR, ((uint64_t)(USER_DS - 3 - 8) << 48) | ((uint64_t)KERNEL_CS << 32));
	wrmsr(MSR_LSTAR, (uint64_t)syscall_entry);
	wrmsr(MSR_FMASK, 0x47700); /* TF, IF, DF, IOPL, NT, AC */
	wrmsr(MSR_FS_BASE, 0);
}

void cpu_set_fs_base(uint64_t base)
{
	wrmsr(MSR_FS_BASE, base);
}

void cpu_set_kernel_stack(uint64_t top)
{
	cpu_kstack_top = top;
	tss.rsp[0] = top;
}
