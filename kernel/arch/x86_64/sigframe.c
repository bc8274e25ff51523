/* sigframe.c: builds and unwinds the x86-64 rt_sigframe exactly as Linux lays it out. */
#include "arch/x86_64/sigframe.h"
#include "arch/x86_64/cpu.h"
#include "arch/x86_64/x86.h"
#include "lib/string.h"
#include "mm/uaccess.h"
#include <asm/sigcontext.h>
#include <asm/ucontext.h>

/* Linux's arch/x86/include/asm/sigframe.h; the fxsave area follows it. */
struct rt_sigframe {
	uint64_t pretcode;      /* sa_restorer: the handler's return address */
	struct ucontext uc;
	siginfo_t info;
};

#define FPSTATE_SIZE 512

/* The layout is ABI: glibc, musl, debuggers and unwinders read it. */
_Static_assert(sizeof(struct ucontext) == 304, "ucontext");
_Static_assert(offsetof(struct rt_sigframe, info) == 312, "rt_sigframe");
_Static_assert(sizeof(siginfo_t) == 128, "siginfo");

/* rflags bits a program may change through a sigcontext (Linux's
 * FIX_EFLAGS): CF PF AF ZF SF TF DF OF AC; IF and bit 1 are forced on. */
#define FLAGS_USER 0x40dd5UL
#define FLAGS_FIXED 0x202UL
#define FLAG_TF 0x100UL
#define FLAG_DF 0x400UL
#define FLAG_RF 0x10000UL

/* Default x87 control word and MXCSR: what a new handler starts with. */
#define FCW_INIT 0x37f
#define MXCSR_INIT 0x1f80

struct fxarea {
	uint8_t b[FPSTATE_SIZE];
} __attribute__((aligned(16)));

/* MXCSR bits this CPU accepts: fxrstor of any other bit faults (#GP) in
 * the kernel, so a frame from user memory is masked with it first. */
static uint32_t mxcsr_mask(void)
{
	static uint32_t mask;
	struct fxarea a;

	if (!mask) {
		memset(&a, 0, sizeof(a));
		fpu_save(a.b);
		mask = ((struct _fpstate_64 *)a.b)->mxcsr_mask;
		if (!mask)
			mask = 0xffbf;  /* the documented default: no DAZ */
	}
	return mask;
}

/* The state a signal handler starts with, as after Linux's
 * fpu__clear_user_states(): x87 and SSE registers empty, default modes. */
static void fpu_load_init(void)
{
	struct fxarea a;
	struct _fpstate_64 *f = (struct _fpstate_64 *)a.b;

	memset(&a, 0, sizeof(a));
	f->cwd = FCW_INIT;
	f->mxcsr = MXCSR_INIT;
	fpu_restore(a.b);
}

static void save_regs(struct sigcontext *sc, const struct trapframe *tf)
{
	sc->r8 = tf->r8;   sc->r9 = tf->r9;   sc->r10 = tf->r10; sc->r11 = tf->r11;
	sc->r12 = tf->r12; sc->r13 = tf->r13; sc->r14 = tf->r14; sc->r15 = tf->r15;
	sc->rdi = tf->rdi; sc->rsi = tf->rsi; sc->rbp = tf->rbp; sc->rbx = tf->rbx;
	sc->rdx = tf->rdx; sc->rax = tf->rax; sc->rcx = tf->rcx; sc->rsp = tf->rsp;
	sc->rip = tf->rip;
	sc->eflags = tf->rflags;
	sc->cs = tf->cs;
	sc->ss = tf->ss;
}

static void load_regs(struct trapframe *tf, const struct sigcontext *sc)
{
	tf->r8 = sc->r8;   tf->r9 = sc->r9;   tf->r10 = sc->r10; tf->r11 = sc->r11;
	tf->r12 = sc->r12; tf->r13 = sc->r13; tf->r14 = sc->r14; tf->r15 = sc->r15;
	tf->rdi = sc->rdi; tf->rsi = sc->rsi; tf->rbp = sc->rbp; tf->rbx = sc->rbx;
	tf->rdx = sc->rdx; tf->rax = sc->rax; tf->rcx = sc->rcx; tf->rsp = sc->rsp;
	tf->rip = sc->rip;
	/* Whatever the frame says, return to 64-bit user mode with
	 * interrupts on: the program can't raise its privileges. */
	tf->rflags = (sc->eflags & FLAGS_USER) | FLAGS_FIXED;
	tf->cs = USER_CS;
	tf->ss = USER_DS;
}

/* Where the fxsave area and the frame go, Linux's get_sigframe(): below
 * the given stack top (the red zone is already skipped), the area 64-byte
 * aligned, the frame so that rsp + 8 is 16-byte aligned at handler entry,
 * as right after a call. */
static uint64_t frame_address(const struct sigframe_args *a, uint64_t *fpstate)
{
	uint64_t sp = ALIGN_DOWN(a->sp - FPSTATE_SIZE, 64);

	*fpstate = sp;
	sp -= sizeof(struct rt_sigframe);
	return ALIGN_DOWN(sp, 16) - 8;
}

int sigframe_setup(struct trapframe *tf, const struct sigframe_args *a)
{
	struct rt_sigframe f;
	struct fxarea fx;
	uint64_t fpstate, addr = frame_address(a, &fpstate);

	/* Without SA_RESTORER there is nowhere to return to (Linux x86-64
	 * has no vDSO trampoline either). */
	if (!a->restorer || addr < a->sp_limit)
		return -EFAULT;
	memset(&f, 0, sizeof(f));
	f.pretcode = a->restorer;
	f.uc.uc_flags = UC_SIGCONTEXT_SS | UC_STRICT_RESTORE_SS;
	f.uc.uc_stack = a->uc_stack;
	save_regs(&f.uc.uc_mcontext, tf);
	f.uc.uc_mcontext.err = a->err;
	f.uc.uc_mcontext.trapno = a->trapno;
	f.uc.uc_mcontext.oldmask = a->saved_mask;
	f.uc.uc_mcontext.cr2 = a->cr2;
	f.uc.uc_mcontext.fpstate = (struct _fpstate *)fpstate;
	f.uc.uc_sigmask = a->saved_mask;
	f.info = *a->info;
	/* Zeroed first: fxsave leaves the software bytes (sw_reserved) alone,
	 * and magic1 0 there tells readers this is a legacy fxsave frame. */
	memset(&fx, 0, sizeof(fx));
	fpu_save(fx.b);
	if (copy_to_user((void *)fpstate, &fx, sizeof(fx)) ||
	    copy_to_user((void *)addr, &f, sizeof(f)))
		return -EFAULT;
	tf->rdi = a->sig;
	tf->rsi = addr + offsetof(struct rt_sigframe, info);
	tf->rdx = addr + offsetof(struct rt_sigframe, uc);
	tf->rax = 0;  /* for handlers declared without a prototype (varargs) */
	tf->rsp = addr;
	tf->rip = a->handler;
	tf->rflags &= ~(FLAG_DF | FLAG_RF | FLAG_TF);
	tf->cs = USER_CS;
	tf->ss = USER_DS;
	fpu_load_init();
	return 0;
}

/* Reloads the FPU from a frame's fxsave area, or resets it if there is
 * none (fpstate NULL), as Linux does. */
static int restore_fpu(uint64_t fpstate)
{
	struct fxarea fx;

	if (!fpstate) {
		fpu_load_init();
		return 0;
	}
	if (copy_from_user(&fx, (const void *)fpstate, sizeof(fx)))
		return -EFAULT;
	((struct _fpstate_64 *)fx.b)->mxcsr &= mxcsr_mask();
	fpu_restore(fx.b);
	return 0;
}

int sigframe_restore(struct trapframe *tf, uint64_t *mask, stack_t *uc_stack)
{
	struct rt_sigframe f;
	/* The handler's ret popped pretcode: the frame starts 8 below. */
	uint64_t addr = tf->rsp - 8;

	if (copy_from_user(&f, (const void *)addr, sizeof(f)) ||
	    restore_fpu((uint64_t)f.uc.uc_mcontext.fpstate))
		return -EFAULT;
	load_regs(tf, &f.uc.uc_mcontext);
	*mask = f.uc.uc_sigmask;
	*uc_stack = f.uc.uc_stack;
	return 0;
}
