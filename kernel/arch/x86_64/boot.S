/* boot.S: PVH entry: switch to long mode on static page tables, then leave
 * ring 0 as early as possible.
 *
 * On this project's KVM host, guest ring-0 code before the first switch to
 * ring 3 is emulated (~1 us per instruction), so the page tables and GDT are
 * built by the assembler at link time and the code here is a few dozen
 * instructions. Everything else runs after the first kernel entry from
 * ring 3, natively (see arch_enter_native()).
 */
#include "arch/x86_64/x86.h"

#define KERNEL_VMA 0xffffffff80000000
#define PHYS(sym) ((sym) - KERNEL_VMA)
#define PG_TABLE 0x7      /* present, writable, user: see PLATFORM.md */
#define PG_LARGE 0x87     /* 2 MiB page, present, writable, user */

	.section .note.Xen, "a"
	.p2align 2
	.long 4                 /* name size */
	.long 4                 /* desc size */
	.long 18                /* XEN_ELFNOTE_PHYS32_ENTRY */
	.asciz "Xen"
	.long pvh_start32

	.section .boot.text, "ax"
	.code32
	.globl pvh_start32
pvh_start32:
	/* %ebx: physical address of struct hvm_start_info. */
	cli
	lgdt boot_gdt_desc
	mov %cr4, %eax
	or $0x620, %eax         /* PAE, OSFXSR, OSXMMEXCPT */
	mov %eax, %cr4
	mov $PHYS(boot_pml4), %eax
	mov %eax, %cr3
	mov $0xc0000080, %ecx   /* EFER */
	rdmsr
	or $0x901, %eax         /* LME, NXE, SCE */
	wrmsr
	mov $0x80010033, %eax   /* PG, WP, NE, ET, MP, PE */
	mov %eax, %cr0
	ljmp $KERNEL_CS, $start64

	.code64
start64:
	movabs $start_high, %rax
	jmp *%rax

	.section .boot.data, "a"
	.p2align 3
boot_gdt_desc:
	.word gdt_end - gdt - 1
	.long PHYS(gdt)

	.text
start_high:
	lgdt gdt_desc(%rip)
	mov $KERNEL_DS, %ax
	mov %ax, %ds
	mov %ax, %es
	mov %ax, %ss
	xor %eax, %eax
	mov %ax, %fs
	mov %ax, %gs
	/* Drop the identity map: the lower half belongs to the program. */
	mov $PHYS(kernel_pml4), %rax
	mov %rax, %cr3
	lea boot_stack_top(%rip), %rsp
	mov %ebx, %edi
	call arch_init_ring0
	jmp arch_enter_native

	.data
	.p2align 4
	.globl gdt
gdt:
	.quad 0
	.quad 0                         /* 0x08 unused */
	.quad 0x00af9a000000ffff        /* 0x10 kernel code, 64-bit */
	.quad 0x00cf92000000ffff        /* 0x18 kernel data */
	.quad 0x00cffa000000ffff        /* 0x20 user code, 32-bit (sysret layout) */
	.quad 0x00cff2000000ffff        /* 0x28 user data */
	.quad 0x00affa000000ffff        /* 0x30 user code, 64-bit */
	.quad 0, 0                      /* 0x38 TSS, filled by cpu.c */
gdt_end:
	.p2align 3
gdt_desc:
	.word gdt_end - gdt - 1
	.quad gdt

	/* Boot tables: identity map and direct map of the first 4 GiB, and the
	 * kernel image at KERNEL_VMA, all with 2 MiB pages. The direct map is
	 * in PML4 slot 510 (0xffffff0000000000): the PVM-style host cannot
	 * reach slot 256 from the guest's native kernel mode. */
	.p2align 12
boot_pml4:
	.quad PHYS(pdpt_low) + PG_TABLE
	.fill 509, 8, 0
	.quad PHYS(pdpt_low) + PG_TABLE  /* 0xffffff0000000000: direct map */
	.quad PHYS(pdpt_kernel) + PG_TABLE

	.globl kernel_pml4
kernel_pml4:
	.fill 510, 8, 0
	.quad PHYS(pdpt_low) + PG_TABLE
	.quad PHYS(pdpt_kernel) + PG_TABLE

pdpt_low:
	.quad PHYS(pd_4g) + PG_TABLE
	.quad PHYS(pd_4g) + 0x1000 + PG_TABLE
	.quad PHYS(pd_4g) + 0x2000 + PG_TABLE
	.quad PHYS(pd_4g) + 0x3000 + PG_TABLE
	.fill 508, 8, 0

pdpt_kernel:
	.fill 510, 8, 0
	.quad PHYS(pd_4g) + PG_TABLE      /* 0xffffffff80000000: first GiB */
	.quad 0

pd_4g:
	.set i, 0
	.rept 2048
	.quad (i << 21) + PG_LARGE
	.set i, i + 1
	.endr

	.bss
	.p2align 12
	.globl boot_stack_top
boot_stack:
	.skip 16384
boot_stack_top:
