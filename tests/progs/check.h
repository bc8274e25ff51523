/* check.h: tiny assertion helper shared by the test programs.
 * A failed CHECK prints the expression, errno and line to stderr and exits 1.
 */
#ifndef CHECK_H
#define CHECK_H
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(cond) do { \
	if (!(cond)) { \
		int e_ = errno; \
		fprintf(stderr, "CHECK failed at %s:%d: %s (errno %d: %s)\n", \
			__FILE__, __LINE__, #cond, e_, strerror(e_)); \
		exit(1); \
	} \
} while (0)

/* Installs an SA_SIGINFO handler for sig, with extra sa_flags. */
static inline void on_signal(int sig, void (*fn)(int, siginfo_t *, void *), int flags)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = fn;
	sa.sa_flags = SA_SIGINFO | flags;
	sigemptyset(&sa.sa_mask);
	CHECK(sigaction(sig, &sa, NULL) == 0);
}

static inline void set_default(int sig)
{
	CHECK(signal(sig, SIG_DFL) != SIG_ERR);
}

/* A named check: programs run one by name, or all of them. */
struct check {
	const char *name;
	void (*fn)(void);
};

/* Runs the check called mode ("all": every one), printing "ok NAME" after
 * each; an unknown name fails. */
static inline int run_checks(const struct check *checks, size_t n, const char *mode)
{
	int all = strcmp(mode, "all") == 0, found = all;

	for (size_t i = 0; i < n; i++) {
		if (!all && strcmp(mode, checks[i].name) != 0)
			continue;
		checks[i].fn();
		printf("ok %s\n", checks[i].name);
		found = 1;
	}
	CHECK(found);
	return 0;
}

#endif
