/* vm.c: user address spaces: a sorted list of mappings, filled on demand. */
#include "kernel.h"
#include "fs/vfs.h"
#include "lib/string.h"
#include "mm/kmalloc.h"
#include "mm/page.h"
#include "mm/pageref.h"
#include "mm/vm.h"

/* A fault that creates a page table fills the table's whole 2 MiB range
 * while more than 1/FAULT_AROUND_RESERVE of guest memory stays free. */
#define FAULT_AROUND (512 * PAGE_SIZE)
#define FAULT_AROUND_RESERVE 8
#define FAULT_AHEAD (16 * PAGE_SIZE)

struct mm *vm_create(void)
{
	static bool boot_root_taken;
	struct mm *mm = kzalloc(sizeof(*mm));

	if (!mm)
		return NULL;
	/* The first address space uses the boot page-table root, so starting
	 * the first program needs no CR3 load after ring 0. */
	if (!boot_root_taken) {
		boot_root_taken = true;
		mm->root = paging_kernel_root();
	} else if (!(mm->root = paging_new_root())) {
		kfree(mm);
		return NULL;
	}
	mm->refs = 1;
	mm->mmap_hint = USER_MMAP_TOP;
	return mm;
}

static pte_t *populate(struct mm *mm, uint64_t va, const struct vma *v, bool write);

static struct vma *vma_find(struct mm *mm, uint64_t addr)
{
	for (struct vma *v = mm->vmas; v && v->start <= addr; v = v->next)
		if (addr < v->end)
			return v;
	return NULL;
}

static void vma_insert(struct mm *mm, struct vma *nv)
{
	struct vma **pp = &mm->vmas;

	while (*pp && (*pp)->start < nv->start)
		pp = &(*pp)->next;
	nv->next = *pp;
	*pp = nv;
}

/* Splits the VMA containing addr so that addr starts a VMA. */
static int vma_split(struct mm *mm, uint64_t addr)
{
	struct vma *v = vma_find(mm, addr), *tail;

	if (!v || v->start == addr)
		return 0;
	tail = kmalloc(sizeof(*tail));
	if (!tail)
		return -ENOMEM;
	*tail = *v;
	tail->start = addr;
	if (tail->file) {
		tail->file_off += addr - v->start;
		inode_get(tail->file);
	}
	v->end = addr;
	v->next = tail;
	return 0;
}

/* Accessed and dirty are set up front: the kernel never reads them, and a
 * shadow-paging host would otherwise trap to set them on first use. */
static uint64_t pte_flags(unsigned prot)
{
	uint64_t f = PTE_U | PTE_A;

	if (prot & VM_WRITE)
		f |= PTE_W | PTE_D;
	if (!(prot & VM_EXEC))
		f |= PTE_NX;
	return f;
}

/* The entry for a page already mapped, after its mapping's protection
 * changed to prot: no access at all keeps the page but drops P. */
static pte_t protected_pte(pte_t e, unsigned prot)
{
	pte_t keep = e & (PTE_ADDR_MASK | PTE_COW);

	if (!(prot & (VM_READ | VM_WRITE | VM_EXEC)))
		return keep | PTE_PROTNONE;
	e = keep | PTE_P | pte_flags(prot);
	return (e & PTE_COW) || (prot & VM_KERNEL) ? e & ~PTE_W : e;
}

static void free_pages_in(struct mm *mm, uint64_t start, uint64_t end, bool kernel)
{
	struct tlb_batch b;

	tlb_batch_init(&b, mm->root);
	for (uint64_t va = start; va < end; va += PAGE_SIZE) {
		uint64_t pa = paging_unmap(mm->root, va, &b);

		if (pa && !kernel && page_ref_put(pa))
			page_free(phys_to_virt(pa));
	}
	/* Before anything can reuse the pages. */
	tlb_batch_flush(&b);
}

/* Writes a shared file mapping's pages in [start, end) to its file. */
static int write_back(struct mm *mm, const struct vma *v, uint64_t start, uint64_t end)
{
	int err = 0;

	for (uint64_t va = MAX(start, v->start); !err && va < MIN(end, v->end); va += PAGE_SIZE) {
		pte_t *e = paging_walk(mm->root, va, false);

		if (e && PTE_HOLDS_PAGE(*e))
			err = tmpfs_write_back(v->file, v->file_off + (va - v->start),
					       phys_to_virt(*e & PTE_ADDR_MASK), PAGE_SIZE);
	}
	return err;
}

/* Removes v (found at *pp) with its pages. */
static void vma_free(struct mm *mm, struct vma *v, struct vma **pp)
{
	if (v->file) {
		write_back(mm, v, v->start, v->end);
		inode_put(v->file);
	}
	free_pages_in(mm, v->start, v->end, v->prot & VM_KERNEL);
	*pp = v->next;
	kfree(v);
}

uint64_t vm_shared_phys(struct mm *mm, uint64_t uaddr)
{
	struct vma *v = vma_find(mm, uaddr);
	pte_t *e;

	if (!v || !(v->prot & VM_SHARED))
		return 0;
	e = populate(mm, ALIGN_DOWN(uaddr, PAGE_SIZE), v, false);
	return e ? (*e & PTE_ADDR_MASK) | (uaddr & (PAGE_SIZE - 1)) : 0;
}

int vm_sync(struct mm *mm, uint64_t start, uint64_t len)
{
	uint64_t end = start + ALIGN_UP(len, PAGE_SIZE);
	int err = 0;

	if (start & (PAGE_SIZE - 1) || end < start)
		return -EINVAL;
	for (struct vma *v = mm->vmas; !err && v && v->start < end; v = v->next)
		if (v->file && v->end > start)
			err = write_back(mm, v, start, end);
	return err;
}

int vm_map_shared(struct mm *mm, uint64_t start, uint64_t len, unsigned prot,
		  struct inode *file, uint64_t off)
{
	int err = vm_map_fixed(mm, start, len, prot | VM_SHARED);
	struct vma *v = err ? NULL : vma_find(mm, start);

	for (uint64_t va = start; v && va < v->end; va += PAGE_SIZE)
		if (!populate(mm, va, v, false))
			err = -ENOMEM;
	if (!err && file) {
		v->file = file;
		v->file_off = off;
		inode_get(file);
		err = vm_copy_file(mm, start, file, off, len);
	}
	if (err)
		vm_unmap(mm, start, len);
	return err;
}

int vm_unmap(struct mm *mm, uint64_t start, uint64_t len)
{
	uint64_t end = start + ALIGN_UP(len, PAGE_SIZE);
	struct vma **pp = &mm->vmas;

	if (start & (PAGE_SIZE - 1) || end <= start || end > USER_SPACE_END)
		return -EINVAL;
	if (vma_split(mm, start) || vma_split(mm, end))
		return -ENOMEM;
	while (*pp) {
		struct vma *v = *pp;

		if (v->start >= start && v->end <= end) {
			vma_free(mm, v, pp);
		} else {
			pp = &v->next;
		}
	}
	return 0;
}

int vm_discard(struct mm *mm, uint64_t start, uint64_t len)
{
	uint64_t end = start + ALIGN_UP(len, PAGE_SIZE);

	if (end < start || end > USER_SPACE_END)
		return -EINVAL;
	for (struct vma *v = mm->vmas; v && v->start < end; v = v->next)
		if (v->end > start && !(v->prot & VM_KERNEL))
			free_pages_in(mm, MAX(start, v->start), MIN(end, v->end), false);
	return 0;
}

int vm_map_kernel(struct mm *mm, uint64_t start, const void *kaddr, uint64_t len,
		  unsigned prot)
{
	uint64_t pa = virt_to_phys(kaddr);
	int err = vm_map_fixed(mm, start, len, prot | VM_KERNEL);

	for (uint64_t off = 0; !err && off < len; off += PAGE_SIZE)
		err = paging_map(mm->root, start + off, pa + off, pte_flags(prot & ~VM_WRITE));
	return err;
}

int vm_map_fixed(struct mm *mm, uint64_t start, uint64_t len, unsigned prot)
{
	struct vma *v;
	int err = vm_unmap(mm, start, len);

	if (err)
		return err;
	v = kzalloc(sizeof(*v));
	if (!v)
		return -ENOMEM;
	v->start = start;
	v->end = start + ALIGN_UP(len, PAGE_SIZE);
	v->prot = prot;
	vma_insert(mm, v);
	return 0;
}

static bool range_free(struct mm *mm, uint64_t start, uint64_t end)
{
	for (struct vma *v = mm->vmas; v && v->start < end; v = v->next)
		if (v->end > start)
			return false;
	return true;
}

uint64_t vm_find_free(struct mm *mm, uint64_t len)
{
	uint64_t top = mm->mmap_hint;

	len = ALIGN_UP(len, PAGE_SIZE);
	while (top >= len + (1UL << 30)) {
		struct vma *v;

		if (range_free(mm, top - len, top))
			return mm->mmap_hint = top - len;
		/* Move below the highest mapping overlapping the candidate. */
		for (v = mm->vmas; v && v->start < top; v = v->next)
			if (v->end > top - len)
				top = MIN(top, v->start);
	}
	return 0;
}

int vm_protect(struct mm *mm, uint64_t start, uint64_t len, unsigned prot)
{
	uint64_t end = start + ALIGN_UP(len, PAGE_SIZE);
	struct tlb_batch b;

	if (start & (PAGE_SIZE - 1) || end < start || end > USER_SPACE_END)
		return -EINVAL;
	if (vma_split(mm, start) || vma_split(mm, end))
		return -ENOMEM;
	for (uint64_t va = start; va < end; va += PAGE_SIZE)
		if (!vma_find(mm, va))
			return -ENOMEM;
	tlb_batch_init(&b, mm->root);
	for (struct vma *v = mm->vmas; v && v->start < end; v = v->next) {
		if (v->start < start)
			continue;
		/* Kernel pages (the vDSO) stay read-only whatever is asked. */
		v->prot = prot | (v->prot & VM_KERNEL);
		for (uint64_t va = v->start; va < v->end; va += PAGE_SIZE) {
			pte_t *e = paging_walk(mm->root, va, false);

			if (e && PTE_HOLDS_PAGE(*e)) {
				*e = protected_pte(*e, v->prot);
				tlb_batch_add(&b, va);
			}
		}
	}
	tlb_batch_flush(&b);
	return 0;
}

/* Gives a copy-on-write page its own copy (or takes it over when no one
 * else shares it any more). */
static int cow_break(pte_t *e, uint64_t va, const struct vma *v)
{
	uint64_t pa = *e & PTE_ADDR_MASK;
	void *copy;

	if (page_ref_shared(pa)) {
		copy = page_alloc();
		if (!copy)
			return -ENOMEM;
		memcpy(copy, phys_to_virt(pa), PAGE_SIZE);
		page_ref_put(pa);
		pa = virt_to_phys(copy);
	}
	*e = pa | PTE_P | pte_flags(v->prot);
	paging_flush(va);
	return 0;
}

/* Makes the page at va present (a zeroed page if none is there) and, for a
 * write, private; returns its entry. */
static pte_t *populate(struct mm *mm, uint64_t va, const struct vma *v, bool write)
{
	pte_t *e = paging_walk(mm->root, va, true);
	void *page;

	if (!e || (*e & PTE_PROTNONE))
		return NULL;
	if (*e & PTE_P)
		return write && (*e & PTE_COW) && cow_break(e, va, v) ? NULL : e;
	page = page_zalloc();
	if (!page)
		return NULL;
	*e = virt_to_phys(page) | PTE_P | pte_flags(v->prot);
	return e;
}

static bool access_allowed(unsigned prot, bool write, bool exec)
{
	if (write)
		return prot & VM_WRITE;
	if (exec)
		return prot & VM_EXEC;
	return prot & (VM_READ | VM_WRITE | VM_EXEC);
}

/* Whether the rest of a fault's FAULT_AROUND block may be filled too: only
 * while memory is plentiful, so it never brings the out-of-memory kill
 * nearer for a program that would fit page by page. */
static bool fault_around_affordable(void)
{
	size_t block = FAULT_AROUND / PAGE_SIZE;

	return page_free_count() > block + page_total_count() / FAULT_AROUND_RESERVE;
}

/* Maps the absent pages of the FAULT_AROUND block around va, as a read
 * fault would. Called when the fault created the page table: on a
 * shadow-paging host (PLATFORM.md) a table is cheap to fill before the
 * program first uses it and costs a trap per entry after, and each page
 * first used costs a host fault, so filling it at once is several times
 * faster than page by page. Linux's transparent huge pages also give an
 * aligned anonymous range 2 MiB at the first touch. Best effort: a page
 * left out faults later. */
static void fault_around(struct mm *mm, uint64_t va, const struct vma *v)
{
	uint64_t start = MAX(ALIGN_DOWN(va, FAULT_AROUND), v->start);
	uint64_t end = MIN(ALIGN_DOWN(va, FAULT_AROUND) + FAULT_AROUND, v->end);

	if (!fault_around_affordable())
		return;
	for (uint64_t a = start; a < end; a += PAGE_SIZE)
		if (a != va && !populate(mm, a, v, false))
			return;
}

/* A write right after a page the mapping already has is taken as memory
 * being filled in order (a heap, an arena, a stack): the next absent pages
 * up to FAULT_AHEAD are mapped with it, within its page table, so that
 * they need no trap each (~35 us on a PVM-style host; python3's start-up
 * takes 340 faults without this, 118 with). An isolated write maps one
 * page, as before. Best effort and only while memory is plentiful. */
static void fault_ahead(struct mm *mm, uint64_t va, const struct vma *v)
{
	uint64_t end = MIN(MIN(va + FAULT_AHEAD, v->end), ALIGN_DOWN(va, FAULT_AROUND) + FAULT_AROUND);
	pte_t *prev = va > v->start ? paging_walk(mm->root, va - PAGE_SIZE, false) : NULL;

	if (!prev || !(*prev & PTE_P) || !fault_around_affordable())
		return;
	for (uint64_t a = va + PAGE_SIZE; a < end; a += PAGE_SIZE) {
		pte_t *e = paging_walk(mm->root, a, false);

		if ((e && (*e & (PTE_P | PTE_PROTNONE))) || !populate(mm, a, v, false))
			return;
	}
}

int vm_fault(struct mm *mm, uint64_t addr, bool write, bool exec)
{
	uint64_t va = ALIGN_DOWN(addr, PAGE_SIZE);
	struct vma *v = vma_find(mm, addr);
	pte_t *e;

	if (!v)
		return -EFAULT;
	if (!access_allowed(v->prot, write, exec))
		return -EACCES;
	e = paging_walk(mm->root, va, false);
	if (e && (*e & PTE_P) && !(write && (*e & PTE_COW)))
		return -EACCES; /* present yet faulting: a protection violation */
	if (!populate(mm, va, v, write))
		return -ENOMEM;
	if (!e)
		fault_around(mm, va, v);
	else if (write)
		fault_ahead(mm, va, v);
	return 0;
}

int vm_prefault(struct mm *mm, uint64_t addr, uint64_t len, bool write)
{
	uint64_t end = addr + len;

	if (end < addr || end > USER_SPACE_END)
		return -EFAULT;
	for (uint64_t va = ALIGN_DOWN(addr, PAGE_SIZE); va < end; va += PAGE_SIZE) {
		struct vma *v = vma_find(mm, va);

		if (!v || !access_allowed(v->prot, write, false) || !populate(mm, va, v, write))
			return -EFAULT;
	}
	return 0;
}

/* Maps the initramfs page holding src at va copy-on-write, if va has no
 * page yet and the mapping is readable but not writable (code, read-only
 * data): the program then shares the archive's copy of the file. Writable
 * mappings are mostly written, and a write fault costs more than a copy. */
static bool map_pinned(struct mm *mm, uint64_t va, const struct vma *v, const void *src)
{
	uint64_t pa = virt_to_phys(src);
	pte_t *e;

	if (!page_ref_pinned(pa) || (v->prot & VM_WRITE) || !(v->prot & (VM_READ | VM_EXEC)) ||
	    !(e = paging_walk(mm->root, va, true)) || (*e & (PTE_P | PTE_PROTNONE)))
		return false;
	*e = ((pa | PTE_P | pte_flags(v->prot)) & ~PTE_W) | PTE_COW;
	return true;
}

int vm_copy_in(struct mm *mm, uint64_t addr, const void *src, size_t len)
{
	const char *s = src;

	while (len) {
		uint64_t off = addr & (PAGE_SIZE - 1);
		size_t n = MIN(len, PAGE_SIZE - off);
		struct vma *v = vma_find(mm, addr);
		bool whole = !off && n == PAGE_SIZE && !((uintptr_t)s & (PAGE_SIZE - 1));
		pte_t *e;

		if (v && whole && map_pinned(mm, addr, v, s)) {
			addr += n;
			s += n;
			len -= n;
			continue;
		}
		e = v ? populate(mm, addr - off, v, true) : NULL;
		if (!e)
			return -EFAULT;
		memcpy((char *)phys_to_virt(*e & PTE_ADDR_MASK) + off, s, n);
		addr += n;
		s += n;
		len -= n;
	}
	return 0;
}

struct file_copy {
	struct mm *mm;
	uint64_t addr;
};

static int copy_piece(void *arg, const void *p, size_t n)
{
	struct file_copy *c = arg;
	int err = vm_copy_in(c->mm, c->addr, p, n);

	c->addr += n;
	return err;
}

int vm_copy_file(struct mm *mm, uint64_t addr, struct inode *file, uint64_t off, size_t len)
{
	struct file_copy c = { mm, addr };

	if (off >= file->size)
		return 0;
	return fdata_each(file, off, MIN(len, file->size - off), copy_piece, &c);
}

uint64_t vm_brk(struct mm *mm, uint64_t new_brk)
{
	uint64_t old_end = ALIGN_UP(mm->brk, PAGE_SIZE);
	uint64_t new_end = ALIGN_UP(new_brk, PAGE_SIZE);

	if (new_brk < mm->brk_start)
		return mm->brk;
	if (new_end > old_end) {
		if (!range_free(mm, old_end, new_end) ||
		    vm_map_fixed(mm, old_end, new_end - old_end, VM_READ | VM_WRITE))
			return mm->brk;
	} else if (new_end < old_end) {
		vm_unmap(mm, new_end, old_end - new_end);
	}
	mm->brk = new_brk;
	return mm->brk;
}

/* Frees the user half of the page tables below table (level 3 = root). */
static void free_tables(pte_t *table, int level, int entries)
{
	for (int i = 0; i < entries; i++) {
		pte_t e = table[i];

		if (!(e & PTE_P))
			continue;
		table[i] = 0;
		if (level > 1)
			free_tables(phys_to_virt(e & PTE_ADDR_MASK), level - 1, 512);
		page_free(phys_to_virt(e & PTE_ADDR_MASK));
	}
}

void vm_release(struct mm *mm)
{
	if (!mm || --mm->refs)
		return;
	paging_unload(mm->root);
	while (mm->vmas) {
		struct vma *v = mm->vmas;

		vma_free(mm, v, &mm->vmas);
	}
	/* Leaves are gone; free the table pages of the user half. */
	free_tables(mm->root, 3, 256);
	if (mm->root != paging_kernel_root())
		page_free(mm->root);
	kfree(mm);
}

/* Shares the present pages of v copy-on-write: both sides lose write
 * access until one of them writes. */
static int clone_vma(struct mm *dst, struct mm *src, const struct vma *v, struct tlb_batch *b)
{
	struct vma *nv = kmalloc(sizeof(*nv));

	if (!nv)
		return -ENOMEM;
	*nv = *v;
	if (nv->file)
		inode_get(nv->file);
	vma_insert(dst, nv);
	for (uint64_t va = v->start; va < v->end; va += PAGE_SIZE) {
		pte_t *e = paging_walk(src->root, va, false);

		pte_t *d;

		if (!e || !PTE_HOLDS_PAGE(*e))
			continue;
		if (!(v->prot & VM_KERNEL)) {
			if (page_ref_get(*e & PTE_ADDR_MASK))
				return -ENOMEM;
			if (!(v->prot & VM_SHARED)) {
				*e = (*e | PTE_COW) & ~PTE_W;
				tlb_batch_add(b, va);
			}
		}
		d = paging_walk(dst->root, va, true);
		if (!d) {
			if (!(v->prot & VM_KERNEL))
				page_ref_put(*e & PTE_ADDR_MASK);
			return -ENOMEM;
		}
		*d = *e;
	}
	return 0;
}

struct mm *vm_clone(struct mm *mm)
{
	struct mm *copy = vm_create();
	struct tlb_batch b;
	int err = 0;

	if (!copy)
		return NULL;
	copy->brk_start = mm->brk_start;
	copy->brk = mm->brk;
	copy->mmap_hint = mm->mmap_hint;
	copy->arg_start = mm->arg_start;
	copy->arg_end = mm->arg_end;
	copy->env_start = mm->env_start;
	copy->env_end = mm->env_end;
	tlb_batch_init(&b, mm->root);
	for (struct vma *v = mm->vmas; v && !err; v = v->next)
		err = clone_vma(copy, mm, v, &b);
	/* The source lost write access to its pages, even on failure. */
	tlb_batch_flush(&b);
	if (err) {
		vm_release(copy);
		return NULL;
	}
	return copy;
}
