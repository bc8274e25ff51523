/* test_hypercall.c: the hypercall device against fake guest RAM and host pipes. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include <wisp/abi.h>

#include "check.h"
#include "devices/hypercall.h"

#define RAM (1u << 20)
#define ARG 0x1000
#define BUF 0x2000

static struct kvm_mem mem;
static struct hc_ctx ctx;
static int out_pipe[2], in_pipe[2];

static void put_io(uint32_t fd, uint64_t buf, uint64_t len)
{
	struct wisp_hc_io io = { .fd = fd, .buf_paddr = buf, .len = len, .ret = 12345 };

	memcpy(mem.base + ARG, &io, sizeof(io));
}

static int64_t io_ret(void)
{
	struct wisp_hc_io io;

	memcpy(&io, mem.base + ARG, sizeof(io));
	return io.ret;
}

static enum hc_result call(unsigned nr, uint32_t gpa, int *code)
{
	return hc_handle(&ctx, (uint16_t)(WISP_HC_PORT_BASE + nr), gpa, code);
}

static void test_ports(void)
{
	CHECK(hc_port(WISP_HC_PORT_BASE));
	CHECK(hc_port(WISP_HC_PORT_BASE + WISP_HC_COUNT - 1));
	CHECK(!hc_port(WISP_HC_PORT_BASE + WISP_HC_COUNT));
	CHECK(!hc_port(WISP_HC_PORT_BASE - 1));
	CHECK(!hc_port(0x3f8));
}

static void test_write(void)
{
	char got[64] = "";
	int code;

	memcpy(mem.base + BUF, "hello", 5);
	put_io(1, BUF, 5);
	CHECK(call(WISP_HC_WRITE, ARG, &code) == HC_CONTINUE);
	CHECK(io_ret() == 5);
	CHECK(read(out_pipe[0], got, sizeof(got)) == 5);
	CHECK(memcmp(got, "hello", 5) == 0);

	put_io(1, RAM - 2, 5);                      /* buffer runs off the end of RAM */
	CHECK(call(WISP_HC_WRITE, ARG, &code) == HC_CONTINUE);
	CHECK(io_ret() == -EFAULT);
	put_io(1, UINT64_MAX - 1, 5);               /* wraps around */
	CHECK(call(WISP_HC_WRITE, ARG, &code) == HC_CONTINUE);
	CHECK(io_ret() == -EFAULT);
	put_io(7, BUF, 5);
	CHECK(call(WISP_HC_WRITE, ARG, &code) == HC_CONTINUE);
	CHECK(io_ret() == -EBADF);
	put_io(0, BUF, 5);
	CHECK(call(WISP_HC_WRITE, ARG, &code) == HC_CONTINUE);
	CHECK(io_ret() == -EBADF);
	put_io(1, BUF, 0);
	CHECK(call(WISP_HC_WRITE, ARG, &code) == HC_CONTINUE);
	CHECK(io_ret() == 0);

	/* The argument struct itself outside RAM is a fatal guest error. */
	CHECK(call(WISP_HC_WRITE, RAM - 8, &code) == HC_STOP);
	CHECK(code == 1);
	CHECK(call(WISP_HC_WRITE, 0xffffffffu, &code) == HC_STOP);
}

static void test_write_epipe(void)
{
	int p[2], code, saved = ctx.out_fd;

	CHECK(pipe(p) == 0);
	close(p[0]);
	ctx.out_fd = p[1];
	put_io(1, BUF, 5);
	CHECK(call(WISP_HC_WRITE, ARG, &code) == HC_CONTINUE);
	CHECK(io_ret() == -EPIPE);
	close(p[1]);
	ctx.out_fd = saved;
}

static void test_read(void)
{
	int code;

	CHECK(write(in_pipe[1], "abc", 3) == 3);
	put_io(0, BUF + 100, 64);
	CHECK(call(WISP_HC_READ, ARG, &code) == HC_CONTINUE);
	CHECK(io_ret() == 3);
	CHECK(memcmp(mem.base + BUF + 100, "abc", 3) == 0);
	put_io(1, BUF, 64);
	CHECK(call(WISP_HC_READ, ARG, &code) == HC_CONTINUE);
	CHECK(io_ret() == -EBADF);
	put_io(0, RAM, 1);
	CHECK(call(WISP_HC_READ, ARG, &code) == HC_CONTINUE);
	CHECK(io_ret() == -EFAULT);
	close(in_pipe[1]);
	put_io(0, BUF, 64);
	CHECK(call(WISP_HC_READ, ARG, &code) == HC_CONTINUE);
	CHECK(io_ret() == 0);   /* EOF */
}

static void put_exit(int32_t status, int32_t sig, uint64_t addr)
{
	struct wisp_hc_exit ex = { status, sig, addr };

	memcpy(mem.base + ARG, &ex, sizeof(ex));
}

static void test_exit(void)
{
	int code = -1;

	put_exit(7, 0, 0);
	CHECK(call(WISP_HC_EXIT, ARG, &code) == HC_STOP);
	CHECK(code == 7);
	put_exit(256 + 3, 0, 0);
	CHECK(call(WISP_HC_EXIT, ARG, &code) == HC_STOP);
	CHECK(code == 3);
	put_exit(0, 11, 0xdead);
	CHECK(call(WISP_HC_EXIT, ARG, &code) == HC_STOP);
	CHECK(code == 139);
	put_exit(0, 9, 0);
	CHECK(call(WISP_HC_EXIT, ARG, &code) == HC_STOP);
	CHECK(code == 137);
	put_exit(0, -5, 0);
	CHECK(call(WISP_HC_EXIT, ARG, &code) == HC_STOP);
	CHECK(code == 1);
	CHECK(hc_exit_status("p", 0, 0, 0) == 0);
	CHECK(hc_exit_status("p", -1, 0, 0) == 255);
}

static void test_clock_sleep_panic(void)
{
	struct wisp_hc_clock c1, c2;
	struct wisp_hc_sleep s = { 2000000 };
	int code;

	CHECK(call(WISP_HC_CLOCK, ARG, &code) == HC_CONTINUE);
	memcpy(&c1, mem.base + ARG, sizeof(c1));
	CHECK(c1.realtime_ns > 1600000000ull * 1000000000ull);
	memcpy(mem.base + ARG + 64, &s, sizeof(s));
	CHECK(call(WISP_HC_SLEEP, ARG + 64, &code) == HC_CONTINUE);
	CHECK(call(WISP_HC_CLOCK, ARG, &code) == HC_CONTINUE);
	memcpy(&c2, mem.base + ARG, sizeof(c2));
	CHECK(c2.monotonic_ns - c1.monotonic_ns >= 2000000);
	CHECK(call(WISP_HC_CLOCK, RAM - 4, &code) == HC_STOP);

	memcpy(mem.base + BUF, "test panic: oops\n", 17);
	put_io(0, BUF, 17);
	CHECK(call(WISP_HC_PANIC, ARG, &code) == HC_STOP);
	CHECK(code == 1);
	put_io(0, RAM + 100, 17);
	CHECK(call(WISP_HC_PANIC, ARG, &code) == HC_STOP);
	CHECK(code == 1);
	CHECK(hc_handle(&ctx, WISP_HC_PORT_BASE + 40, ARG, &code) == HC_STOP);
	CHECK(code == 1);
}

static int64_t timer_nmi(uint32_t gpa)
{
	struct wisp_hc_timer_nmi n = { .ret = 12345 };
	int code;

	memcpy(mem.base + ARG, &n, sizeof(n));
	CHECK(call(WISP_HC_TIMER_NMI, gpa, &code) == HC_CONTINUE);
	memcpy(&n, mem.base + ARG, sizeof(n));
	return n.ret;
}

/* Without a timer device, or one with no in-kernel local APIC, the guest
 * is told ticks stay interrupts (test_timer_nmi.c has the APIC itself). */
static void test_timer_nmi(void)
{
	struct kvm_run run;
	struct vtimer t;
	int code;

	CHECK(timer_nmi(ARG) == -ENODEV);
	memset(&run, 0, sizeof(run));
	CHECK(vtimer_init(&t, &run, -1) == 0);
	ctx.timer = &t;
	CHECK(timer_nmi(ARG) == -ENODEV);
	CHECK(!t.nmi);
	CHECK(call(WISP_HC_TIMER_NMI, RAM - 4, &code) == HC_STOP);
	CHECK(code == 1);
	ctx.timer = NULL;
	vtimer_destroy(&t);
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN);   /* as wisp main does */
	mem.base = calloc(1, RAM);
	mem.size = RAM;
	if (pipe(out_pipe) < 0 || pipe(in_pipe) < 0)
		return 1;
	ctx = (struct hc_ctx){ .mem = &mem, .program = "prog", .out_fd = out_pipe[1],
			       .err_fd = out_pipe[1], .in_fd = in_pipe[0] };
	test_ports();
	test_write();
	test_write_epipe();
	test_read();
	test_exit();
	test_clock_sleep_panic();
	test_timer_nmi();
	free(mem.base);
	return check_report();
}
