/* kmalloc.c: the kernel heap: power-of-two size classes carved from pages,
 * and whole pages for large blocks. A header before each block records its
 * size so kfree needs no size argument. */
#include "kernel.h"
#include "lib/string.h"
#include "mm/kmalloc.h"
#include "mm/page.h"

#define MIN_SHIFT 4                 /* 16 bytes */
#define MAX_SHIFT 11                /* 2048 bytes; larger use pages */
#define NCLASSES (MAX_SHIFT - MIN_SHIFT + 1)

struct block_header {
	uint64_t size;  /* usable bytes: class size or page-rounded size */
	uint64_t pad;   /* keeps the payload 16-byte aligned */
};

struct free_block {
	struct free_block *next;
};

static struct free_block *free_lists[NCLASSES];

static int size_class(size_t total)
{
	int shift = MIN_SHIFT;

	while (((size_t)1 << shift) < total)
		shift++;
	return shift - MIN_SHIFT;
}

static int refill(int cls)
{
	size_t bsize = (size_t)1 << (cls + MIN_SHIFT);
	char *page = page_alloc();

	if (!page)
		return -ENOMEM;
	for (size_t off = 0; off + bsize <= PAGE_SIZE; off += bsize) {
		struct free_block *b = (void *)(page + off);

		b->next = free_lists[cls];
		free_lists[cls] = b;
	}
	return 0;
}

void *kmalloc(size_t size)
{
	size_t total = size + sizeof(struct block_header);
	struct block_header *h;

	if (total > ((size_t)1 << MAX_SHIFT)) {
		size_t pages = ALIGN_UP(total, PAGE_SIZE) / PAGE_SIZE;

		h = page_alloc_n(pages);
		if (!h)
			return NULL;
		h->size = pages * PAGE_SIZE - sizeof(*h);
	} else {
		int cls = size_class(total);

		if (!free_lists[cls] && refill(cls))
			return NULL;
		h = (void *)free_lists[cls];
		free_lists[cls] = free_lists[cls]->next;
		h->size = ((size_t)1 << (cls + MIN_SHIFT)) - sizeof(*h);
	}
	return h + 1;
}

void *kzalloc(size_t size)
{
	void *p = kmalloc(size);

	if (p)
		memset(p, 0, size);
	return p;
}

void kfree(void *p)
{
	struct block_header *h;
	size_t total;

	if (!p)
		return;
	h = (struct block_header *)p - 1;
	total = h->size + sizeof(*h);
	if (total > ((size_t)1 << MAX_SHIFT)) {
		page_free_n(h, total / PAGE_SIZE);
	} else {
		struct free_block *b = (void *)h;
		int cls = size_class(total);

		b->next = free_lists[cls];
		free_lists[cls] = b;
	}
}

/* A large block that ends where fresh memory starts grows without a copy:
 * a file written from start to end keeps one buffer. */
static bool grow_in_place(void *p, size_t size)
{
	struct block_header *h = (struct block_header *)p - 1;
	size_t have = (h->size + sizeof(*h)) / PAGE_SIZE;
	size_t want = ALIGN_UP(size + sizeof(*h), PAGE_SIZE) / PAGE_SIZE;

	if (h->size + sizeof(*h) <= ((size_t)1 << MAX_SHIFT) || !page_extend(h, have, want - have))
		return false;
	h->size = want * PAGE_SIZE - sizeof(*h);
	return true;
}

void *krealloc(void *p, size_t size)
{
	void *q;
	size_t old;

	if (!p)
		return kmalloc(size);
	old = ((struct block_header *)p - 1)->size;
	if (size <= old)
		return p;
	if (grow_in_place(p, size))
		return p;
	q = kmalloc(size);
	if (q) {
		memcpy(q, p, old);
		kfree(p);
	}
	return q;
}
