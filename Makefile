# Makefile: builds the host VMM/CLI (build/wisp) and the guest kernel
# (build/wisp-kernel.elf), runs the tests and the benchmark.

BUILD   ?= build
CC      ?= gcc
WARN    := -Wall -Wextra -Werror
PYTHON  ?= /usr/bin/python3

# ---- host: wisp CLI and VMM ----
HOST_CFLAGS := -std=gnu11 -O2 -g $(WARN) -Iinclude -Ivmm -MMD -MP
HOST_SRCS   := $(wildcard vmm/*.c vmm/devices/*.c)
HOST_OBJS   := $(HOST_SRCS:%.c=$(BUILD)/host/%.o)
# Everything but main.c is linked into the unit tests, built a second time
# with the sanitizers so the code under test is checked too.
HOST_LIB_OBJS := $(filter-out $(BUILD)/host-san/vmm/main.o,$(HOST_OBJS:$(BUILD)/host/%=$(BUILD)/host-san/%))
SANITIZE      := -fsanitize=address,undefined -fno-omit-frame-pointer
# Keep them: make would delete them as intermediates of the test binaries.
.SECONDARY: $(HOST_LIB_OBJS)

# ---- guest: wisp kernel ----
KERNEL_CFLAGS := -std=gnu11 -O2 -g $(WARN) -Iinclude -Ikernel \
	-ffreestanding -fno-stack-protector -fno-pic -fno-pie -mno-red-zone \
	-mcmodel=kernel -mgeneral-regs-only -fno-asynchronous-unwind-tables \
	-fno-omit-frame-pointer -fno-tree-loop-distribute-patterns -nostdinc -isystem $(shell $(CC) -print-file-name=include) \
	-idirafter /usr/include/x86_64-linux-gnu -idirafter /usr/include -MMD -MP
# The kernel includes only Linux UAPI headers from /usr/include (linux/, asm/,
# asm-generic/): they define the ABI it implements. Never libc headers.
KERNEL_LDFLAGS := -nostdlib -static -no-pie -z max-page-size=4096 -z noexecstack \
	-Wl,--no-warn-rwx-segments -Wl,--build-id=none \
	-T kernel/arch/x86_64/kernel.ld
# kernel/vdso/vdso.c is not kernel code: it becomes the vDSO shared object,
# embedded by kernel/vdso/vdso_image.S.
KERNEL_SRCS := $(filter-out kernel/vdso/vdso.c,$(wildcard kernel/*.c kernel/*/*.c \
	kernel/*/*/*.c kernel/arch/x86_64/*.S kernel/vdso/*.S))
VDSO_CFLAGS := $(filter-out -mcmodel=kernel -fno-pic,$(KERNEL_CFLAGS)) -fPIC -shared \
	-nostdlib -Wl,-T,kernel/vdso/vdso.lds -Wl,-soname,linux-vdso.so.1 \
	-Wl,--hash-style=both -Wl,--build-id=none -Wl,-z,max-page-size=4096
KERNEL_OBJS := $(patsubst %,$(BUILD)/guest/%.o,$(basename $(KERNEL_SRCS)))

# ---- unit tests ----
UNIT_SRCS := $(wildcard tests/unit/*.c)
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/unit/%)

# ---- test programs: static Linux binaries run inside wisp VMs ----
# Each tests/progs/NAME.c is built four ways: NAME-musl-static,
# NAME-musl-static-pie, NAME-glibc-static, NAME-glibc-static-pie.
PROG_SRCS     := $(wildcard tests/progs/*.c)
PROG_VARIANTS := musl-static musl-static-pie glibc-static glibc-static-pie
PROG_BINS     := $(foreach v,$(PROG_VARIANTS),$(PROG_SRCS:tests/progs/%.c=$(BUILD)/tests/progs/%-$(v)))
PROG_CFLAGS   := -O2 -g -Wall -Wextra
MUSL_INC      ?= /usr/include/x86_64-linux-musl
MUSL_LIB      ?= /usr/lib/x86_64-linux-musl
# musl-gcc has no -static-pie support: link rcrt1.o (self-relocating) by hand.
MUSL_PIE_CC    = $(CC) $(PROG_CFLAGS) -fPIE -nostdinc -isystem $(MUSL_INC) \
	-isystem $(shell $(CC) -print-file-name=include) -static-pie -nostdlib
MUSL_PIE_PRE   = $(MUSL_LIB)/rcrt1.o $(MUSL_LIB)/crti.o $(shell $(CC) -print-file-name=crtbeginS.o)
MUSL_PIE_POST  = -L$(MUSL_LIB) -lc $(shell $(CC) -print-libgcc-file-name) \
	$(shell $(CC) -print-file-name=crtendS.o) $(MUSL_LIB)/crtn.o

.PHONY: all deps test unit integration bench demo clean test-progs compat docs

all: $(BUILD)/wisp $(BUILD)/wisp-kernel.elf

$(BUILD)/wisp: $(HOST_OBJS)
	$(CC) -o $@ $^

# The same objects linked statically, to run in a guest without glibc
# (tools/nested-kvm.sh).
$(BUILD)/wisp-static: $(HOST_OBJS)
	$(CC) -static -o $@ $^

$(BUILD)/host/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(HOST_CFLAGS) -c -o $@ $<

$(BUILD)/host-san/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(HOST_CFLAGS) $(SANITIZE) -c -o $@ $<

$(BUILD)/wisp-kernel.elf: $(KERNEL_OBJS) kernel/arch/x86_64/kernel.ld
	$(CC) $(KERNEL_LDFLAGS) -o $@ $(KERNEL_OBJS) -lgcc

$(BUILD)/guest/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(KERNEL_CFLAGS) -c -o $@ $<

$(BUILD)/guest/%.o: %.S
	@mkdir -p $(dir $@)
	$(CC) $(KERNEL_CFLAGS) -D__ASSEMBLY__ -c -o $@ $<

$(BUILD)/guest/vdso.so: kernel/vdso/vdso.c kernel/vdso/vdso.lds
	@mkdir -p $(dir $@)
	$(CC) $(VDSO_CFLAGS) -o $@ $<

$(BUILD)/guest/kernel/vdso/vdso_image.o: $(BUILD)/guest/vdso.so
$(BUILD)/guest/kernel/vdso/vdso_image.o: KERNEL_CFLAGS += -DVDSO_SO='"$(BUILD)/guest/vdso.so"'

$(BUILD)/tests/unit/%: tests/unit/%.c $(HOST_LIB_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(HOST_CFLAGS) $(SANITIZE) -o $@ $< $(HOST_LIB_OBJS)

# test_page builds the kernel's page allocator for the host.
$(BUILD)/tests/unit/test_page: private HOST_CFLAGS += -Ikernel

$(BUILD)/tests/progs/%-musl-static: tests/progs/%.c tests/progs/check.h
	@mkdir -p $(dir $@)
	musl-gcc $(PROG_CFLAGS) -static -o $@ $<

$(BUILD)/tests/progs/%-musl-static-pie: tests/progs/%.c tests/progs/check.h
	@mkdir -p $(dir $@)
	$(MUSL_PIE_CC) -o $@ $(MUSL_PIE_PRE) $< $(MUSL_PIE_POST)

$(BUILD)/tests/progs/%-glibc-static: tests/progs/%.c tests/progs/check.h
	@mkdir -p $(dir $@)
	$(CC) $(PROG_CFLAGS) -static -o $@ $<

$(BUILD)/tests/progs/%-glibc-static-pie: tests/progs/%.c tests/progs/check.h
	@mkdir -p $(dir $@)
	$(CC) $(PROG_CFLAGS) -fPIE -static-pie -o $@ $<

test-progs: $(PROG_BINS)

# Installs the Debian packages the build, tests and benchmark need (idempotent).
deps:
	@tools/deps.sh

unit: $(UNIT_BINS)
	$(PYTHON) -m pytest -q tests/test_unit.py

integration: all test-progs
	$(PYTHON) -m pytest -q -rfEs tests/integration

# -rfEs: list failures, errors and skip reasons (e.g. no /dev/kvm) at the end.
test: all $(UNIT_BINS) test-progs
	$(PYTHON) -m pytest -q -rfEs tests

# ---- benchmarks: bench/boot.py, and bench/micro.py and bench/disk.py with
# bench/progs/*.c ----
BENCH_BINS := $(patsubst bench/progs/%.c,$(BUILD)/bench/%,$(wildcard bench/progs/*.c))

$(BUILD)/bench/%: bench/progs/%.c bench/progs/bench.h
	@mkdir -p $(dir $@)
	musl-gcc -O2 -Wall -Wextra -static -o $@ $<

# The host's own floor for a tick (bench/host/kick.c), a host program.
# It makes its timer with wisp-vmm's own vmm/devices/timer.c.
$(BUILD)/bench/host-kick: bench/host/kick.c bench/host/kick_guest.S vmm/devices/timer.c
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 -O2 $(WARN) -Iinclude -Ivmm -o $@ $^

# BENCH_ARGS="--runs 50 --write": all three scripts take --runs and --write
# (micro.py and disk.py also --reps); they measure the binaries in $(BUILD).
# disk.py (storage, issue 7) writes its files and images under /tmp.
bench: all $(BUILD)/tests/progs/hello-musl-static $(BENCH_BINS) $(BUILD)/bench/host-kick
	WISP_BUILD=$(BUILD) $(PYTHON) bench/boot.py $(BENCH_ARGS)
	WISP_BUILD=$(BUILD) $(PYTHON) bench/micro.py $(BENCH_ARGS)
	WISP_BUILD=$(BUILD) $(PYTHON) bench/disk.py $(BENCH_ARGS)

# The compatibility report (docs/compat.md); failing cases do not fail it.
compat: all
	$(PYTHON) tests/compat/run.py --write $(COMPAT_ARGS)

# Regenerates docs/syscalls.md from kernel/syscalls/*.c.
docs:
	$(PYTHON) tools/gen-syscalls-doc.py

demo: all
	@tools/demo.sh $(BUILD)/wisp

clean:
	rm -rf $(BUILD)

-include $(HOST_OBJS:.o=.d) $(HOST_LIB_OBJS:.o=.d) $(KERNEL_OBJS:.o=.d)
