/* vdso.h: mapping the vDSO into a process. */
#ifndef VDSO_VDSO_H
#define VDSO_VDSO_H

#include "kernel.h"

struct mm;

/* Maps the data page and the vDSO image; returns the image address (for
 * AT_SYSINFO_EHDR) or 0 if it could not be mapped. */
uint64_t vdso_map(struct mm *mm);

#endif
