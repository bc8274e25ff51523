/* paging.h: x86-64 four-level page tables for user address spaces. */
#ifndef ARCH_PAGING_H
#define ARCH_PAGING_H

#include "kernel.h"

#define PTE_P (1UL << 0)
#define PTE_W (1UL << 1)
#define PTE_U (1UL << 2)
#define PTE_A (1UL << 5)
#define PTE_D (1UL << 6)
#define PTE_PS (1UL << 7)
#define PTE_COW (1UL << 9)  /* software bit: shared until written */
/* Software bit: a page kept under a PROT_NONE mapping, not present so any
 * access faults, but still owned (freed, copied on fork) like any other. */
#define PTE_PROTNONE (1UL << 10)
#define PTE_HOLDS_PAGE(e) ((e) & (PTE_P | PTE_PROTNONE))
#define PTE_NX (1UL << 63)
#define PTE_ADDR_MASK 0x000ffffffffff000UL

typedef uint64_t pte_t;

/* The page-table root shared by the kernel half of every address space. */
pte_t *paging_kernel_root(void);
/* A new root with the kernel half copied and an empty user half. */
pte_t *paging_new_root(void);
/* Returns the leaf entry for va, allocating tables if create; NULL if absent. */
pte_t *paging_walk(pte_t *root, uint64_t va, bool create);
/* Maps one 4 KiB page. Returns 0 or -ENOMEM. */
int paging_map(pte_t *root, uint64_t va, uint64_t pa, uint64_t flags);
/* Pages of one address space whose entries changed, flushed from the TLB
 * together: each flush is a trap on a PVM-style host, where one reload of
 * the root costs what one invlpg does. */
#define TLB_BATCH_PAGES 32

struct tlb_batch {
	pte_t *root;
	unsigned pages;
	uint64_t va[TLB_BATCH_PAGES];
};

static inline void tlb_batch_init(struct tlb_batch *b, pte_t *root)
{
	b->root = root;
	b->pages = 0;
}

void tlb_batch_add(struct tlb_batch *b, uint64_t va);
/* Flushes the pages added (a no-op if root is not loaded: loading it
 * flushes everything) and empties the batch. */
void tlb_batch_flush(struct tlb_batch *b);

/* Clears the entry for va, adds it to b and returns the physical address
 * it held, or 0. */
uint64_t paging_unmap(pte_t *root, uint64_t va, struct tlb_batch *b);
void paging_switch(pte_t *root);
/* The kernel's own root replaces root if it is loaded: its pages are
 * about to be freed, and a freed root in CR3 maps whatever is written
 * there next. */
void paging_unload(pte_t *root);
void paging_flush(uint64_t va);

#endif
