/* platform.c: chooses how the kernel talks to its host. */
#include "kernel.h"
#include "platform.h"
#include "drivers/hypercall.h"
#include "drivers/legacy.h"
#include "mm/page.h"
#include <wisp/abi.h>

/* Tells wisp-vmm which boot info this kernel expects (WISP_ELFNOTE_ABI). */
static const struct {
	uint32_t namesz, descsz, type;
	char name[8];
	uint32_t desc;
} abi_note __attribute__((section(".note.wisp"), aligned(4), used)) = {
	5, 4, WISP_ELFNOTE_ABI, "wisp", WISP_ABI_VERSION,
};

const struct platform_ops *platform = &legacy_platform;
uint64_t platform_tsc_khz;
const uint8_t *platform_seed;
const struct wisp_device *platform_devices;
unsigned platform_ndevices;
bool platform_trace_syscalls;
bool platform_timer_nmi;

/* wisp-vmm passes struct wisp_boot_info as PVH module 1. */
static const struct wisp_boot_info *find_wisp_boot_info(const struct hvm_start_info *si)
{
	const struct hvm_modlist_entry *mods;
	const struct wisp_boot_info *bi;

	if (si->nr_modules < 2)
		return NULL;
	mods = phys_to_virt(si->modlist_paddr);
	if (mods[1].size < sizeof(*bi))
		return NULL;
	bi = phys_to_virt(mods[1].paddr);
	if (bi->magic != WISP_BOOT_MAGIC || bi->abi_version != WISP_ABI_VERSION)
		return NULL;
	return bi;
}

void platform_init(const struct hvm_start_info *si)
{
	const struct wisp_boot_info *bi = find_wisp_boot_info(si);

	if (!bi) {
		legacy_init();
		platform_tsc_khz = legacy_tsc_khz();
		return;
	}
	platform = &hypercall_platform;
	platform_tsc_khz = bi->tsc_khz;
	platform_seed = bi->seed;
	platform_devices = bi->devices;
	platform_ndevices = bi->ndevices < WISP_DEVICES_MAX ? bi->ndevices : WISP_DEVICES_MAX;
	platform_trace_syscalls = bi->flags & WISP_BOOT_F_TRACE_SYSCALLS;
}
