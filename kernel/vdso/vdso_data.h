/* vdso_data.h: the clock parameters the kernel publishes to the vDSO. */
#ifndef VDSO_DATA_H
#define VDSO_DATA_H

#include <stdint.h>

/* Mapped read-only one page below the vDSO image in every process. */
struct vdso_data {
	uint64_t boot_tsc;
	uint64_t tsc_khz;
	uint64_t boot_realtime_ns;
};

#endif
