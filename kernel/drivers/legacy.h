/* legacy.h: host services on a generic PVH machine such as QEMU microvm:
 * COM1 for stdout, COM2 for stderr, COM3 for the exit status, isa-debug-exit. */
#ifndef DRIVERS_LEGACY_H
#define DRIVERS_LEGACY_H

#include "platform.h"

extern struct platform_ops legacy_platform;
void legacy_init(void);
uint64_t legacy_tsc_khz(void);

#endif
