/* lapic.h: the local APIC timer, for platforms without wisp's timer hypercall. */
#ifndef DRIVERS_LAPIC_H
#define DRIVERS_LAPIC_H

#include "kernel.h"

/* Returns false if there is no usable local APIC. tsc_khz calibrates it. */
bool lapic_init(uint64_t tsc_khz);
void lapic_timer_arm(uint64_t ns, uint64_t period_ns);
void lapic_timer_ack(void);

#endif
