/* elf.c: validate ELF64 images (kernel and user programs) without trusting them. */
#include "elf.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <wisp/abi.h>

/* Every read goes through this so a crafted file cannot make us read past buf. */
static bool in_bounds(size_t len, uint64_t off, uint64_t size)
{
	return off <= len && size <= len - off;
}

static int why_set(char *why, size_t whylen, const char *msg)
{
	snprintf(why, whylen, "%s", msg);
	return -1;
}

const char *elf_machine_name(uint16_t machine, char *tmp, size_t tmplen)
{
	switch (machine) {
	case EM_386: return "i386";
	case EM_ARM: return "32-bit ARM";
	case EM_AARCH64: return "AArch64";
	case EM_RISCV: return "RISC-V";
	case EM_PPC: return "PowerPC";
	case EM_PPC64: return "PowerPC64";
	case EM_S390: return "s390";
	case EM_MIPS: return "MIPS";
	case EM_SPARCV9: return "SPARC64";
	case EM_IA_64: return "IA-64";
	case EM_LOONGARCH: return "LoongArch";
	case EM_NONE: return "no machine";
	default:
		snprintf(tmp, tmplen, "machine %u", machine);
		return tmp;
	}
}

/* The checks common to kernels and programs, up to the program headers. */
static int check_header(const void *buf, size_t len, char *why, size_t whylen)
{
	const unsigned char *id = buf;
	Elf64_Ehdr eh;
	char tmp[32];

	if (len < EI_NIDENT || memcmp(id, ELFMAG, SELFMAG) != 0)
		return why_set(why, whylen, "not an ELF executable");
	if (id[EI_CLASS] == ELFCLASS32)
		return why_set(why, whylen, "32-bit ELF is not supported (wisp runs x86-64 programs)");
	if (id[EI_CLASS] != ELFCLASS64 || id[EI_DATA] != ELFDATA2LSB)
		return why_set(why, whylen, "not a 64-bit little-endian ELF file");
	if (len < sizeof(eh))
		return why_set(why, whylen, "truncated ELF header");
	memcpy(&eh, buf, sizeof(eh));
	if (eh.e_machine != EM_X86_64) {
		snprintf(why, whylen, "is for %s, not x86-64",
			 elf_machine_name(eh.e_machine, tmp, sizeof(tmp)));
		return -1;
	}
	if (eh.e_phnum == 0)
		return why_set(why, whylen, "ELF file has no program headers");
	if (eh.e_phentsize != sizeof(Elf64_Phdr))
		return why_set(why, whylen, "corrupt ELF file: bad program header size");
	if (!in_bounds(len, eh.e_phoff, (uint64_t)eh.e_phnum * sizeof(Elf64_Phdr)))
		return why_set(why, whylen, "truncated ELF file: program headers past the end");
	return 0;
}

size_t elf_phnum(const void *buf)
{
	Elf64_Ehdr eh;

	memcpy(&eh, buf, sizeof(eh));
	return eh.e_phnum;
}

int elf_phdr(const void *buf, size_t len, size_t i, Elf64_Phdr *ph)
{
	Elf64_Ehdr eh;
	uint64_t off;

	if (len < sizeof(eh))
		return -1;
	memcpy(&eh, buf, sizeof(eh));
	if (i >= eh.e_phnum)
		return -1;
	off = eh.e_phoff + i * sizeof(*ph);
	if (off < eh.e_phoff || !in_bounds(len, off, sizeof(*ph)))
		return -1;
	memcpy(ph, (const char *)buf + off, sizeof(*ph));
	return 0;
}

static int check_phdrs(const void *buf, size_t len, char *why, size_t whylen)
{
	size_t n = elf_phnum(buf), nload = 0;
	Elf64_Phdr ph;

	for (size_t i = 0; i < n; i++) {
		if (elf_phdr(buf, len, i, &ph) < 0)
			return why_set(why, whylen, "truncated ELF file: program headers past the end");
		if (ph.p_type != PT_LOAD)
			continue;
		nload++;
		if (!in_bounds(len, ph.p_offset, ph.p_filesz))
			return why_set(why, whylen, "truncated ELF file: a segment lies past the end");
		if (ph.p_filesz > ph.p_memsz)
			return why_set(why, whylen, "corrupt ELF file: segment file size exceeds memory size");
	}
	if (nload == 0)
		return why_set(why, whylen, "ELF file has no loadable segments");
	return 0;
}

/* The checks every kind of ELF file shares, around the caller's ELF type
 * check: type_ok says whether e_type fits, bad_type is the error if not
 * (bad_rel, if given, for a relocatable object). */
static int check_kind(const void *buf, size_t len, char *why, size_t whylen,
		      bool (*type_ok)(uint16_t), const char *bad_type, const char *bad_rel)
{
	Elf64_Ehdr eh;

	if (check_header(buf, len, why, whylen) < 0)
		return -1;
	memcpy(&eh, buf, sizeof(eh));
	if (!type_ok(eh.e_type))
		return why_set(why, whylen, eh.e_type == ET_REL && bad_rel ? bad_rel : bad_type);
	return check_phdrs(buf, len, why, whylen);
}

static bool is_program(uint16_t type)
{
	return type == ET_EXEC || type == ET_DYN;
}

static bool is_shared_object(uint16_t type)
{
	return type == ET_DYN;
}

static bool is_static_executable(uint16_t type)
{
	return type == ET_EXEC;
}

int elf_check_program(const void *buf, size_t len, char *why, size_t whylen)
{
	return check_kind(buf, len, why, whylen, is_program,
			  "not an executable (ELF type is not EXEC or DYN)",
			  "not an executable (it is a relocatable object file)");
}

int elf_check_object(const void *buf, size_t len, char *why, size_t whylen)
{
	return check_kind(buf, len, why, whylen, is_shared_object,
			  "not a shared object (ELF type is not DYN)", NULL);
}

int elf_check_kernel(const void *buf, size_t len, char *why, size_t whylen)
{
	return check_kind(buf, len, why, whylen, is_static_executable,
			  "not a statically linked ELF executable (ET_EXEC)", NULL);
}

static size_t align4(size_t v)
{
	return (v + 3) & ~(size_t)3;
}

/* Walks one PT_NOTE segment; notes are 4-byte aligned name/desc records. */
static int find_in_notes(const unsigned char *p, size_t size, const char *name,
			 uint32_t type, uint32_t *out)
{
	size_t off = 0, namesz = strlen(name) + 1;
	Elf64_Nhdr nh;

	while (size - off >= sizeof(nh)) {
		size_t name_off, desc_off, next;

		memcpy(&nh, p + off, sizeof(nh));
		name_off = off + sizeof(nh);
		if (nh.n_namesz > size - name_off)
			return -1;
		desc_off = name_off + align4(nh.n_namesz);
		if (desc_off > size || nh.n_descsz > size - desc_off)
			return -1;
		if (nh.n_namesz == namesz && memcmp(p + name_off, name, namesz) == 0 &&
		    nh.n_type == type && nh.n_descsz >= 4) {
			memcpy(out, p + desc_off, 4);
			return 0;
		}
		next = desc_off + align4(nh.n_descsz);
		if (next <= off || next > size)
			return -1;
		off = next;
	}
	return -1;
}

int elf_note_u32(const void *buf, size_t len, const char *name, uint32_t type, uint32_t *out)
{
	size_t n = elf_phnum(buf);
	Elf64_Phdr ph;

	for (size_t i = 0; i < n; i++) {
		if (elf_phdr(buf, len, i, &ph) < 0)
			return -1;
		if (ph.p_type != PT_NOTE || !in_bounds(len, ph.p_offset, ph.p_filesz))
			continue;
		if (find_in_notes((const unsigned char *)buf + ph.p_offset, ph.p_filesz, name,
				  type, out) == 0)
			return 0;
	}
	return -1;
}

int elf_pvh_entry(const void *buf, size_t len, uint32_t *entry)
{
	return elf_note_u32(buf, len, "Xen", XEN_ELFNOTE_PHYS32_ENTRY, entry);
}

/* The file offset of virtual address v, if a PT_LOAD maps it from the file;
 * *avail gets how many file bytes of that segment follow it. */
static int vaddr_to_off(const void *buf, size_t len, uint64_t v, uint64_t *off,
			uint64_t *avail)
{
	size_t n = elf_phnum(buf);
	Elf64_Phdr ph;

	for (size_t i = 0; i < n; i++) {
		if (elf_phdr(buf, len, i, &ph) < 0)
			return -1;
		if (ph.p_type != PT_LOAD || v < ph.p_vaddr || v - ph.p_vaddr >= ph.p_filesz)
			continue;
		if (!in_bounds(len, ph.p_offset, ph.p_filesz))
			return -1;
		*off = ph.p_offset + (v - ph.p_vaddr);
		*avail = ph.p_filesz - (v - ph.p_vaddr);
		return 0;
	}
	return -1;
}

/* A string of the dynamic string table, or NULL if it is not NUL-terminated
 * inside the table. */
static const char *dyn_str(const struct elf_dyn *d, uint64_t off)
{
	if (off >= d->strsz || !memchr(d->strtab + off, '\0', d->strsz - off))
		return NULL;
	return d->strtab + off;
}

static int find_interp(const void *buf, size_t len, struct elf_dyn *d, char *why,
		       size_t whylen)
{
	size_t n = elf_phnum(buf);
	Elf64_Phdr ph;

	for (size_t i = 0; i < n; i++) {
		const char *s;

		if (elf_phdr(buf, len, i, &ph) < 0 || ph.p_type != PT_INTERP)
			continue;
		if (!in_bounds(len, ph.p_offset, ph.p_filesz))
			return why_set(why, whylen, "corrupt ELF file: bad PT_INTERP segment");
		s = (const char *)buf + ph.p_offset;
		if (ph.p_filesz < 2 ||
		    !memchr(s, '\0', ph.p_filesz) || s[0] == '\0')
			return why_set(why, whylen, "corrupt ELF file: bad PT_INTERP segment");
		d->interp = s;
	}
	return 0;
}

/* Reads the PT_DYNAMIC entries into *d; only the string table is located in
 * this pass, as DT_NEEDED may come before DT_STRTAB. */
static int read_dynamic(const void *buf, size_t len, const Elf64_Phdr *ph,
			struct elf_dyn *d, uint64_t *strtab_vaddr, char *why, size_t whylen)
{
	uint64_t strsz = 0, off, avail;
	bool have_strtab = false;
	Elf64_Dyn dyn;

	if (!in_bounds(len, ph->p_offset, ph->p_filesz))
		return why_set(why, whylen, "truncated ELF file: PT_DYNAMIC lies past the end");
	d->dyn = (const char *)buf + ph->p_offset;
	for (d->ndyn = 0; d->ndyn < ph->p_filesz / sizeof(dyn); d->ndyn++) {
		memcpy(&dyn, d->dyn + d->ndyn * sizeof(dyn), sizeof(dyn));
		if (dyn.d_tag == DT_NULL)
			break;
		if (dyn.d_tag == DT_STRTAB) {
			*strtab_vaddr = dyn.d_un.d_ptr;
			have_strtab = true;
		} else if (dyn.d_tag == DT_STRSZ) {
			strsz = dyn.d_un.d_val;
		}
	}
	if (!have_strtab)
		return d->ndyn ? why_set(why, whylen, "corrupt ELF file: PT_DYNAMIC has no DT_STRTAB")
			       : 0;
	if (vaddr_to_off(buf, len, *strtab_vaddr, &off, &avail) < 0)
		return why_set(why, whylen, "corrupt ELF file: DT_STRTAB is not in the file");
	d->strtab = (const char *)buf + off;
	d->strsz = strsz < avail ? strsz : avail;
	return 0;
}

/* Second pass: the string-valued entries. */
static int read_strings(struct elf_dyn *d, char *why, size_t whylen)
{
	Elf64_Dyn dyn;

	for (size_t i = 0; i < d->ndyn; i++) {
		const char **slot = NULL;
		const char *s;

		memcpy(&dyn, d->dyn + i * sizeof(dyn), sizeof(dyn));
		switch (dyn.d_tag) {
		case DT_NEEDED: slot = &d->needed[d->nneeded]; break;
		case DT_RUNPATH: slot = &d->runpath; break;
		case DT_RPATH: slot = &d->rpath; break;
		case DT_SONAME: slot = &d->soname; break;
		case DT_FLAGS_1: d->nodeflib = (dyn.d_un.d_val & DF_1_NODEFLIB) != 0; continue;
		default: continue;
		}
		s = dyn_str(d, dyn.d_un.d_val);
		if (!s)
			return why_set(why, whylen, "corrupt ELF file: a dynamic string lies "
				       "outside DT_STRTAB");
		if (dyn.d_tag == DT_NEEDED && d->nneeded >= ELF_MAX_NEEDED)
			return why_set(why, whylen, "too many DT_NEEDED entries");
		*slot = s;
		if (dyn.d_tag == DT_NEEDED)
			d->nneeded++;
	}
	return 0;
}

int elf_dynamic(const void *buf, size_t len, struct elf_dyn *d, char *why, size_t whylen)
{
	size_t n = elf_phnum(buf);
	uint64_t strtab_vaddr = 0;
	Elf64_Phdr ph;

	memset(d, 0, sizeof(*d));
	if (find_interp(buf, len, d, why, whylen) < 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (elf_phdr(buf, len, i, &ph) < 0 || ph.p_type != PT_DYNAMIC)
			continue;
		d->dynamic = true;
		if (read_dynamic(buf, len, &ph, d, &strtab_vaddr, why, whylen) < 0)
			return -1;
		return read_strings(d, why, whylen);
	}
	return 0;
}
