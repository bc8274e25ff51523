/* vcpu.c: create a vCPU, set its PVH boot state and run it, dispatching exits. */
#include "vcpu.h"
#include "watchdog.h"

#include <errno.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <wisp/abi.h>

#define SEL_CODE32 0x10
#define SEL_DATA32 0x18
#define CR0_PE 0x1
#define CR0_ET 0x10
/* The wisp kernel gives programs the lower half of the address space. */
#define GUEST_USER_END 0x800000000000ull
#define INJECT_RETRY_NS 50000
/* What KVM is asked to copy into kvm_run at each exit: a timer firing
 * reads the registers (interrupt_allowed) and injects through the events
 * (queue_interrupt), where KVM_GET_REGS and KVM_INTERRUPT cost ~4.5 and
 * ~3 us an ioctl on a PVM-style host. */
#define SYNC_WANTED (KVM_SYNC_X86_REGS | KVM_SYNC_X86_EVENTS)

static int fail_ioctl(const char *what, int id)
{
	fprintf(stderr, "wisp: %s: vcpu %d: %s\n", what, id, strerror(errno));
	return -1;
}

static struct kvm_cpuid2 *supported_cpuid(int kvm_fd)
{
	for (int n = 64; n <= 4096; n *= 2) {
		struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + (size_t)n * sizeof(c->entries[0]));

		if (!c)
			return NULL;
		c->nent = (uint32_t)n;
		if (ioctl(kvm_fd, KVM_GET_SUPPORTED_CPUID, c) == 0)
			return c;
		free(c);
		if (errno != E2BIG)
			return NULL;
	}
	return NULL;
}

/* Each vCPU needs its own APIC ID in CPUID, for when there are several. */
static void cpuid_set_apic_id(struct kvm_cpuid2 *c, int id)
{
	for (uint32_t i = 0; i < c->nent; i++) {
		struct kvm_cpuid_entry2 *e = &c->entries[i];

		if (e->function == 1)
			e->ebx = (e->ebx & 0x00ffffffu) | ((uint32_t)id << 24);
		else if (e->function == 0xb || e->function == 0x1f)
			e->edx = (uint32_t)id;
	}
}

static int setup_cpuid(struct vcpu *v)
{
	struct kvm_cpuid2 *c = supported_cpuid(v->vm->kvm_fd);
	int rc;

	if (!c)
		return fail_ioctl("KVM_GET_SUPPORTED_CPUID", v->id);
	cpuid_set_apic_id(c, v->id);
	rc = ioctl(v->fd, KVM_SET_CPUID2, c);
	free(c);
	return rc < 0 ? fail_ioctl("KVM_SET_CPUID2", v->id) : 0;
}

int vcpu_create(struct vm *vm, int id, struct vcpu *v)
{
	int sync;

	memset(v, 0, sizeof(*v));
	v->vm = vm;
	v->id = id;
	v->fd = ioctl(vm->vm_fd, KVM_CREATE_VCPU, id);
	if (v->fd < 0)
		return fail_ioctl("KVM_CREATE_VCPU", id);
	v->run = mmap(NULL, (size_t)vm->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, v->fd, 0);
	if (v->run == MAP_FAILED) {
		v->run = NULL;
		fail_ioctl("mmap kvm_run", id);
		vcpu_destroy(v);
		return -1;
	}
	if (setup_cpuid(v) < 0) {
		vcpu_destroy(v);
		return -1;
	}
	sync = ioctl(vm->vm_fd, KVM_CHECK_EXTENSION, KVM_CAP_SYNC_REGS);
	v->run->kvm_valid_regs = sync > 0 ? (uint64_t)sync & SYNC_WANTED : 0;
	return 0;
}

void vcpu_destroy(struct vcpu *v)
{
	if (v->run)
		munmap(v->run, (size_t)v->vm->run_size);
	if (v->fd >= 0)
		close(v->fd);
	v->run = NULL;
	v->fd = -1;
}

uint64_t vcpu_tsc_khz(struct vcpu *v)
{
	int khz = ioctl(v->fd, KVM_GET_TSC_KHZ, 0);

	return khz > 0 ? (uint64_t)khz : 0;
}

static struct kvm_segment flat_segment(uint16_t selector, uint8_t type)
{
	struct kvm_segment s = {
		.base = 0, .limit = 0xffffffff, .selector = selector, .type = type,
		.present = 1, .dpl = 0, .db = 1, .s = 1, .l = 0, .g = 1,
	};
	return s;
}

static int setup_sregs(struct vcpu *v)
{
	struct kvm_sregs sr;

	if (ioctl(v->fd, KVM_GET_SREGS, &sr) < 0)
		return fail_ioctl("KVM_GET_SREGS", v->id);
	sr.cs = flat_segment(SEL_CODE32, 0xb);
	sr.ds = sr.es = sr.fs = sr.gs = sr.ss = flat_segment(SEL_DATA32, 0x3);
	/* VMX refuses to enter with an unusable TR, even though PVH code never
	 * uses it before loading its own. */
	sr.tr = (struct kvm_segment){ .base = 0, .limit = 0x67, .type = 0xb, .present = 1 };
	sr.cr0 = CR0_PE | CR0_ET;
	sr.cr3 = 0;
	sr.cr4 = 0;
	sr.efer = 0;
	if (ioctl(v->fd, KVM_SET_SREGS, &sr) < 0)
		return fail_ioctl("KVM_SET_SREGS", v->id);
	return 0;
}

static int setup_fpu(struct vcpu *v)
{
	struct kvm_fpu fpu;

	memset(&fpu, 0, sizeof(fpu));
	fpu.fcw = 0x37f;      /* x87 power-on default: all exceptions masked */
	fpu.mxcsr = 0x1f80;   /* SSE default: all exceptions masked */
	if (ioctl(v->fd, KVM_SET_FPU, &fpu) < 0)
		return fail_ioctl("KVM_SET_FPU", v->id);
	return 0;
}

int vcpu_setup_pvh(struct vcpu *v, uint64_t entry, uint64_t start_info)
{
	struct kvm_regs regs;

	if (setup_sregs(v) < 0 || setup_fpu(v) < 0)
		return -1;
	memset(&regs, 0, sizeof(regs));
	regs.rip = entry;
	regs.rbx = start_info;
	regs.rflags = 0x2;
	if (ioctl(v->fd, KVM_SET_REGS, &regs) < 0)
		return fail_ioctl("KVM_SET_REGS", v->id);
	return 0;
}

/* The vCPU's rip: synced into kvm_run at each exit where KVM does that,
 * else with KVM_GET_REGS. False if it cannot be read. */
static bool guest_rip(struct vcpu *v, uint64_t *rip)
{
	struct kvm_regs regs;

	if (v->run->kvm_valid_regs & KVM_SYNC_X86_REGS) {
		*rip = v->run->s.regs.regs.rip;
		return true;
	}
	if (ioctl(v->fd, KVM_GET_REGS, &regs) < 0)
		return false;
	*rip = regs.rip;
	return true;
}

static unsigned long long vcpu_rip(struct vcpu *v)
{
	uint64_t rip;

	return guest_rip(v, &rip) ? rip : 0;
}

/* Returns -1 to keep running, otherwise wisp's exit status. */
static int handle_io(struct vcpu *v, struct hc_ctx *hc)
{
	struct kvm_run *r = v->run;
	uint8_t *data = (uint8_t *)r + r->io.data_offset;
	uint32_t gpa;
	int code;

	if (!hc_port(r->io.port)) {
		/* Probes of absent legacy devices: reads see a floating bus. */
		if (r->io.direction == KVM_EXIT_IO_IN)
			memset(data, 0xff, (size_t)r->io.size * r->io.count);
		return -1;
	}
	if (r->io.direction != KVM_EXIT_IO_OUT || r->io.size != 4 || r->io.count != 1) {
		fprintf(stderr, "wisp: guest error: hypercall port 0x%x used with a %s of size %u\n",
			r->io.port, r->io.direction == KVM_EXIT_IO_OUT ? "write" : "read",
			r->io.size);
		return 1;
	}
	memcpy(&gpa, data, sizeof(gpa));
	return hc_handle(hc, r->io.port, gpa, &code) == HC_STOP ? code : -1;
}

/* A virtio-mmio register access; anything else is a guest error. */
static int handle_mmio(struct vcpu *v, struct hc_ctx *hc)
{
	struct kvm_run *r = v->run;
	uint64_t addr = r->mmio.phys_addr, off = addr - WISP_VIRTIO_MMIO_BASE;
	uint64_t i = off / WISP_VIRTIO_MMIO_STRIDE;

	if (addr < WISP_VIRTIO_MMIO_BASE || i >= hc->nmmio ||
	    off % WISP_VIRTIO_MMIO_STRIDE >= VIRTIO_MMIO_SIZE || r->mmio.len > 8) {
		fprintf(stderr, "wisp: guest access to unmapped memory at 0x%llx (rip 0x%llx)\n",
			(unsigned long long)addr, vcpu_rip(v));
		return 1;
	}
	off %= WISP_VIRTIO_MMIO_STRIDE;
	if (r->mmio.is_write)
		virtio_mmio_write(hc->mmio[i], off, r->mmio.data, r->mmio.len);
	else
		virtio_mmio_read(hc->mmio[i], off, r->mmio.data, r->mmio.len);
	return -1;
}

static int handle_exit(struct vcpu *v, struct hc_ctx *hc)
{
	struct kvm_run *r = v->run;

	switch (r->exit_reason) {
	case KVM_EXIT_IO:
		return handle_io(v, hc);
	case KVM_EXIT_INTR:
	case KVM_EXIT_IRQ_WINDOW_OPEN:
		return -1;
	case KVM_EXIT_HLT:
		fprintf(stderr, "wisp: guest halted without exiting (rip=0x%llx)\n", vcpu_rip(v));
		return 1;
	case KVM_EXIT_SHUTDOWN:
		fprintf(stderr, "wisp: guest triple fault (rip=0x%llx)\n", vcpu_rip(v));
		return 1;
	case KVM_EXIT_MMIO:
		return handle_mmio(v, hc);
	case KVM_EXIT_FAIL_ENTRY:
		fprintf(stderr, "wisp: KVM could not enter the guest: hardware reason 0x%llx\n",
			(unsigned long long)r->fail_entry.hardware_entry_failure_reason);
		return 1;
	case KVM_EXIT_INTERNAL_ERROR:
		fprintf(stderr, "wisp: KVM internal error: suberror %u (rip=0x%llx)\n",
			r->internal.suberror, vcpu_rip(v));
		return 1;
	case KVM_EXIT_SYSTEM_EVENT:
		fprintf(stderr, "wisp: guest requested a %s without exiting\n",
			r->system_event.type == KVM_SYSTEM_EVENT_RESET ? "reset" : "shutdown");
		return 1;
	default:
		fprintf(stderr, "wisp: unexpected KVM exit reason %u (rip=0x%llx)\n",
			r->exit_reason, vcpu_rip(v));
		return 1;
	}
}

/* Whether the guest can take an interrupt now. KVM's flags say so on VMX
 * and SVM. A PVM-style host reports IF = 0 whenever the guest runs
 * natively, in user mode too, and never opens an interrupt window; but
 * user mode always has interrupts on (the program cannot clear IF), so
 * there the vCPU's position decides. */
static bool interrupt_allowed(struct vcpu *v)
{
	const struct kvm_vcpu_events *e = &v->run->s.regs.events;
	uint64_t rip;

	if ((v->run->kvm_valid_regs & KVM_SYNC_X86_EVENTS) &&
	    (e->interrupt.injected || e->exception.injected || e->exception.pending ||
	     e->nmi.injected))
		return false;   /* an event is on its way in: after it */
	if (v->run->ready_for_interrupt_injection && v->run->if_flag)
		return true;
	if (v->run->if_flag)
		return false;
	return guest_rip(v, &rip) && rip < GUEST_USER_END;
}

/* KVM_INTERRUPT, or the same through the synced events, which KVM applies
 * at the next KVM_RUN. Only after interrupt_allowed: an event injected so
 * skips KVM's own check of the guest's IF flag. */
static int queue_interrupt(struct vcpu *v, uint8_t vector)
{
	struct kvm_interrupt irq = { .irq = vector };
	struct kvm_vcpu_events *e = &v->run->s.regs.events;

	if (!(v->run->kvm_valid_regs & KVM_SYNC_X86_EVENTS))
		return ioctl(v->fd, KVM_INTERRUPT, &irq);
	e->interrupt.injected = 1;
	e->interrupt.nr = vector;
	e->interrupt.soft = 0;
	v->run->kvm_dirty_regs |= KVM_SYNC_X86_EVENTS;
	return 0;
}

/* Delivers a fired timer as soon as the guest accepts interrupts; until
 * then KVM exits as soon as it does (the interrupt window) or, where the
 * host has no such exit, the timer kicks KVM_RUN again shortly. */
static int inject_timer(struct vcpu *v, struct vtimer *t)
{
	v->run->immediate_exit = 0;
	if (!t || !t->fired) {
		/* Re-arming cancels a fired timer that was waiting for the window
		 * (vtimer_arm); asking for the window with nothing to inject would
		 * make every KVM_RUN exit at once while the guest has IF set. */
		v->run->request_interrupt_window = 0;
		return 0;
	}
	if (interrupt_allowed(v)) {
		if (queue_interrupt(v, WISP_TIMER_VECTOR) < 0)
			return fail_ioctl("KVM_INTERRUPT", v->id);
		if (vtimer_taken(t) < 0)
			return fail_ioctl("timer_settime", v->id);
		v->run->request_interrupt_window = 0;
	} else {
		v->run->request_interrupt_window = 1;
		if (vtimer_kick_after(t, INJECT_RETRY_NS) < 0)
			return fail_ioctl("timer_settime", v->id);
	}
	return 0;
}

static int run_loop(struct vcpu *v, struct hc_ctx *hc, struct watchdog *w)
{
	for (;;) {
		int rc;

		if (watchdog_stuck(w, v->fd)) {
			fprintf(stderr, "wisp: guest kernel stuck in ring 0 at rip 0x%llx (was its "
				"memory overwritten by the program?)\n", w->last.rip);
			return 1;
		}
		if (inject_timer(v, hc->timer) < 0)
			return 1;
		if (ioctl(v->fd, KVM_RUN, 0) < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			fail_ioctl("KVM_RUN", v->id);
			return 1;
		}
		rc = handle_exit(v, hc);
		if (rc >= 0)
			return rc;
	}
}

int vcpu_run(struct vcpu *v, struct hc_ctx *hc)
{
	struct watchdog w;
	int rc;

	if (watchdog_start(&w, v->run) < 0)
		return 1;
	rc = run_loop(v, hc, &w);
	watchdog_stop(&w);
	return rc;
}
