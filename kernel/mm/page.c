/* page.c: physical page allocator: free blocks of any size, merged with
 * their free neighbours when freed, in front of bump regions.
 *
 * Adding RAM costs nothing per page, so boot time does not grow with --mem:
 * a range's pages from its bump pointer on are free and never touched. Each
 * range has a bitmap (taken from its top) of which pages below the bump
 * pointer are free; its bits are cleared as the pointer passes them, so it
 * is never zeroed whole. A free block has a header in its first page and
 * its size in the last 8 bytes of its last page, so a block being freed
 * finds the free blocks on both sides and merges with them: memory full of
 * freed file pages still yields blocks of many pages.
 */
#include "kernel.h"
#include "lib/string.h"
#include "mm/page.h"

#define MAX_RANGES 8
#define SMALL_MAX 64  /* blocks up to this many pages have exact-size lists */

struct free_block {
	struct free_block *next, *prev;
	size_t n;
};

struct range {
	uint64_t start, next, end;  /* physical; [start, next) is handed out or on a list */
	uint64_t *free_map;         /* bit per page of [start, next): on a free list */
};

static struct range ranges[MAX_RANGES];
static int nranges;
static struct free_block *small[SMALL_MAX + 1];  /* by size in pages */
static struct free_block *large;                 /* larger blocks, unsorted */
static size_t free_pages, total_pages;
static size_t (*reclaim)(size_t pages);

void page_add_range(uint64_t start, uint64_t end)
{
	uint64_t map_bytes;

	start = ALIGN_UP(start, PAGE_SIZE);
	end = ALIGN_DOWN(end, PAGE_SIZE);
	if (end <= start || nranges == MAX_RANGES)
		return;
	map_bytes = ALIGN_UP(ALIGN_UP((end - start) / PAGE_SIZE, 64) / 8, PAGE_SIZE);
	if (end - start <= map_bytes + PAGE_SIZE)
		return;
	end -= map_bytes;
	ranges[nranges++] = (struct range){ start, start, end, phys_to_virt(end) };
	free_pages += (end - start) / PAGE_SIZE;
	total_pages += (end - start) / PAGE_SIZE;
}

static struct range *range_of(uint64_t pa)
{
	for (int i = 0; i < nranges; i++)
		if (pa >= ranges[i].start && pa < ranges[i].end)
			return &ranges[i];
	return NULL;
}

static uint64_t page_no(const struct range *r, const void *p)
{
	return (virt_to_phys(p) - r->start) / PAGE_SIZE;
}

static bool is_free(const struct range *r, uint64_t i)
{
	return r->free_map[i / 64] >> (i % 64) & 1;
}

static void mark(struct range *r, uint64_t first, uint64_t n, bool free)
{
	for (uint64_t i = first; i < first + n; i++) {
		if (i % 64 == 0 && first + n - i >= 64) {
			r->free_map[i / 64] = free ? ~0ull : 0;
			i += 63;
		} else if (free) {
			r->free_map[i / 64] |= 1ull << (i % 64);
		} else {
			r->free_map[i / 64] &= ~(1ull << (i % 64));
		}
	}
}

static struct free_block **list_of(size_t n)
{
	return n <= SMALL_MAX ? &small[n] : &large;
}

static void push_block(struct range *r, void *p, size_t n)
{
	struct free_block *b = p, **head = list_of(n);

	*b = (struct free_block){ .next = *head, .n = n };
	if (*head)
		(*head)->prev = b;
	*head = b;
	*(size_t *)((char *)p + n * PAGE_SIZE - sizeof(size_t)) = n;
	mark(r, page_no(r, p), n, true);
}

/* Takes block b off its list; its pages are no longer free. */
static void unlink_block(struct range *r, struct free_block *b)
{
	if (b->prev)
		b->prev->next = b->next;
	else
		*list_of(b->n) = b->next;
	if (b->next)
		b->next->prev = b->prev;
	mark(r, page_no(r, b), b->n, false);
}

/* The first n pages of free block b; the rest goes back on a list. */
static void *take(struct free_block *b, size_t n)
{
	struct range *r = range_of(virt_to_phys(b));
	size_t have = b->n;

	unlink_block(r, b);
	if (have > n)
		push_block(r, (char *)b + n * PAGE_SIZE, have - n);
	return b;
}

static void *bump_alloc(size_t n)
{
	for (int i = 0; i < nranges; i++) {
		struct range *r = &ranges[i];

		if (r->end - r->next >= n * PAGE_SIZE) {
			uint64_t pa = r->next;

			r->next += n * PAGE_SIZE;
			mark(r, (pa - r->start) / PAGE_SIZE, n, false);
			return phys_to_virt(pa);
		}
	}
	return NULL;
}

/* A free block of exactly n pages, or NULL. */
static struct free_block *exact(size_t n)
{
	if (n <= SMALL_MAX)
		return small[n];
	for (struct free_block *b = large; b; b = b->next)
		if (b->n == n)
			return b;
	return NULL;
}

/* A free block of at least n pages, or NULL. */
static struct free_block *larger(size_t n)
{
	for (size_t k = n; k <= SMALL_MAX; k++)
		if (small[k])
			return small[k];
	for (struct free_block *b = large; b; b = b->next)
		if (b->n >= n)
			return b;
	return NULL;
}

/* Freed blocks of the exact size first, then fresh memory, and only then
 * pieces of larger freed blocks: that keeps large runs whole for longer,
 * and a buffer freed and allocated again at the same size takes no fresh
 * memory each time. */
static void *find(size_t n)
{
	struct free_block *b = exact(n);
	void *p;

	if (b)
		return take(b, n);
	if ((p = bump_alloc(n)))
		return p;
	return (b = larger(n)) ? take(b, n) : NULL;
}

void page_set_reclaim(size_t (*fn)(size_t pages))
{
	reclaim = fn;
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
	struct range *r = range_of(virt_to_phys(p));

	if (!r || r->next != end || r->end - end < more * PAGE_SIZE)
		return false;
	r->next += more * PAGE_SIZE;
	mark(r, (end - r->start) / PAGE_SIZE, more, false);
	free_pages -= more;
	return true;
}

void page_free_n(void *p, size_t n)
{
	uint64_t pa = virt_to_phys(p);
	struct range *r = range_of(pa);
	uint64_t first;

	if (!r || !n)
		return;
	free_pages += n;
	first = page_no(r, p);
	if (first && is_free(r, first - 1)) {  /* the block before ends here */
		size_t left = *(size_t *)((char *)p - sizeof(size_t));
		struct free_block *b = (void *)((char *)p - left * PAGE_SIZE);

		unlink_block(r, b);
		p = b;
		n += left;
		first -= left;
	}
	if (r->start + (first + n) * PAGE_SIZE < r->next && is_free(r, first + n)) {
		struct free_block *b = (void *)((char *)p + n * PAGE_SIZE);

		unlink_block(r, b);
		n += b->n;
	}
	if (r->start + (first + n) * PAGE_SIZE == r->next)
		r->next = r->start + first * PAGE_SIZE;  /* back to fresh memory */
	else
		push_block(r, p, n);
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
