/* random.h: the kernel's random numbers (AT_RANDOM, getrandom, /dev/urandom). */
#ifndef RANDOM_H
#define RANDOM_H

#include "kernel.h"

void random_init(void);
void random_bytes(void *buf, size_t len);

#endif
