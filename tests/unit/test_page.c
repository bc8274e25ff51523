/* test_page.c: the kernel's page allocator (kernel/mm/page.c), built for the
 * host on an arena standing in for guest RAM: random allocations and frees
 * never overlap, the free count stays exact, freed neighbours merge back
 * into blocks of many pages, and reclaim is asked before giving up. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "check.h"
#include "../../kernel/mm/page.c"

#define ARENA_PAGES 4096
#define LIVE_MAX 512

void panic(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	abort();
}

struct live {
	char *p;
	size_t n;
};

static struct live live[LIVE_MAX];
static int nlive;
static bool used[ARENA_PAGES];  /* handed out */
static char *arena;

static uint64_t pa_of(const void *v)
{
	return virt_to_phys(v);
}

/* Marks a block handed out (or back); false if a page of it already was. */
static bool claim(char *p, size_t n, bool use)
{
	size_t first = (size_t)(p - arena) / PAGE_SIZE;
	bool ok = first + n <= ARENA_PAGES;

	for (size_t i = first; ok && i < first + n; i++) {
		ok &= used[i] != use;
		used[i] = use;
	}
	return ok;
}

static void free_live(int k)
{
	claim(live[k].p, live[k].n, false);
	page_free_n(live[k].p, live[k].n);
	live[k] = live[--nlive];
}

static void random_workload(unsigned seed)
{
	size_t in_use = 0;
	int overlaps = 0, miscounts = 0;

	srand(seed);
	for (int step = 0; step < 20000; step++) {
		if (nlive < LIVE_MAX && (rand() % 3 || !nlive)) {
			size_t n = rand() % 4 ? 1 + rand() % 4 : 1 + rand() % 200;
			char *p = page_alloc_n(n);

			if (!p)
				continue;
			memset(p, 0xa5, n * PAGE_SIZE);  /* the allocator keeps nothing in handed-out pages */
			live[nlive] = (struct live){ p, n };
			overlaps += !claim(p, n, true);
			nlive++;
			in_use += n;
		} else {
			int k = rand() % nlive;

			in_use -= live[k].n;
			free_live(k);
		}
		miscounts += page_free_count() != page_total_count() - in_use;
	}
	CHECK(overlaps == 0);
	CHECK(miscounts == 0);
	while (nlive)
		free_live(nlive - 1);
}

static size_t reclaims;
static char *held[ARENA_PAGES];
static int nheld;

/* Gives back what the test holds, as the page cache gives back clean pages. */
static size_t give_back(size_t pages)
{
	size_t freed = 0;

	(void)pages;
	reclaims++;
	while (nheld) {
		page_free(held[--nheld]);
		freed++;
	}
	return freed;
}

int main(void)
{
	size_t total;
	char *all;

	arena = mmap(NULL, (ARENA_PAGES + 1) * PAGE_SIZE, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (arena == MAP_FAILED)
		return 1;
	arena = (char *)ALIGN_UP((uintptr_t)arena, PAGE_SIZE);
	page_add_range(pa_of(arena), pa_of(arena + ARENA_PAGES * PAGE_SIZE));
	total = page_total_count();
	CHECK(total > ARENA_PAGES - 8 && total < ARENA_PAGES);  /* minus the bitmap */

	for (unsigned seed = 1; seed <= 5; seed++) {
		random_workload(seed);
		CHECK(page_free_count() == total);
		/* Everything merged back: one block of all the pages. */
		all = page_alloc_n(total);
		CHECK(all != NULL);
		if (all)
			page_free_n(all, total);
	}

	/* Single pages freed in any order still make one large block. */
	for (size_t i = 0; i < total; i++)
		held[nheld++] = page_alloc();
	CHECK(page_alloc() == NULL);
	for (int i = 0; i < nheld; i += 2)
		page_free(held[i]);
	for (int i = 1; i < nheld; i += 2)
		page_free(held[i]);
	nheld = 0;
	CHECK((all = page_alloc_n(total)) != NULL);
	if (all)
		page_free_n(all, total);

	/* Memory full of held pages: reclaim is asked, and then it fits. */
	page_set_reclaim(give_back);
	for (size_t i = 0; i < total; i++)
		held[nheld++] = page_alloc();
	all = page_alloc_n(64);
	CHECK(reclaims == 1);
	CHECK(all != NULL);
	if (all)
		page_free_n(all, 64);
	CHECK(page_free_count() == total);
	return check_report();
}
