/* bundle.c: what known interpreters need beyond their ELF dependencies, and generated /etc files. */
#define _GNU_SOURCE
#include "bundle.h"

#include <fnmatch.h>
#include <glob.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BUNDLE_MAX_DIRS 8
#define BUNDLE_MAX_SKIP 12

struct bundle {
	const char *match;    /* fnmatch pattern for the program's real basename */
	const char *prefix;   /* "%V" in dirs is the basename after this prefix */
	const char *dirs[BUNDLE_MAX_DIRS];        /* glob patterns; NULL ends */
	const char *skip[BUNDLE_MAX_SKIP];        /* NULL ends */
};

/* Python: the stdlib with its compiled .pyc (startup reads them), without
 * the test suite, GUI and packaging tools or the static libpython used to
 * embed Python (25 MB). Extension modules (the .so files in lib-dynload) bring their
 * libraries through deps_add_object. Debian's dist-packages is not included:
 * it holds whatever the host installed (pip, setuptools...); --add it.
 * Perl: the module dirs of Debian's @INC. */
static const struct bundle bundles[] = {
	{ "python3.[0-9]*", "python",
	  { "/usr/lib/python%V", "/etc/python%V" },
	  { "test", "idlelib", "tkinter", "turtledemo", "ensurepip", "lib2to3/tests",
	    "config-*/*.a" } },
	{ "perl*", "perl",
	  { "/usr/share/perl/5.*", "/usr/lib/x86_64-linux-gnu/perl*", "/usr/share/perl5",
	    "/etc/perl" },
	  { 0 } },
};

const struct bundle_file bundle_etc[] = {
	{ "/etc/passwd", "root:x:0:0:root:/root:/bin/sh\n"
			 "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n" },
	{ "/etc/group", "root:x:0:\nnogroup:x:65534:\n" },
	{ "/etc/hosts", "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n" },
	{ "/etc/nsswitch.conf", "passwd: files\ngroup: files\nshadow: files\nhosts: files\n"
				"networks: files\nprotocols: files\nservices: files\n" },
};
const size_t bundle_netc = sizeof(bundle_etc) / sizeof(bundle_etc[0]);

/* Replaces each "%V" in pattern with version. */
static void expand(const char *pattern, const char *version, char *out, size_t len)
{
	size_t o = 0;

	for (const char *p = pattern; *p && o + 1 < len; p++) {
		if (p[0] == '%' && p[1] == 'V') {
			o += (size_t)snprintf(out + o, len - o, "%s", version);
			p++;
			if (o >= len)
				o = len - 1;
		} else {
			out[o++] = *p;
		}
	}
	out[o] = '\0';
}

static int add_matches(struct bundle_set *set, const char *pattern)
{
	glob_t g;
	int rc = 0;

	if (glob(pattern, GLOB_ONLYDIR, NULL, &g) != 0)
		return 0;
	for (size_t i = 0; i < g.gl_pathc && rc == 0; i++) {
		char **nv = reallocarray(set->dirs, set->n + 1, sizeof(*nv));

		if (!nv || !(nv[set->n] = strdup(g.gl_pathv[i]))) {
			if (nv)
				set->dirs = nv;
			rc = -1;
			break;
		}
		set->dirs = nv;
		set->n++;
	}
	globfree(&g);
	return rc;
}

int bundle_find(const char *prog, struct bundle_set *set)
{
	const char *base = strrchr(prog, '/');

	memset(set, 0, sizeof(*set));
	base = base ? base + 1 : prog;
	for (size_t i = 0; i < sizeof(bundles) / sizeof(bundles[0]); i++) {
		const struct bundle *b = &bundles[i];
		const char *version = base + strlen(b->prefix);

		if (fnmatch(b->match, base, 0) != 0)
			continue;
		set->skip = b->skip;
		for (size_t k = 0; k < BUNDLE_MAX_DIRS && b->dirs[k]; k++) {
			char pattern[PATH_MAX];

			expand(b->dirs[k], version, pattern, sizeof(pattern));
			if (add_matches(set, pattern) < 0)
				return -1;
		}
		return 0;
	}
	return 0;
}

void bundle_free(struct bundle_set *set)
{
	for (size_t i = 0; i < set->n; i++)
		free(set->dirs[i]);
	free(set->dirs);
	memset(set, 0, sizeof(*set));
}

bool bundle_skip(const struct bundle_set *set, const char *rel)
{
	for (size_t i = 0; set->skip && i < BUNDLE_MAX_SKIP && set->skip[i]; i++)
		if (fnmatch(set->skip[i], rel, FNM_PATHNAME) == 0)
			return true;
	return false;
}
