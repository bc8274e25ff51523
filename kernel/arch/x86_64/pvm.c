/* pvm.c: the cpu ops for a PVM-style host (PLATFORM.md): the kernel runs
 * natively in hardware ring 3 after its first syscall, privileged
 * instructions #GP there, and traps enter emulated ring 0 (pvm_entry.S). */
#include "kernel.h"
#include "arch/x86_64/cpu.h"
#include "arch/x86_64/paging.h"
#include "arch/x86_64/trap.h"
#include "arch/x86_64/x86.h"

#define PVM_IST_EXCEPTIONS 1
#define PVM_IST_INTERRUPTS 2
#define PVM_IST_RESUME 3
#define PVM_IST_NMI 7      /* the TSS words of IST 4-6 hold its stub's frame */
#define RFLAGS_FIXED 0x2
extern const uint64_t pvm_stubs[TRAP_VECTORS];
/* The IST stacks, in pvm_entry.S: its frames point into them. */
extern uint8_t pvm_exception_stack_top[], pvm_interrupt_stack_top[];
extern uint8_t pvm_resume_stack_top[], pvm_nmi_stack_top[];
extern uint8_t pvm_nmi_native[];
_Static_assert(TRAP_TIMER == 32 && TRAP_NMI == 2, "pvm_entry.S");
void pvm_write_cr3(uint64_t pa);
void pvm_invlpg(uint64_t va);

/* Read by trap_restore: return to user mode through ring 0. */
bool cpu_iret_ring0;
/* CR2 of the current page fault, saved by the ring-0 stub. */
uint64_t pvm_fault_addr;

/* Kernel and program share hardware ring 3 here: the kernel's port I/O
 * (hypercalls) is checked against the TSS bitmap like the program's. */
static void pvm_init(void)
{
	cpu_allow_ports(true);
	cpu_set_trap_stack(PVM_IST_EXCEPTIONS, (uint64_t)pvm_exception_stack_top);
	cpu_set_trap_stack(PVM_IST_INTERRUPTS, (uint64_t)pvm_interrupt_stack_top);
	cpu_set_trap_stack(PVM_IST_RESUME, (uint64_t)pvm_resume_stack_top);
	cpu_set_trap_stack(PVM_IST_NMI, (uint64_t)pvm_nmi_stack_top);
	cpu_set_nmi_frame((uint64_t)pvm_nmi_native, USER_CS, RFLAGS_FIXED, USER_DS);
	cpu_set_gates(pvm_stubs, PVM_IST_EXCEPTIONS, PVM_IST_INTERRUPTS);
	cpu_set_gate(TRAP_NMI, pvm_stubs[TRAP_NMI], PVM_IST_NMI, 0);
	cpu_set_gate(PVM_RESUME_VECTOR, pvm_stubs[PVM_RESUME_VECTOR], PVM_IST_RESUME, 0);
}

/* pvm_entry.S: NMIs nested deeper than its levels of IST 7. Each needs
 * the timer to fire again before the one it interrupted had its frame off
 * the stack: never seen. */
_Noreturn void pvm_nmi_overflow(void);
_Noreturn void pvm_nmi_overflow(void)
{
	panic("timer NMIs nested too deep");
}

static uint64_t pvm_get_fault_addr(void)
{
	return pvm_fault_addr;
}

/* Frames pushed here carry CS 0x33 whether the trap came from the program
 * or the kernel; the kernel lives in the upper half. */
static bool pvm_from_user(const struct trapframe *tf)
{
	return (int64_t)tf->rip >= 0;
}

/* The host tracks the guest's IF flag only through iretq done in ring 0:
 * after a native one it counts the program as running with interrupts
 * off. wisp-vmm injects by the vCPU's position instead, but an emulated
 * local APIC (QEMU) needs the flag, at ~20 us a return. */
static void pvm_allow_device_interrupts(void)
{
	cpu_iret_ring0 = true;
}

const struct cpu_ops pvm_cpu_ops = {
	.name = "pvm",
	.init = pvm_init,
	.set_root = pvm_write_cr3,
	.flush_page = pvm_invlpg,
	.flush_pages_max = 1,   /* each is a trap, like a reload */
	.fault_addr = pvm_get_fault_addr,
	.set_fs_base = wrfsbase,
	.from_user = pvm_from_user,
	.allow_device_interrupts = pvm_allow_device_interrupts,
	.timer_nmi = true,
};
