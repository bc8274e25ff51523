/* clock.h: kernel time, from the TSC anchored to the host's wall clock at boot. */
#ifndef CLOCK_H
#define CLOCK_H

#include "kernel.h"

void clock_init(void);
uint64_t clock_monotonic_ns(void);
uint64_t clock_realtime_ns(void);
/* The page-aligned data page the vDSO reads (vdso/vdso_data.h). */
const void *clock_vdso_page(void);

#endif
