/* signals.c: signal delivery: handlers, siginfo, masks, alternate stacks, timers, restarts and register state.
 *   signals all      - runs every non-fatal check, printing "ok NAME" for each
 *   signals NAME     - runs one check (the names below)
 *   signals abort    - abort() with a SIGABRT handler that returns: dies of SIGABRT
 *   signals term     - kill(getpid(), SIGTERM) with the default action
 *   signals resethand - SA_RESETHAND: the second SIGUSR1 kills
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdbool.h>
#include <signal.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>
#include "check.h"

static volatile sig_atomic_t hits, last_sig, last_code, depth, max_depth;
static volatile void *last_addr;
static volatile pid_t last_pid;
static sigjmp_buf jump;

/* Records the signal; stays in the handler when called from it. */
static void record(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	hits++;
	last_sig = sig;
	last_code = si->si_code;
	last_addr = si->si_addr;
	last_pid = si->si_pid;
}

static void record_and_jump(int sig, siginfo_t *si, void *uc)
{
	record(sig, si, uc);
	siglongjmp(jump, 1);
}

static void reset(void)
{
	hits = last_sig = last_code = depth = max_depth = 0;
	last_addr = NULL;
	last_pid = 0;
}

/* ---- faults ---- */

static void check_segv(void)
{
	char *ro = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char *gone = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	CHECK(ro != MAP_FAILED && gone != MAP_FAILED);
	CHECK(munmap(gone, 4096) == 0);
	on_signal(SIGSEGV, record_and_jump, 0);
	reset();
	if (!sigsetjmp(jump, 1))
		*(volatile char *)(ro + 8) = 1;
	CHECK(hits == 1 && last_sig == SIGSEGV);
	CHECK(last_code == SEGV_ACCERR);
	CHECK(last_addr == ro + 8);
	reset();
	if (!sigsetjmp(jump, 1))
		(void)*(volatile char *)(gone + 24);
	CHECK(hits == 1 && last_code == SEGV_MAPERR && last_addr == gone + 24);
	set_default(SIGSEGV);
}

static void check_fpe(void)
{
	volatile int zero = 0, x = 1;

	on_signal(SIGFPE, record_and_jump, 0);
	reset();
	if (!sigsetjmp(jump, 1))
		x = x / zero;
	CHECK(hits == 1 && last_sig == SIGFPE && last_code == FPE_INTDIV);
	CHECK(last_addr != NULL);  /* the dividing instruction */
	set_default(SIGFPE);
}

/* The handler edits the saved context: skips the 2-byte ud2 and sets rbx,
 * which sigreturn must restore. */
static void skip_ud2(int sig, siginfo_t *si, void *ucv)
{
	ucontext_t *uc = ucv;

	record(sig, si, ucv);
	CHECK((void *)uc->uc_mcontext.gregs[REG_RIP] == si->si_addr);
	uc->uc_mcontext.gregs[REG_RIP] += 2;
	uc->uc_mcontext.gregs[REG_RBX] = 0x1234abcd;
}

static void check_ill(void)
{
	uint64_t rbx = 0;

	on_signal(SIGILL, skip_ud2, 0);
	reset();
	__asm__ volatile("xor %%ebx, %%ebx\n\tud2\n\tmov %%rbx, %0" : "=r"(rbx) : : "rbx");
	CHECK(hits == 1 && last_sig == SIGILL && last_code == ILL_ILLOPN);
	CHECK(rbx == 0x1234abcd);
	set_default(SIGILL);
}

/* ---- sending, masks ---- */

static void check_raise(void)
{
	on_signal(SIGUSR1, record, 0);
	reset();
	CHECK(raise(SIGUSR1) == 0);
	CHECK(hits == 1 && last_sig == SIGUSR1);
	CHECK(last_code == SI_TKILL || last_code == SI_USER);
	CHECK(kill(getpid(), SIGUSR1) == 0);
	CHECK(hits == 2 && last_code == SI_USER && last_pid == getpid());
	CHECK(kill(getpid(), 0) == 0);
	CHECK(kill(0, SIGUSR1) == 0 && hits == 3);  /* our process group */
	CHECK(kill(999999, SIGUSR1) == -1 && errno == ESRCH);
	CHECK(kill(getpid(), 65) == -1 && errno == EINVAL);
	union sigval v = { .sival_int = 42 };
	CHECK(sigqueue(getpid(), SIGUSR1, v) == 0);
	CHECK(hits == 4 && last_code == SI_QUEUE);
	/* Ignored signals are dropped. */
	CHECK(signal(SIGUSR2, SIG_IGN) != SIG_ERR);
	CHECK(raise(SIGUSR2) == 0);
	CHECK(raise(SIGCHLD) == 0 && raise(SIGWINCH) == 0);
	set_default(SIGUSR1);
	set_default(SIGUSR2);
}

static void check_mask(void)
{
	sigset_t set, old, pend;

	on_signal(SIGUSR1, record, 0);
	reset();
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	CHECK(sigprocmask(SIG_BLOCK, &set, &old) == 0);
	CHECK(raise(SIGUSR1) == 0 && raise(SIGUSR1) == 0);
	CHECK(hits == 0);
	CHECK(sigpending(&pend) == 0 && sigismember(&pend, SIGUSR1));
	CHECK(sigprocmask(SIG_SETMASK, &old, NULL) == 0);
	CHECK(hits == 1);  /* standard signals don't queue */
	CHECK(sigpending(&pend) == 0 && !sigismember(&pend, SIGUSR1));
	/* Real-time signals queue, in order. */
	on_signal(SIGRTMIN + 1, record, 0);
	sigaddset(&set, SIGRTMIN + 1);
	CHECK(sigprocmask(SIG_BLOCK, &set, NULL) == 0);
	for (int i = 0; i < 3; i++)
		CHECK(raise(SIGRTMIN + 1) == 0);
	CHECK(sigprocmask(SIG_SETMASK, &old, NULL) == 0);
	CHECK(hits == 4 && last_sig == SIGRTMIN + 1);
	/* Ignoring a pending signal discards it. */
	CHECK(sigprocmask(SIG_BLOCK, &set, NULL) == 0);
	CHECK(raise(SIGUSR1) == 0);
	CHECK(signal(SIGUSR1, SIG_IGN) != SIG_ERR);
	CHECK(sigpending(&pend) == 0 && !sigismember(&pend, SIGUSR1));
	CHECK(sigprocmask(SIG_SETMASK, &old, NULL) == 0);
	CHECK(hits == 4);
	set_default(SIGUSR1);
	set_default(SIGRTMIN + 1);
}

/* ---- nesting ---- */

static void nest2(int sig, siginfo_t *si, void *uc)
{
	depth++;
	if (depth > max_depth)
		max_depth = depth;
	record(sig, si, uc);
	depth--;
}

static void nest1(int sig, siginfo_t *si, void *uc)
{
	int before = hits;

	depth++;
	if (depth > max_depth)
		max_depth = depth;
	if (before == 0) {
		/* SIGUSR1 is blocked in its own handler: it waits until we
		 * return, then runs once more. */
		raise(SIGUSR1);
		CHECK(hits == before);
		raise(SIGUSR2);  /* not blocked: runs nested, right now */
		CHECK(last_sig == SIGUSR2 && max_depth == 2);
	}
	record(sig, si, uc);
	depth--;
}

static void check_nested(void)
{
	on_signal(SIGUSR1, nest1, 0);
	on_signal(SIGUSR2, nest2, 0);
	reset();
	CHECK(raise(SIGUSR1) == 0);
	/* USR2 (nested), USR1, then the USR1 raised inside it. */
	CHECK(hits == 3 && depth == 0 && max_depth == 2 && last_sig == SIGUSR1);
	set_default(SIGUSR1);
	set_default(SIGUSR2);
}

/* ---- alternate stack ---- */

static char *alt;
static volatile int on_alt, alt_flags;

static void alt_handler(int sig, siginfo_t *si, void *uc)
{
	char here;
	stack_t ss;

	record(sig, si, uc);
	on_alt = &here > alt && &here < alt + SIGSTKSZ * 4;
	CHECK(sigaltstack(NULL, &ss) == 0);
	alt_flags = ss.ss_flags;
}

static void check_altstack(void)
{
	stack_t ss = { .ss_size = SIGSTKSZ * 4 }, old;

	alt = malloc(ss.ss_size);
	CHECK(alt);
	ss.ss_sp = alt;
	CHECK(sigaltstack(&ss, &old) == 0);
	CHECK(old.ss_flags == SS_DISABLE);
	on_signal(SIGUSR1, alt_handler, SA_ONSTACK);
	reset();
	CHECK(raise(SIGUSR1) == 0);
	CHECK(hits == 1 && on_alt && alt_flags == SS_ONSTACK);
	/* Without SA_ONSTACK the handler runs on the normal stack. */
	on_signal(SIGUSR1, alt_handler, 0);
	CHECK(raise(SIGUSR1) == 0);
	CHECK(hits == 2 && !on_alt && alt_flags == 0);
	CHECK(sigaltstack(NULL, &old) == 0 && old.ss_sp == alt && old.ss_flags == 0);
	ss.ss_flags = SS_DISABLE;
	CHECK(sigaltstack(&ss, NULL) == 0);
	ss.ss_flags = 0;
	ss.ss_size = 100;
	CHECK(sigaltstack(&ss, NULL) == -1 && errno == ENOMEM);
	set_default(SIGUSR1);
	free(alt);
}

/* ---- stack alignment at handler entry ---- */

static volatile uintptr_t aligned_addr;

static void align_handler(int sig)
{
	char buf[16] __attribute__((aligned(16)));
	char *p = buf;

	(void)sig;
	__asm__ volatile("" : "+r"(p));  /* hide the alignment from the compiler */
	aligned_addr = (uintptr_t)p;
	hits++;
}

static void check_alignment(void)
{
	CHECK(signal(SIGUSR1, align_handler) != SIG_ERR);
	reset();
	CHECK(raise(SIGUSR1) == 0);
	CHECK(hits == 1 && aligned_addr % 16 == 0);
	set_default(SIGUSR1);
}

/* ---- FPU state across a handler ---- */

static uint32_t handler_mxcsr, saved_mxcsr;

static void fpu_handler(int sig, siginfo_t *si, void *ucv)
{
	ucontext_t *uc = ucv;
	volatile double d = 1.0;

	record(sig, si, ucv);
	__asm__ volatile("stmxcsr %0" : "=m"(handler_mxcsr));
	saved_mxcsr = uc->uc_mcontext.fpregs->mxcsr;
	for (int i = 0; i < 10; i++)
		d = d * 3.25 + 1.5;
	__asm__ volatile("pcmpeqd %%xmm0, %%xmm0\n\tpcmpeqd %%xmm1, %%xmm1\n\t"
			 "pcmpeqd %%xmm7, %%xmm7\n\tpcmpeqd %%xmm8, %%xmm8\n\t"
			 "pcmpeqd %%xmm15, %%xmm15\n\tfldpi\n\tfldpi\n\t"
			 "ldmxcsr %0"
			 : : "m"((uint32_t){ 0x1f80 | 0x2000 })
			 : "xmm0", "xmm1", "xmm7", "xmm8", "xmm15");
}

static void check_fpu(void)
{
	static uint64_t in[32] __attribute__((aligned(16))), out[32] __attribute__((aligned(16)));
	uint32_t mxcsr_before = 0x1f80 | 0x6000, mxcsr_after = 0;  /* round toward zero */
	long nr = SYS_kill;
	double x87 = 0;

	for (int i = 0; i < 32; i++)
		in[i] = 0x0101010101010101ULL * (i + 1);
	on_signal(SIGUSR1, fpu_handler, 0);
	reset();
	/* The signal arrives as the kill syscall returns, with every vector
	 * register and the x87 stack live. */
	__asm__ volatile(
		"ldmxcsr %[mb]\n\t"
		"fld1\n\t"
		"movdqa 0(%[in]), %%xmm0\n\t"   "movdqa 16(%[in]), %%xmm1\n\t"
		"movdqa 32(%[in]), %%xmm2\n\t"  "movdqa 48(%[in]), %%xmm3\n\t"
		"movdqa 64(%[in]), %%xmm4\n\t"  "movdqa 80(%[in]), %%xmm5\n\t"
		"movdqa 96(%[in]), %%xmm6\n\t"  "movdqa 112(%[in]), %%xmm7\n\t"
		"movdqa 128(%[in]), %%xmm8\n\t" "movdqa 144(%[in]), %%xmm9\n\t"
		"movdqa 160(%[in]), %%xmm10\n\t" "movdqa 176(%[in]), %%xmm11\n\t"
		"movdqa 192(%[in]), %%xmm12\n\t" "movdqa 208(%[in]), %%xmm13\n\t"
		"movdqa 224(%[in]), %%xmm14\n\t" "movdqa 240(%[in]), %%xmm15\n\t"
		"syscall\n\t"
		"movdqa %%xmm0, 0(%[out])\n\t"   "movdqa %%xmm1, 16(%[out])\n\t"
		"movdqa %%xmm2, 32(%[out])\n\t"  "movdqa %%xmm3, 48(%[out])\n\t"
		"movdqa %%xmm4, 64(%[out])\n\t"  "movdqa %%xmm5, 80(%[out])\n\t"
		"movdqa %%xmm6, 96(%[out])\n\t"  "movdqa %%xmm7, 112(%[out])\n\t"
		"movdqa %%xmm8, 128(%[out])\n\t" "movdqa %%xmm9, 144(%[out])\n\t"
		"movdqa %%xmm10, 160(%[out])\n\t" "movdqa %%xmm11, 176(%[out])\n\t"
		"movdqa %%xmm12, 192(%[out])\n\t" "movdqa %%xmm13, 208(%[out])\n\t"
		"movdqa %%xmm14, 224(%[out])\n\t" "movdqa %%xmm15, 240(%[out])\n\t"
		"fstpl %[x87]\n\t"
		"stmxcsr %[ma]\n\t"
		"ldmxcsr %[md]"
		: "+a"(nr), [x87] "=m"(x87), [ma] "=m"(mxcsr_after)
		: [in] "r"(in), [out] "r"(out), "D"((long)getpid()), "S"((long)SIGUSR1),
		  [mb] "m"(mxcsr_before), [md] "m"((uint32_t){ 0x1f80 })
		: "rcx", "r11", "memory", "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5",
		  "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11", "xmm12", "xmm13",
		  "xmm14", "xmm15");
	CHECK(nr == 0 && hits == 1);
	CHECK(memcmp(in, out, sizeof(in)) == 0);
	CHECK(x87 == 1.0);
	CHECK(mxcsr_after == mxcsr_before);
	CHECK(saved_mxcsr == mxcsr_before);
	CHECK(handler_mxcsr == 0x1f80);  /* handlers start with the default modes */
	/* And plain C doubles across a handler. */
	volatile double a = 1.0 / 3.0, b = 0;
	CHECK(raise(SIGUSR1) == 0);
	b = a * 3.0;
	CHECK(b > 0.999999 && b < 1.000001);
	set_default(SIGUSR1);
}

/* ---- timers, waiting ---- */

static void check_alarm(void)
{
	on_signal(SIGALRM, record, 0);
	reset();
	CHECK(alarm(1) == 0);
	CHECK(alarm(1) == 1);  /* the previous alarm's seconds */
	CHECK(pause() == -1 && errno == EINTR);
	CHECK(hits == 1 && last_sig == SIGALRM);
	/* An interval timer fires repeatedly. */
	struct itimerval it = { { 0, 20000 }, { 0, 20000 } }, cur;
	CHECK(setitimer(ITIMER_REAL, &it, NULL) == 0);
	CHECK(getitimer(ITIMER_REAL, &cur) == 0 && cur.it_interval.tv_usec == 20000);
	while (hits < 4)
		pause();
	memset(&it, 0, sizeof(it));
	CHECK(setitimer(ITIMER_REAL, &it, NULL) == 0);
	CHECK(getitimer(ITIMER_REAL, &cur) == 0 && cur.it_value.tv_sec == 0 &&
	      cur.it_value.tv_usec == 0);
	set_default(SIGALRM);
}

static void check_sigsuspend(void)
{
	sigset_t block, cur, wait;

	on_signal(SIGALRM, record, 0);
	reset();
	sigemptyset(&block);
	sigaddset(&block, SIGALRM);
	CHECK(sigprocmask(SIG_BLOCK, &block, NULL) == 0);
	struct itimerval it = { { 0, 0 }, { 0, 30000 } };
	CHECK(setitimer(ITIMER_REAL, &it, NULL) == 0);
	sigemptyset(&wait);
	CHECK(sigsuspend(&wait) == -1 && errno == EINTR);
	CHECK(hits == 1 && last_sig == SIGALRM);
	/* The old mask is back. */
	CHECK(sigprocmask(SIG_BLOCK, NULL, &cur) == 0 && sigismember(&cur, SIGALRM));
	CHECK(sigprocmask(SIG_UNBLOCK, &block, NULL) == 0);
	set_default(SIGALRM);
}

static void check_sigtimedwait(void)
{
	sigset_t set;
	siginfo_t si;
	struct timespec ts = { 0, 10 * 1000 * 1000 };

	sigemptyset(&set);
	sigaddset(&set, SIGUSR2);
	CHECK(sigprocmask(SIG_BLOCK, &set, NULL) == 0);
	CHECK(kill(getpid(), SIGUSR2) == 0);
	CHECK(sigtimedwait(&set, &si, &ts) == SIGUSR2);
	CHECK(si.si_signo == SIGUSR2 && si.si_code == SI_USER && si.si_pid == getpid());
	CHECK(sigtimedwait(&set, &si, &ts) == -1 && errno == EAGAIN);
	/* Blocked SIGCHLD (default: ignore) is still queued for sigwait. */
	sigaddset(&set, SIGCHLD);
	CHECK(sigprocmask(SIG_BLOCK, &set, NULL) == 0);
	CHECK(raise(SIGCHLD) == 0);
	int sig = 0;
	CHECK(sigwait(&set, &sig) == 0 && sig == SIGCHLD);
	CHECK(sigprocmask(SIG_UNBLOCK, &set, NULL) == 0);
}

/* ---- interrupted syscalls ---- */

static int pipefd[2];

/* Stops the timer itself: a third tick before the main flow could stop it
 * (20 ms, possible on a slow host such as nested TCG) would count too. */
static void write_on_second(int sig, siginfo_t *si, void *uc)
{
	struct itimerval off = { { 0, 0 }, { 0, 0 } };

	record(sig, si, uc);
	if (hits == 2) {
		CHECK(setitimer(ITIMER_REAL, &off, NULL) == 0);
		CHECK(write(pipefd[1], "x", 1) == 1);
	}
}

static void check_restart(void)
{
	struct itimerval tick = { { 0, 20000 }, { 0, 20000 } }, off = { { 0, 0 }, { 0, 0 } };
	char c;

	CHECK(pipe(pipefd) == 0);
	/* SA_RESTART: read continues through the first SIGALRM and gets the
	 * byte the second one writes. */
	on_signal(SIGALRM, write_on_second, SA_RESTART);
	reset();
	CHECK(setitimer(ITIMER_REAL, &tick, NULL) == 0);
	CHECK(read(pipefd[0], &c, 1) == 1 && c == 'x');
	CHECK(setitimer(ITIMER_REAL, &off, NULL) == 0);
	/* A third tick may already be pending when the second handler stops
	 * the timer (nested TCG is slow enough): the read got through both. */
	CHECK(hits >= 2);
	/* Without it, read fails with EINTR. */
	on_signal(SIGALRM, record, 0);
	reset();
	tick.it_interval.tv_usec = 0;
	CHECK(setitimer(ITIMER_REAL, &tick, NULL) == 0);
	CHECK(read(pipefd[0], &c, 1) == -1 && errno == EINTR);
	CHECK(hits == 1);
	close(pipefd[0]);
	close(pipefd[1]);
	set_default(SIGALRM);
}

/* nanosleep fails with EINTR and the time left even with SA_RESTART. */
static void check_sleep(void)
{
	struct itimerval it = { { 0, 0 }, { 0, 30000 } };
	struct timespec req = { 2, 0 }, rem = { 0, 0 };

	on_signal(SIGALRM, record, SA_RESTART);
	reset();
	CHECK(setitimer(ITIMER_REAL, &it, NULL) == 0);
	CHECK(nanosleep(&req, &rem) == -1 && errno == EINTR);
	CHECK(hits == 1);
	CHECK(rem.tv_sec == 1 && rem.tv_nsec > 0);
	set_default(SIGALRM);
}

/* ---- other processes ---- */

static void check_children(void)
{
	int status;
	pid_t pid;

	/* SIGCHLD's handler runs; waitpid, asleep when the child exits,
	 * still returns the child (no EINTR: the child is found first). */
	on_signal(SIGCHLD, record, 0);
	reset();
	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		usleep(20000);
		_exit(7);
	}
	CHECK(waitpid(pid, &status, 0) == pid);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 7);
	CHECK(hits == 1 && last_sig == SIGCHLD && last_pid == pid && last_code == CLD_EXITED);
	set_default(SIGCHLD);
	/* A child waiting in pause() is killed by SIGTERM. */
	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		for (;;)
			pause();
	}
	CHECK(kill(pid, SIGTERM) == 0);
	CHECK(waitpid(pid, &status, 0) == pid);
	CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM);
	/* A child's (inherited) handler runs for a signal from its parent. */
	on_signal(SIGUSR1, record, 0);
	reset();
	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		while (!hits)
			pause();
		_exit(last_pid == getppid() ? 3 : 4);
	}
	CHECK(kill(pid, SIGUSR1) == 0);
	CHECK(waitpid(pid, &status, 0) == pid);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 3);
	CHECK(hits == 0);
	set_default(SIGUSR1);
}

static const struct check checks[] = {
	{ "segv", check_segv }, { "fpe", check_fpe }, { "ill", check_ill },
	{ "raise", check_raise }, { "mask", check_mask }, { "nested", check_nested },
	{ "altstack", check_altstack }, { "alignment", check_alignment },
	{ "fpu", check_fpu }, { "alarm", check_alarm },
	{ "sigsuspend", check_sigsuspend }, { "sigtimedwait", check_sigtimedwait },
	{ "restart", check_restart }, { "children", check_children },
	{ "sleep", check_sleep },
};

static void abort_handler(int sig)
{
	(void)sig;
	write(1, "handler ran\n", 12);
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "all";

	setvbuf(stdout, NULL, _IONBF, 0);
	if (strcmp(mode, "abort") == 0) {
		CHECK(signal(SIGABRT, abort_handler) != SIG_ERR);
		abort();
	}
	if (strcmp(mode, "term") == 0) {
		kill(getpid(), SIGTERM);
		return 0;
	}
	if (strcmp(mode, "resethand") == 0) {
		on_signal(SIGUSR1, record, SA_RESETHAND);
		raise(SIGUSR1);
		printf("first ran %d\n", (int)hits);
		raise(SIGUSR1);
		return 0;
	}
	return run_checks(checks, sizeof(checks) / sizeof(checks[0]), mode);
}
