/* page.h: the physical page allocator and the kernel's direct map. */
#ifndef MM_PAGE_H
#define MM_PAGE_H

#include "kernel.h"

/* All guest RAM is mapped at DIRECT_MAP_BASE + physical address. */
#define DIRECT_MAP_BASE 0xffffff0000000000UL  /* PML4 slot 510 */
#define KERNEL_VMA_BASE 0xffffffff80000000UL

static inline void *phys_to_virt(uint64_t pa)
{
	return (void *)(pa + DIRECT_MAP_BASE);
}

/* Works for direct-map and kernel-image addresses. */
static inline uint64_t virt_to_phys(const void *va)
{
	uint64_t v = (uint64_t)va;

	return v >= KERNEL_VMA_BASE ? v - KERNEL_VMA_BASE : v - DIRECT_MAP_BASE;
}

/* Adds [start, end) of physical RAM to the allocator. */
void page_add_range(uint64_t start, uint64_t end);
/* Returns the direct-map address of n contiguous pages, or NULL. Not zeroed. */
void *page_alloc_n(size_t n);
/* Grows the block of n pages at p by more pages in place, if it ends where
 * fresh memory starts; false if it cannot. */
bool page_extend(void *p, size_t n, size_t more);
void page_free_n(void *p, size_t n);
/* When memory runs out, page_alloc_n calls fn once to free what it can
 * (pages of files the disk has), then tries again; fn returns how many
 * pages it freed. fn must not count on allocating. */
void page_set_reclaim(size_t (*fn)(size_t pages));
static inline void *page_alloc(void) { return page_alloc_n(1); }
static inline void page_free(void *p) { page_free_n(p, 1); }
/* One zeroed page, or NULL. */
void *page_zalloc(void);
size_t page_free_count(void);
size_t page_total_count(void);

#endif
