/* abi.h: the contract between wisp-vmm (host) and the wisp kernel (guest).
 *
 * Both builds include this header and nothing else from each other. It holds
 * the PVH boot structures (Xen's hvm_start_info layout, as the PVH boot
 * protocol defines it), wisp's own boot info, and the hypercall interface.
 * Bump WISP_ABI_VERSION on any incompatible change.
 */
#ifndef WISP_ABI_H
#define WISP_ABI_H

#include <stdint.h>

#define WISP_ABI_VERSION 3

/* The kernel ELF says which ABI it speaks in a note (name "wisp", this
 * type, a 32-bit descriptor), so that wisp-vmm refuses a kernel of another
 * version instead of booting one that would not find its boot info. */
#define WISP_ELFNOTE_ABI 1

/* ---- PVH boot protocol (x86/HVM direct boot ABI, start_info version 1) ---- */

#define XEN_ELFNOTE_PHYS32_ENTRY 18
#define HVM_START_MAGIC 0x336ec578u

struct hvm_start_info {
	uint32_t magic;          /* HVM_START_MAGIC */
	uint32_t version;        /* 1: memmap fields are valid */
	uint32_t flags;
	uint32_t nr_modules;
	uint64_t modlist_paddr;  /* array of struct hvm_modlist_entry */
	uint64_t cmdline_paddr;  /* NUL-terminated */
	uint64_t rsdp_paddr;
	uint64_t memmap_paddr;   /* array of struct hvm_memmap_table_entry */
	uint32_t memmap_entries;
	uint32_t reserved;
};

struct hvm_modlist_entry {
	uint64_t paddr;
	uint64_t size;
	uint64_t cmdline_paddr;
	uint64_t reserved;
};

#define HVM_MEMMAP_TYPE_RAM 1
#define HVM_MEMMAP_TYPE_RESERVED 2

struct hvm_memmap_table_entry {
	uint64_t addr;
	uint64_t size;
	uint32_t type;
	uint32_t reserved;
};

/* ---- wisp boot info ----
 * wisp-vmm passes it as PVH module 1 (module 0 is the initramfs). A kernel
 * booted by another PVH loader (QEMU) finds no such module and falls back to
 * legacy devices: COM1/COM2 serial and isa-debug-exit.
 */
#define WISP_BOOT_MAGIC 0x70736977u /* "wisp" */

/* A virtio-mmio device (virtio 1.x, transport version 2). The kernel
 * drives it by polling: wisp-vmm serves a queue notification before the
 * guest's MMIO write returns, and raises no interrupt. */
#define WISP_DEVICES_MAX 8
#define WISP_VIRTIO_MMIO_BASE 0xd0000000ull   /* device i at base + i * stride */
#define WISP_VIRTIO_MMIO_STRIDE 0x1000ull
#define WISP_DEVICE_MOUNT_MAX 128

struct wisp_device {
	uint64_t mmio_base;      /* guest-physical register window */
	uint32_t virtio_id;      /* 2: block */
	uint32_t flags;          /* WISP_DEVICE_F_* */
	char mount[WISP_DEVICE_MOUNT_MAX];  /* block: where to mount it, NUL-ended */
};

#define WISP_DEVICE_F_READ_ONLY (1u << 0)

struct wisp_boot_info {
	uint32_t magic;          /* WISP_BOOT_MAGIC */
	uint32_t abi_version;    /* WISP_ABI_VERSION */
	uint64_t tsc_khz;        /* guest TSC frequency, 0 if unknown */
	uint64_t flags;          /* WISP_BOOT_F_* */
	uint8_t seed[32];        /* host entropy for the guest's RNG */
	uint32_t ndevices;
	uint32_t reserved;
	struct wisp_device devices[WISP_DEVICES_MAX];
};

#define WISP_BOOT_F_TRACE_SYSCALLS (1u << 0)

/* ---- initramfs index ----
 * wisp-vmm passes the parsed headers of the initramfs (module 0) as PVH
 * module 2, so that the kernel builds its tree without reading the archive:
 * most files' headers sit in a page of their own, and on a shadow-paging
 * host the first touch of each guest page costs microseconds (12 ms for
 * python3's 1,500 files). A kernel that finds no valid index parses the
 * archive itself, as under other PVH loaders. The header is followed by
 * count entries, in archive order without the trailer, then their names. */
#define WISP_INDEX_MAGIC 0x78646977u /* "widx" */

struct wisp_index_hdr {
	uint32_t magic;          /* WISP_INDEX_MAGIC */
	uint32_t count;          /* entries */
	uint64_t archive_size;   /* bytes of module 0 it describes */
};

/* A newc header's fields as numbers (the device numbers are left out). */
struct wisp_index_entry {
	uint32_t ino, mode, uid, gid, nlink, mtime;
	uint32_t size;           /* file data bytes */
	uint32_t name_len;       /* name bytes, without the NUL that follows */
	uint64_t data_off;       /* of the data, from the start of the archive */
	uint64_t name_off;       /* of the name, from the start of the index */
};

/* ---- Hypercalls ----
 * The guest writes the 32-bit guest-physical address of the argument struct
 * to port WISP_HC_PORT_BASE + number with `outl`. The VMM handles the call
 * synchronously and writes results back into the struct before resuming the
 * vCPU. Port I/O works from every guest privilege level on every KVM host.
 */
#define WISP_HC_PORT_BASE 0x500

enum wisp_hypercall {
	WISP_HC_WRITE = 0,   /* struct wisp_hc_io: write to host stdout/stderr */
	WISP_HC_READ = 1,    /* struct wisp_hc_io: read from host stdin; -EINTR
			      * when the timer fires first, which then stands
			      * for that firing's interrupt (read again); with
			      * WISP_HC_TIMER_NMI the NMI still comes */
	WISP_HC_EXIT = 2,    /* struct wisp_hc_exit: the program ended */
	WISP_HC_CLOCK = 3,   /* struct wisp_hc_clock: host time now */
	WISP_HC_SLEEP = 4,   /* struct wisp_hc_sleep: block the vCPU */
	WISP_HC_PANIC = 5,   /* struct wisp_hc_io (fd unused): kernel panic text */
	WISP_HC_TIMER = 6,   /* struct wisp_hc_timer: timer interrupt */
	WISP_HC_TIMER_NMI = 7, /* struct wisp_hc_timer_nmi: the timer as NMIs */
	WISP_HC_COUNT
};

struct wisp_hc_io {
	uint32_t fd;         /* 0 stdin, 1 stdout, 2 stderr */
	uint32_t pad;
	uint64_t buf_paddr;  /* guest-physical, must lie in guest RAM */
	uint64_t len;
	int64_t ret;         /* out: bytes done or -errno */
};

struct wisp_hc_exit {
	int32_t status;      /* exit status when signal == 0 */
	int32_t signal;      /* fatal signal number, 0 for a normal exit */
	uint64_t fault_addr; /* for SIGSEGV/SIGBUS: the faulting address */
};

struct wisp_hc_clock {
	uint64_t realtime_ns;   /* out: CLOCK_REALTIME */
	uint64_t monotonic_ns;  /* out: CLOCK_MONOTONIC */
};

struct wisp_hc_sleep {
	uint64_t ns;            /* relative */
};

/* After ns nanoseconds (relative; 0 cancels) the VMM injects interrupt
 * WISP_TIMER_VECTOR when the guest can take it (or, after WISP_HC_TIMER_NMI,
 * KVM's local APIC fires an NMI), then again every period_ns
 * if that is not 0 (a period under WISP_TIMER_MIN_PERIOD_NS counts as that
 * minimum). Firings the guest could not take yet merge into one. A new call
 * replaces the pending timer. The kernel uses it for preemption and
 * deadlines, and arms it only when something is due: idle VMs take no
 * interrupts. A period lets a steady tick (time slices, interval timers)
 * go on without a hypercall per tick, which costs ~25 us on some hosts. */
#define WISP_TIMER_VECTOR 32
#define WISP_TIMER_MIN_PERIOD_NS 100000ull /* 100 us */

struct wisp_hc_timer {
	uint64_t ns;
	uint64_t period_ns;  /* 0: once */
};

/* For a kernel whose own code runs at the program's privilege level (on a
 * PVM-style host, hardware ring 3, where the VMM can inject an interrupt
 * only after a signal made KVM_RUN return): from this call on the timer
 * fires as an NMI (vector 2) from KVM's in-kernel local APIC, which the
 * host delivers without leaving its kernel, whatever the guest's IF flag
 * and wherever it runs, in the kernel too. The first tick of a period
 * comes at most one period after the call (the APIC's current count
 * cannot exceed its initial one), and the host may set a minimum period
 * (KVM's min_timer_period_us). READ then waits until the next firing is
 * due and returns -EINTR, the firing still coming as its NMI. ret: 0, or
 * -ENODEV where the VMM has no in-kernel local APIC (the timer stays
 * WISP_TIMER_VECTOR). */
struct wisp_hc_timer_nmi {
	int64_t ret;
};

/* ---- Legacy devices used when not booted by wisp-vmm ---- */
#define WISP_COM1_PORT 0x3f8     /* guest stdout */
#define WISP_COM2_PORT 0x2f8     /* guest stderr */
#define WISP_DEBUG_EXIT_PORT 0xf4 /* QEMU isa-debug-exit: exit code (v<<1)|1 */

/* ---- Kernel command line ----
 * "key=value ... -- argv0 argv1 ...". Words are separated by spaces; a
 * backslash makes the next character literal, so any argument can be passed;
 * the word "" (unescaped) is the empty string.
 * Keys: env=NAME=VALUE (repeatable), trace=1, cwd=/path.
 */
#define WISP_CMDLINE_MAX (64 * 1024)

#endif
