/* test_elf.c: ELF checks on crafted buffers, including truncated and hostile ones. */
#include <stdint.h>
#include <stdlib.h>

#include <wisp/abi.h>

#include "check.h"
#include "elf.h"
#include "image.h"

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
	static struct elf_dyn d;
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
	/* Dynamic programs are accepted; the loader is found by elf_dynamic. */
	CHECK(check(buf, len, why) == 0);
	CHECK(elf_dynamic(buf, len, &d, why, sizeof(why)) == 0);
	CHECK_STR(d.interp, interp);
	CHECK(!d.dynamic && d.nneeded == 0);

	/* An interpreter path outside the file or without its NUL is refused. */
	ph.p_offset = len - 4;
	ph.p_filesz = 64;
	set_phdr(buf, 1, &ph);
	CHECK(elf_dynamic(buf, len, &d, why, sizeof(why)) < 0);
	CHECK_CONTAINS(why, "bad PT_INTERP");
	ph.p_offset = 600;
	ph.p_filesz = 5;   /* "/lib6" */
	set_phdr(buf, 1, &ph);
	CHECK(elf_dynamic(buf, len, &d, why, sizeof(why)) < 0);
	free(buf);
}

#define DYN_OFF 1024
#define STR_OFF 2048
#define STR_VADDR (0x400000 + STR_OFF)

static size_t put_str(uint8_t *buf, size_t *off, const char *s)
{
	size_t at = *off;

	memcpy(buf + STR_OFF + at, s, strlen(s) + 1);
	*off += strlen(s) + 1;
	return at;
}

/* A shared object whose PT_LOAD maps the whole 4 KiB file at 0x400000, with
 * PT_DYNAMIC at DYN_OFF and the string table at STR_OFF. */
static size_t make_dyn(uint8_t *buf, const Elf64_Dyn *dyn, size_t ndyn)
{
	static uint8_t strings[BUF_LEN - STR_OFF];
	Elf64_Phdr ph;

	memcpy(strings, buf + STR_OFF, sizeof(strings));   /* make_elf clears buf */
	make_elf(buf, ET_DYN, 2);
	memcpy(buf + STR_OFF, strings, sizeof(strings));
	memset(&ph, 0, sizeof(ph));
	ph.p_type = PT_LOAD;
	ph.p_vaddr = 0x400000;
	ph.p_filesz = ph.p_memsz = BUF_LEN;
	set_phdr(buf, 0, &ph);
	ph.p_type = PT_DYNAMIC;
	ph.p_offset = DYN_OFF;
	ph.p_vaddr = 0x400000 + DYN_OFF;
	ph.p_filesz = ph.p_memsz = ndyn * sizeof(*dyn);
	set_phdr(buf, 1, &ph);
	memcpy(buf + DYN_OFF, dyn, ndyn * sizeof(*dyn));
	return BUF_LEN;
}

static void test_dynamic(void)
{
	uint8_t *buf = malloc(BUF_LEN);
	static struct elf_dyn d;
	size_t so = 1, a, b, rp, sn;
	char why[256];
	Elf64_Dyn dyn[8];
	size_t len;

	memset(buf, 0, BUF_LEN);
	a = put_str(buf, &so, "libfoo.so.1");
	b = put_str(buf, &so, "libc.so.6");
	rp = put_str(buf, &so, "$ORIGIN/../lib");
	sn = put_str(buf, &so, "libme.so.2");
	dyn[0] = (Elf64_Dyn){ DT_NEEDED, { a } };
	dyn[1] = (Elf64_Dyn){ DT_RUNPATH, { rp } };
	dyn[2] = (Elf64_Dyn){ DT_NEEDED, { b } };
	dyn[3] = (Elf64_Dyn){ DT_SONAME, { sn } };
	dyn[4] = (Elf64_Dyn){ DT_STRTAB, { STR_VADDR } };   /* after the NEEDEDs */
	dyn[5] = (Elf64_Dyn){ DT_STRSZ, { so } };
	dyn[6] = (Elf64_Dyn){ DT_FLAGS_1, { DF_1_NODEFLIB } };
	dyn[7] = (Elf64_Dyn){ DT_NULL, { 0 } };
	len = make_dyn(buf, dyn, 8);
	CHECK(elf_check_object(buf, len, why, sizeof(why)) == 0);
	CHECK(elf_dynamic(buf, len, &d, why, sizeof(why)) == 0);
	CHECK(d.dynamic && !d.interp && d.nneeded == 2);
	CHECK_STR(d.needed[0], "libfoo.so.1");
	CHECK_STR(d.needed[1], "libc.so.6");
	CHECK_STR(d.runpath, "$ORIGIN/../lib");
	CHECK_STR(d.soname, "libme.so.2");
	CHECK(d.rpath == NULL && d.nodeflib);

	/* A string offset past DT_STRSZ. */
	dyn[0].d_un.d_val = so + 10;
	make_dyn(buf, dyn, 8);
	CHECK(elf_dynamic(buf, len, &d, why, sizeof(why)) < 0);
	CHECK_CONTAINS(why, "outside DT_STRTAB");
	dyn[0].d_un.d_val = a;

	/* A string table without a final NUL inside DT_STRSZ. */
	dyn[5].d_un.d_val = so - 1;
	make_dyn(buf, dyn, 8);
	CHECK(elf_dynamic(buf, len, &d, why, sizeof(why)) < 0);
	dyn[5].d_un.d_val = so;

	/* DT_STRSZ past the end of the segment is clamped to it, not trusted. */
	dyn[5].d_un.d_val = 1ull << 40;
	make_dyn(buf, dyn, 8);
	CHECK(elf_dynamic(buf, len, &d, why, sizeof(why)) == 0 && d.nneeded == 2);
	dyn[5].d_un.d_val = so;

	/* DT_STRTAB at an address no PT_LOAD maps from the file. */
	dyn[4].d_un.d_ptr = 0x900000;
	make_dyn(buf, dyn, 8);
	CHECK(elf_dynamic(buf, len, &d, why, sizeof(why)) < 0);
	CHECK_CONTAINS(why, "DT_STRTAB");
	dyn[4].d_un.d_ptr = STR_VADDR;

	/* PT_DYNAMIC past the end of the file. */
	make_dyn(buf, dyn, 8);
	CHECK(elf_dynamic(buf, 2000, &d, why, sizeof(why)) < 0);

	/* No DT_NULL: the walk stops at the end of the segment. */
	dyn[7] = (Elf64_Dyn){ DT_NEEDED, { b } };
	make_dyn(buf, dyn, 8);
	CHECK(elf_dynamic(buf, len, &d, why, sizeof(why)) == 0 && d.nneeded == 3);

	/* An executable is not a shared object. */
	make_elf(buf, ET_EXEC, 1);
	CHECK(elf_check_object(buf, 1024, why, sizeof(why)) < 0);
	CHECK(elf_dynamic(buf, 1024, &d, why, sizeof(why)) == 0 && !d.dynamic && !d.interp);
	free(buf);
}

/* The host's own dynamic programs, where it has them. */
static void test_real(void)
{
	static const char *const progs[] = { "/bin/true", "/usr/bin/python3" };
	static struct elf_dyn d;

	for (size_t i = 0; i < 2; i++) {
		char why[256];
		uint8_t *data;
		size_t len;
		bool libc = false;

		if (image_read_file(progs[i], &data, &len) < 0)
			continue;
		CHECK(elf_check_program(data, len, why, sizeof(why)) == 0);
		CHECK(elf_dynamic(data, len, &d, why, sizeof(why)) == 0);
		if (d.interp) {
			CHECK(d.dynamic && d.nneeded > 0);
			for (size_t k = 0; k < d.nneeded; k++)
				libc |= strncmp(d.needed[k], "libc.", 5) == 0;
			CHECK(libc);
		}
		free(data);
	}
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
	test_dynamic();
	test_real();
	test_pvh_note();
	test_machine_names();
	return check_report();
}
