/* page.c: physical page allocator: free lists of blocks by size in front
 * of bump regions.
 *
 * Adding RAM costs nothing per page (no bitmap to initialise), so boot time
 * does not grow with --mem. Freed blocks are not merged back together.
 */
#include "kernel.h"
#include "lib/string.h"
#include "mm/page.h"

#define MAX_RANGES 8
#define SMALL_MAX 64  /* blocks up to this many pages have exact-size lists */

/* A free block of n pages, linked through its first page. */
struct free_block {
	struct free_block *next;
	size_t n;
};

static struct {
	uint64_t next, end;  /* physical */
} ranges[MAX_RANGES];
static int nranges;
static struct free_block *small[SMALL_MAX + 1];  /* by size in pages */
static struct free_block *large;                 /* larger blocks, unsorted */
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

static void push_block(void *p, size_t n)
{
	struct free_block *b = p;

	b->n = n;
	if (n <= SMALL_MAX) {
		b->next = small[n];
		small[n] = b;
	} else {
		b->next = large;
		large = b;
	}
}

/* Takes n pages off the front of block b (of b->n pages), returning the
 * rest to the free lists. */
static void *take(struct free_block *b, size_t n)
{
	if (b->n > n)
		push_block((char *)b + n * PAGE_SIZE, b->n - n);
	return b;
}

/* A freed block of at least n pages, split if larger; NULL if none. */
static void *reuse(size_t n)
{
	struct free_block **pp, *b;

	for (size_t k = n; k <= SMALL_MAX; k++) {
		if ((b = small[k])) {
			small[k] = b->next;
			return take(b, n);
		}
	}
	for (pp = &large; (b = *pp); pp = &b->next) {
		if (b->n >= n) {
			*pp = b->next;
			return take(b, n);
		}
	}
	return NULL;
}

/* Freed blocks of the exact size first, then fresh memory, and only then
 * pieces of larger freed blocks: that keeps large runs whole for longer. */
/* A freed large block of exactly n pages, or NULL: a buffer freed and
 * allocated again at the same size must not take fresh memory each time. */
static void *large_exact(size_t n)
{
	for (struct free_block **pp = &large, *b; (b = *pp); pp = &b->next)
		if (b->n == n) {
			*pp = b->next;
			return b;
		}
	return NULL;
}

static size_t (*reclaim)(size_t pages);

void page_set_reclaim(size_t (*fn)(size_t pages))
{
	reclaim = fn;
}

static void *find(size_t n)
{
	void *p = NULL;

	if (n <= SMALL_MAX && small[n]) {
		p = small[n];
		small[n] = small[n]->next;
	} else if (n > SMALL_MAX) {
		p = large_exact(n);
	}
	if (!p && !(p = bump_alloc(n)))
		p = reuse(n);
	return p;
}

void *page_alloc_n(size_t n)
{
	static bool reclaiming;
	void *p = find(n);

	if (!p && reclaim && !reclaiming) {
		reclaiming = true;
		if (reclaim(n))
			p = find(n);
		reclaiming = false;
	}
	if (p)
		free_pages -= n;
	return p;
}

bool page_extend(void *p, size_t n, size_t more)
{
	uint64_t end = virt_to_phys(p) + n * PAGE_SIZE;

	for (int i = 0; i < nranges; i++)
		if (ranges[i].next == end && ranges[i].end - end >= more * PAGE_SIZE) {
			ranges[i].next += more * PAGE_SIZE;
			free_pages -= more;
			return true;
		}
	return false;
}

void page_free_n(void *p, size_t n)
{
	push_block(p, n);
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
