/* qemu.h: the qemu backend: boot the same kernel+initramfs in qemu -M microvm. */
#ifndef WISP_QEMU_H
#define WISP_QEMU_H

#include <stddef.h>
#include <stdint.h>

#include "disk.h"

struct qemu_params {
	const char *kernel;      /* kernel ELF path (qemu loads it via PVH) */
	const void *initrd;
	size_t initrd_len;
	const char *cmdline;
	uint64_t mem;            /* bytes, a MiB multiple */
	const char *program;     /* as typed, for the exit message */
	const struct disk *disks; /* opened and checked; QEMU opens them again */
	unsigned ndisks;
};

/* Runs qemu and returns wisp's exit status (the guest's, or 1 on failure). */
int qemu_run(const struct qemu_params *p);

/* Interprets the control file's text ("exit N\n" / "killed S ADDR\n").
 * Returns 0 and sets *code, or -1 if it holds no exit status. */
int qemu_parse_ctl(const char *text, const char *program, int *code);

#endif
