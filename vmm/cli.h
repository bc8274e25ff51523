/* cli.h: parse the wisp command line into a struct cli_opts. */
#ifndef WISP_CLI_H
#define WISP_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CLI_MEM_DEFAULT (128ull << 20)
#define CLI_MEM_MAX (3ull << 30)
#define CLI_DISKS_MAX 8

enum cli_cmd { CLI_RUN, CLI_PACK, CLI_BUILD, CLI_HELP, CLI_VERSION };
enum cli_backend { CLI_BACKEND_KVM, CLI_BACKEND_QEMU };

struct cli_add {
	const char *spec;   /* HOST:GUEST as typed, for messages */
	char *host;
	char *guest;        /* normalised absolute path, "/" allowed */
};

struct cli_disk {
	const char *spec;   /* IMAGE:MOUNT[:ro] as typed, for messages */
	char *image;        /* host file or block device */
	char *mount;        /* normalised absolute guest path, never "/" */
	bool read_only;
};

struct cli_opts {
	enum cli_cmd cmd;
	uint64_t mem;
	const char *mem_str;     /* as typed, for messages; NULL if default */
	struct cli_add *adds;
	size_t nadds;
	struct cli_disk *disks;  /* run --disk, at most CLI_DISKS_MAX */
	size_t ndisks;
	char **env;              /* NAME=VALUE, defaults first, later -e wins */
	size_t nenv;
	const char **env_flags;  /* the -e values as typed, in order (for --image) */
	size_t nenv_flags;
	bool trace;
	bool no_cache;           /* run --no-cache: pack afresh, leave the cache alone */
	enum cli_backend backend;
	const char *kernel;      /* NULL: next to the wisp executable */
	const char *output;      /* pack/build -o */
	const char *image;       /* run --image FILE, or NULL */
	const char *program;     /* as typed; also argv[0]; NULL with --image */
	char **argv;             /* program + args, points into the caller's argv;
				  * with --image only the args (argc may be 0) */
	int argc;
};

/* Parses argv. Returns 0 on success; 2 on a usage error (unknown option,
 * missing PROGRAM), 1 on a bad option value; then writes a
 * message (without the "wisp: " prefix) to err. */
int cli_parse(int argc, char **argv, struct cli_opts *o, char *err, size_t errlen);
/* Frees what cli_parse allocated; call it whatever cli_parse returned. */
void cli_free(struct cli_opts *o);

/* "64M", "1G", "524288K", "1048576". Returns 0 on success, -1 if malformed. */
int cli_parse_size(const char *s, uint64_t *out);

/* Normalises an absolute guest path ("//a/./b/" -> "/a/b"); NULL if it is
 * relative or has a ".." component. Caller frees. */
char *cli_guest_path(const char *p);

const char *cli_usage(void);

#endif
