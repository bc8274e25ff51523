/* kvm.h: the VM object: /dev/kvm, the VM fd and guest RAM. */
#ifndef WISP_KVM_H
#define WISP_KVM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Guest RAM as the host sees it: GPA g lives at base + g for g < size. */
struct kvm_mem {
	uint8_t *base;
	uint64_t size;
};

struct vm {
	int kvm_fd;
	int vm_fd;
	int run_size;        /* mmap size of each vCPU's struct kvm_run */
	bool lapic_in_kernel; /* KVM emulates the local APICs (kvm.c) */
	struct kvm_mem mem;
};

/* Host pointer for [gpa, gpa+len) or NULL if any byte is outside guest RAM.
 * All guest-supplied addresses go through this. */
static inline void *kvm_mem_ptr(const struct kvm_mem *m, uint64_t gpa, uint64_t len)
{
	if (gpa > m->size || len > m->size - gpa)
		return NULL;
	return m->base + gpa;
}

/* Maps size bytes of host memory for guest RAM, on 2 MiB boundaries so
 * that huge pages can back it; filled before the VM exists, so that the
 * image is built in place. Prints a "wisp: ..." line on failure. */
int kvm_ram_map(struct kvm_mem *mem, uint64_t size);
void kvm_ram_unmap(struct kvm_mem *mem);
/* Opens /dev/kvm and creates a VM whose RAM at GPA 0 is mem, which it then
 * owns (kvm_vm_destroy unmaps it, also when this fails). Prints a
 * "wisp: ..." line and returns -1 on failure. */
int kvm_vm_create(struct vm *vm, struct kvm_mem *mem);
void kvm_vm_destroy(struct vm *vm);

/* 0 if /dev/kvm can be opened read-write (used by the qemu backend). */
int kvm_usable(void);

#endif
