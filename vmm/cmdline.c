/* cmdline.c: escape env/prog/argv into the one-line guest kernel command line. */
#include "cmdline.h"
#include "disk.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <wisp/abi.h>

/* Space and control characters split or end words, '\\' escapes and '"' is
 * special to some boot loaders, so all of them get a backslash. */
static int needs_escape(unsigned char c)
{
	return c < 0x21 || c == '\\' || c == '"';
}

size_t cmdline_escape(char *out, size_t len, size_t cap, const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		size_t need = needs_escape(*p) ? 2 : 1;

		if (len + need + 1 > cap)
			return cap;
		if (need == 2)
			out[len++] = '\\';
		out[len++] = (char)*p;
	}
	out[len] = '\0';
	return len;
}

/* Appends a separator (unless at the start), a literal prefix, then the
 * escaped word. */
static size_t add_word(char *out, size_t len, size_t cap, const char *prefix,
		       const char *word)
{
	size_t plen = strlen(prefix) + (len ? 1 : 0);

	if (len >= cap || len + plen + 1 > cap)
		return cap;
	if (len)
		out[len++] = ' ';
	memcpy(out + len, prefix, strlen(prefix));
	len += strlen(prefix);
	out[len] = '\0';
	return word ? cmdline_escape(out, len, cap, word) : len;
}

/* An empty argument cannot be an empty word: runs of spaces collapse and
 * tools trim trailing ones. It is sent as the word "" (two unescaped double
 * quotes), which no other argument produces because '"' is always escaped. */
static size_t add_arg(char *out, size_t len, size_t cap, const char *arg)
{
	return *arg ? add_word(out, len, cap, "", arg) : add_word(out, len, cap, "\"\"", NULL);
}

char *cmdline_build(const struct cmdline_in *in, char *err, size_t errlen)
{
	size_t cap = WISP_CMDLINE_MAX, len = 0;
	char *out = malloc(cap);

	if (!out) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	out[0] = '\0';
	for (size_t i = 0; i < in->nenv; i++)
		len = add_word(out, len, cap, "env=", in->env[i]);
	if (in->trace)
		len = add_word(out, len, cap, "trace=1", NULL);
	for (size_t i = 0; i < in->ndisks; i++) {
		len = add_word(out, len, cap, "disk=", in->disks[i].mount);
		if (in->disks[i].read_only)
			len = cmdline_escape(out, len, cap, ":ro");
	}
	len = add_word(out, len, cap, "prog=", in->prog);
	len = add_word(out, len, cap, "--", NULL);
	for (size_t i = 0; i < in->argc; i++)
		len = add_arg(out, len, cap, in->argv[i]);
	if (len >= cap) {
		snprintf(err, errlen, "the arguments and environment are too long for the "
			 "guest command line (at most %d bytes after escaping)",
			 WISP_CMDLINE_MAX - 1);
		free(out);
		return NULL;
	}
	return out;
}
