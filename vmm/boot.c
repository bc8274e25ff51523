/* boot.c: place the kernel, initramfs and PVH start_info into guest memory. */
#include "boot.h"

#include <stdio.h>
#include <string.h>

#include <wisp/abi.h>

#include "elf.h"
#include "errmsg.h"

static uint64_t align_up(uint64_t v, uint64_t a)
{
	return (v + a - 1) & ~(a - 1);
}

/* Segments must sit above the boot area and must not wrap around. */
static int scan_segments(const void *elf, size_t len, uint64_t *end, char *err, size_t errlen)
{
	size_t n = elf_phnum(elf);
	Elf64_Phdr ph;

	*end = 0;
	for (size_t i = 0; i < n; i++) {
		if (elf_phdr(elf, len, i, &ph) < 0)
			return errmsg(err, errlen, "truncated ELF file");
		if (ph.p_type != PT_LOAD || ph.p_memsz == 0)
			continue;
		if (ph.p_paddr < BOOT_KERNEL_MIN)
			return errmsg(err, errlen, "segment at physical address 0x%llx is below 1 MiB "
				      "(link the kernel at p_paddr >= 0x100000)",
				      (unsigned long long)ph.p_paddr);
		if (ph.p_paddr + ph.p_memsz < ph.p_paddr || ph.p_paddr + ph.p_memsz > (1ull << 40))
			return errmsg(err, errlen, "segment at physical address 0x%llx is too large",
				      (unsigned long long)ph.p_paddr);
		if (ph.p_paddr + ph.p_memsz > *end)
			*end = ph.p_paddr + ph.p_memsz;
	}
	return 0;
}

int boot_kernel_parse(const void *elf, size_t len, struct boot_kernel *k,
		      char *err, size_t errlen)
{
	uint32_t abi;

	memset(k, 0, sizeof(*k));
	if (elf_check_kernel(elf, len, err, errlen) < 0)
		return -1;
	if (scan_segments(elf, len, &k->end, err, errlen) < 0)
		return -1;
	if (elf_pvh_entry(elf, len, &k->entry) < 0)
		return errmsg(err, errlen, "no PVH entry note (Xen ELF note type 18)");
	if (k->entry < BOOT_KERNEL_MIN || k->entry >= k->end)
		return errmsg(err, errlen, "PVH entry 0x%x is outside the loaded kernel", k->entry);
	if (elf_note_u32(elf, len, "wisp", WISP_ELFNOTE_ABI, &abi) < 0)
		return errmsg(err, errlen, "not a wisp kernel of this version (no wisp ABI note; "
			      "rebuild it with make)");
	if (abi != WISP_ABI_VERSION)
		return errmsg(err, errlen, "the kernel speaks guest ABI %u, this wisp speaks %d "
			      "(rebuild it with make)", abi, WISP_ABI_VERSION);
	k->elf = elf;
	k->len = len;
	return 0;
}

uint64_t boot_initrd_addr(const struct boot_kernel *k)
{
	return align_up(k->end, BOOT_INITRD_ALIGN);
}

uint64_t boot_index_addr(const struct boot_kernel *k, size_t initrd_len)
{
	return boot_initrd_addr(k) + align_up(initrd_len, 4096);
}

uint64_t boot_mem_needed(const struct boot_kernel *k, size_t initrd_len, size_t index_len)
{
	uint64_t end = boot_index_addr(k, initrd_len) + align_up(index_len, 4096) + BOOT_HEADROOM;

	return align_up(end, 1ull << 20);
}

static int load_segments(struct kvm_mem *mem, const struct boot_kernel *k,
			 char *err, size_t errlen)
{
	size_t n = elf_phnum(k->elf);
	Elf64_Phdr ph;

	for (size_t i = 0; i < n; i++) {
		uint8_t *dst;

		if (elf_phdr(k->elf, k->len, i, &ph) < 0)
			return errmsg(err, errlen, "truncated ELF file");
		if (ph.p_type != PT_LOAD || ph.p_memsz == 0)
			continue;
		dst = kvm_mem_ptr(mem, ph.p_paddr, ph.p_memsz);
		if (!dst)
			return errmsg(err, errlen, "kernel segment at 0x%llx does not fit in guest "
				      "memory", (unsigned long long)ph.p_paddr);
		/* elf_check_kernel guaranteed the file range and filesz <= memsz. */
		memcpy(dst, k->elf + ph.p_offset, ph.p_filesz);
		memset(dst + ph.p_filesz, 0, ph.p_memsz - ph.p_filesz);
	}
	return 0;
}

static void put(struct kvm_mem *mem, uint64_t gpa, const void *src, size_t len)
{
	memcpy(mem->base + gpa, src, len);
}

_Static_assert(BOOT_INFO + sizeof(struct wisp_boot_info) <= BOOT_CMDLINE,
	       "struct wisp_boot_info fits below the command line");

static void write_tables(struct kvm_mem *mem, const struct boot_params *p,
			 const struct boot_layout *l)
{
	static const char names[3][32] = { "initramfs", "wisp-boot-info", "initramfs-index" };
	struct hvm_modlist_entry mods[3];
	struct hvm_memmap_table_entry map[BOOT_MEMMAP_ENTRIES];
	struct wisp_boot_info bi;
	struct hvm_start_info si;

	memset(mods, 0, sizeof(mods));
	mods[0] = (struct hvm_modlist_entry){ l->initrd_addr, p->initrd_len, BOOT_MOD_CMDLINES, 0 };
	mods[1] = (struct hvm_modlist_entry){ BOOT_INFO, sizeof(bi), BOOT_MOD_CMDLINES + 32, 0 };
	mods[2] = (struct hvm_modlist_entry){ l->index_addr, p->index_len, BOOT_MOD_CMDLINES + 64, 0 };
	put(mem, BOOT_MOD_CMDLINES, names, sizeof(names));
	put(mem, BOOT_MODLIST, mods, sizeof(mods));

	memset(map, 0, sizeof(map));
	map[0] = (struct hvm_memmap_table_entry){ 0, BOOT_LOW_RAM_END, HVM_MEMMAP_TYPE_RAM, 0 };
	map[1] = (struct hvm_memmap_table_entry){ BOOT_KERNEL_MIN, mem->size - BOOT_KERNEL_MIN,
						  HVM_MEMMAP_TYPE_RAM, 0 };
	put(mem, BOOT_MEMMAP, map, sizeof(map));

	memset(&bi, 0, sizeof(bi));
	bi.magic = WISP_BOOT_MAGIC;
	bi.abi_version = WISP_ABI_VERSION;
	bi.tsc_khz = p->tsc_khz;
	bi.flags = p->flags;
	memcpy(bi.seed, p->seed, sizeof(bi.seed));
	bi.ndevices = p->ndevices;
	memcpy(bi.devices, p->devices, p->ndevices * sizeof(*p->devices));
	put(mem, BOOT_INFO, &bi, sizeof(bi));

	memset(&si, 0, sizeof(si));
	si.magic = HVM_START_MAGIC;
	si.version = 1;
	si.nr_modules = p->index_len ? 3 : 2;
	si.modlist_paddr = BOOT_MODLIST;
	si.cmdline_paddr = BOOT_CMDLINE;
	si.memmap_paddr = BOOT_MEMMAP;
	si.memmap_entries = BOOT_MEMMAP_ENTRIES;
	put(mem, BOOT_START_INFO, &si, sizeof(si));
}

int boot_setup(struct kvm_mem *mem, const struct boot_params *p,
	       struct boot_layout *out, char *err, size_t errlen)
{
	size_t cmdlen = strlen(p->cmdline) + 1;
	uint64_t need = boot_mem_needed(p->kernel, p->initrd_len, p->index_len);

	if (cmdlen > WISP_CMDLINE_MAX)
		return errmsg(err, errlen, "kernel command line is too long (%zu bytes)", cmdlen);
	if (mem->size < need)
		return errmsg(err, errlen, "guest memory is too small: need at least %llu MiB",
			      (unsigned long long)(need >> 20));
	memset(out, 0, sizeof(*out));
	out->entry = p->kernel->entry;
	out->start_info = BOOT_START_INFO;
	out->initrd_addr = boot_initrd_addr(p->kernel);
	out->initrd_size = p->initrd_len;
	out->index_addr = boot_index_addr(p->kernel, p->initrd_len);
	out->cmdline_addr = BOOT_CMDLINE;
	out->boot_info_addr = BOOT_INFO;
	if (load_segments(mem, p->kernel, err, errlen) < 0)
		return -1;
	memset(mem->base + BOOT_START_INFO, 0, BOOT_AREA_END - BOOT_START_INFO);
	put(mem, BOOT_CMDLINE, p->cmdline, cmdlen);
	if (p->initrd != mem->base + out->initrd_addr)  /* else built in place */
		put(mem, out->initrd_addr, p->initrd, p->initrd_len);
	if (p->index_len)
		put(mem, out->index_addr, p->index, p->index_len);
	write_tables(mem, p, out);
	return 0;
}
