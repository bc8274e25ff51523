/* platform.c: what each host makes the kernel do differently (its "cpu ops":
 * ring 0 under VMX, SVM or TCG, native ring 3 on a PVM-style host), checked
 * from a program. tests/integration/test_platform.py maps each check to the
 * cause it guards.
 *   platform all [ARG]   - every check, printing "ok NAME" after each
 *   platform NAME [ARG]  - one check (ARG: see hypercalls and ist):
 *     directmap   all but 8 MiB of RAM in use: half filled by the program, half
 *                 copied from it by the kernel (copy-on-write in a child)
 *     hypercalls  ARG bytes (default 300000) to stdout in one write, a line to
 *                 stderr, sleep, timer, and the byte count and sum of stdin
 *     tls         FS base (TLS) in 5 threads across context switches, after
 *                 arch_prctl(ARCH_SET_FS) and in a forked child
 *     cr3         two processes writing one address in turns (copy-on-write)
 *     tlb         a touched page faults after munmap/mprotect; MAP_FIXED and
 *                 MADV_DONTNEED read back zeros
 *     cr2         exact si_addr, cr2, trapno and error code of many faults
 *     selectors   CS 0x33 and SS 0x2b, in registers and in signal frames
 *     traps       every register survives page faults, traps, interrupts and
 *                 syscalls that trap inside the kernel; timer interrupts that
 *                 come while the kernel runs are still taken
 *     ist         200 fork/exit/wait rounds with a SIGCHLD handler under an
 *                 interval timer of ARG us (default 50): interrupts that
 *                 come while a trap stub still has its frame on its stack
 *     spin        alarm and interval timers, and a sleeping parent, while
 *                 user code spins without entering the kernel
 *     ticks       100 SIGALRMs of a 1 ms interval timer in user code that
 *                 spins; prints how many ticks the kernel counted in
 *                 /proc/interrupts (LOC) and how many NMIs
 *     clock       prints the wall clock before and after 1 s of spinning by
 *                 CLOCK_MONOTONIC, for the test to compare with the host's
 *   platform kcopy SECONDS - not part of "all": 256 KiB pwrite()s to a tmpfs
 *                 file for SECONDS, so the kernel spends them in memcpy
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/sysinfo.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>
#include "check.h"

#define PAGE 4096UL
#define MiB (1024UL * 1024UL)
#define ARCH_SET_FS 0x1002
#define ARCH_GET_FS 0x1003
#define UC_SIGCONTEXT_SS 0x2
#define USER_CS 0x33
#define USER_SS 0x2b
/* Page-fault error code bits (the hardware's, passed on by Linux). */
#define PF_PRESENT 1
#define PF_WRITE 2
#define PF_USER 4

static int64_t mono_ns(void)
{
	struct timespec t;

	CHECK(clock_gettime(CLOCK_MONOTONIC, &t) == 0);
	return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

static void *map(size_t len, int prot)
{
	void *p = mmap(NULL, len, prot, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	CHECK(p != MAP_FAILED);
	return p;
}

/* ---- faults, recorded by a handler that jumps back ---- */

static sigjmp_buf jump;
static volatile sig_atomic_t hits;
static struct {
	int sig, code;
	void *addr;
	uint64_t cr2, err, trapno, rip, csgsfs, uc_flags;
} last;

static void record(int sig, siginfo_t *si, void *ucv)
{
	ucontext_t *uc = ucv;

	hits++;
	last.sig = sig;
	last.code = si->si_code;
	last.addr = si->si_addr;
	last.cr2 = uc->uc_mcontext.gregs[REG_CR2];
	last.err = uc->uc_mcontext.gregs[REG_ERR];
	last.trapno = uc->uc_mcontext.gregs[REG_TRAPNO];
	last.rip = uc->uc_mcontext.gregs[REG_RIP];
	last.csgsfs = uc->uc_mcontext.gregs[REG_CSGSFS];
	last.uc_flags = uc->uc_flags;
}

static void record_and_jump(int sig, siginfo_t *si, void *uc)
{
	record(sig, si, uc);
	siglongjmp(jump, 1);
}

/* Whether reading (or writing) *p faults; the handler must be
 * record_and_jump. */
static bool faults(volatile char *p, bool write)
{
	int before = hits;

	if (sigsetjmp(jump, 1) == 0) {
		if (write)
			*p = 1;
		else
			(void)*p;
		return false;
	}
	CHECK(hits == before + 1);
	return true;
}

/* The access must raise SIGSEGV with si_addr, cr2 and the error code of a
 * page fault at exactly addr. */
static void expect_segv(volatile char *p, bool write, void *addr, int code, uint64_t err)
{
	if (!faults(p, write)) {
		fprintf(stderr, "%s %p did not fault\n", write ? "writing" : "reading", (void *)p);
		CHECK(!"no fault");
	}
	if (last.addr != addr || last.cr2 != (uint64_t)addr || last.code != code ||
	    last.trapno != 14 || last.err != err) {
		fprintf(stderr, "%s %p: si_addr %p (want %p), cr2 %#llx, si_code %d (want %d), "
			"trapno %llu, err %#llx (want %#llx)\n", write ? "writing" : "reading",
			(void *)p, last.addr, addr, (unsigned long long)last.cr2, last.code, code,
			(unsigned long long)last.trapno, (unsigned long long)last.err,
			(unsigned long long)err);
		CHECK(!"wrong fault");
	}
	CHECK(last.sig == SIGSEGV);
}

/* ---- directmap ---- */

static uint64_t pattern(size_t page)
{
	return 0x9e3779b97f4a7c15ULL * (page + 1);
}

static void fill_pages(uint64_t *p, size_t pages)
{
	for (size_t i = 0; i < pages; i++) {
		p[i * 512] = pattern(i);
		p[i * 512 + 511] = ~pattern(i);
	}
}

static bool pages_hold(const uint64_t *p, size_t pages, uint64_t second)
{
	for (size_t i = 0; i < pages; i++)
		if (p[i * 512] != pattern(i) || p[i * 512 + 1] != second * i ||
		    p[i * 512 + 511] != ~pattern(i))
			return false;
	return true;
}

/* Uses all but a few MiB of guest RAM, so that pages up to the top of
 * memory are zeroed and copied by the kernel through its direct map: the
 * parent fills half of the free memory, and a forked child writes every
 * page, so that the kernel copies each into a new page. */
static void check_directmap(void)
{
	struct sysinfo si;
	uint64_t unit, total, avail, *p;
	size_t len, pages;
	int status;
	pid_t pid;

	CHECK(sysinfo(&si) == 0);
	unit = si.mem_unit ? si.mem_unit : 1;
	total = si.totalram * unit;
	avail = si.freeram * unit;
	printf("ram_mib=%llu\n", (unsigned long long)(total / MiB));
	CHECK(total >= 32 * MiB && avail >= 24 * MiB);
	/* It takes all the memory there is: not on a host. */
	CHECK(total <= 4096 * MiB);
	len = ((avail - 8 * MiB) / 2) & ~(MiB - 1);
	pages = len / PAGE;
	p = map(len, PROT_READ | PROT_WRITE);
	fill_pages(p, pages);
	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		uint64_t left;

		if (!pages_hold(p, pages, 0))
			_exit(2);
		for (size_t i = 0; i < pages; i++)
			p[i * 512 + 1] = 3 * i;
		if (!pages_hold(p, pages, 3))
			_exit(3);
		if (sysinfo(&si) != 0)
			_exit(4);
		left = si.freeram * unit;
		if (left > 12 * MiB) {
			fprintf(stderr, "directmap: %llu MiB still free\n",
				(unsigned long long)(left / MiB));
			_exit(5);
		}
		_exit(0);
	}
	CHECK(waitpid(pid, &status, 0) == pid);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		fprintf(stderr, "directmap: child status %#x (3: a copied page differs)\n", status);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	CHECK(pages_hold(p, pages, 0));
	CHECK(munmap(p, len) == 0);
}

/* ---- hypercalls ---- */

static size_t hc_out_len = 300000;

static void on_alarm(int sig, siginfo_t *si, void *uc)
{
	record(sig, si, uc);
}

/* stdout: hc_out_len bytes of "0-9a-z" with a newline as every 100th byte,
 * in one write; stderr: one line; then the stdin byte count and sum. */
static void check_hypercalls(void)
{
	static const char digits[] = "0123456789abcdefghijklmnopqrstuvwxyz";
	char *out = malloc(hc_out_len), in[4096];
	struct timespec nap = { 0, 20 * 1000 * 1000 };
	struct itimerval once = { { 0, 0 }, { 0, 10000 } };
	unsigned long long nin = 0, sum = 0;
	int64_t t0;
	ssize_t n;

	CHECK(out);
	for (size_t i = 0; i < hc_out_len; i++)
		out[i] = i % 100 == 99 ? '\n' : digits[i % 36];
	CHECK(write(1, out, hc_out_len) == (ssize_t)hc_out_len);
	CHECK(write(2, "hypercall stderr\n", 17) == 17);
	free(out);
	/* An idle kernel sleeps in the host; a timer wakes it. */
	t0 = mono_ns();
	CHECK(nanosleep(&nap, NULL) == 0);
	CHECK(mono_ns() - t0 >= 20 * 1000 * 1000);
	on_signal(SIGALRM, on_alarm, 0);
	hits = 0;
	CHECK(setitimer(ITIMER_REAL, &once, NULL) == 0);
	while (!hits)
		pause();
	set_default(SIGALRM);
	while ((n = read(0, in, sizeof(in))) > 0) {
		nin += n;
		for (ssize_t i = 0; i < n; i++)
			sum += (unsigned char)in[i];
	}
	CHECK(n == 0);
	printf("stdin=%llu sum=%llu\n", nin, sum);
}

/* ---- tls ---- */

#define TLS_THREADS 5       /* the main thread is one of them */
#define TLS_ROUNDS 300
#define TLS_SPIN_NS (60 * 1000000LL)

static __thread long tls_id;
static __thread char tls_name[32];
static int tls_ring[TLS_THREADS][2];
static volatile long tls_last_runner, tls_switches, tls_preemptions;

/* The thread pointer (TCB) libc keeps at %fs:0, read through the FS base. */
static uint64_t fs_self(void)
{
	uint64_t v;

	asm volatile("mov %%fs:0, %0" : "=r"(v));
	return v;
}

static uint64_t fs_base(void)
{
	uint64_t v = 0;

	CHECK(syscall(SYS_arch_prctl, ARCH_GET_FS, &v) == 0);
	return v;
}

static void tls_verify(long id, long *addr, uint64_t base)
{
	CHECK(tls_id == id);
	CHECK(&tls_id == addr);
	CHECK(atol(tls_name + 4) == id);
	CHECK(fs_self() == base);
}

/* Whether another thread ran since this one last looked. */
static bool tls_switched(long id)
{
	if (tls_last_runner == id)
		return false;
	tls_last_runner = id;
	return true;
}

/* Passes a token around a ring of threads (each hop a switch to a thread
 * with another FS base), then spins until the timer has preempted it; its
 * TLS must be its own after each. */
static void *tls_worker(void *arg)
{
	long idx = (long)arg, id = 100 + idx, *addr = &tls_id;
	uint64_t base = fs_base();
	int64_t end;
	char c;

	tls_id = id;
	snprintf(tls_name, sizeof(tls_name), "tls-%ld", id);
	CHECK(fs_self() == base);
	for (int r = 0; r < TLS_ROUNDS; r++) {
		CHECK(read(tls_ring[idx][0], &c, 1) == 1);
		errno = (int)id;
		if (tls_switched(id))
			tls_switches++;
		tls_verify(id, addr, base);
		CHECK(errno == (int)id);
		CHECK(write(tls_ring[(idx + 1) % TLS_THREADS][1], &c, 1) == 1);
	}
	end = mono_ns() + TLS_SPIN_NS;
	while (mono_ns() < end) {
		errno = (int)id;
		if (tls_switched(id))
			tls_preemptions++;
		tls_verify(id, addr, base);
		CHECK(errno == (int)id);
	}
	return arg;
}

static struct {
	int to_helper, from_helper;
	char byte;
	volatile int trips;
} tls_ping;

static void *tls_helper(void *arg)
{
	char c;

	for (;;) {
		CHECK(read(tls_ping.to_helper, &c, 1) == 1);
		if (c == 'q')
			return arg;
		tls_ping.trips++;
		CHECK(write(tls_ping.from_helper, &c, 1) == 1);
	}
}

static void check_tls(void)
{
	static uint64_t fake[2];
	int a[2], b[2], status;
	pthread_t th[TLS_THREADS], h;
	uint64_t old, got0, got1;
	void *ret;
	pid_t pid;

	for (int i = 0; i < TLS_THREADS; i++)
		CHECK(pipe(tls_ring[i]) == 0);
	for (long i = 1; i < TLS_THREADS; i++)
		CHECK(pthread_create(&th[i], NULL, tls_worker, (void *)i) == 0);
	CHECK(write(tls_ring[0][1], "t", 1) == 1);
	tls_worker((void *)0L);
	for (long i = 1; i < TLS_THREADS; i++) {
		CHECK(pthread_join(th[i], &ret) == 0);
		CHECK(ret == (void *)i);
	}
	if (tls_switches < TLS_ROUNDS * TLS_THREADS / 2 || tls_preemptions < 2)
		fprintf(stderr, "tls: %ld switches in the ring, %ld preemptions\n",
			(long)tls_switches, (long)tls_preemptions);
	CHECK(tls_switches >= TLS_ROUNDS * TLS_THREADS / 2);
	CHECK(tls_preemptions >= 2);
	for (int i = 0; i < TLS_THREADS; i++)
		CHECK(close(tls_ring[i][0]) == 0 && close(tls_ring[i][1]) == 0);
	/* A base set by the program itself, kept while a thread with another
	 * base runs 50 times. No libc call may run while it is in place. */
	fake[0] = (uint64_t)fake;
	fake[1] = 0x5eed0f5eed0f5eedULL;
	old = fs_base();
	CHECK(pipe(a) == 0 && pipe(b) == 0);
	tls_ping.to_helper = a[0];
	tls_ping.from_helper = b[1];
	CHECK(pthread_create(&h, NULL, tls_helper, NULL) == 0);
	asm volatile("mov $158, %%eax\n\t"          /* arch_prctl */
		     "mov $0x1002, %%edi\n\t"       /* ARCH_SET_FS */
		     "mov %[fake], %%rsi\n\t"
		     "syscall\n\t"
		     "mov $50, %%r12d\n"
		     "1:\n\t"
		     "mov $1, %%eax\n\t"            /* write(a[1], &byte, 1) */
		     "mov %[wfd], %%edi\n\t"
		     "mov %[buf], %%rsi\n\t"
		     "mov $1, %%edx\n\t"
		     "syscall\n\t"
		     "mov $0, %%eax\n\t"            /* read(b[0], &byte, 1): blocks */
		     "mov %[rfd], %%edi\n\t"
		     "mov %[buf], %%rsi\n\t"
		     "mov $1, %%edx\n\t"
		     "syscall\n\t"
		     "dec %%r12d\n\t"
		     "jnz 1b\n\t"
		     "mov %%fs:0, %[g0]\n\t"
		     "mov %%fs:8, %[g1]\n\t"
		     "mov $158, %%eax\n\t"
		     "mov $0x1002, %%edi\n\t"
		     "mov %[old], %%rsi\n\t"
		     "syscall"
		     : [g0] "=&r"(got0), [g1] "=&r"(got1)
		     : [fake] "r"(fake), [old] "r"(old), [wfd] "r"(a[1]), [rfd] "r"(b[0]),
		       [buf] "r"(&tls_ping.byte)
		     : "rax", "rdi", "rsi", "rdx", "rcx", "r11", "r12", "memory", "cc");
	CHECK(write(a[1], "q", 1) == 1);
	CHECK(pthread_join(h, NULL) == 0);
	CHECK(tls_ping.trips == 50);
	CHECK(got0 == (uint64_t)fake && got1 == fake[1]);
	CHECK(fs_base() == old && fs_self() == old);
	CHECK(close(a[0]) == 0 && close(a[1]) == 0 && close(b[0]) == 0 && close(b[1]) == 0);
	/* A forked child starts with the parent's base. */
	tls_id = 77;
	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0)
		_exit(tls_id == 77 && fs_self() == old && fs_base() == old ? 0 : 1);
	CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

/* ---- cr3 ---- */

#define CR3_PAGES 3
#define CR3_ROUNDS 200

static void fill(char *b, int v)
{
	memset(b, v, CR3_PAGES * PAGE);
}

static bool holds(const char *b, int v)
{
	for (size_t i = 0; i < CR3_PAGES * PAGE; i++)
		if (b[i] != (char)v)
			return false;
	return true;
}

/* Parent and child write the same private pages in turns, passing a token
 * through pipes, and each must find its own last value every time. The
 * parent writes first, so its copy breaks away while the child's keeps the
 * value from before the fork. */
static void check_cr3(void)
{
	char *buf = map(CR3_PAGES * PAGE, PROT_READ | PROT_WRITE), tok = 0;
	int p2c[2], c2p[2], status;
	pid_t pid;

	fill(buf, 'I');
	CHECK(pipe(p2c) == 0 && pipe(c2p) == 0);
	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		int mine = 'I';

		for (int r = 0; r < CR3_ROUNDS; r++) {
			if (read(p2c[0], &tok, 1) != 1)
				_exit(2);
			if (!holds(buf, mine))
				_exit(3);
			mine = 'a' + r % 26;
			fill(buf, mine);
			if (write(c2p[1], &tok, 1) != 1)
				_exit(2);
		}
		_exit(0);
	}
	fill(buf, 'P');
	for (int r = 0; r < CR3_ROUNDS; r++) {
		int mine = 'A' + r % 26;

		CHECK(write(p2c[1], &tok, 1) == 1);
		CHECK(read(c2p[0], &tok, 1) == 1);
		CHECK(holds(buf, r == 0 ? 'P' : 'A' + (r - 1) % 26));
		fill(buf, mine);
	}
	CHECK(waitpid(pid, &status, 0) == pid);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		fprintf(stderr, "cr3: child status %#x (3: it saw the parent's data)\n", status);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	CHECK(holds(buf, 'A' + (CR3_ROUNDS - 1) % 26));
	close(p2c[0]);
	close(p2c[1]);
	close(c2p[0]);
	close(c2p[1]);
	CHECK(munmap(buf, CR3_PAGES * PAGE) == 0);
}

/* ---- tlb ---- */

#define TLB_PAGES 64  /* more than the kernel flushes one by one */

static void check_tlb(void)
{
	static const int probe[] = { 0, 1, 30, 31, 32, 33, 62, 63 };
	char *a, *b, *c, *d, *e;

	on_signal(SIGSEGV, record_and_jump, 0);
	/* Each page is in the TLB (just touched) when its mapping goes. */
	a = map(PAGE, PROT_READ | PROT_WRITE);
	a[100] = 1;
	CHECK(a[100] == 1);
	CHECK(munmap(a, PAGE) == 0);
	expect_segv(a + 100, false, a + 100, SEGV_MAPERR, PF_USER);
	b = map(TLB_PAGES * PAGE, PROT_READ | PROT_WRITE);
	for (int i = 0; i < TLB_PAGES; i++)
		b[i * PAGE + i] = (char)i;
	CHECK(munmap(b, TLB_PAGES * PAGE) == 0);
	for (size_t i = 0; i < sizeof(probe) / sizeof(probe[0]); i++) {
		char *p = b + probe[i] * PAGE + probe[i];

		expect_segv(p, false, p, SEGV_MAPERR, PF_USER);
	}
	/* Written (writable, dirty in the TLB), then read-only. */
	c = map(TLB_PAGES * PAGE, PROT_READ | PROT_WRITE);
	for (int i = 0; i < TLB_PAGES; i++)
		c[i * PAGE + 8] = (char)(i + 1);
	CHECK(mprotect(c, TLB_PAGES * PAGE, PROT_READ) == 0);
	for (size_t i = 0; i < sizeof(probe) / sizeof(probe[0]); i++) {
		char *p = c + probe[i] * PAGE + 8;

		expect_segv(p, true, p, SEGV_ACCERR, PF_USER | PF_WRITE | PF_PRESENT);
		CHECK(*p == (char)(probe[i] + 1));
	}
	CHECK(mprotect(c, TLB_PAGES * PAGE, PROT_READ | PROT_WRITE) == 0);
	for (int i = 0; i < TLB_PAGES; i++)
		c[i * PAGE + 8]++;
	CHECK(c[8] == 2 && c[(TLB_PAGES - 1) * PAGE + 8] == TLB_PAGES + 1);
	CHECK(munmap(c, TLB_PAGES * PAGE) == 0);
	/* Replaced or dropped pages read back as zeros, not as the old page. */
	d = map(2 * PAGE, PROT_READ | PROT_WRITE);
	memset(d, 0x77, 2 * PAGE);
	CHECK(mmap(d, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED,
		   -1, 0) == d);
	CHECK(d[0] == 0 && d[PAGE - 1] == 0 && d[PAGE] == 0x77);
	e = map(TLB_PAGES * PAGE, PROT_READ | PROT_WRITE);
	memset(e, 0x55, TLB_PAGES * PAGE);
	CHECK(madvise(e, TLB_PAGES * PAGE, MADV_DONTNEED) == 0);
	for (int i = 0; i < TLB_PAGES; i++)
		CHECK(e[i * PAGE] == 0 && e[i * PAGE + PAGE - 1] == 0);
	CHECK(munmap(d, 2 * PAGE) == 0 && munmap(e, TLB_PAGES * PAGE) == 0);
	set_default(SIGSEGV);
}

/* ---- cr2 ---- */

#define CR2_FAULTS 120
#define CR2_HOLES 8

static void check_cr2(void)
{
	char *fresh = map(CR2_FAULTS * PAGE, PROT_READ | PROT_WRITE);
	char *holes = map(2 * CR2_HOLES * PAGE, PROT_READ | PROT_WRITE);
	char *ro = map(PAGE, PROT_READ);
	void (*volatile jump_to)(void);

	on_signal(SIGSEGV, record_and_jump, 0);
	(void)*(volatile char *)ro;  /* present, so a write has error code 7 */
	/* Every other page of holes is unmapped. */
	for (int i = 0; i < CR2_HOLES; i++)
		CHECK(munmap(holes + (2 * i + 1) * PAGE, PAGE) == 0);
	for (int i = 0; i < CR2_FAULTS; i++) {
		char *bad = holes + (2 * (i % CR2_HOLES) + 1) * PAGE + (i * 523) % PAGE;

		/* First a fault the kernel resolves (demand paging), whose
		 * address must not leak into the next one. */
		fresh[i * PAGE + (i * 97) % PAGE] = 1;
		switch (i % 3) {
		case 0:
			expect_segv(bad, false, bad, SEGV_MAPERR, PF_USER);
			break;
		case 1:
			expect_segv(bad, true, bad, SEGV_MAPERR, PF_USER | PF_WRITE);
			break;
		case 2:
			expect_segv(ro + (i * 31) % PAGE, true, ro + (i * 31) % PAGE, SEGV_ACCERR,
				    PF_USER | PF_WRITE | PF_PRESENT);
			break;
		}
	}
	/* The last and the first byte of an unmapped page. */
	expect_segv(holes + 2 * PAGE - 1, false, holes + 2 * PAGE - 1, SEGV_MAPERR, PF_USER);
	expect_segv(holes + PAGE, true, holes + PAGE, SEGV_MAPERR, PF_USER | PF_WRITE);
	/* An instruction fetch from an unmapped page: si_addr and rip are the
	 * target (the error code says "fetch" only with NX on: not compared). */
	jump_to = (void (*)(void))(holes + 3 * PAGE + 16);
	hits = 0;
	if (sigsetjmp(jump, 1) == 0) {
		jump_to();
		CHECK(!"the jump returned");
	}
	CHECK(hits == 1 && last.sig == SIGSEGV && last.code == SEGV_MAPERR);
	CHECK(last.addr == (void *)jump_to && last.cr2 == (uint64_t)jump_to);
	CHECK(last.rip == (uint64_t)jump_to && last.trapno == 14);
	CHECK((last.err & (PF_USER | PF_WRITE | PF_PRESENT)) == PF_USER);
	set_default(SIGSEGV);
	for (int i = 0; i < CR2_HOLES; i++)
		CHECK(munmap(holes + 2 * i * PAGE, PAGE) == 0);
	CHECK(munmap(fresh, CR2_FAULTS * PAGE) == 0 && munmap(ro, PAGE) == 0);
}

/* ---- selectors ---- */

static uint16_t read_cs(void)
{
	uint16_t v;

	asm volatile("mov %%cs, %0" : "=r"(v));
	return v;
}

static uint16_t read_ss(void)
{
	uint16_t v;

	asm volatile("mov %%ss, %0" : "=r"(v));
	return v;
}

static volatile uint16_t handler_cs, handler_ss;

static void sel_record(int sig, siginfo_t *si, void *ucv)
{
	record(sig, si, ucv);
	handler_cs = read_cs();
	handler_ss = read_ss();
}

static void skip_ud2(int sig, siginfo_t *si, void *ucv)
{
	sel_record(sig, si, ucv);
	((ucontext_t *)ucv)->uc_mcontext.gregs[REG_RIP] += 2;
}

/* The frame Linux builds: cs, gs 0, fs 0, ss in REG_CSGSFS. */
static void expect_frame(const char *what)
{
	unsigned cs = last.csgsfs & 0xffff, gs = (last.csgsfs >> 16) & 0xffff;
	unsigned fs = (last.csgsfs >> 32) & 0xffff, ss = last.csgsfs >> 48;

	if (cs != USER_CS || gs || fs || ss != USER_SS || !(last.uc_flags & UC_SIGCONTEXT_SS) ||
	    handler_cs != USER_CS || handler_ss != USER_SS) {
		fprintf(stderr, "selectors (%s): frame cs %#x gs %#x fs %#x ss %#x uc_flags %#llx; "
			"handler cs %#x ss %#x\n", what, cs, gs, fs, ss,
			(unsigned long long)last.uc_flags, handler_cs, handler_ss);
		CHECK(!"wrong selectors");
	}
	CHECK(read_cs() == USER_CS && read_ss() == USER_SS);
}

static void *sel_thread(void *arg)
{
	(void)arg;
	return (void *)(long)(read_cs() == USER_CS && read_ss() == USER_SS);
}

static void check_selectors(void)
{
	struct itimerval once = { { 0, 0 }, { 0, 5000 } };
	int64_t t0;
	pthread_t th;
	void *ok;
	int status;
	pid_t pid;

	if (read_cs() != USER_CS || read_ss() != USER_SS)
		fprintf(stderr, "selectors: cs %#x ss %#x\n", read_cs(), read_ss());
	CHECK(read_cs() == USER_CS && read_ss() == USER_SS);
	/* A signal on the way out of a syscall. */
	on_signal(SIGUSR1, sel_record, 0);
	hits = 0;
	CHECK(raise(SIGUSR1) == 0 && hits == 1);
	expect_frame("SIGUSR1 after a syscall");
	/* On an exception. */
	on_signal(SIGILL, skip_ud2, 0);
	hits = 0;
	asm volatile("ud2");
	CHECK(hits == 1);
	expect_frame("SIGILL from ud2");
	/* On a timer interrupt in spinning user code. */
	on_signal(SIGALRM, sel_record, 0);
	hits = 0;
	t0 = mono_ns();
	CHECK(setitimer(ITIMER_REAL, &once, NULL) == 0);
	while (!hits)
		CHECK(mono_ns() - t0 < 10 * 1000000000LL);
	expect_frame("SIGALRM while spinning");
	set_default(SIGUSR1);
	set_default(SIGILL);
	set_default(SIGALRM);
	CHECK(pthread_create(&th, NULL, sel_thread, NULL) == 0);
	CHECK(pthread_join(th, &ok) == 0 && ok == (void *)1L);
	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0)
		_exit(read_cs() == USER_CS && read_ss() == USER_SS ? 0 : 1);
	CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

/* ---- traps ---- */

/* Every general register but rsp gets a known value, then `body` runs and
 * all of them are saved: in[] before (in[R_RSP] is written by the code
 * itself), out[] after. rax is in[R_RAX] during the body (the syscall
 * number, or the address a fault touches). */
enum { R_RAX, R_RBX, R_RCX, R_RDX, R_RSI, R_RDI, R_RBP, R_R8, R_R9, R_R10, R_R11,
       R_R12, R_R13, R_R14, R_R15, R_RSP, R_COUNT };
static const char *const reg_names[R_COUNT] = {
	"rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rbp", "r8", "r9", "r10", "r11",
	"r12", "r13", "r14", "r15", "rsp",
};

struct regs {
	uint64_t in[R_COUNT], out[R_COUNT];
};

#define REGS_LOAD \
	"sub $128, %%rsp\n\t"           /* the red zone */ \
	"push %%rbp\n\t" \
	"push %%rax\n\t" \
	"mov %%rsp, 120(%%rax)\n\t" \
	"mov 8(%%rax), %%rbx\n\t"   "mov 16(%%rax), %%rcx\n\t" \
	"mov 24(%%rax), %%rdx\n\t"  "mov 32(%%rax), %%rsi\n\t" \
	"mov 40(%%rax), %%rdi\n\t"  "mov 48(%%rax), %%rbp\n\t" \
	"mov 56(%%rax), %%r8\n\t"   "mov 64(%%rax), %%r9\n\t" \
	"mov 72(%%rax), %%r10\n\t"  "mov 80(%%rax), %%r11\n\t" \
	"mov 88(%%rax), %%r12\n\t"  "mov 96(%%rax), %%r13\n\t" \
	"mov 104(%%rax), %%r14\n\t" "mov 112(%%rax), %%r15\n\t" \
	"mov 0(%%rax), %%rax\n\t"
#define REGS_STORE \
	"xchg %%rax, (%%rsp)\n\t" \
	"mov %%rbx, 136(%%rax)\n\t" "mov %%rcx, 144(%%rax)\n\t" \
	"mov %%rdx, 152(%%rax)\n\t" "mov %%rsi, 160(%%rax)\n\t" \
	"mov %%rdi, 168(%%rax)\n\t" "mov %%rbp, 176(%%rax)\n\t" \
	"mov %%r8, 184(%%rax)\n\t"  "mov %%r9, 192(%%rax)\n\t" \
	"mov %%r10, 200(%%rax)\n\t" "mov %%r11, 208(%%rax)\n\t" \
	"mov %%r12, 216(%%rax)\n\t" "mov %%r13, 224(%%rax)\n\t" \
	"mov %%r14, 232(%%rax)\n\t" "mov %%r15, 240(%%rax)\n\t" \
	"mov %%rsp, 248(%%rax)\n\t" \
	"pop %%rbx\n\t" \
	"mov %%rbx, 128(%%rax)\n\t" \
	"pop %%rbp\n\t" \
	"add $128, %%rsp\n\t"
#define REGS_ASM(r, body, ...) \
	asm volatile(REGS_LOAD body REGS_STORE \
		     : "+a"(r) : __VA_ARGS__ \
		     : "rbx", "rcx", "rdx", "rsi", "rdi", "r8", "r9", "r10", "r11", \
		       "r12", "r13", "r14", "r15", "memory", "cc")

static void regs_init(struct regs *r, uint64_t seed)
{
	for (int i = 0; i < R_COUNT; i++)
		r->in[i] = (0x0101010101010101ULL * (i + 1)) ^ (seed << 4) ^ 0x8000000000000000ULL;
}

/* After a syscall rax is the result and rcx, r11 are the return rip and
 * rflags, as on Linux; nothing else may change. */
static void regs_check(const char *what, const struct regs *r, bool syscall)
{
	for (int i = 0; i < R_COUNT; i++) {
		if (syscall && (i == R_RAX || i == R_RCX || i == R_R11))
			continue;
		if (r->out[i] != r->in[i]) {
			fprintf(stderr, "traps (%s): %s is %#llx, was %#llx\n", what, reg_names[i],
				(unsigned long long)r->out[i], (unsigned long long)r->in[i]);
			CHECK(!"a register changed");
		}
	}
}

static void touch_fault(struct regs *r, char *page)
{
	struct regs *rp = r;

	r->in[R_RAX] = (uint64_t)page;
	REGS_ASM(rp, "movb $1, (%%rax)\n\t", "i"(0));
	regs_check("page fault", r, false);
	CHECK(*page == 1);
}

static void raw_syscall4(const char *what, struct regs *r, long nr, uint64_t a0, uint64_t a1,
			 uint64_t a2, uint64_t a3)
{
	struct regs *rp = r;

	r->in[R_RAX] = nr;
	r->in[R_RDI] = a0;
	r->in[R_RSI] = a1;
	r->in[R_RDX] = a2;
	r->in[R_R10] = a3;
	REGS_ASM(rp, "syscall\n\t", "i"(0));
	regs_check(what, r, true);
}

static void raw_syscall(const char *what, struct regs *r, long nr, uint64_t a0, uint64_t a1,
			uint64_t a2)
{
	raw_syscall4(what, r, nr, a0, a1, a2, r->in[R_R10]);
}

static void skip_ud2_only(int sig, siginfo_t *si, void *ucv)
{
	record(sig, si, ucv);
	((ucontext_t *)ucv)->uc_mcontext.gregs[REG_RIP] += 2;
}

static int traps_pipe[2];
static struct regs blocked_regs;

/* Blocks in read() with every register set while the main thread traps. */
static void *traps_reader(void *arg)
{
	static char c;

	regs_init(&blocked_regs, 0xb10c);
	raw_syscall("read that blocks", &blocked_regs, SYS_read, traps_pipe[0], (uint64_t)&c, 1);
	CHECK(blocked_regs.out[R_RAX] == 1 && c == 'x');
	return arg;
}

static volatile int spin_hits;

static void count_hit(int sig)
{
	(void)sig;
	spin_hits++;
}

/* The timer interrupts, every 1 ms, a program that is mostly in the kernel:
 * in copy-on-write faults (an interrupt can come while an exception is
 * being handled) and in long syscalls; the interrupts must still be taken
 * (signals keep coming) and every register must survive. */
static void traps_under_timer(void)
{
	struct itimerval tick = { { 0, 1000 }, { 0, 1000 } }, off = { { 0, 0 }, { 0, 0 } };
	const size_t n = 2048, chunk = 256 * 1024;
	char *m = map(n * PAGE, PROT_READ | PROT_WRITE), *big = map(chunk, PROT_READ | PROT_WRITE);
	struct regs r;
	int64_t t0;
	int fd, status;
	pid_t pid;

	for (size_t i = 0; i < n; i++)
		m[i * PAGE] = 7;
	memset(big, 0x3c, chunk);
	CHECK(signal(SIGALRM, count_hit) != SIG_ERR);
	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		CHECK(setitimer(ITIMER_REAL, &tick, NULL) == 0);
		for (size_t i = 0; i < n; i++) {
			regs_init(&r, 6000 + i);
			touch_fault(&r, m + i * PAGE);
		}
		CHECK(setitimer(ITIMER_REAL, &off, NULL) == 0);
		_exit(0);
	}
	CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0);
	CHECK(m[0] == 7 && m[(n - 1) * PAGE] == 7);
	fd = open("/tmp/platform-traps", O_RDWR | O_CREAT | O_TRUNC, 0600);
	CHECK(fd >= 0);
	spin_hits = 0;
	t0 = mono_ns();
	CHECK(setitimer(ITIMER_REAL, &tick, NULL) == 0);
	for (int i = 0; spin_hits < 20; i++) {
		regs_init(&r, 7000 + i);
		raw_syscall4("pwrite", &r, SYS_pwrite64, fd, (uint64_t)big, chunk, 0);
		CHECK(r.out[R_RAX] == chunk);
		if (mono_ns() - t0 > 10 * 1000000000LL)
			fprintf(stderr, "traps: %d timer signals in 10 s of syscalls\n", spin_hits);
		CHECK(mono_ns() - t0 < 10 * 1000000000LL);
	}
	CHECK(setitimer(ITIMER_REAL, &off, NULL) == 0);
	set_default(SIGALRM);
	CHECK(close(fd) == 0 && unlink("/tmp/platform-traps") == 0);
	CHECK(munmap(m, n * PAGE) == 0 && munmap(big, chunk) == 0);
}

static void check_traps(void)
{
	char *pages = map(256 * PAGE, PROT_READ | PROT_WRITE);
	struct itimerval tick = { { 0, 2000 }, { 0, 2000 } }, off = { { 0, 0 }, { 0, 0 } };
	struct regs r, *rp = &r;
	int p2c[2], c2p[2], status;
	pthread_t th;
	pid_t pid;

	/* Demand-paging faults, resolved in the kernel, and back. */
	for (int i = 0; i < 128; i++) {
		regs_init(&r, i);
		touch_fault(&r, pages + i * PAGE + i);
	}
	/* Traps that become signals: the handler returns through sigreturn. */
	on_signal(SIGILL, skip_ud2_only, 0);
	on_signal(SIGTRAP, record, 0);
	hits = 0;
	for (int i = 0; i < 100; i++) {
		regs_init(&r, 1000 + i);
		REGS_ASM(rp, "ud2\n\t", "i"(0));
		regs_check("ud2", &r, false);
		REGS_ASM(rp, "int3\n\t", "i"(0));
		regs_check("int3", &r, false);
	}
	CHECK(hits == 200);
	set_default(SIGILL);
	set_default(SIGTRAP);
	/* Timer interrupts in user code that spins with every register live. */
	CHECK(signal(SIGALRM, count_hit) != SIG_ERR);
	spin_hits = 0;
	regs_init(&r, 2000);
	CHECK(setitimer(ITIMER_REAL, &tick, NULL) == 0);
	REGS_ASM(rp, "1: cmpl $5, %[hits]\n\tjl 1b\n\t", [hits] "m"(spin_hits));
	CHECK(setitimer(ITIMER_REAL, &off, NULL) == 0);
	regs_check("timer interrupts", &r, false);
	set_default(SIGALRM);
	/* Syscalls that trap inside the kernel on a PVM-style host: munmap of
	 * pages in the TLB (invlpg) ... */
	for (int i = 0; i < 8; i++) {
		char *m = map(40 * PAGE, PROT_READ | PROT_WRITE);

		for (int j = 0; j < 40; j++)
			m[j * PAGE] = 1;
		regs_init(&r, 3000 + i);
		raw_syscall("munmap", &r, SYS_munmap, (uint64_t)m, (i % 2 ? 40 : 1) * PAGE, 0);
		CHECK(r.out[R_RAX] == 0);
		if (i % 2 == 0)
			CHECK(munmap(m + PAGE, 39 * PAGE) == 0);
	}
	/* ... and read() that blocks until another process (another page
	 * table) has run. */
	CHECK(pipe(p2c) == 0 && pipe(c2p) == 0);
	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		char c;

		close(p2c[1]);
		while (read(p2c[0], &c, 1) == 1)
			if (write(c2p[1], &c, 1) != 1)
				_exit(1);
		_exit(0);
	}
	close(p2c[0]);
	close(c2p[1]);
	for (int i = 0; i < 100; i++) {
		static char c = 'p';

		regs_init(&r, 4000 + i);
		raw_syscall("write to a pipe", &r, SYS_write, p2c[1], (uint64_t)&c, 1);
		CHECK(r.out[R_RAX] == 1);
		regs_init(&r, 4500 + i);
		raw_syscall("read from another process", &r, SYS_read, c2p[0], (uint64_t)&c, 1);
		CHECK(r.out[R_RAX] == 1 && c == 'p');
	}
	close(p2c[1]);
	CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0);
	close(c2p[0]);
	/* A thread blocked in a syscall keeps its registers while this one
	 * takes faults and traps on the same CPU. */
	CHECK(pipe(traps_pipe) == 0);
	CHECK(pthread_create(&th, NULL, traps_reader, NULL) == 0);
	usleep(20000);
	on_signal(SIGILL, skip_ud2_only, 0);
	for (int i = 128; i < 256; i++) {
		regs_init(&r, 5000 + i);
		touch_fault(&r, pages + i * PAGE);
		REGS_ASM(rp, "ud2\n\t", "i"(0));
		regs_check("ud2", &r, false);
	}
	set_default(SIGILL);
	CHECK(write(traps_pipe[1], "x", 1) == 1);
	CHECK(pthread_join(th, NULL) == 0);
	close(traps_pipe[0]);
	close(traps_pipe[1]);
	CHECK(munmap(pages, 256 * PAGE) == 0);
	traps_under_timer();
}

/* ---- ist ---- */

#define IST_ROUNDS 200

static const char *check_arg;
static volatile int chld_hits;

static void count_chld(int sig)
{
	(void)sig;
	chld_hits++;
}

/* Each round switches page tables (fork, exit, wait: CR3 through the #GP
 * stub on a PVM-style host), faults (copy-on-write) and delivers SIGCHLD,
 * while the timer interrupts every few microseconds. On that host an
 * interrupt can arrive while another trap's frame is still on the IST
 * stack; when both used one stack, this hung in most runs. */
static void check_ist(void)
{
	long us = check_arg ? atol(check_arg) : 50;
	struct itimerval tick = { { 0, us }, { 0, us } }, off = { { 0, 0 }, { 0, 0 } };
	int status;

	CHECK(us > 0 && us < 1000000);
	CHECK(signal(SIGALRM, count_hit) != SIG_ERR);
	CHECK(signal(SIGCHLD, count_chld) != SIG_ERR);
	spin_hits = chld_hits = 0;
	CHECK(setitimer(ITIMER_REAL, &tick, NULL) == 0);
	for (int i = 0; i < IST_ROUNDS; i++) {
		pid_t pid = fork(), got;

		CHECK(pid >= 0);
		if (pid == 0)
			_exit(3);
		while ((got = waitpid(pid, &status, 0)) < 0 && errno == EINTR)
			;
		CHECK(got == pid && WIFEXITED(status) && WEXITSTATUS(status) == 3);
	}
	CHECK(setitimer(ITIMER_REAL, &off, NULL) == 0);
	set_default(SIGALRM);
	set_default(SIGCHLD);
	CHECK(chld_hits > 0 && spin_hits > 0);
}

/* ---- spin ---- */

static void check_spin(void)
{
	struct itimerval tick = { { 0, 10000 }, { 0, 10000 } }, off = { { 0, 0 }, { 0, 0 } };
	struct timespec nap = { 0, 50 * 1000 * 1000 };
	int64_t t0, dt;
	int status;
	pid_t pid;

	/* alarm(1) while the program never enters the kernel (the clock is
	 * the vDSO's). */
	CHECK(signal(SIGALRM, count_hit) != SIG_ERR);
	spin_hits = 0;
	t0 = mono_ns();
	CHECK(alarm(1) == 0);
	while (!spin_hits)
		CHECK(mono_ns() - t0 < 10 * 1000000000LL);
	dt = mono_ns() - t0;
	printf("alarm_ms=%lld\n", (long long)(dt / 1000000));
	CHECK(dt >= 950 * 1000000LL && dt < 5 * 1000000000LL);
	/* A 10 ms interval timer, in a loop that does not even read the clock. */
	spin_hits = 0;
	t0 = mono_ns();
	CHECK(setitimer(ITIMER_REAL, &tick, NULL) == 0);
	while (spin_hits < 10)
		;
	CHECK(setitimer(ITIMER_REAL, &off, NULL) == 0);
	dt = mono_ns() - t0;
	printf("itimer_ms=%lld\n", (long long)(dt / 1000000));
	CHECK(dt >= 90 * 1000000LL && dt < 5 * 1000000000LL);
	set_default(SIGALRM);
	/* A child that spins forever: the parent's sleep must end on time and
	 * SIGTERM must reach the child. */
	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		for (;;)
			spin_hits++;
	}
	t0 = mono_ns();
	CHECK(nanosleep(&nap, NULL) == 0);
	dt = mono_ns() - t0;
	printf("sleep_ms=%lld\n", (long long)(dt / 1000000));
	CHECK(dt >= 50 * 1000000LL && dt < 3 * 1000000000LL);
	CHECK(kill(pid, SIGTERM) == 0);
	CHECK(waitpid(pid, &status, 0) == pid);
	CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM);
}

/* ---- ticks ---- */

/* NMI and LOC of /proc/interrupts. */
static void read_interrupts(long *nmi, long *loc)
{
	char line[256];
	FILE *f = fopen("/proc/interrupts", "r");

	*nmi = *loc = -1;
	CHECK(f != NULL);
	while (f && fgets(line, sizeof(line), f)) {
		sscanf(line, " NMI: %ld", nmi);
		sscanf(line, " LOC: %ld", loc);
	}
	if (f)
		fclose(f);
	CHECK(*nmi >= 0 && *loc >= 0);
}

/* 100 SIGALRMs of a 1 ms interval timer in a loop that never enters the
 * kernel but for the handlers, and what the kernel counted meanwhile: the
 * test knows which kind of tick each host gives. */
static void check_ticks(void)
{
	struct itimerval tick = { { 0, 1000 }, { 0, 1000 } }, off = { { 0, 0 }, { 0, 0 } };
	long nmi0, loc0, nmi1, loc1;

	CHECK(signal(SIGALRM, count_hit) != SIG_ERR);
	read_interrupts(&nmi0, &loc0);
	spin_hits = 0;
	CHECK(setitimer(ITIMER_REAL, &tick, NULL) == 0);
	while (spin_hits < 100)
		;
	CHECK(setitimer(ITIMER_REAL, &off, NULL) == 0);
	read_interrupts(&nmi1, &loc1);
	set_default(SIGALRM);
	printf("alarms=%d nmi=%ld loc=%ld\n", spin_hits, nmi1 - nmi0, loc1 - loc0);
	/* The first alarm needs a tick; a later one may come on the return
	 * from the handler's rt_sigreturn, which checks the interval timers. */
	CHECK(loc1 - loc0 >= 1);
}

/* ---- clock ---- */

static void print_realtime(const char *name)
{
	struct timespec vdso, sys;
	int64_t a, b;

	CHECK(clock_gettime(CLOCK_REALTIME, &vdso) == 0);
	CHECK(syscall(SYS_clock_gettime, CLOCK_REALTIME, &sys) == 0);
	a = (int64_t)vdso.tv_sec * 1000000000 + vdso.tv_nsec;
	b = (int64_t)sys.tv_sec * 1000000000 + sys.tv_nsec;
	CHECK(b >= a && b - a < 50 * 1000000LL);  /* the vDSO and the kernel agree */
	printf("%s=%lld.%09ld\n", name, (long long)vdso.tv_sec, vdso.tv_nsec);
}

/* The test timestamps each line as it arrives: the guest's second must be
 * the host's (the TSC rate), and the dates the same (the RTC). */
static void check_clock(void)
{
	int64_t t0;

	print_realtime("realtime0");
	t0 = mono_ns();
	while (mono_ns() - t0 < 1000000000LL)
		;
	print_realtime("realtime1");
}

/* ---- kcopy ---- */

static void check_kcopy(void)
{
	static char buf[256 * 1024];
	double secs = check_arg ? atof(check_arg) : 5;
	int64_t t0 = mono_ns();
	long n = 0;
	int fd = open("/tmp/platform-kcopy", O_RDWR | O_CREAT | O_TRUNC, 0600);

	CHECK(fd >= 0);
	memset(buf, 0x6b, sizeof(buf));
	while (mono_ns() - t0 < (int64_t)(secs * 1e9)) {
		CHECK(pwrite(fd, buf, sizeof(buf), 0) == (ssize_t)sizeof(buf));
		n++;
	}
	printf("kcopy_writes=%ld\n", n);
	CHECK(close(fd) == 0 && unlink("/tmp/platform-kcopy") == 0);
}

static const struct check checks[] = {
	{ "directmap", check_directmap }, { "hypercalls", check_hypercalls },
	{ "tls", check_tls }, { "cr3", check_cr3 }, { "tlb", check_tlb },
	{ "cr2", check_cr2 }, { "selectors", check_selectors }, { "traps", check_traps },
	{ "ist", check_ist }, { "spin", check_spin }, { "ticks", check_ticks },
	{ "clock", check_clock },
};

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "all";

	setvbuf(stdout, NULL, _IONBF, 0);
	if (argc > 2) {
		check_arg = argv[2];
		hc_out_len = strtoul(argv[2], NULL, 0);
	}
	if (strcmp(mode, "kcopy") == 0) {
		check_kcopy();
		printf("ok kcopy\n");
		return 0;
	}
	return run_checks(checks, sizeof(checks) / sizeof(checks[0]), mode);
}
