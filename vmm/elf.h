/* elf.h: bounds-checked ELF64 parsing for the guest kernel and user programs. */
#ifndef WISP_ELF_H
#define WISP_ELF_H

#include <linux/elf.h>   /* not <elf.h>: -Ivmm makes that name this file */
#include <stddef.h>
#include <stdint.h>

/* Checks that buf is a program wisp can run: ELF64, little-endian, x86-64,
 * ET_EXEC or ET_DYN, no PT_INTERP. Returns 0, or -1 with the reason (e.g.
 * "not an ELF executable") in why. Never reads outside buf[0..len). */
int elf_check_program(const void *buf, size_t len, char *why, size_t whylen);

/* Checks that buf is a loadable kernel: ELF64, x86-64, ET_EXEC, sane phdrs. */
int elf_check_kernel(const void *buf, size_t len, char *why, size_t whylen);

/* Number of program headers; only valid after a successful check. */
size_t elf_phnum(const void *buf);

/* Copies program header i to *ph; -1 if it lies outside buf. */
int elf_phdr(const void *buf, size_t len, size_t i, Elf64_Phdr *ph);

/* Finds the Xen PVH note (XEN_ELFNOTE_PHYS32_ENTRY) in the PT_NOTE segments.
 * Returns 0 and the 32-bit physical entry, or -1 if there is none. */
int elf_pvh_entry(const void *buf, size_t len, uint32_t *entry);

/* A human name for an e_machine value ("AArch64", "machine 1234"). */
const char *elf_machine_name(uint16_t machine, char *tmp, size_t tmplen);

#endif
