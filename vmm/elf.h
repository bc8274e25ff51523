/* elf.h: bounds-checked ELF64 parsing for the guest kernel and user programs. */
#ifndef WISP_ELF_H
#define WISP_ELF_H

#include <linux/elf.h>   /* not <elf.h>: -Ivmm makes that name this file */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Checks that buf is a program wisp can run: ELF64, little-endian, x86-64,
 * ET_EXEC or ET_DYN, sane segments (a PT_INTERP is allowed). Returns 0, or -1
 * with the reason (e.g. "not an ELF executable") in why. Never reads outside
 * buf[0..len). */
int elf_check_program(const void *buf, size_t len, char *why, size_t whylen);

/* The same for a shared library: ELF64, x86-64, ET_DYN. */
int elf_check_object(const void *buf, size_t len, char *why, size_t whylen);

/* <linux/elf.h> lacks the newer dynamic tags. */
#ifndef DT_RUNPATH
#define DT_RUNPATH 29
#endif
#ifndef DT_FLAGS_1
#define DT_FLAGS_1 0x6ffffffb
#endif
#ifndef DF_1_NODEFLIB
#define DF_1_NODEFLIB 0x800
#endif

#define ELF_MAX_NEEDED 512

/* What the dynamic loader needs to know about an object. Strings point into
 * the buffer and are NUL-terminated inside it. */
struct elf_dyn {
	const char *interp;          /* PT_INTERP, or NULL: a static program */
	bool dynamic;                /* has a PT_DYNAMIC segment */
	const char *needed[ELF_MAX_NEEDED];   /* DT_NEEDED in file order */
	size_t nneeded;
	const char *runpath, *rpath, *soname; /* NULL if absent */
	bool nodeflib;               /* DF_1_NODEFLIB: skip the default dirs */
	/* internal */
	const char *dyn, *strtab;
	size_t ndyn, strsz;
};

/* Parses PT_INTERP and PT_DYNAMIC (DT_STRTAB found through the PT_LOAD
 * segments) of a buffer that passed elf_check_program/object. Returns 0, or
 * -1 with a reason in why for a corrupt dynamic section. */
int elf_dynamic(const void *buf, size_t len, struct elf_dyn *d, char *why, size_t whylen);

/* Checks that buf is a loadable kernel: ELF64, x86-64, ET_EXEC, sane phdrs. */
int elf_check_kernel(const void *buf, size_t len, char *why, size_t whylen);

/* Number of program headers; only valid after a successful check. */
size_t elf_phnum(const void *buf);

/* Copies program header i to *ph; -1 if it lies outside buf. */
int elf_phdr(const void *buf, size_t len, size_t i, Elf64_Phdr *ph);

/* Finds the Xen PVH note (XEN_ELFNOTE_PHYS32_ENTRY) in the PT_NOTE segments.
 * Returns 0 and the 32-bit physical entry, or -1 if there is none. */
int elf_pvh_entry(const void *buf, size_t len, uint32_t *entry);
/* The first 4 bytes of the descriptor of the note (name, type); -1 if the
 * file has none. */
int elf_note_u32(const void *buf, size_t len, const char *name, uint32_t type, uint32_t *out);

/* A human name for an e_machine value ("AArch64", "machine 1234"). */
const char *elf_machine_name(uint16_t machine, char *tmp, size_t tmplen);

#endif
