/* page.c: physical page allocator: a free list in front of bump regions.
 *
 * Adding RAM costs nothing per page (no bitmap to initialise), so boot time
 * does not grow with --mem; freed pages are reused first.
 */
#include "kernel.h"
#include "lib/string.h"
#include "mm/page.h"

#define MAX_RANGES 8

struct free_page {
	struct free_page *next;
};

static struct {
	uint64_t next, end;  /* physical */
} ranges[MAX_RANGES];
static int nranges;
static struct free_page *free_list;
static size_t free_pages, total_pages;

void page_add_range(uint64_t start, uint64_t end)
{
	start = ALIGN_UP(start, PAGE_SIZE);
	end = ALIGN_DOWN(end, PAGE_SIZE);
	if (end <= start || nranges == MAX_RANGES)
		return;
	ranges[nranges].next = start;
	ranges[nranges].end = end;
	nranges++;
	free_pages += (end - start) / PAGE_SIZE;
	total_pages += (end - start) / PAGE_SIZE;
}

static void *bump_alloc(size_t n)
{
	for (int i = 0; i < nranges; i++) {
		if (ranges[i].end - ranges[i].next >= n * PAGE_SIZE) {
			uint64_t pa = ranges[i].next;

			ranges[i].next += n * PAGE_SIZE;
			return phys_to_virt(pa);
		}
	}
	return NULL;
}

void *page_alloc_n(size_t n)
{
	void *p;

	if (n == 1 && free_list) {
		p = free_list;
		free_list = free_list->next;
	} else {
		p = bump_alloc(n);
		if (!p)
			return NULL;
	}
	free_pages -= n;
	return p;
}

void page_free_n(void *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct free_page *fp = (void *)((char *)p + i * PAGE_SIZE);

		fp->next = free_list;
		free_list = fp;
	}
	free_pages += n;
}

void *page_zalloc(void)
{
	void *p = page_alloc();

	if (p)
		memset(p, 0, PAGE_SIZE);
	return p;
}

size_t page_free_count(void)
{
	return free_pages;
}

size_t page_total_count(void)
{
	return total_pages;
}
