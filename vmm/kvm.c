/* kvm.c: open /dev/kvm, create the VM and back guest RAM with host memory. */
#include "kvm.h"

#include <cpuid.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#define KVM_DEV "/dev/kvm"
#define KVM_TSS_ADDR 0xfffbd000ul
#define HUGE_2M (2ull << 20)
#define CPUID1_ECX_VMX (1u << 5)
#define CPUID80000001_ECX_SVM (1u << 2)

int kvm_usable(void)
{
	int fd = open(KVM_DEV, O_RDWR | O_CLOEXEC);

	if (fd < 0)
		return -1;
	close(fd);
	return 0;
}

static int open_kvm(void)
{
	int fd = open(KVM_DEV, O_RDWR | O_CLOEXEC);

	if (fd >= 0)
		return fd;
	if (errno == ENOENT)
		fprintf(stderr, "wisp: " KVM_DEV " not found: KVM is not available on this "
			"host (try --backend qemu)\n");
	else if (errno == EACCES || errno == EPERM)
		fprintf(stderr, "wisp: " KVM_DEV ": permission denied: add yourself to the "
			"group that owns it (usually 'kvm') or try --backend qemu\n");
	else
		fprintf(stderr, "wisp: " KVM_DEV ": %s (try --backend qemu)\n", strerror(errno));
	return -1;
}

/* Faulting 4 KiB pages one by one dominates boot time without huge pages. */
int kvm_ram_map(struct kvm_mem *mem, uint64_t size)
{
	uint64_t span = size + HUGE_2M, head;
	uint8_t *p = mmap(NULL, span, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	uint8_t *aligned;

	if (p == MAP_FAILED) {
		fprintf(stderr, "wisp: cannot allocate %llu MiB of guest memory: %s\n",
			(unsigned long long)(size >> 20), strerror(errno));
		return -1;
	}
	aligned = (uint8_t *)(((uintptr_t)p + HUGE_2M - 1) & ~(uintptr_t)(HUGE_2M - 1));
	head = (uint64_t)(aligned - p);
	if (head)
		munmap(p, head);
	if (span - head - size)
		munmap(aligned + size, span - head - size);
	madvise(aligned, size, MADV_HUGEPAGE);
	mem->base = aligned;
	mem->size = size;
	return 0;
}

void kvm_ram_unmap(struct kvm_mem *mem)
{
	if (mem->base)
		munmap(mem->base, mem->size);
	mem->base = NULL;
	mem->size = 0;
}

/* KVM without VMX or SVM below it is a software hypervisor, the PVM-style
 * host of docs/architecture.md ("Platforms"). */
static bool host_has_virt_extensions(void)
{
	unsigned a, b, c, d;

	if (__get_cpuid(1, &a, &b, &c, &d) && (c & CPUID1_ECX_VMX))
		return true;
	return __get_cpuid(0x80000001, &a, &b, &c, &d) && (c & CPUID80000001_ECX_SVM);
}

/* On a PVM-style host the guest kernel takes its timer as NMIs from KVM's
 * local APIC (devices/timer.c): KVM delivers those without returning to
 * wisp-vmm, whatever the guest's IF flag, which that host reports clear.
 * Only the local APIC, none of the PC's interrupt controllers (a split
 * irqchip). Elsewhere, and with WISP_KVM_LAPIC=0, wisp-vmm injects. */
static bool enable_lapic(struct vm *vm)
{
	struct kvm_enable_cap cap = { .cap = KVM_CAP_SPLIT_IRQCHIP };
	const char *env = getenv("WISP_KVM_LAPIC");

	if ((env && strcmp(env, "0") == 0) || host_has_virt_extensions() ||
	    ioctl(vm->vm_fd, KVM_CHECK_EXTENSION, KVM_CAP_SPLIT_IRQCHIP) <= 0)
		return false;
	return ioctl(vm->vm_fd, KVM_ENABLE_CAP, &cap) == 0;
}

static int vm_setup(struct vm *vm)
{
	struct kvm_userspace_memory_region region;
	int api = ioctl(vm->kvm_fd, KVM_GET_API_VERSION, 0);

	if (api != KVM_API_VERSION) {
		fprintf(stderr, "wisp: " KVM_DEV ": unsupported KVM API version %d (need %d)\n",
			api, KVM_API_VERSION);
		return -1;
	}
	vm->run_size = ioctl(vm->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (vm->run_size <= 0) {
		fprintf(stderr, "wisp: KVM_GET_VCPU_MMAP_SIZE: " KVM_DEV ": %s\n", strerror(errno));
		return -1;
	}
	vm->vm_fd = ioctl(vm->kvm_fd, KVM_CREATE_VM, 0);
	if (vm->vm_fd < 0) {
		fprintf(stderr, "wisp: KVM_CREATE_VM: " KVM_DEV ": %s\n", strerror(errno));
		return -1;
	}
	/* Intel VMX needs three pages for a real-mode TSS somewhere outside RAM. */
	if (ioctl(vm->vm_fd, KVM_SET_TSS_ADDR, KVM_TSS_ADDR) < 0) {
		fprintf(stderr, "wisp: KVM_SET_TSS_ADDR: 0x%lx: %s\n", KVM_TSS_ADDR, strerror(errno));
		return -1;
	}
	vm->lapic_in_kernel = enable_lapic(vm);
	memset(&region, 0, sizeof(region));
	region.slot = 0;
	region.guest_phys_addr = 0;
	region.memory_size = vm->mem.size;
	region.userspace_addr = (uintptr_t)vm->mem.base;
	if (ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &region) < 0) {
		fprintf(stderr, "wisp: KVM_SET_USER_MEMORY_REGION: guest RAM 0x0-0x%llx: %s\n",
			(unsigned long long)vm->mem.size, strerror(errno));
		return -1;
	}
	return 0;
}

int kvm_vm_create(struct vm *vm, struct kvm_mem *mem)
{
	memset(vm, 0, sizeof(*vm));
	vm->mem = *mem;
	memset(mem, 0, sizeof(*mem));
	vm->vm_fd = -1;
	vm->kvm_fd = open_kvm();
	if (vm->kvm_fd < 0) {
		kvm_vm_destroy(vm);
		return -1;
	}
	if (vm_setup(vm) < 0) {
		kvm_vm_destroy(vm);
		return -1;
	}
	return 0;
}

void kvm_vm_destroy(struct vm *vm)
{
	kvm_ram_unmap(&vm->mem);
	if (vm->vm_fd >= 0)
		close(vm->vm_fd);
	if (vm->kvm_fd >= 0)
		close(vm->kvm_fd);
	memset(vm, 0, sizeof(*vm));
	vm->kvm_fd = vm->vm_fd = -1;
}
