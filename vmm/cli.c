/* cli.c: parse the wisp command line (run/pack/build/help/version) into cli_opts. */
#include "cli.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum opt_id { OPT_MEM, OPT_ADD, OPT_DISK, OPT_ENV, OPT_TRACE, OPT_BACKEND, OPT_KERNEL,
	      OPT_OUTPUT, OPT_IMAGE, OPT_NO_CACHE, OPT_HELP };

#define RUN (1u << CLI_RUN)
#define PACK (1u << CLI_PACK)
#define BUILD (1u << CLI_BUILD)

struct opt_def {
	enum opt_id id;
	char short_name;   /* 0: none */
	const char *long_name;
	bool has_arg;
	unsigned cmds;     /* the commands that take it */
};

/* build stores files, arguments and environment; how to run (memory,
 * backend, kernel, tracing) is decided by each run of the image. A --disk is
 * a host file attached to one VM, which neither a build image nor pack's
 * initramfs can carry: it is for run only. */
static const struct opt_def opt_defs[] = {
	{ OPT_MEM, 'm', "mem", true, RUN | PACK },
	{ OPT_ADD, 0, "add", true, RUN | PACK | BUILD },
	{ OPT_DISK, 0, "disk", true, RUN },
	{ OPT_ENV, 'e', "env", true, RUN | PACK | BUILD },
	{ OPT_TRACE, 0, "trace-syscalls", false, RUN | PACK },
	{ OPT_BACKEND, 0, "backend", true, RUN | PACK },
	{ OPT_KERNEL, 0, "kernel", true, RUN | PACK },
	{ OPT_OUTPUT, 'o', "output", true, PACK | BUILD },
	{ OPT_IMAGE, 0, "image", true, RUN },
	{ OPT_NO_CACHE, 0, "no-cache", false, RUN },
	{ OPT_HELP, 'h', "help", false, RUN | PACK | BUILD },
};

static const char *const cmd_names[] = { "run", "pack", "build", "help", "version" };

static const char usage_text[] =
"usage: wisp run [options] PROGRAM [ARGS...]\n"
"       wisp run [options] --image FILE [--] [ARGS...]\n"
"       wisp build -o FILE [--add ...] [-e ...] PROGRAM [ARGS...]\n"
"       wisp pack -o FILE [options] PROGRAM [ARGS...]\n"
"       wisp --help | --version\n"
"\n"
"Runs one Linux x86-64 program in its own micro-VM.\n"
"\n"
"  run    boot the wisp kernel with PROGRAM and run it; wisp exits with the\n"
"         program's exit status (128+N if it was killed by signal N)\n"
"  build  write a reusable image of PROGRAM, its libraries, --add files,\n"
"         arguments and -e settings to FILE; boot it with run --image\n"
"  pack   write the initramfs (cpio newc) that run would boot to FILE and\n"
"         print the kernel command line on stdout\n"
"\n"
"options:\n"
"  -m, --mem SIZE        guest memory: 64M, 1G, 524288K or bytes (default 128M,\n"
"                        at most 3G)\n"
"  --add HOST:GUEST      put a host file or directory (recursively) at the\n"
"                        absolute GUEST path in the guest; repeatable\n"
"  --disk IMAGE:MOUNT[:ro]\n"
"                        run: mount the ext2 file system in IMAGE (a file or\n"
"                        block device) at the absolute MOUNT path; guest writes\n"
"                        go to IMAGE, unless :ro makes it read-only; repeatable,\n"
"                        at most 8\n"
"  -e, --env NAME=VALUE  set a guest environment variable; repeatable\n"
"                        (default PATH=/usr/local/bin:/usr/bin:/bin HOME=/)\n"
"  --trace-syscalls      print one line per guest syscall to stderr\n"
"  --backend kvm|qemu    kvm (default) or qemu-system-x86_64 -M microvm (uses\n"
"                        KVM if available, else TCG; $WISP_QEMU overrides the\n"
"                        binary; guest stdin is not forwarded with qemu)\n"
"  --kernel PATH         guest kernel ELF (default: wisp-kernel.elf next to\n"
"                        the wisp executable)\n"
"  -o, --output FILE     pack, build: the file to write\n"
"  --image FILE          run: boot an image from wisp build; ARGS, if any,\n"
"                        replace its arguments, -e adds to its environment\n"
"  --no-cache            run: pack PROGRAM afresh instead of reusing the image\n"
"                        cached in $XDG_CACHE_HOME/wisp (~/.cache/wisp) by an\n"
"                        earlier run, and cache nothing (also WISP_NO_CACHE=1)\n"
"  --                    end of options\n"
"\n"
"PROGRAM without a '/' is searched in PATH. It must be an x86-64 ELF; it\n"
"appears in the guest at its absolute host path. A dynamic program gets its\n"
"loader and libraries at their host paths too.\n"
"\n"
"WISP_VERBOSE=1 makes run say on stderr what the image cache does.\n";

const char *cli_usage(void)
{
	return usage_text;
}

/* Usage errors (unknown option, missing PROGRAM) exit 2. */
static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return 2;
}

/* A known option with a bad value is an ordinary error: exit 1. */
static int bad_value(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return 1;
}

int cli_parse_size(const char *s, uint64_t *out)
{
	uint64_t v = 0, mul = 1;
	const char *p = s;

	if (!s || *s < '0' || *s > '9')
		return -1;
	for (; *p >= '0' && *p <= '9'; p++) {
		if (v > (UINT64_MAX - 9) / 10)
			return -1;
		v = v * 10 + (uint64_t)(*p - '0');
	}
	switch (*p) {
	case 'k': case 'K': mul = 1ull << 10; p++; break;
	case 'm': case 'M': mul = 1ull << 20; p++; break;
	case 'g': case 'G': mul = 1ull << 30; p++; break;
	default: break;
	}
	if (*p != '\0')
		return -1;
	if (v > UINT64_MAX / mul)
		return -1;
	*out = v * mul;
	return 0;
}

char *cli_guest_path(const char *p)
{
	size_t n = strlen(p);
	char *out, *o;

	if (p[0] != '/')
		return NULL;
	out = malloc(n + 2);
	if (!out)
		return NULL;
	o = out;
	while (*p) {
		const char *start, *end;

		while (*p == '/')
			p++;
		start = p;
		while (*p && *p != '/')
			p++;
		end = p;
		if (end == start || (end - start == 1 && start[0] == '.'))
			continue;
		if (end - start == 2 && start[0] == '.' && start[1] == '.') {
			free(out);
			return NULL;
		}
		*o++ = '/';
		memcpy(o, start, (size_t)(end - start));
		o += end - start;
	}
	if (o == out)
		*o++ = '/';
	*o = '\0';
	return out;
}

/* Replaces an existing NAME= entry so that later -e flags win. */
static int env_set(struct cli_opts *o, const char *kv)
{
	size_t name_len = (size_t)(strchr(kv, '=') - kv);
	char *copy = strdup(kv);
	char **grown;

	if (!copy)
		return -1;
	for (size_t i = 0; i < o->nenv; i++) {
		if (strncmp(o->env[i], kv, name_len + 1) == 0) {
			free(o->env[i]);
			o->env[i] = copy;
			return 0;
		}
	}
	grown = realloc(o->env, (o->nenv + 1) * sizeof(*grown));
	if (!grown) {
		free(copy);
		return -1;
	}
	o->env = grown;
	o->env[o->nenv++] = copy;
	return 0;
}

static int env_flag(struct cli_opts *o, const char *kv)
{
	const char **grown = realloc(o->env_flags, (o->nenv_flags + 1) * sizeof(*grown));

	if (!grown)
		return -1;
	o->env_flags = grown;
	o->env_flags[o->nenv_flags++] = kv;
	return 0;
}

static bool env_name_ok(const char *kv)
{
	const char *eq = strchr(kv, '=');

	if (!eq || eq == kv)
		return false;
	for (const char *c = kv; c < eq; c++)
		if ((unsigned char)*c <= ' ')
			return false;
	return true;
}

/* The guest path starts at the last ":/" so host paths may contain ':'. */
static int add_parse(struct cli_opts *o, const char *spec, char *err, size_t errlen)
{
	const char *sep = NULL;
	struct cli_add *grown, *a;

	for (const char *c = spec; (c = strstr(c, ":/")); c++)
		sep = c;
	if (!sep || sep == spec)
		return bad_value(err, errlen, "invalid --add value '%s': expected HOST:GUEST "
			    "with an absolute GUEST path", spec);
	grown = realloc(o->adds, (o->nadds + 1) * sizeof(*grown));
	if (!grown)
		return bad_value(err, errlen, "out of memory");
	o->adds = grown;
	a = &o->adds[o->nadds];
	a->spec = spec;
	a->host = strndup(spec, (size_t)(sep - spec));
	a->guest = cli_guest_path(sep + 1);
	if (!a->host || !a->guest) {
		free(a->host);
		free(a->guest);
		return bad_value(err, errlen, "invalid --add value '%s': the GUEST path must "
			    "be absolute and must not contain '..'", spec);
	}
	o->nadds++;
	return 0;
}

/* Cuts IMAGE:MOUNT[:FLAG] in place at its last colons, so that IMAGE may
 * contain ':' (MOUNT may not). The last field is FLAG if it has no '/' and a
 * second colon comes before it. Returns MOUNT, or NULL if IMAGE or MOUNT is
 * empty; *flag is NULL when there is none. */
static char *disk_split(char *s, const char **flag)
{
	char *sep = strrchr(s, ':');

	*flag = NULL;
	if (sep && !strchr(sep + 1, '/') && memchr(s, ':', (size_t)(sep - s))) {
		*sep = '\0';
		*flag = sep + 1;
		sep = strrchr(s, ':');
	}
	if (!sep || sep == s || sep[1] == '\0')
		return NULL;
	*sep = '\0';
	return sep + 1;
}

/* mount is the normalised MOUNT, NULL if it was not a valid guest path. "/"
 * is refused: the guest's root file system holds the program. */
static int disk_mount_check(const struct cli_opts *o, const char *spec, const char *mount,
			    char *err, size_t errlen)
{
	if (!mount)
		return bad_value(err, errlen, "invalid --disk value '%s': the MOUNT path must "
			    "be absolute and must not contain '..'", spec);
	if (strcmp(mount, "/") == 0)
		return bad_value(err, errlen, "invalid --disk value '%s': MOUNT cannot be /, "
			    "the guest's root file system holds the program", spec);
	for (size_t i = 0; i < o->ndisks; i++)
		if (strcmp(o->disks[i].mount, mount) == 0)
			return bad_value(err, errlen, "invalid --disk value '%s': %s is already "
				    "the MOUNT of --disk '%s'", spec, mount, o->disks[i].spec);
	return 0;
}

/* The array grows first, so that only the strings need freeing on error. */
static int disk_parse(struct cli_opts *o, const char *spec, char *err, size_t errlen)
{
	struct cli_disk *grown;
	const char *flag;
	char *image, *mount;
	int rc;

	if (o->ndisks == CLI_DISKS_MAX)
		return bad_value(err, errlen, "too many --disk options: wisp supports at most %d",
			    CLI_DISKS_MAX);
	grown = realloc(o->disks, (o->ndisks + 1) * sizeof(*grown));
	if (!grown)
		return bad_value(err, errlen, "out of memory");
	o->disks = grown;
	image = strdup(spec);
	if (!image)
		return bad_value(err, errlen, "out of memory");
	mount = disk_split(image, &flag);
	if (!mount || (flag && strcmp(flag, "ro") != 0)) {
		free(image);
		return bad_value(err, errlen, "invalid --disk value '%s': expected IMAGE:MOUNT "
			    "or IMAGE:MOUNT:ro", spec);
	}
	mount = cli_guest_path(mount);
	rc = disk_mount_check(o, spec, mount, err, errlen);
	if (rc) {
		free(image);
		free(mount);
		return rc;
	}
	o->disks[o->ndisks++] = (struct cli_disk){
		.spec = spec, .image = image, .mount = mount, .read_only = flag != NULL,
	};
	return 0;
}

static int apply_opt(struct cli_opts *o, enum opt_id id, const char *val,
		     char *err, size_t errlen)
{
	switch (id) {
	case OPT_MEM:
		if (cli_parse_size(val, &o->mem) < 0)
			return bad_value(err, errlen, "invalid --mem value '%s': expected a "
				    "size like 64M", val);
		if (o->mem > CLI_MEM_MAX)
			return bad_value(err, errlen, "--mem %s is too large: wisp supports at "
				    "most 3G", val);
		o->mem_str = val;
		return 0;
	case OPT_ADD:
		return add_parse(o, val, err, errlen);
	case OPT_DISK:
		return disk_parse(o, val, err, errlen);
	case OPT_ENV:
		if (!env_name_ok(val))
			return bad_value(err, errlen, "invalid --env value '%s': expected "
				    "NAME=VALUE", val);
		if (env_set(o, val) < 0 || env_flag(o, val) < 0)
			return bad_value(err, errlen, "out of memory");
		return 0;
	case OPT_TRACE:
		o->trace = true;
		return 0;
	case OPT_BACKEND:
		if (strcmp(val, "kvm") == 0)
			o->backend = CLI_BACKEND_KVM;
		else if (strcmp(val, "qemu") == 0)
			o->backend = CLI_BACKEND_QEMU;
		else
			return bad_value(err, errlen, "invalid --backend value '%s': expected "
				    "kvm or qemu", val);
		return 0;
	case OPT_KERNEL:
		o->kernel = val;
		return 0;
	case OPT_OUTPUT:
		o->output = val;
		return 0;
	case OPT_IMAGE:
		o->image = val;
		return 0;
	case OPT_NO_CACHE:
		o->no_cache = true;
		return 0;
	case OPT_HELP:
		o->cmd = CLI_HELP;
		return 0;
	}
	return 0;
}

static const struct opt_def *find_long(const char *name, size_t len)
{
	for (size_t i = 0; i < sizeof(opt_defs) / sizeof(opt_defs[0]); i++)
		if (strlen(opt_defs[i].long_name) == len &&
		    strncmp(opt_defs[i].long_name, name, len) == 0)
			return &opt_defs[i];
	return NULL;
}

static const struct opt_def *find_short(char c)
{
	for (size_t i = 0; i < sizeof(opt_defs) / sizeof(opt_defs[0]); i++)
		if (opt_defs[i].short_name == c)
			return &opt_defs[i];
	return NULL;
}

/* Handles argv[*i] (an option); may consume argv[*i + 1] as its value. */
static int parse_one(struct cli_opts *o, int argc, char **argv, int *i,
		     char *err, size_t errlen)
{
	const char *arg = argv[*i];
	const struct opt_def *d;
	const char *val = NULL;

	if (arg[1] == '-') {
		const char *eq = strchr(arg + 2, '=');
		size_t len = eq ? (size_t)(eq - arg - 2) : strlen(arg + 2);

		d = find_long(arg + 2, len);
		if (!d || (eq && !d->has_arg))
			return fail(err, errlen, "unknown option '%.*s' (see wisp --help)",
				    (int)(len + 2), arg);
		if (eq)
			val = eq + 1;
	} else {
		d = find_short(arg[1]);
		if (!d || (!d->has_arg && arg[2]))
			return fail(err, errlen, "unknown option '%s' (see wisp --help)", arg);
		if (arg[2])
			val = arg + 2;
	}
	if (!(d->cmds & (1u << o->cmd)))
		return fail(err, errlen, "option '%s' does not apply to wisp %s (see wisp --help)",
			    arg, cmd_names[o->cmd]);
	if (d->has_arg && !val) {
		if (*i + 1 >= argc)
			return fail(err, errlen, "option '%s' needs a value (see wisp --help)",
				    arg);
		val = argv[++*i];
	}
	return apply_opt(o, d->id, val, err, errlen);
}

static int set_defaults(struct cli_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->mem = CLI_MEM_DEFAULT;
	o->backend = CLI_BACKEND_KVM;
	if (env_set(o, "PATH=/usr/local/bin:/usr/bin:/bin") < 0 || env_set(o, "HOME=/") < 0)
		return -1;
	return 0;
}

static int parse_command(const char *cmd, struct cli_opts *o, char *err, size_t errlen)
{
	if (strcmp(cmd, "run") == 0)
		o->cmd = CLI_RUN;
	else if (strcmp(cmd, "pack") == 0)
		o->cmd = CLI_PACK;
	else if (strcmp(cmd, "build") == 0)
		o->cmd = CLI_BUILD;
	else if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 ||
		 strcmp(cmd, "help") == 0)
		o->cmd = CLI_HELP;
	else if (strcmp(cmd, "--version") == 0 || strcmp(cmd, "version") == 0)
		o->cmd = CLI_VERSION;
	else if (cmd[0] == '-')
		return fail(err, errlen, "unknown option '%s' (see wisp --help)", cmd);
	else
		return fail(err, errlen, "unknown command '%s' (see wisp --help)", cmd);
	return 0;
}

int cli_parse(int argc, char **argv, struct cli_opts *o, char *err, size_t errlen)
{
	int i, rc;

	if (set_defaults(o) < 0)
		return bad_value(err, errlen, "out of memory");
	if (argc < 2)
		return fail(err, errlen, "missing command (see wisp --help)");
	rc = parse_command(argv[1], o, err, errlen);
	if (rc || o->cmd == CLI_HELP || o->cmd == CLI_VERSION)
		return rc;
	for (i = 2; i < argc; i++) {
		const char *a = argv[i];

		if (strcmp(a, "--") == 0) {
			i++;
			break;
		}
		if (a[0] != '-' || a[1] == '\0')
			break;
		rc = parse_one(o, argc, argv, &i, err, errlen);
		if (rc)
			return rc;
		if (o->cmd == CLI_HELP)
			return 0;
	}
	if (o->image) {   /* no PROGRAM: everything left is arguments */
		o->argv = &argv[i];
		o->argc = argc - i;
		return 0;
	}
	if (i >= argc)
		return fail(err, errlen, "missing PROGRAM (see wisp --help)");
	if ((o->cmd == CLI_PACK || o->cmd == CLI_BUILD) && !o->output)
		return fail(err, errlen, "%s needs -o FILE (see wisp --help)", cmd_names[o->cmd]);
	o->program = argv[i];
	o->argv = &argv[i];
	o->argc = argc - i;
	return 0;
}

void cli_free(struct cli_opts *o)
{
	for (size_t i = 0; i < o->nadds; i++) {
		free(o->adds[i].host);
		free(o->adds[i].guest);
	}
	free(o->adds);
	for (size_t i = 0; i < o->ndisks; i++) {
		free(o->disks[i].image);
		free(o->disks[i].mount);
	}
	free(o->disks);
	for (size_t i = 0; i < o->nenv; i++)
		free(o->env[i]);
	free(o->env);
	free(o->env_flags);
	memset(o, 0, sizeof(*o));
}
