/* cmdline.h: the boot command line: kernel options, then the program's argv. */
#ifndef CMDLINE_H
#define CMDLINE_H

#include "kernel.h"
#include <wisp/abi.h>

struct boot_args {
	char **argv;   /* NULL-terminated */
	char **envp;   /* NULL-terminated */
	const char *prog;  /* file to execute; argv[0] when not given */
	bool trace;
	/* disk=MOUNT[:ro], from a VMM that cannot pass boot info (QEMU): disk
	 * i is the virtio-blk device with serial "wispI" */
	const char *disks[WISP_DEVICES_MAX];
	unsigned ndisks;
};

/* Parses "key=value ... -- argv..." (see include/wisp/abi.h). */
int cmdline_parse(const char *cmdline, struct boot_args *out);

#endif
