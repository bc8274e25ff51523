/* pageref.c: reference counts of shared user pages, in a hash table keyed
 * by physical address, so memory use follows sharing, not RAM size. */
#include "kernel.h"
#include "mm/kmalloc.h"
#include "mm/pageref.h"

#define BUCKETS 1024

struct pageref {
	uint64_t pa;
	uint32_t extra;  /* references beyond the first */
	struct pageref *next;
};

static struct pageref *buckets[BUCKETS];
static uint64_t pinned_start, pinned_end;

void page_ref_pin(uint64_t start, uint64_t end)
{
	pinned_start = start;
	pinned_end = end;
}

bool page_ref_pinned(uint64_t pa)
{
	return pa >= pinned_start && pa < pinned_end;
}

static struct pageref **slot(uint64_t pa)
{
	struct pageref **pp = &buckets[(pa >> 12) % BUCKETS];

	while (*pp && (*pp)->pa != pa)
		pp = &(*pp)->next;
	return pp;
}

int page_ref_get(uint64_t pa)
{
	struct pageref **pp = slot(pa), *r = *pp;

	if (page_ref_pinned(pa))
		return 0;
	if (!r) {
		r = kzalloc(sizeof(*r));
		if (!r)
			return -ENOMEM;
		r->pa = pa;
		*pp = r;
	}
	r->extra++;
	return 0;
}

bool page_ref_put(uint64_t pa)
{
	struct pageref **pp = slot(pa), *r = *pp;

	if (page_ref_pinned(pa))
		return false;
	if (!r)
		return true;
	if (--r->extra == 0) {
		*pp = r->next;
		kfree(r);
	}
	return false;
}

bool page_ref_shared(uint64_t pa)
{
	return page_ref_pinned(pa) || *slot(pa) != NULL;
}
