/* uaccess.c: copies to and from user memory, checked against the mappings.
 *
 * The kernel shares the process's page tables, so after vm_prefault() makes
 * the pages present a plain memcpy is safe: the kernel never takes a page
 * fault on a user address.
 */
#include "kernel.h"
#include "lib/string.h"
#include "mm/page.h"
#include "mm/uaccess.h"
#include "mm/vm.h"
#include "sched/proc.h"

int user_access_ok(const void *uaddr, size_t n, bool write)
{
	if (!n)
		return 0;
	return vm_prefault(current()->mm, (uint64_t)uaddr, n, write) ? -EFAULT : 0;
}

void *user_to_kernel(const void *uaddr)
{
	uint64_t va = (uint64_t)uaddr;
	pte_t *e = va < USER_SPACE_END ? paging_walk(current()->mm->root, va, false) : NULL;

	if (!e || (*e & (PTE_P | PTE_W)) != (PTE_P | PTE_W))
		return NULL;
	return (char *)phys_to_virt(*e & PTE_ADDR_MASK) + (va & (PAGE_SIZE - 1));
}

int copy_from_user(void *dst, const void *usrc, size_t n)
{
	if (user_access_ok(usrc, n, false))
		return -EFAULT;
	memcpy(dst, usrc, n);
	return 0;
}

int copy_to_user(void *udst, const void *src, size_t n)
{
	if (user_access_ok(udst, n, true))
		return -EFAULT;
	memcpy(udst, src, n);
	return 0;
}

long strncpy_from_user(char *dst, const char *usrc, size_t max)
{
	uint64_t addr = (uint64_t)usrc;
	size_t len = 0;

	/* Fault in and scan one page at a time: the string may end before an
	 * unmapped page. */
	while (len < max) {
		size_t chunk = MIN(max - len, PAGE_SIZE - ((addr + len) & (PAGE_SIZE - 1)));
		size_t n;

		if (user_access_ok(usrc + len, chunk, false))
			return -EFAULT;
		n = strnlen(usrc + len, chunk);
		memcpy(dst + len, usrc + len, n);
		len += n;
		if (n < chunk) {
			dst[len] = '\0';
			return len;
		}
	}
	return -ENAMETOOLONG;
}
