/* pageref.h: reference counts of user pages shared copy-on-write. */
#ifndef MM_PAGEREF_H
#define MM_PAGEREF_H

#include "kernel.h"

/* A page mapped once has no entry: only shared pages cost memory here.
 * Returns 0 or -ENOMEM. */
int page_ref_get(uint64_t pa);
/* Drops one reference; true if it was the last, so the page can be freed. */
bool page_ref_put(uint64_t pa);
bool page_ref_shared(uint64_t pa);
/* The pages of [start, end) (the initramfs, which never changes) may be
 * mapped into programs but belong to no one: always shared, never freed. */
void page_ref_pin(uint64_t start, uint64_t end);
bool page_ref_pinned(uint64_t pa);

#endif
