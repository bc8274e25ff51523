/* test_cmdline.c: the guest command line escapes any argument and decodes back. */
#include <stdlib.h>

#include <wisp/abi.h>

#include "check.h"
#include "cmdline.h"
#include "disk.h"

#define MAX_WORDS 64

/* The guest's rules from abi.h: spaces separate words (runs of them count
 * as one, as in the kernel), a backslash makes the next character literal,
 * and the unescaped word "" is an empty argument. Returns the word count. */
static int decode(const char *s, char words[][512], int max)
{
	int n = 0;

	for (;;) {
		size_t len = 0;
		int quotes_only = 1;

		while (*s == ' ')
			s++;
		if (!*s)
			return n;
		if (n == max)
			return -1;
		for (; *s && *s != ' '; s++) {
			if (*s == '\\' && s[1]) {
				s++;
				quotes_only = 0;
			} else if (*s != '"') {
				quotes_only = 0;
			}
			if (len < 511)
				words[n][len++] = *s;
		}
		if (quotes_only && len == 2)
			len = 0;
		words[n++][len] = '\0';
	}
}

/* Nothing unescaped below 0x21 except the separating spaces, and no
 * unescaped '"' except as the whole word "". */
static int raw_ok(const char *s)
{
	const char *start = s;

	for (; *s; s++) {
		if (*s == '\\') {
			if (!*++s)
				return 0;
			continue;
		}
		if ((unsigned char)*s < 0x21 && *s != ' ')
			return 0;
		if (*s == '"') {
			if ((s != start && s[-1] != ' ') || s[1] != '"' || (s[2] && s[2] != ' '))
				return 0;
			s++;
		}
	}
	return 1;
}

static void test_basic(void)
{
	char *env[] = { "PATH=/usr/bin:/bin", "HOME=/" };
	char *argv[] = { "/bin/busybox", "sh", "-c", "exit 7" };
	struct cmdline_in in = { env, 2, false, "/usr/bin/busybox", argv, 4, NULL, 0 };
	char err[256];
	char *s = cmdline_build(&in, err, sizeof(err));

	CHECK_STR(s, "env=PATH=/usr/bin:/bin env=HOME=/ prog=/usr/bin/busybox -- "
		  "/bin/busybox sh -c exit\\ 7");
	free(s);
	in.trace = true;
	in.nenv = 0;
	in.argc = 1;
	s = cmdline_build(&in, err, sizeof(err));
	CHECK_STR(s, "trace=1 prog=/usr/bin/busybox -- /bin/busybox");
	free(s);
	/* Disks for a VMM without boot info, escaped like everything else. */
	struct disk disks[] = { { .mount = "/data" }, { .mount = "/my disk", .read_only = true } };
	in.trace = false;
	in.disks = disks;
	in.ndisks = 2;
	s = cmdline_build(&in, err, sizeof(err));
	CHECK_STR(s, "disk=/data disk=/my\\ disk:ro prog=/usr/bin/busybox -- /bin/busybox");
	free(s);
}

static void test_escapes(void)
{
	char *env[] = { "A=x y", "B=back\\slash", "C=\"q\"" };
	char *argv[] = { "a b", "tab\there", "nl\nx", "\\", "\"", "--", "\x01\x1f", "ünï",
			 "", "\"\"", "  lead  ", "" };
	struct cmdline_in in = { env, 3, true, "/p a/th", argv, 12, NULL, 0 };
	char words[MAX_WORDS][512], err[256];
	char *s = cmdline_build(&in, err, sizeof(err));
	int n;

	CHECK(s != NULL);
	if (!s)
		return;
	CHECK(raw_ok(s));
	n = decode(s, words, MAX_WORDS);
	CHECK(n == 3 + 1 + 1 + 1 + 12);
	if (n != 18) {
		free(s);
		return;
	}
	CHECK_STR(words[0], "env=A=x y");
	CHECK_STR(words[1], "env=B=back\\slash");
	CHECK_STR(words[2], "env=C=\"q\"");
	CHECK_STR(words[3], "trace=1");
	CHECK_STR(words[4], "prog=/p a/th");
	CHECK_STR(words[5], "--");
	for (int i = 0; i < 12; i++)
		CHECK_STR(words[6 + i], argv[i]);
	CHECK(s[strlen(s) - 1] == '"');   /* a trailing empty argument survives trimming */
	free(s);
}

static void test_random_roundtrip(void)
{
	char *argv[8];
	char words[MAX_WORDS][512], err[256];
	int ok = 1;

	srand(42);
	for (int round = 0; round < 500 && ok; round++) {
		struct cmdline_in in = { NULL, 0, false, "/prog", argv, 8, NULL, 0 };
		char *s;

		for (int i = 0; i < 8; i++) {
			size_t len = (size_t)(rand() % 40);

			argv[i] = malloc(len + 1);
			for (size_t j = 0; j < len; j++)
				argv[i][j] = (char)(1 + rand() % 255);
			argv[i][len] = '\0';
		}
		s = cmdline_build(&in, err, sizeof(err));
		if (!s || !raw_ok(s) || decode(s, words, MAX_WORDS) != 10)
			ok = 0;
		for (int i = 0; i < 8 && ok; i++)
			if (strcmp(words[2 + i], argv[i]) != 0)
				ok = 0;
		for (int i = 0; i < 8; i++)
			free(argv[i]);
		free(s);
	}
	CHECK(ok);
}

static void test_escape_fn(void)
{
	char out[16];
	size_t n;

	n = cmdline_escape(out, 0, sizeof(out), "a b");
	CHECK(n == 4);
	CHECK_STR(out, "a\\ b");
	/* Does not fit: reports cap and never writes past it. */
	n = cmdline_escape(out, 0, 4, "abcd");
	CHECK(n == 4);
}

static void test_too_long(void)
{
	size_t big = WISP_CMDLINE_MAX / 2;
	char *arg = malloc(big + 1);
	char *argv[] = { "p", arg };
	struct cmdline_in in = { NULL, 0, false, "/p", argv, 2, NULL, 0 };
	char err[256] = "";
	char *s;

	memset(arg, 'a', big);
	arg[big] = '\0';
	s = cmdline_build(&in, err, sizeof(err));
	CHECK(s != NULL);                    /* fits unescaped */
	CHECK(s && strlen(s) < WISP_CMDLINE_MAX);
	free(s);
	memset(arg, ' ', big);               /* every space doubles when escaped */
	s = cmdline_build(&in, err, sizeof(err));
	CHECK(s == NULL);
	CHECK_CONTAINS(err, "too long");
	free(arg);
}

static void test_exact_limit(void)
{
	/* "prog=/p -- " is 11 bytes; an argument filling the rest to MAX-1 fits. */
	size_t fill = WISP_CMDLINE_MAX - 1 - strlen("prog=/p -- ");
	char *arg = malloc(fill + 2);
	char *argv[] = { arg };
	struct cmdline_in in = { NULL, 0, false, "/p", argv, 1, NULL, 0 };
	char err[256];
	char *s;

	memset(arg, 'x', fill);
	arg[fill] = '\0';
	s = cmdline_build(&in, err, sizeof(err));
	CHECK(s && strlen(s) == WISP_CMDLINE_MAX - 1);
	free(s);
	arg[fill] = 'x';
	arg[fill + 1] = '\0';
	s = cmdline_build(&in, err, sizeof(err));
	CHECK(s == NULL);
	free(arg);
}

int main(void)
{
	test_basic();
	test_escapes();
	test_random_roundtrip();
	test_escape_fn();
	test_too_long();
	test_exact_limit();
	return check_report();
}
