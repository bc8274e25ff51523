/* test_elf.c: ELF checks on crafted buffers, including truncated and hostile ones. */
#include <stdint.h>
#include <stdlib.h>

#include <wisp/abi.h>

#include "check.h"
#include "elf.h"

#define BUF_LEN 4096

/* A minimal valid static x86-64 executable: header, phdrs at 64, one PT_LOAD. */
static size_t make_elf(uint8_t *buf, uint16_t type, int nph)
{
	Elf64_Ehdr eh;
	Elf64_Phdr ph;

	memset(buf, 0, BUF_LEN);
	memset(&eh, 0, sizeof(eh));
	memcpy(eh.e_ident, ELFMAG, SELFMAG);
	eh.e_ident[EI_CLASS] = ELFCLASS64;
	eh.e_ident[EI_DATA] = ELFDATA2LSB;
	eh.e_ident[EI_VERSION] = EV_CURRENT;
	eh.e_type = type;
	eh.e_machine = EM_X86_64;
	eh.e_version = EV_CURRENT;
	eh.e_entry = 0x401000;
	eh.e_phoff = sizeof(eh);
	eh.e_ehsize = sizeof(eh);
	eh.e_phentsize = sizeof(ph);
	eh.e_phnum = (uint16_t)nph;
	memcpy(buf, &eh, sizeof(eh));
	memset(&ph, 0, sizeof(ph));
	ph.p_type = PT_LOAD;
	ph.p_offset = 0;
	ph.p_vaddr = ph.p_paddr = 0x400000;
	ph.p_filesz = 512;
	ph.p_memsz = 4096;
	for (int i = 0; i < nph; i++)
		memcpy(buf + sizeof(eh) + (size_t)i * sizeof(ph), &ph, sizeof(ph));
	return 1024;
}

static void set_phdr(uint8_t *buf, int i, const Elf64_Phdr *ph)
{
	memcpy(buf + sizeof(Elf64_Ehdr) + (size_t)i * sizeof(*ph), ph, sizeof(*ph));
}

static void patch16(uint8_t *buf, size_t off, uint16_t v)
{
	memcpy(buf + off, &v, 2);
}

static void patch64(uint8_t *buf, size_t off, uint64_t v)
{
	memcpy(buf + off, &v, 8);
}

static int check(const uint8_t *buf, size_t len, char *why)
{
	why[0] = '\0';
	return elf_check_program(buf, len, why, 256);
}

static void test_valid(void)
{
	uint8_t *buf = malloc(BUF_LEN);
	char why[256];
	size_t len = make_elf(buf, ET_EXEC, 1);

	CHECK(check(buf, len, why) == 0);
	make_elf(buf, ET_DYN, 2);   /* static-pie */
	CHECK(check(buf, len, why) == 0);
	free(buf);
}

static void test_not_elf(void)
{
	char why[256];
	uint8_t text[] = "hello world, this is not an ELF file at all............";

	CHECK(check(text, sizeof(text), why) < 0);
	CHECK_STR(why, "not an ELF executable");
	CHECK(check(text, 0, why) < 0);
	CHECK_STR(why, "not an ELF executable");
	CHECK(check((const uint8_t *)"\x7f" "EL", 3, why) < 0);
	CHECK_STR(why, "not an ELF executable");
}

static void test_bad_headers(void)
{
	uint8_t *buf = malloc(BUF_LEN);
	char why[256];
	size_t len = make_elf(buf, ET_EXEC, 1);

	buf[EI_CLASS] = ELFCLASS32;
	CHECK(check(buf, len, why) < 0);
	CHECK_STR(why, "32-bit ELF is not supported (wisp runs x86-64 programs)");

	make_elf(buf, ET_EXEC, 1);
	patch16(buf, offsetof(Elf64_Ehdr, e_machine), EM_AARCH64);
	CHECK(check(buf, len, why) < 0);
	CHECK_STR(why, "is for AArch64, not x86-64");
	patch16(buf, offsetof(Elf64_Ehdr, e_machine), 0x1234);
	CHECK(check(buf, len, why) < 0);
	CHECK_CONTAINS(why, "not x86-64");

	make_elf(buf, ET_EXEC, 1);
	buf[EI_DATA] = ELFDATA2MSB;
	CHECK(check(buf, len, why) < 0);

	make_elf(buf, ET_REL, 1);
	CHECK(check(buf, len, why) < 0);
	CHECK_CONTAINS(why, "not an executable");
	make_elf(buf, ET_CORE, 1);
	CHECK(check(buf, len, why) < 0);

	/* Truncated ELF header: every prefix must be rejected without reading past it. */
	make_elf(buf, ET_EXEC, 1);
	for (size_t n = 0; n < sizeof(Elf64_Ehdr) + sizeof(Elf64_Phdr); n++) {
		uint8_t *exact = malloc(n ? n : 1);

		memcpy(exact, buf, n);
		CHECK(check(exact, n, why) < 0);
		free(exact);
	}
	free(buf);
}

static void test_phdrs(void)
{
	uint8_t *buf = malloc(BUF_LEN);
	char why[256];
	size_t len = make_elf(buf, ET_EXEC, 1);
	Elf64_Phdr ph;

	patch64(buf, offsetof(Elf64_Ehdr, e_phoff), len - 10);
	CHECK(check(buf, len, why) < 0);
	CHECK_CONTAINS(why, "program headers past the end");

	make_elf(buf, ET_EXEC, 1);
	patch64(buf, offsetof(Elf64_Ehdr, e_phoff), UINT64_MAX - 8);
	CHECK(check(buf, len, why) < 0);

	make_elf(buf, ET_EXEC, 1);
	patch16(buf, offsetof(Elf64_Ehdr, e_phnum), 0xffff);
	CHECK(check(buf, len, why) < 0);

	make_elf(buf, ET_EXEC, 1);
	patch16(buf, offsetof(Elf64_Ehdr, e_phnum), 0);
	CHECK(check(buf, len, why) < 0);

	make_elf(buf, ET_EXEC, 1);
	patch16(buf, offsetof(Elf64_Ehdr, e_phentsize), 32);
	CHECK(check(buf, len, why) < 0);

	/* A segment whose file range lies past the end of the file. */
	make_elf(buf, ET_EXEC, 1);
	memset(&ph, 0, sizeof(ph));
	ph.p_type = PT_LOAD;
	ph.p_offset = 512;
	ph.p_filesz = len;
	ph.p_memsz = len;
	set_phdr(buf, 0, &ph);
	CHECK(check(buf, len, why) < 0);
	ph.p_offset = UINT64_MAX;
	ph.p_filesz = 2;
	set_phdr(buf, 0, &ph);
	CHECK(check(buf, len, why) < 0);
	ph.p_offset = 0;
	ph.p_filesz = 100;
	ph.p_memsz = 50;
	set_phdr(buf, 0, &ph);
	CHECK(check(buf, len, why) < 0);
	ph.p_type = PT_NOTE;
	ph.p_memsz = 100;
	set_phdr(buf, 0, &ph);
	CHECK(check(buf, len, why) < 0);
	CHECK_CONTAINS(why, "no loadable segments");
	free(buf);
}

static void test_interp(void)
{
	uint8_t *buf = malloc(BUF_LEN);
	static const char interp[] = "/lib64/ld-linux-x86-64.so.2";
	char why[256];
	size_t len = make_elf(buf, ET_DYN, 2);
	Elf64_Phdr ph;

	memset(&ph, 0, sizeof(ph));
	ph.p_type = PT_INTERP;
	ph.p_offset = 600;
	ph.p_filesz = sizeof(interp);
	ph.p_memsz = sizeof(interp);
	memcpy(buf + 600, interp, sizeof(interp));
	set_phdr(buf, 1, &ph);
	CHECK(check(buf, len, why) < 0);
	CHECK_STR(why, "dynamic executables are not supported yet "
		  "(needs /lib64/ld-linux-x86-64.so.2); link it with -static");

	/* An interpreter path outside the file is still reported, without reading it. */
	ph.p_offset = len - 4;
	ph.p_filesz = 64;
	set_phdr(buf, 1, &ph);
	CHECK(check(buf, len, why) < 0);
	CHECK_CONTAINS(why, "dynamic executables are not supported yet");
	free(buf);
}

/* A kernel: ET_EXEC with a PT_LOAD at 1 MiB and a PT_NOTE holding notes. */
static size_t make_kernel(uint8_t *buf, const void *notes, size_t notes_len)
{
	size_t len = make_elf(buf, ET_EXEC, 2);
	Elf64_Phdr ph;

	memset(&ph, 0, sizeof(ph));
	ph.p_type = PT_LOAD;
	ph.p_offset = 0;
	ph.p_paddr = ph.p_vaddr = 0x100000;
	ph.p_filesz = len;
	ph.p_memsz = 0x10000;
	set_phdr(buf, 0, &ph);
	ph.p_type = PT_NOTE;
	ph.p_offset = 512;
	ph.p_filesz = ph.p_memsz = notes_len;
	memcpy(buf + 512, notes, notes_len);
	set_phdr(buf, 1, &ph);
	return len;
}

static void test_pvh_note(void)
{
	uint8_t *buf = malloc(BUF_LEN);
	char why[256];
	uint32_t entry = 0;
	/* A GNU build-id note first, then the Xen PVH note. */
	uint32_t notes[] = {
		4, 8, 3, 0x00554e47, 0x11111111, 0x22222222,
		4, 4, XEN_ELFNOTE_PHYS32_ENTRY, 0x006e6558, 0x00100040,
	};
	uint32_t wrong_type[] = { 4, 4, 17, 0x006e6558, 0x00100040 };
	uint32_t huge_namesz[] = { 0xfffffff0u, 4, 18, 0x006e6558, 0x00100040 };
	uint32_t huge_descsz[] = { 4, 0xfffffff0u, 18, 0x006e6558, 0x00100040 };
	size_t len = make_kernel(buf, notes, sizeof(notes));

	CHECK(elf_check_kernel(buf, len, why, sizeof(why)) == 0);
	CHECK(elf_pvh_entry(buf, len, &entry) == 0);
	CHECK(entry == 0x100040);

	len = make_kernel(buf, wrong_type, sizeof(wrong_type));
	CHECK(elf_pvh_entry(buf, len, &entry) < 0);
	len = make_kernel(buf, huge_namesz, sizeof(huge_namesz));
	CHECK(elf_pvh_entry(buf, len, &entry) < 0);
	len = make_kernel(buf, huge_descsz, sizeof(huge_descsz));
	CHECK(elf_pvh_entry(buf, len, &entry) < 0);
	/* Note segment cut in the middle of the descriptor. */
	len = make_kernel(buf, notes, sizeof(notes) - 2);
	CHECK(elf_pvh_entry(buf, len, &entry) < 0);

	make_elf(buf, ET_DYN, 1);
	CHECK(elf_check_kernel(buf, len, why, sizeof(why)) < 0);
	free(buf);
}

static void test_machine_names(void)
{
	char tmp[32];

	CHECK_STR(elf_machine_name(EM_386, tmp, sizeof(tmp)), "i386");
	CHECK_STR(elf_machine_name(EM_AARCH64, tmp, sizeof(tmp)), "AArch64");
	CHECK_STR(elf_machine_name(999, tmp, sizeof(tmp)), "machine 999");
}

int main(void)
{
	test_valid();
	test_not_elf();
	test_bad_headers();
	test_phdrs();
	test_interp();
	test_pvh_note();
	test_machine_names();
	return check_report();
}
