/* map.c: maps the vDSO built from vdso.c (embedded by vdso_image.S). */
#include "kernel.h"
#include "clock.h"
#include "mm/vm.h"
#include "vdso/vdso.h"

extern const char vdso_image[], vdso_image_end[];

uint64_t vdso_map(struct mm *mm)
{
	uint64_t size = ALIGN_UP((uint64_t)(vdso_image_end - vdso_image), PAGE_SIZE);
	uint64_t base = vm_find_free(mm, size + PAGE_SIZE);

	if (!base ||
	    vm_map_kernel(mm, base, clock_vdso_page(), PAGE_SIZE, VM_READ) ||
	    vm_map_kernel(mm, base + PAGE_SIZE, vdso_image, size, VM_READ | VM_EXEC))
		return 0;
	return base + PAGE_SIZE;
}
