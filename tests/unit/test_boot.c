/* test_boot.c: the PVH boot layout in a fake guest RAM buffer (no /dev/kvm needed). */
#include <stdint.h>
#include <stdlib.h>

#include <wisp/abi.h>

#include "boot.h"
#include "check.h"
#include "elf.h"

#define KBUF 8192
#define TEXT_OFF 4096
#define TEXT_LEN 1000

struct range {
	uint64_t start, end;
	const char *what;
};

/* A kernel ELF: text at 1 MiB (file-backed), bss after it, a PVH note and
 * a wisp ABI note saying abi; abi 0: no notes at all, -1: the PVH one only. */
static size_t make_kernel(uint8_t *buf, uint64_t paddr, uint64_t memsz, int abi)
{
	Elf64_Ehdr eh;
	Elf64_Phdr ph[2];
	int with_note = abi != 0;
	uint32_t note[] = { 4, 4, XEN_ELFNOTE_PHYS32_ENTRY, 0x006e6558, (uint32_t)paddr + 0x10,
			    5, 4, abi > 0 ? WISP_ELFNOTE_ABI : 0x99, 0x70736977, 0, (uint32_t)abi };

	memset(buf, 0, KBUF);
	memset(&eh, 0, sizeof(eh));
	memcpy(eh.e_ident, ELFMAG, SELFMAG);
	eh.e_ident[EI_CLASS] = ELFCLASS64;
	eh.e_ident[EI_DATA] = ELFDATA2LSB;
	eh.e_type = ET_EXEC;
	eh.e_machine = EM_X86_64;
	eh.e_phoff = sizeof(eh);
	eh.e_phentsize = sizeof(Elf64_Phdr);
	eh.e_phnum = 2;
	memcpy(buf, &eh, sizeof(eh));
	memset(ph, 0, sizeof(ph));
	ph[0].p_type = PT_LOAD;
	ph[0].p_offset = TEXT_OFF;
	ph[0].p_paddr = paddr;
	ph[0].p_vaddr = 0xffffffff80000000ull + paddr;   /* higher half: must load by paddr */
	ph[0].p_filesz = TEXT_LEN;
	ph[0].p_memsz = memsz;
	ph[1].p_type = with_note ? PT_NOTE : PT_NULL;
	ph[1].p_offset = 512;
	ph[1].p_filesz = ph[1].p_memsz = sizeof(note);
	memcpy(buf + sizeof(eh), ph, sizeof(ph));
	memcpy(buf + 512, note, sizeof(note));
	for (int i = 0; i < TEXT_LEN; i++)
		buf[TEXT_OFF + i] = (uint8_t)(i * 13 + 1);
	return KBUF;
}

static int overlap(const struct range *a, const struct range *b)
{
	return a->start < b->end && b->start < a->end;
}

static void check_no_overlaps(const struct range *r, int n, uint64_t ram)
{
	int ok = 1;

	for (int i = 0; i < n; i++) {
		if (r[i].end > ram || r[i].start >= r[i].end) {
			fprintf(stderr, "range %s outside RAM\n", r[i].what);
			ok = 0;
		}
		for (int j = i + 1; j < n; j++)
			if (overlap(&r[i], &r[j])) {
				fprintf(stderr, "%s overlaps %s\n", r[i].what, r[j].what);
				ok = 0;
			}
	}
	CHECK(ok);
}

static void test_layout(void)
{
	uint64_t ram_size = 64ull << 20;
	struct kvm_mem mem = { malloc(ram_size), ram_size };
	uint8_t *kbuf = malloc(KBUF);
	size_t initrd_len = 3 * 1024 * 1024 + 5;
	uint8_t *initrd = malloc(initrd_len);
	const char *cmdline = "env=HOME=/ prog=/bin/x -- x a\\ b";
	struct boot_kernel k;
	struct boot_params p;
	struct boot_layout l;
	struct hvm_start_info si;
	struct hvm_modlist_entry mods[3];
	struct hvm_memmap_table_entry map[2];
	struct wisp_boot_info bi;
	static const char index[] = "an index";
	char err[256];
	int bss_ok = 1, text_ok = 1;

	memset(mem.base, 0xaa, ram_size);   /* catch an unzeroed bss */
	for (size_t i = 0; i < initrd_len; i++)
		initrd[i] = (uint8_t)(i ^ (i >> 8));
	make_kernel(kbuf, 0x100000, 0x30000, WISP_ABI_VERSION);
	CHECK(boot_kernel_parse(kbuf, KBUF, &k, err, sizeof(err)) == 0);
	CHECK(k.entry == 0x100010);
	CHECK(k.end == 0x130000);
	CHECK(boot_initrd_addr(&k) == 0x200000);
	CHECK(boot_mem_needed(&k, initrd_len, 0) == (2ull + 4 + 2) << 20);
	/* The index starts on the page after the initramfs and needs room too. */
	CHECK(boot_index_addr(&k, initrd_len) == 0x200000 + 0x301000);
	CHECK(boot_mem_needed(&k, initrd_len, 0xff000) == (2ull + 4 + 2) << 20);
	CHECK(boot_mem_needed(&k, initrd_len, 0x100000) == (2ull + 5 + 2) << 20);

	memset(&p, 0, sizeof(p));
	p.kernel = &k;
	p.initrd = initrd;
	p.initrd_len = initrd_len;
	p.cmdline = cmdline;
	p.tsc_khz = 2400000;
	p.flags = WISP_BOOT_F_TRACE_SYSCALLS;
	for (int i = 0; i < 32; i++)
		p.seed[i] = (uint8_t)(i + 100);
	p.index = index;
	p.index_len = sizeof(index);
	CHECK(boot_setup(&mem, &p, &l, err, sizeof(err)) == 0);
	CHECK(l.entry == 0x100010);
	CHECK(l.start_info == BOOT_START_INFO);

	/* Kernel text copied by p_paddr, bss zeroed. */
	for (int i = 0; i < TEXT_LEN; i++)
		if (mem.base[0x100000 + i] != (uint8_t)(i * 13 + 1))
			text_ok = 0;
	for (uint64_t a = 0x100000 + TEXT_LEN; a < 0x130000; a++)
		if (mem.base[a] != 0)
			bss_ok = 0;
	CHECK(text_ok);
	CHECK(bss_ok);
	CHECK(mem.base[0x130000] == 0xaa);   /* nothing written past the kernel */

	memcpy(&si, mem.base + l.start_info, sizeof(si));
	CHECK(si.magic == HVM_START_MAGIC);
	CHECK(si.version == 1);
	CHECK(si.nr_modules == 3);
	CHECK(si.memmap_entries == 2);
	CHECK(si.rsdp_paddr == 0);
	CHECK_STR((const char *)mem.base + si.cmdline_paddr, cmdline);

	memcpy(mods, mem.base + si.modlist_paddr, sizeof(mods));
	CHECK(mods[0].paddr == l.initrd_addr);
	CHECK(mods[0].paddr % (2u << 20) == 0);
	CHECK(mods[0].paddr >= k.end);
	CHECK(mods[0].size == initrd_len);
	CHECK(memcmp(mem.base + mods[0].paddr, initrd, initrd_len) == 0);
	CHECK(mods[0].cmdline_paddr && strcmp((char *)mem.base + mods[0].cmdline_paddr, "initramfs") == 0);
	CHECK(mods[1].size == sizeof(bi));
	memcpy(&bi, mem.base + mods[1].paddr, sizeof(bi));
	CHECK(bi.magic == WISP_BOOT_MAGIC);
	CHECK(bi.abi_version == WISP_ABI_VERSION);
	CHECK(bi.tsc_khz == 2400000);
	CHECK(bi.flags == WISP_BOOT_F_TRACE_SYSCALLS);
	CHECK(memcmp(bi.seed, p.seed, 32) == 0);
	CHECK(mods[2].paddr == l.index_addr && l.index_addr % 4096 == 0);
	CHECK(mods[2].paddr >= mods[0].paddr + mods[0].size);
	CHECK(mods[2].size == sizeof(index));
	CHECK(memcmp(mem.base + mods[2].paddr, index, sizeof(index)) == 0);
	CHECK(strcmp((char *)mem.base + mods[2].cmdline_paddr, "initramfs-index") == 0);

	memcpy(map, mem.base + si.memmap_paddr, sizeof(map));
	CHECK(map[0].addr == 0 && map[0].size == 0x9fc00 && map[0].type == HVM_MEMMAP_TYPE_RAM);
	CHECK(map[1].addr == 0x100000 && map[1].addr + map[1].size == ram_size);
	CHECK(map[1].type == HVM_MEMMAP_TYPE_RAM);

	{
		struct range r[] = {
			{ si.modlist_paddr - 0x100, si.modlist_paddr - 0x100 + sizeof(si), "start_info" },
			{ si.modlist_paddr, si.modlist_paddr + sizeof(mods), "modlist" },
			{ si.memmap_paddr, si.memmap_paddr + sizeof(map), "memmap" },
			{ mods[1].paddr, mods[1].paddr + sizeof(bi), "boot_info" },
			{ mods[0].cmdline_paddr, mods[0].cmdline_paddr + 10, "mod0 name" },
			{ mods[1].cmdline_paddr, mods[1].cmdline_paddr + 15, "mod1 name" },
			{ mods[2].cmdline_paddr, mods[2].cmdline_paddr + 16, "mod2 name" },
			{ si.cmdline_paddr, si.cmdline_paddr + WISP_CMDLINE_MAX, "cmdline" },
			{ 0x100000, k.end, "kernel" },
			{ mods[0].paddr, mods[0].paddr + mods[0].size, "initramfs" },
			{ mods[2].paddr, mods[2].paddr + mods[2].size, "index" },
		};
		CHECK(r[0].start == l.start_info);
		check_no_overlaps(r, (int)(sizeof(r) / sizeof(r[0])), ram_size);
		/* All boot structures sit in usable low RAM, below the kernel. */
		for (int i = 0; i < 8; i++)
			CHECK(r[i].end <= 0x9fc00);
	}
	free(mem.base);
	free(kbuf);
	free(initrd);
}

static void test_errors(void)
{
	uint8_t *kbuf = malloc(KBUF);
	struct kvm_mem mem = { malloc(8u << 20), 8u << 20 };
	struct boot_kernel k;
	struct boot_params p;
	struct boot_layout l;
	char err[256];
	char *longline = malloc(WISP_CMDLINE_MAX + 1);

	make_kernel(kbuf, 0x100000, 0x1000, 0);
	CHECK(boot_kernel_parse(kbuf, KBUF, &k, err, sizeof(err)) < 0);
	CHECK_CONTAINS(err, "no PVH entry note");

	/* A kernel of another ABI, or none, is refused before it can hang. */
	make_kernel(kbuf, 0x100000, 0x1000, -1);
	CHECK(boot_kernel_parse(kbuf, KBUF, &k, err, sizeof(err)) < 0);
	CHECK_CONTAINS(err, "no wisp ABI note");
	make_kernel(kbuf, 0x100000, 0x1000, WISP_ABI_VERSION - 1);
	CHECK(boot_kernel_parse(kbuf, KBUF, &k, err, sizeof(err)) < 0);
	CHECK_CONTAINS(err, "speaks guest ABI 2");

	make_kernel(kbuf, 0x8000, 0x1000, WISP_ABI_VERSION);
	CHECK(boot_kernel_parse(kbuf, KBUF, &k, err, sizeof(err)) < 0);
	CHECK_CONTAINS(err, "below 1 MiB");

	make_kernel(kbuf, 0x100000, UINT64_MAX - 0x10, WISP_ABI_VERSION);
	CHECK(boot_kernel_parse(kbuf, KBUF, &k, err, sizeof(err)) < 0);

	/* Entry outside the loaded range. */
	make_kernel(kbuf, 0x100000, 0x1000, WISP_ABI_VERSION);
	memcpy(kbuf + 512 + 16, &(uint32_t){ 0x5000000 }, 4);
	CHECK(boot_kernel_parse(kbuf, KBUF, &k, err, sizeof(err)) < 0);

	/* Too little RAM for kernel + initramfs + headroom. */
	make_kernel(kbuf, 0x100000, 0x1000, WISP_ABI_VERSION);
	CHECK(boot_kernel_parse(kbuf, KBUF, &k, err, sizeof(err)) == 0);
	memset(&p, 0, sizeof(p));
	p.kernel = &k;
	p.initrd = kbuf;
	p.initrd_len = 5u << 20;   /* read past kbuf never happens: setup must refuse first */
	p.cmdline = "";
	CHECK(boot_setup(&mem, &p, &l, err, sizeof(err)) < 0);
	CHECK_CONTAINS(err, "too small");

	/* A kernel that is larger than RAM. */
	make_kernel(kbuf, 0x100000, 64u << 20, WISP_ABI_VERSION);
	CHECK(boot_kernel_parse(kbuf, KBUF, &k, err, sizeof(err)) == 0);
	p.initrd_len = 0;
	CHECK(boot_setup(&mem, &p, &l, err, sizeof(err)) < 0);

	/* Over-long command line. */
	make_kernel(kbuf, 0x100000, 0x1000, WISP_ABI_VERSION);
	CHECK(boot_kernel_parse(kbuf, KBUF, &k, err, sizeof(err)) == 0);
	memset(longline, 'a', WISP_CMDLINE_MAX);
	longline[WISP_CMDLINE_MAX] = '\0';
	p.cmdline = longline;
	CHECK(boot_setup(&mem, &p, &l, err, sizeof(err)) < 0);
	longline[WISP_CMDLINE_MAX - 1] = '\0';
	CHECK(boot_setup(&mem, &p, &l, err, sizeof(err)) == 0);
	CHECK(strlen((char *)mem.base + BOOT_CMDLINE) == WISP_CMDLINE_MAX - 1);

	free(longline);
	free(mem.base);
	free(kbuf);
}

int main(void)
{
	test_layout();
	test_errors();
	return check_report();
}
