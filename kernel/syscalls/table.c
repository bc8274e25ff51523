/* table.c: indexes the SYSCALL() descriptors by number, dispatches system
 * calls, and prints --trace-syscalls lines. */
#include "syscalls/syscall.h"
#include "syscalls/names.h"
#include "sched/proc.h"
#include "mm/uaccess.h"
#include "platform.h"
#include "arch/x86_64/trap.h"

/* Defined by kernel.ld around the .syscalls section. */
extern const struct syscall_desc __syscalls_start[], __syscalls_end[];

static const struct syscall_desc *table[SYSCALL_MAX];

void syscall_init(void)
{
	const struct syscall_desc *d;

	for (d = __syscalls_start; d < __syscalls_end; d++) {
		if (d->nr < 0 || d->nr >= SYSCALL_MAX)
			panic("syscall %s has number %d, beyond the table",
			      d->name, d->nr);
		if (table[d->nr])
			panic("syscall %d registered twice: %s and %s", d->nr,
			      table[d->nr]->name, d->name);
		table[d->nr] = d;
	}
}

static const char *name_of(uint64_t nr)
{
	return nr < SYSCALL_MAX && syscall_names[nr] ? syscall_names[nr] : "?";
}

/* Says once per number that a program used a syscall we lack, so the gap
 * shows up even without tracing. */
static void report_unimplemented(uint64_t nr)
{
	static uint64_t seen[SYSCALL_MAX / 64];
	static bool seen_huge;

	/* syscall-enosys: rseq: glibc and musl run without it */
	/* Left unimplemented on purpose: every glibc program probes rseq and
	 * copes with ENOSYS, so saying so would only be noise. */
	if (nr == __NR_rseq)
		return;
	if (nr < SYSCALL_MAX) {
		if (seen[nr / 64] & (1ULL << (nr % 64)))
			return;
		seen[nr / 64] |= 1ULL << (nr % 64);
	} else if (seen_huge) {
		return;
	} else {
		seen_huge = true;
	}
	kprintf("unimplemented syscall %s (%lu)", name_of(nr), (unsigned long)nr);
}

/* Appends to a fixed line buffer, dropping what doesn't fit. */
struct line {
	char buf[400];
	size_t len;
};

static void __attribute__((format(printf, 2, 3)))
add(struct line *l, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (l->len >= sizeof(l->buf) - 1)
		return;
	va_start(ap, fmt);
	n = vsnprintf(l->buf + l->len, sizeof(l->buf) - l->len, fmt, ap);
	va_end(ap);
	l->len = MIN(l->len + n, sizeof(l->buf) - 1);
}

/* A user string, quoted and escaped, cut after 32 chars. Copied a byte at a
 * time so a string ending just before an unmapped page still prints. */
static void add_user_string(struct line *l, const char *us)
{
	char c;
	int i;

	if (!us || copy_from_user(&c, us, 1)) {
		add(l, us ? "%p" : "NULL", (void *)us);  /* unreadable */
		return;
	}
	add(l, "\"");
	for (i = 0; i < 32; i++) {
		if (copy_from_user(&c, us + i, 1) || !c)
			break;
		if (c == '"' || c == '\\')
			add(l, "\\%c", c);
		else if (c == '\n')
			add(l, "\\n");
		else if (c == '\t')
			add(l, "\\t");
		else if (c < 0x20 || c == 0x7f)
			add(l, "\\x%02x", (unsigned char)c);
		else
			add(l, "%c", c);
	}
	add(l, i == 32 ? "\"..." : "\"");
}

static void add_arg(struct line *l, char kind, long a)
{
	switch (kind) {
	case 'd': add(l, "%d", (int)a); break;
	case 'u': add(l, "%lu", (unsigned long)a); break;
	case 'f': add(l, (int)a == -100 ? "AT_FDCWD" : "%d", (int)a); break;
	case 'o': add(l, "%#x", (unsigned)a); break;
	case 's': add_user_string(l, (const char *)a); break;
	case 'p': add(l, a ? "%#lx" : "NULL", (unsigned long)a); break;
	default: add(l, "%#lx", (unsigned long)a); break;
	}
}

static void add_result(struct line *l, uint64_t nr, long ret)
{
	if (IS_ERR_VALUE(ret)) {
		const char *e = -ret < ERRNO_MAX ? errno_names[-ret] : NULL;

		if (e)
			add(l, " = -%s", e);
		else
			add(l, " = -%ld", -ret);
	} else if (nr == __NR_mmap || nr == __NR_brk || nr == __NR_mremap ||
		   nr == __NR_shmat) {
		add(l, " = %#lx", (unsigned long)ret);
	} else {
		add(l, " = %ld", ret);
	}
}

/* Runs a syscall with its trace line. The arguments are formatted before
 * the call (execve replaces the memory its path lives in); the line is
 * printed after it, so a write's output comes before its trace line, except
 * for exit, which doesn't return. */
static long traced_call(const struct syscall_desc *d, uint64_t nr,
			const long a[6])
{
	struct line l = { .len = 0 };
	const char *k = d ? d->args : "";
	long ret;
	int i;

	add(&l, "[%d] %s(", current()->pid, d ? d->name : name_of(nr));
	for (i = 0; i < 6 && k[i]; i++) {
		add(&l, i ? ", " : "");
		add_arg(&l, k[i], a[i]);
	}
	add(&l, ")");
	if (nr == __NR_exit || nr == __NR_exit_group)
		kprintf("%s = ?", l.buf);
	ret = d ? d->fn(a[0], a[1], a[2], a[3], a[4], a[5]) : -ENOSYS;
	add_result(&l, nr, ret);
	kprintf("%s", l.buf);
	return ret;
}

void syscall_dispatch(struct trapframe *tf)
{
	uint64_t nr = tf->rax;
	const struct syscall_desc *d = nr < SYSCALL_MAX ? table[nr] : NULL;
	const long a[6] = { tf->rdi, tf->rsi, tf->rdx, tf->r10, tf->r8, tf->r9 };

	if (!d)
		report_unimplemented(nr);
	if (platform_trace_syscalls)
		tf->rax = traced_call(d, nr, a);
	else
		tf->rax = d ? d->fn(a[0], a[1], a[2], a[3], a[4], a[5]) : -ENOSYS;
}
