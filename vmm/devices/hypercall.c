/* hypercall.c: serve guest hypercalls (write/read/exit/clock/sleep/timer/panic). */
#define _GNU_SOURCE
#include "devices/hypercall.h"
#include "clock.h"

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <wisp/abi.h>

#define HC_PANIC_MAX 1024

bool hc_port(uint16_t port)
{
	return port >= WISP_HC_PORT_BASE && port < WISP_HC_PORT_BASE + WISP_HC_COUNT;
}

static void *guest_struct(struct hc_ctx *ctx, unsigned nr, uint32_t gpa, size_t size)
{
	void *p = kvm_mem_ptr(ctx->mem, gpa, size);

	if (!p)
		fprintf(stderr, "wisp: guest error: hypercall %u with bad address 0x%" PRIx32 "\n",
			nr, gpa);
	return p;
}

/* Non-blocking host fds (inherited from a shell or a test harness) would turn
 * into busy loops; wait for them instead. */
static void wait_fd(int fd, short events)
{
	struct pollfd pfd = { .fd = fd, .events = events };

	poll(&pfd, 1, -1);
}

static int64_t write_all(int fd, const uint8_t *buf, uint64_t len)
{
	uint64_t done = 0;

	while (done < len) {
		ssize_t n = write(fd, buf + done, len - done);

		if (n > 0) {
			done += (uint64_t)n;
		} else if (n < 0 && errno == EAGAIN) {
			wait_fd(fd, POLLOUT);
		} else if (n < 0 && errno != EINTR) {
			return done ? (int64_t)done : -errno;
		}
	}
	return (int64_t)done;
}

/* Waiting for host stdin blocks the vCPU; when the guest timer fires the
 * read returns -EINTR so the guest kernel can run its other tasks first. */
static int64_t read_some(struct hc_ctx *ctx, uint8_t *buf, uint64_t len)
{
	for (;;) {
		ssize_t n;

		if (ctx->timer) {
			int ready = vtimer_wait_readable(ctx->timer, ctx->in_fd);

			if (ready < 0)
				return -errno;
			if (!ready)
				return -EINTR;
		}
		n = read(ctx->in_fd, buf, len);
		if (n >= 0)
			return n;
		if (errno == EAGAIN && !ctx->timer)
			wait_fd(ctx->in_fd, POLLIN);
		else if (errno != EAGAIN && errno != EINTR)
			return -errno;
	}
}

/* The struct is copied out of guest memory first so that the guest cannot
 * change it under our feet while we use it. */
static enum hc_result do_io(struct hc_ctx *ctx, unsigned nr, uint32_t gpa)
{
	struct wisp_hc_io io, *g = guest_struct(ctx, nr, gpa, sizeof(io));
	uint8_t *buf;
	int64_t ret;

	if (!g)
		return HC_STOP;
	memcpy(&io, g, sizeof(io));
	buf = io.len ? kvm_mem_ptr(ctx->mem, io.buf_paddr, io.len) : NULL;
	if (io.len && !buf)
		ret = -EFAULT;
	else if (nr == WISP_HC_WRITE && (io.fd == 1 || io.fd == 2))
		ret = write_all(io.fd == 1 ? ctx->out_fd : ctx->err_fd, buf, io.len);
	else if (nr == WISP_HC_READ && io.fd == 0)
		ret = io.len ? read_some(ctx, buf, io.len) : 0;
	else
		ret = -EBADF;
	memcpy((uint8_t *)g + offsetof(struct wisp_hc_io, ret), &ret, sizeof(ret));
	return HC_CONTINUE;
}

static void do_clock(struct wisp_hc_clock *g)
{
	struct wisp_hc_clock c = {
		.realtime_ns = clock_ns(CLOCK_REALTIME), .monotonic_ns = clock_ns(CLOCK_MONOTONIC),
	};

	memcpy(g, &c, sizeof(c));
}

static void do_sleep(const struct wisp_hc_sleep *g)
{
	struct wisp_hc_sleep s;
	struct timespec req;

	memcpy(&s, g, sizeof(s));
	req.tv_sec = (time_t)(s.ns / 1000000000ull);
	req.tv_nsec = (long)(s.ns % 1000000000ull);
	while (nanosleep(&req, &req) < 0 && errno == EINTR)
		;
}

/* A host timer or KVM that refuses is wisp's failure, not the guest's. */
static enum hc_result do_timer(struct hc_ctx *ctx, const struct wisp_hc_timer *g)
{
	struct wisp_hc_timer t;

	memcpy(&t, g, sizeof(t));
	if (ctx->timer && vtimer_arm(ctx->timer, t.ns, t.period_ns) < 0) {
		fprintf(stderr, "wisp: cannot arm the guest timer (%s): %s\n",
			ctx->timer->nmi ? "KVM_SET_LAPIC" : "timer_settime", strerror(errno));
		return HC_STOP;
	}
	return HC_CONTINUE;
}

static void do_timer_nmi(struct hc_ctx *ctx, struct wisp_hc_timer_nmi *g)
{
	int64_t ret = ctx->timer ? vtimer_use_nmi(ctx->timer) : -ENODEV;

	memcpy(&g->ret, &ret, sizeof(ret));
}

/* Prints the panic text on one line; control characters could otherwise
 * forge extra output lines. */
static void do_panic(struct hc_ctx *ctx, const struct wisp_hc_io *g)
{
	struct wisp_hc_io io;
	char text[HC_PANIC_MAX + 1];
	const uint8_t *buf;
	size_t n;

	memcpy(&io, g, sizeof(io));
	n = io.len < HC_PANIC_MAX ? (size_t)io.len : HC_PANIC_MAX;
	buf = kvm_mem_ptr(ctx->mem, io.buf_paddr, n);
	if (!buf) {
		fprintf(stderr, "wisp: guest kernel panic: (message at bad address 0x%" PRIx64 ")\n",
			io.buf_paddr);
		return;
	}
	memcpy(text, buf, n);
	while (n && (text[n - 1] == '\n' || text[n - 1] == '\0'))
		n--;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)text[i] < 0x20 && text[i] != '\t')
			text[i] = ' ';
	text[n] = '\0';
	fprintf(stderr, "wisp: guest kernel panic: %s\n", text);
}

static const char *signal_name(int sig, char *tmp, size_t len)
{
	const char *abbrev = sigabbrev_np(sig);

	if (abbrev)
		snprintf(tmp, len, "SIG%s", abbrev);
	else
		snprintf(tmp, len, "signal %d", sig);
	return tmp;
}

int hc_exit_status(const char *program, int32_t status, int32_t signal, uint64_t fault_addr)
{
	char name[32];

	if (signal == 0)
		return status & 0xff;
	if (signal < 1 || signal > 64) {
		fprintf(stderr, "wisp: guest error: program ended with invalid signal %d\n", signal);
		return 1;
	}
	signal_name(signal, name, sizeof(name));
	if (signal == SIGSEGV || signal == SIGBUS || signal == SIGILL || signal == SIGFPE)
		fprintf(stderr, "wisp: %s killed by %s (fault address 0x%" PRIx64 ")\n",
			program, name, fault_addr);
	else
		fprintf(stderr, "wisp: %s killed by %s\n", program, name);
	return 128 + signal;
}

enum hc_result hc_handle(struct hc_ctx *ctx, uint16_t port, uint32_t gpa, int *exit_code)
{
	unsigned nr = (unsigned)(port - WISP_HC_PORT_BASE);
	struct wisp_hc_exit ex;
	void *g;

	*exit_code = 1;
	switch (nr) {
	case WISP_HC_WRITE:
	case WISP_HC_READ:
		return do_io(ctx, nr, gpa);
	case WISP_HC_EXIT:
		if (!(g = guest_struct(ctx, nr, gpa, sizeof(ex))))
			return HC_STOP;
		memcpy(&ex, g, sizeof(ex));
		*exit_code = hc_exit_status(ctx->program, ex.status, ex.signal, ex.fault_addr);
		return HC_STOP;
	case WISP_HC_CLOCK:
		if (!(g = guest_struct(ctx, nr, gpa, sizeof(struct wisp_hc_clock))))
			return HC_STOP;
		do_clock(g);
		return HC_CONTINUE;
	case WISP_HC_SLEEP:
		if (!(g = guest_struct(ctx, nr, gpa, sizeof(struct wisp_hc_sleep))))
			return HC_STOP;
		do_sleep(g);
		return HC_CONTINUE;
	case WISP_HC_TIMER:
		if (!(g = guest_struct(ctx, nr, gpa, sizeof(struct wisp_hc_timer))))
			return HC_STOP;
		return do_timer(ctx, g);
	case WISP_HC_TIMER_NMI:
		if (!(g = guest_struct(ctx, nr, gpa, sizeof(struct wisp_hc_timer_nmi))))
			return HC_STOP;
		do_timer_nmi(ctx, g);
		return HC_CONTINUE;
	case WISP_HC_PANIC:
		if ((g = guest_struct(ctx, nr, gpa, sizeof(struct wisp_hc_io))))
			do_panic(ctx, g);
		return HC_STOP;
	default:
		fprintf(stderr, "wisp: guest error: unknown hypercall %u\n", nr);
		return HC_STOP;
	}
}
