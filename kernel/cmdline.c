/* cmdline.c: splits the boot command line into kernel options and argv. */
#include "kernel.h"
#include "cmdline.h"
#include "lib/string.h"
#include "mm/kmalloc.h"

/* Copies the next word of *s into a new string, undoing backslash escapes.
 * An unescaped "" stands for an empty word (quotes in words are escaped). */
static char *next_word(const char **s)
{
	const char *p = *s;
	size_t len = 0;
	char *w;

	while (*p == ' ')
		p++;
	if (!*p)
		return NULL;
	w = kmalloc(strlen(p) + 1);
	if (!w)
		return NULL;
	if (p[0] == '"' && p[1] == '"' && (p[2] == ' ' || !p[2]))
		p += 2;
	while (*p && *p != ' ') {
		if (*p == '\\' && p[1])
			p++;
		w[len++] = *p++;
	}
	w[len] = '\0';
	*s = p;
	return w;
}

static int push(char ***vec, int *n, char *s)
{
	char **v = krealloc(*vec, (*n + 2) * sizeof(char *));

	if (!v)
		return -ENOMEM;
	v[(*n)++] = s;
	v[*n] = NULL;
	*vec = v;
	return 0;
}

static int apply_option(struct boot_args *a, int *envc, char *w)
{
	if (!strncmp(w, "env=", 4))
		return push(&a->envp, envc, w + 4);
	if (!strncmp(w, "prog=", 5))
		a->prog = w + 5;
	else if (!strcmp(w, "trace=1"))
		a->trace = true;
	else if (!strncmp(w, "disk=", 5) && a->ndisks < WISP_DEVICES_MAX)
		a->disks[a->ndisks++] = w + 5;
	/* Unknown options are ignored so a newer VMM can boot an older kernel. */
	return 0;
}

int cmdline_parse(const char *cmdline, struct boot_args *a)
{
	int argc = 0, envc = 0, err = 0;
	bool in_argv = false;
	char *w;

	*a = (struct boot_args){ 0 };
	if (push(&a->argv, &argc, NULL) || push(&a->envp, &envc, NULL))
		return -ENOMEM;
	argc = envc = 0;
	while (!err && (w = next_word(&cmdline))) {
		if (in_argv)
			err = push(&a->argv, &argc, w);
		else if (!strcmp(w, "--"))
			in_argv = true;
		else
			err = apply_option(a, &envc, w);
	}
	if (err)
		return err;
	if (!argc)
		return -EINVAL;
	if (!a->prog)
		a->prog = a->argv[0];
	return 0;
}
