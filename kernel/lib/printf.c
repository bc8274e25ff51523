/* printf.c: vsnprintf/snprintf, kprintf to the host's stderr, and panic. */
#include "kernel.h"
#include "lib/string.h"
#include "platform.h"

/* Output cursor: counts every character, stores those that fit. */
struct out {
	char *buf;
	size_t size, len;
};

static void put(struct out *o, char c)
{
	if (o->len + 1 < o->size)
		o->buf[o->len] = c;
	o->len++;
}

/* Emits s (n chars) padded to width; zero padding goes after any sign or
 * 0x prefix (the first `prefix` chars of s). */
static void put_field(struct out *o, const char *s, size_t n, size_t prefix,
		      int width, bool left, bool zero)
{
	size_t pad = width > 0 && (size_t)width > n ? (size_t)width - n : 0;
	size_t i;

	if (zero && !left) {
		for (i = 0; i < prefix; i++)
			put(o, s[i]);
		s += prefix, n -= prefix;
		for (; pad; pad--)
			put(o, '0');
	}
	for (; pad && !left; pad--)
		put(o, ' ');
	for (i = 0; i < n; i++)
		put(o, s[i]);
	for (; pad; pad--)
		put(o, ' ');
}

/* Formats v into the end of tmp[32]; returns the first char. */
static char *utoa(char *end, unsigned long long v, unsigned base, bool upper)
{
	const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";

	*--end = '\0';
	do {
		*--end = digits[v % base];
		v /= base;
	} while (v);
	return end;
}

/* One integer conversion; `conv` is d, i, u, x, X, o or p. */
static void put_int(struct out *o, char conv, unsigned long long v, bool neg,
		    int width, bool left, bool zero, bool alt)
{
	char tmp[40];
	char *p;
	size_t prefix = 0;

	if (conv == 'p' && !v) {
		put_field(o, "(nil)", 5, 0, width, left, false);
		return;
	}
	p = utoa(tmp + sizeof(tmp), v, conv == 'o' ? 8 :
		 (conv == 'x' || conv == 'X' || conv == 'p') ? 16 : 10, conv == 'X');
	if (conv == 'p' || (alt && (conv == 'x' || conv == 'X') && v)) {
		*--p = conv == 'X' ? 'X' : 'x';
		*--p = '0';
		prefix = 2;
	} else if (neg) {
		*--p = '-';
		prefix = 1;
	}
	put_field(o, p, strlen(p), prefix, width, left, zero);
}

int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
{
	struct out o = { buf, size, 0 };

	for (; *fmt; fmt++) {
		bool left = false, zero = false, alt = false, neg = false;
		int width = 0, prec = -1, lng = 0;
		unsigned long long v;
		const char *s;

		if (*fmt != '%') {
			put(&o, *fmt);
			continue;
		}
		for (fmt++;; fmt++) {
			if (*fmt == '-')
				left = true;
			else if (*fmt == '0')
				zero = true;
			else if (*fmt == '#')
				alt = true;
			else
				break;
		}
		if (*fmt == '*') {
			width = va_arg(ap, int);
			fmt++;
		}
		for (; *fmt >= '0' && *fmt <= '9'; fmt++)
			width = width * 10 + (*fmt - '0');
		if (*fmt == '.') {
			prec = 0;
			if (*++fmt == '*') {
				prec = va_arg(ap, int);
				fmt++;
			}
			for (; *fmt >= '0' && *fmt <= '9'; fmt++)
				prec = prec * 10 + (*fmt - '0');
		}
		/* l, ll and z are all 64-bit here; h promotes to int anyway. */
		for (; *fmt == 'l' || *fmt == 'z' || *fmt == 'h'; fmt++)
			lng |= *fmt != 'h';
		switch (*fmt) {
		case 'd':
		case 'i': {
			long long sv = lng ? va_arg(ap, long) : va_arg(ap, int);

			neg = sv < 0;
			v = neg ? -(unsigned long long)sv : (unsigned long long)sv;
			put_int(&o, 'd', v, neg, width, left, zero, alt);
			break;
		}
		case 'u':
		case 'x':
		case 'X':
		case 'o':
			v = lng ? va_arg(ap, unsigned long) : va_arg(ap, unsigned);
			put_int(&o, *fmt, v, false, width, left, zero, alt);
			break;
		case 'p':
			v = (unsigned long)va_arg(ap, void *);
			put_int(&o, 'p', v, false, width, left, zero, alt);
			break;
		case 's':
			s = va_arg(ap, const char *);
			if (!s)
				s = "(null)";
			put_field(&o, s, prec >= 0 ? strnlen(s, prec) : strlen(s),
				  0, width, left, false);
			break;
		case 'c': {
			char c = (char)va_arg(ap, int);

			put_field(&o, &c, 1, 0, width, left, false);
			break;
		}
		case '%':
			put(&o, '%');
			break;
		case '\0':
			fmt--;  /* a lone '%' at the end: stop at the NUL */
			break;
		default:  /* unknown conversion: show it rather than guess */
			put(&o, '%');
			put(&o, *fmt);
		}
	}
	if (size)
		buf[o.len < size ? o.len : size - 1] = '\0';
	return (int)o.len;
}

int snprintf(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	return n;
}

#define KPREFIX "wisp-kernel: "

/* One write per message, so lines from the kernel never interleave with
 * the program's output mid-line; a missing final newline is added. */
static void vkprintf(const char *fmt, va_list ap)
{
	char buf[512];
	size_t pre = sizeof(KPREFIX) - 1, len;
	int n;

	memcpy(buf, KPREFIX, pre);
	n = vsnprintf(buf + pre, sizeof(buf) - pre - 1, fmt, ap);
	len = pre + MIN((size_t)n, sizeof(buf) - pre - 2);
	if (len == pre || buf[len - 1] != '\n')
		buf[len++] = '\n';
	if (platform && platform->write)
		platform->write(2, buf, len);
}

void kprintf(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vkprintf(fmt, ap);
	va_end(ap);
}

_Noreturn void panic(const char *fmt, ...)
{
	char msg[400];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (platform && platform->panic)
		platform->panic(msg);
	for (;;)  /* no platform yet: nothing to report to */
		asm volatile("cli; hlt");
}
