/* paging.c: four-level page tables for user address spaces. */
#include "kernel.h"
#include "arch/x86_64/cpu.h"
#include "arch/x86_64/paging.h"
#include "lib/string.h"
#include "mm/page.h"

extern pte_t kernel_pml4[];

/* The first address space runs on the boot root (vm_create). */
static pte_t *loaded_root = kernel_pml4;

pte_t *paging_kernel_root(void)
{
	return kernel_pml4;
}

pte_t *paging_new_root(void)
{
	pte_t *root = page_zalloc();

	if (root)
		memcpy(root + 256, kernel_pml4 + 256, 256 * sizeof(pte_t));
	return root;
}

static int index_at(uint64_t va, int level)
{
	return (va >> (12 + 9 * level)) & 0x1ff;
}

pte_t *paging_walk(pte_t *root, uint64_t va, bool create)
{
	pte_t *table = root;

	for (int level = 3; level > 0; level--) {
		pte_t *e = &table[index_at(va, level)];

		if (!(*e & PTE_P)) {
			pte_t *next = create ? page_zalloc() : NULL;

			if (!next)
				return NULL;
			/* Upper levels allow everything; leaves decide. */
			*e = virt_to_phys(next) | PTE_P | PTE_W | PTE_U;
		}
		table = phys_to_virt(*e & PTE_ADDR_MASK);
	}
	return &table[index_at(va, 0)];
}

int paging_map(pte_t *root, uint64_t va, uint64_t pa, uint64_t flags)
{
	pte_t *e = paging_walk(root, va, true);

	if (!e)
		return -ENOMEM;
	*e = pa | flags | PTE_P;
	return 0;
}

uint64_t paging_unmap(pte_t *root, uint64_t va, struct tlb_batch *b)
{
	pte_t *e = paging_walk(root, va, false);
	uint64_t pa;

	if (!e || !PTE_HOLDS_PAGE(*e))
		return 0;
	pa = *e & PTE_ADDR_MASK;
	*e = 0;
	tlb_batch_add(b, va);
	return pa;
}

void tlb_batch_add(struct tlb_batch *b, uint64_t va)
{
	if (b->pages < TLB_BATCH_PAGES)
		b->va[b->pages] = va;
	b->pages++;
}

void tlb_batch_flush(struct tlb_batch *b)
{
	if (b->root == loaded_root && b->pages) {
		if (b->pages <= cpu->flush_pages_max)
			for (unsigned i = 0; i < b->pages; i++)
				cpu->flush_page(b->va[i]);
		else
			cpu->set_root(virt_to_phys(b->root));
	}
	b->pages = 0;
}

void paging_switch(pte_t *root)
{
	loaded_root = root;
	cpu->set_root(virt_to_phys(root));
}

void paging_unload(pte_t *root)
{
	if (loaded_root == root && root != paging_kernel_root())
		paging_switch(paging_kernel_root());
}

void paging_flush(uint64_t va)
{
	cpu->flush_page(va);
}
