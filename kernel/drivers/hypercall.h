/* hypercall.h: host services from wisp-vmm through port-I/O hypercalls. */
#ifndef DRIVERS_HYPERCALL_H
#define DRIVERS_HYPERCALL_H

#include "platform.h"

extern const struct platform_ops hypercall_platform;

#endif
