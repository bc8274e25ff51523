/* remap.c: mremap: shrinking, growing and moving mappings. A move carries
 * the page-table entries over, so contents (and copy-on-write sharing)
 * move without a copy. */
#include <linux/mman.h>
#include "kernel.h"
#include "mm/vm.h"

/* The first mapping that ends above addr, or NULL. */
static struct vma *first_ending_above(struct mm *mm, uint64_t addr)
{
	struct vma *v = mm->vmas;

	while (v && v->end <= addr)
		v = v->next;
	return v;
}

/* Is [v->start.., end) one run of mappings with v's protection? Linux
 * merges such neighbours into one mapping, which mremap requires. */
static bool one_mapping(const struct vma *v, uint64_t end)
{
	const struct vma *w = v;

	while (w->end < end) {
		if (!w->next || w->next->start != w->end || w->next->prot != v->prot)
			return false;
		w = w->next;
	}
	return true;
}

/* Moves the present pages of [from, from+len) to [to, to+len), which must
 * be mapped and empty. Page tables are made first, so the move cannot
 * fail half way. */
static int move_pages(struct mm *mm, uint64_t from, uint64_t to, uint64_t len)
{
	struct tlb_batch b;
	pte_t *e;

	for (uint64_t off = 0; off < len; off += PAGE_SIZE)
		if ((e = paging_walk(mm->root, from + off, false)) && (*e & PTE_P) &&
		    !paging_walk(mm->root, to + off, true))
			return -ENOMEM;
	tlb_batch_init(&b, mm->root);
	for (uint64_t off = 0; off < len; off += PAGE_SIZE) {
		pte_t pte;

		if (!(e = paging_walk(mm->root, from + off, false)) || !(*e & PTE_P))
			continue;
		pte = *e;
		paging_unmap(mm->root, from + off, &b);
		*paging_walk(mm->root, to + off, false) = pte;
	}
	tlb_batch_flush(&b);
	return 0;
}

/* Moves [old, old+old_len) to a new mapping of new_len bytes at dst. */
static long move_mapping(struct mm *mm, uint64_t old, uint64_t old_len, uint64_t new_len,
			 uint64_t dst, unsigned prot)
{
	long err = vm_map_fixed(mm, dst, new_len, prot);

	if (!err && (err = move_pages(mm, old, dst, MIN(old_len, new_len))))
		vm_unmap(mm, dst, new_len);
	if (err)
		return err;
	vm_unmap(mm, old, old_len);
	return dst;
}

long vm_remap(struct mm *mm, uint64_t old, uint64_t old_len, uint64_t new_len,
	      unsigned flags, uint64_t new_addr)
{
	uint64_t old_end, new_end;
	struct vma *v, *next;

	if ((old & (PAGE_SIZE - 1)) || (flags & ~(MREMAP_MAYMOVE | MREMAP_FIXED)) ||
	    ((flags & MREMAP_FIXED) && !(flags & MREMAP_MAYMOVE)))
		return -EINVAL;
	old_len = ALIGN_UP(old_len, PAGE_SIZE);
	new_len = ALIGN_UP(new_len, PAGE_SIZE);
	/* old_len 0 duplicates a shared mapping; there are none. */
	if (!old_len || !new_len || old_len > USER_SPACE_END || new_len > USER_SPACE_END ||
	    old > USER_SPACE_END - old_len)
		return -EINVAL;
	old_end = old + old_len;
	v = first_ending_above(mm, old);
	if (!v || v->start > old || !one_mapping(v, old_end) || (v->prot & VM_KERNEL))
		return -EFAULT;
	if (flags & MREMAP_FIXED) {
		if ((new_addr & (PAGE_SIZE - 1)) || new_addr > USER_SPACE_END - new_len ||
		    (new_addr < old_end && old < new_addr + new_len))
			return -EINVAL;
		return move_mapping(mm, old, old_len, new_len, new_addr, v->prot);
	}
	if (new_len <= old_len) {
		if (new_len < old_len)
			vm_unmap(mm, old + new_len, old_len - new_len);
		return old;
	}
	new_end = old + new_len;
	next = first_ending_above(mm, old_end);
	if (new_end <= USER_SPACE_END && (!next || next->start >= new_end))
		return vm_map_fixed(mm, old_end, new_len - old_len, v->prot) ?: (long)old;
	if (!(flags & MREMAP_MAYMOVE))
		return -ENOMEM;
	new_addr = vm_find_free(mm, new_len);
	return new_addr ? move_mapping(mm, old, old_len, new_len, new_addr, v->prot) : -ENOMEM;
}
