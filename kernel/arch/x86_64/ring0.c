/* ring0.c: the cpu ops for a kernel that runs in hardware ring 0 (KVM on
 * VMX or SVM, QEMU TCG): every privileged instruction works as written. */
#include "kernel.h"
#include "arch/x86_64/cpu.h"
#include "arch/x86_64/paging.h"
#include "arch/x86_64/trap.h"
#include "arch/x86_64/x86.h"

#define PML4_SLOTS 512

extern const uint64_t trap_stubs[TRAP_VECTORS];

/* Here user and kernel are separate privilege levels, so the program gets
 * neither the kernel's pages nor port I/O. The boot tables map the kernel
 * user-accessible only for the first switch to ring 3 (boot.S). */
static void ring0_init(void)
{
	pte_t *root = paging_kernel_root();

	cpu_set_gates(trap_stubs, 0, 0);
	cpu_allow_ports(false);
	for (int i = PML4_SLOTS / 2; i < PML4_SLOTS; i++)
		root[i] &= ~PTE_U;
	write_cr3(read_cr3());
}

static void ring0_set_fs_base(uint64_t base)
{
	if (cpu_has_fsgsbase)
		wrfsbase(base);
	else
		wrmsr(MSR_FS_BASE, base);
}

static bool ring0_from_user(const struct trapframe *tf)
{
	return (tf->cs & 3) == 3;
}

/* iretq sets IF as written here. */
static void ring0_allow_device_interrupts(void)
{
}

const struct cpu_ops ring0_cpu_ops = {
	.name = "ring0",
	.init = ring0_init,
	.set_root = write_cr3,
	.flush_page = invlpg,
	.flush_pages_max = TLB_BATCH_PAGES,
	.fault_addr = read_cr2,
	.set_fs_base = ring0_set_fs_base,
	.from_user = ring0_from_user,
	.allow_device_interrupts = ring0_allow_device_interrupts,
};
