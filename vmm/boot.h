/* boot.h: PVH boot: load the kernel ELF and lay out the boot structures in RAM. */
#ifndef WISP_BOOT_H
#define WISP_BOOT_H

#include <stddef.h>
#include <stdint.h>

#include "kvm.h"
#include <wisp/abi.h>

/* Fixed guest-physical layout below 1 MiB (the kernel loads at >= 1 MiB). */
#define BOOT_START_INFO   0x6000ull   /* struct hvm_start_info */
#define BOOT_MODLIST      0x6100ull   /* struct hvm_modlist_entry[3] */
#define BOOT_MEMMAP       0x6200ull   /* struct hvm_memmap_table_entry[] */
#define BOOT_INFO         0x7000ull   /* struct wisp_boot_info */
#define BOOT_MOD_CMDLINES 0x6500ull   /* module name strings */
#define BOOT_CMDLINE      0x10000ull  /* up to WISP_CMDLINE_MAX bytes */
#define BOOT_AREA_END     0x20000ull
#define BOOT_LOW_RAM_END  0x9fc00ull  /* like a PC: EBDA/VGA/BIOS above */
#define BOOT_KERNEL_MIN   0x100000ull
#define BOOT_INITRD_ALIGN (2ull << 20)
#define BOOT_HEADROOM     (2ull << 20)
#define BOOT_MEMMAP_ENTRIES 2

struct boot_kernel {
	const uint8_t *elf;
	size_t len;
	uint32_t entry;      /* PVH 32-bit entry point */
	uint64_t end;        /* end of the highest PT_LOAD (physical) */
};

struct boot_params {
	const struct boot_kernel *kernel;
	const void *initrd;
	size_t initrd_len;
	const void *index;   /* the initramfs index (cpio_index.h), or NULL */
	size_t index_len;
	const char *cmdline;
	uint64_t tsc_khz;
	uint64_t flags;      /* WISP_BOOT_F_* */
	uint8_t seed[32];
	const struct wisp_device *devices;
	unsigned ndevices;   /* at most WISP_DEVICES_MAX */
};

struct boot_layout {
	uint64_t entry;
	uint64_t start_info;
	uint64_t initrd_addr;
	uint64_t initrd_size;
	uint64_t index_addr;
	uint64_t cmdline_addr;
	uint64_t boot_info_addr;
};

/* Validates the kernel ELF and finds its PVH entry. On error writes a reason
 * ("no PVH entry note") to err and returns -1. */
int boot_kernel_parse(const void *elf, size_t len, struct boot_kernel *k,
		      char *err, size_t errlen);

/* Where the initramfs goes: after the kernel, 2 MiB aligned. */
uint64_t boot_initrd_addr(const struct boot_kernel *k);

/* Where the initramfs index goes: on the page after the initramfs. */
uint64_t boot_index_addr(const struct boot_kernel *k, size_t initrd_len);

/* Smallest RAM size (bytes, MiB multiple) that fits kernel, initramfs, its
 * index and the headroom the kernel needs to start. */
uint64_t boot_mem_needed(const struct boot_kernel *k, size_t initrd_len, size_t index_len);

/* Copies the kernel segments, initramfs and index into mem and writes start_info,
 * modules, memmap, cmdline and wisp_boot_info. mem is a plain buffer, so this
 * needs no KVM. Returns -1 with a reason in err if anything does not fit. */
int boot_setup(struct kvm_mem *mem, const struct boot_params *p,
	       struct boot_layout *out, char *err, size_t errlen);

#endif
