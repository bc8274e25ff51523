/* locks.c: advisory file locks between processes: flock(2), fcntl(2) POSIX record locks and OFD locks.
 *   locks all   - runs every check, printing "ok NAME" for each
 *   locks NAME  - runs one check (the names below)
 * Works on Linux too, so the expectations are Linux's.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>
#include "check.h"

static char path[64];

static int open_file(int flags)
{
	int fd = open(path, flags | O_CREAT, 0600);

	CHECK(fd >= 0);
	return fd;
}

static void wait_ok(pid_t pid)
{
	int st;

	CHECK(waitpid(pid, &st, 0) == pid);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

static void put(int fd, char c)
{
	CHECK(write(fd, &c, 1) == 1);
}

static char get(int fd)
{
	char c;

	CHECK(read(fd, &c, 1) == 1);
	return c;
}

/* Reads everything left in a pipe whose writers are gone. */
static void expect_all(int fd, const char *want)
{
	char buf[32];
	ssize_t n, len = 0;

	while ((n = read(fd, buf + len, sizeof(buf) - 1 - len)) > 0)
		len += n;
	buf[len] = 0;
	if (strcmp(buf, want) != 0)
		fprintf(stderr, "order %s, want %s\n", buf, want);
	CHECK(strcmp(buf, want) == 0);
}

static int set(int fd, int cmd, short type, short whence, off_t start, off_t len)
{
	struct flock fl = { .l_type = type, .l_whence = whence, .l_start = start, .l_len = len };

	return fcntl(fd, cmd, &fl);
}

/* What F_GETLK says about [start, start+len) from a fresh child process,
 * which owns no locks itself. */
static struct flock probe(short type, off_t start, off_t len)
{
	struct flock fl = { .l_type = type, .l_whence = SEEK_SET, .l_start = start, .l_len = len };
	int p[2];
	pid_t pid;

	CHECK(pipe(p) == 0);
	CHECK((pid = fork()) >= 0);
	if (pid == 0) {
		int fd = open_file(O_RDWR);

		CHECK(fcntl(fd, F_GETLK, &fl) == 0);
		CHECK(write(p[1], &fl, sizeof(fl)) == sizeof(fl));
		_exit(0);
	}
	CHECK(read(p[0], &fl, sizeof(fl)) == sizeof(fl));
	wait_ok(pid);
	close(p[0]);
	close(p[1]);
	return fl;
}

static void expect(struct flock fl, short type, off_t start, off_t len, pid_t pid)
{
	if (fl.l_type != type || (type != F_UNLCK &&
	    (fl.l_start != start || fl.l_len != len || fl.l_pid != pid || fl.l_whence != SEEK_SET)))
		fprintf(stderr, "got type %d start %ld len %ld pid %d\n", fl.l_type,
			(long)fl.l_start, (long)fl.l_len, (int)fl.l_pid);
	CHECK(fl.l_type == type);
	if (type == F_UNLCK)
		return;
	CHECK(fl.l_whence == SEEK_SET && fl.l_start == start && fl.l_len == len && fl.l_pid == pid);
}

static volatile sig_atomic_t hits;

static void on_usr1(int sig)
{
	(void)sig;
	hits++;
}

/* SIGUSR1 gets a handler that doesn't restart system calls. */
static void catch_usr1(void)
{
	struct sigaction sa = { .sa_handler = on_usr1 };

	CHECK(sigaction(SIGUSR1, &sa, NULL) == 0);
}

/* Once the child has said it is about to block (and had time to), a
 * signal interrupts its wait. */
static void interrupt(pid_t pid, int ready)
{
	CHECK(get(ready) == 'b');
	usleep(100000);
	CHECK(kill(pid, SIGUSR1) == 0);
}

/* ---------------------------------------------------------------- flock */

/* Two open files of one process contend like two processes; dups and
 * forked copies share the lock; the last close releases it. */
static void check_flock_owners(void)
{
	int a = open_file(O_RDWR), b = open_file(O_RDONLY), c;
	pid_t pid;

	CHECK(flock(a, LOCK_EX) == 0);
	CHECK(flock(a, LOCK_EX | LOCK_NB) == 0);
	CHECK(flock(b, LOCK_SH | LOCK_NB) == -1 && errno == EWOULDBLOCK);
	CHECK((pid = fork()) >= 0);
	if (pid == 0) {
		CHECK(flock(a, LOCK_EX | LOCK_NB) == 0);  /* same open file */
		CHECK(flock(b, LOCK_EX | LOCK_NB) == -1 && errno == EWOULDBLOCK);
		_exit(0);
	}
	wait_ok(pid);
	CHECK(flock(b, LOCK_SH | LOCK_NB) == -1 && errno == EWOULDBLOCK);
	CHECK((c = dup(a)) >= 0);
	close(a);
	CHECK(flock(b, LOCK_SH | LOCK_NB) == -1 && errno == EWOULDBLOCK);
	close(c);
	CHECK(flock(b, LOCK_EX | LOCK_NB) == 0);
	CHECK(flock(b, LOCK_UN) == 0);
	CHECK(flock(b, LOCK_UN) == 0);
	CHECK(flock(b, LOCK_SH | LOCK_EX) == -1 && errno == EINVAL);
	CHECK(flock(-1, LOCK_SH) == -1 && errno == EBADF);
	close(b);
}

/* Shared locks coexist; converting drops the old lock first (Linux). */
static void check_flock_convert(void)
{
	int a = open_file(O_RDWR), b = open_file(O_RDWR);

	CHECK(flock(a, LOCK_SH) == 0);
	CHECK(flock(b, LOCK_SH | LOCK_NB) == 0);
	CHECK(flock(a, LOCK_EX | LOCK_NB) == -1 && errno == EWOULDBLOCK);
	CHECK(flock(b, LOCK_EX | LOCK_NB) == 0);  /* a's shared lock is gone */
	CHECK(flock(b, LOCK_SH) == 0);            /* downgrade */
	CHECK(flock(a, LOCK_SH | LOCK_NB) == 0);
	close(a);
	close(b);
}

/* A blocked flock gets the lock only after the holder releases it, and a
 * signal interrupts the wait. */
static void check_flock_wait(void)
{
	int a = open_file(O_RDWR), ready[2], order[2];
	pid_t pid;

	CHECK(pipe(ready) == 0 && pipe(order) == 0);
	CHECK(flock(a, LOCK_EX) == 0);
	CHECK((pid = fork()) >= 0);
	if (pid == 0) {
		int b = open_file(O_RDWR);

		catch_usr1();
		put(ready[1], 'b');
		CHECK(flock(b, LOCK_SH) == -1 && errno == EINTR);
		put(ready[1], 'r');
		CHECK(flock(b, LOCK_SH) == 0);
		put(order[1], 'C');
		_exit(0);
	}
	interrupt(pid, ready[0]);
	CHECK(get(ready[0]) == 'r');
	usleep(100000);  /* let the child block */
	put(order[1], 'P');
	CHECK(flock(a, LOCK_UN) == 0);
	close(order[1]);
	wait_ok(pid);
	expect_all(order[0], "PC");
	close(order[0]);
	close(ready[0]);
	close(ready[1]);
	close(a);
}

/* ------------------------------------------------------- POSIX records */

/* Ranges split and merge; F_GETLK reports the lowest conflicting lock. */
static void check_ranges(void)
{
	int fd = open_file(O_RDWR);
	pid_t me = getpid();

	expect(probe(F_WRLCK, 0, 0), F_UNLCK, 0, 0, 0);
	CHECK(set(fd, F_SETLK, F_RDLCK, SEEK_SET, 0, 10) == 0);
	CHECK(set(fd, F_SETLK, F_RDLCK, SEEK_SET, 10, 10) == 0);
	expect(probe(F_WRLCK, 0, 100), F_RDLCK, 0, 20, me);  /* merged */
	expect(probe(F_RDLCK, 0, 100), F_UNLCK, 0, 0, 0);    /* readers share */
	CHECK(set(fd, F_SETLK, F_WRLCK, SEEK_SET, 5, 5) == 0);
	expect(probe(F_WRLCK, 0, 100), F_RDLCK, 0, 5, me);   /* split */
	expect(probe(F_RDLCK, 0, 100), F_WRLCK, 5, 5, me);
	expect(probe(F_WRLCK, 12, 1), F_RDLCK, 10, 10, me);
	expect(probe(F_WRLCK, 20, 0), F_UNLCK, 0, 0, 0);
	CHECK(set(fd, F_SETLK, F_UNLCK, SEEK_SET, 3, 4) == 0);  /* 3..6 */
	expect(probe(F_WRLCK, 3, 4), F_UNLCK, 0, 0, 0);
	expect(probe(F_RDLCK, 0, 100), F_WRLCK, 7, 3, me);
	expect(probe(F_WRLCK, 0, 100), F_RDLCK, 0, 3, me);
	CHECK(set(fd, F_SETLK, F_WRLCK, SEEK_SET, 0, 0) == 0);  /* all, to EOF */
	expect(probe(F_RDLCK, 1000, 1), F_WRLCK, 0, 0, me);
	CHECK(set(fd, F_SETLK, F_UNLCK, SEEK_SET, 0, 0) == 0);
	expect(probe(F_WRLCK, 0, 0), F_UNLCK, 0, 0, 0);
	close(fd);
}

/* l_whence, negative lengths, and the errors of bad requests. */
static void check_offsets(void)
{
	int fd = open_file(O_RDWR), ro = open_file(O_RDONLY), wo = open_file(O_WRONLY);
	struct flock fl = { .l_type = F_UNLCK };
	pid_t me = getpid();

	CHECK(ftruncate(fd, 200) == 0);
	CHECK(lseek(fd, 100, SEEK_SET) == 100);
	CHECK(set(fd, F_SETLK, F_WRLCK, SEEK_CUR, -10, 5) == 0);
	expect(probe(F_RDLCK, 0, 0), F_WRLCK, 90, 5, me);
	CHECK(set(fd, F_SETLK, F_UNLCK, SEEK_SET, 0, 0) == 0);
	CHECK(set(fd, F_SETLK, F_WRLCK, SEEK_SET, 50, -10) == 0);
	expect(probe(F_RDLCK, 0, 0), F_WRLCK, 40, 10, me);
	CHECK(set(fd, F_SETLK, F_UNLCK, SEEK_SET, 0, 0) == 0);
	CHECK(set(fd, F_SETLK, F_WRLCK, SEEK_END, -1, 0) == 0);
	expect(probe(F_RDLCK, 0, 0), F_WRLCK, 199, 0, me);
	CHECK(set(fd, F_SETLK, F_UNLCK, SEEK_SET, 0, 0) == 0);

	CHECK(set(fd, F_SETLK, F_WRLCK, SEEK_SET, -1, 1) == -1 && errno == EINVAL);
	CHECK(set(fd, F_SETLK, F_WRLCK, SEEK_SET, 5, -6) == -1 && errno == EINVAL);
	CHECK(set(fd, F_SETLK, F_WRLCK, 7, 0, 1) == -1 && errno == EINVAL);
	CHECK(set(fd, F_SETLK, 42, SEEK_SET, 0, 1) == -1 && errno == EINVAL);
	CHECK(fcntl(fd, F_GETLK, &fl) == -1 && errno == EINVAL);
	CHECK(set(ro, F_SETLK, F_WRLCK, SEEK_SET, 0, 1) == -1 && errno == EBADF);
	CHECK(set(wo, F_SETLK, F_RDLCK, SEEK_SET, 0, 1) == -1 && errno == EBADF);
	CHECK(set(ro, F_SETLK, F_RDLCK, SEEK_SET, 0, 1) == 0);
	CHECK(set(wo, F_SETLK, F_WRLCK, SEEK_SET, 0, 1) == 0);  /* same owner: replaces */
	expect(probe(F_RDLCK, 0, 0), F_WRLCK, 0, 1, me);
	CHECK(set(ro, F_SETLK, F_UNLCK, SEEK_SET, 0, 0) == 0);  /* any fd will do */
	expect(probe(F_RDLCK, 0, 0), F_UNLCK, 0, 0, 0);
	close(fd);
	close(ro);
	close(wo);
}

/* Closing any fd of the file drops the process's locks (dup2 and exit too);
 * locks are advisory and aren't inherited by fork. */
static void check_posix_release(void)
{
	int fd = open_file(O_RDWR), other, p[2], go[2];
	pid_t me = getpid(), pid;

	CHECK(set(fd, F_SETLK, F_WRLCK, SEEK_SET, 0, 10) == 0);
	CHECK((pid = fork()) >= 0);
	if (pid == 0) {
		CHECK(set(fd, F_SETLK, F_RDLCK, SEEK_SET, 0, 1) == -1 && errno == EAGAIN);
		CHECK(pwrite(fd, "x", 1, 0) == 1);  /* advisory */
		_exit(0);
	}
	wait_ok(pid);
	other = open_file(O_RDONLY);
	close(other);
	expect(probe(F_RDLCK, 0, 0), F_UNLCK, 0, 0, 0);

	CHECK(set(fd, F_SETLK, F_WRLCK, SEEK_SET, 0, 10) == 0);
	other = open_file(O_RDONLY);
	CHECK(dup2(0, other) == other);  /* closes the old other */
	expect(probe(F_RDLCK, 0, 0), F_UNLCK, 0, 0, 0);
	close(other);

	/* A child's locks go when it exits; F_SETLKW waits for that. */
	CHECK(pipe(p) == 0 && pipe(go) == 0);
	CHECK((pid = fork()) >= 0);
	if (pid == 0) {
		CHECK(set(fd, F_SETLK, F_WRLCK, SEEK_SET, 0, 0) == 0);
		put(p[1], 'l');
		CHECK(get(go[0]) == 'g');
		put(p[1], 'C');
		_exit(0);
	}
	CHECK(get(p[0]) == 'l');
	expect(probe(F_WRLCK, 5, 1), F_WRLCK, 0, 0, pid);
	CHECK(set(fd, F_SETLK, F_WRLCK, SEEK_SET, 0, 1) == -1 && errno == EAGAIN);
	put(go[1], 'g');
	CHECK(set(fd, F_SETLKW, F_WRLCK, SEEK_SET, 0, 1) == 0);
	put(p[1], 'P');
	close(p[1]);
	wait_ok(pid);
	expect_all(p[0], "CP");
	expect(probe(F_WRLCK, 0, 0), F_WRLCK, 0, 1, me);
	close(p[0]);
	close(go[0]);
	close(go[1]);
	close(fd);
}

/* F_SETLKW wakes in order, is interrupted by signals, and detects a
 * two-process deadlock. */
static void check_setlkw(void)
{
	int fd = open_file(O_RDWR), ready[2], go[2], order[2];
	pid_t pid;

	CHECK(pipe(ready) == 0 && pipe(go) == 0 && pipe(order) == 0);
	CHECK(set(fd, F_SETLK, F_WRLCK, SEEK_SET, 0, 1) == 0);
	CHECK((pid = fork()) >= 0);
	if (pid == 0) {
		catch_usr1();
		put(ready[1], 'b');
		CHECK(set(fd, F_SETLKW, F_RDLCK, SEEK_SET, 0, 1) == -1 && errno == EINTR);
		CHECK(set(fd, F_SETLK, F_WRLCK, SEEK_SET, 1, 1) == 0);
		put(ready[1], 'r');
		CHECK(set(fd, F_SETLKW, F_RDLCK, SEEK_SET, 0, 1) == 0);
		put(order[1], 'C');
		CHECK(get(go[0]) == 'g');
		_exit(0);  /* drops both locks */
	}
	interrupt(pid, ready[0]);
	CHECK(get(ready[0]) == 'r');
	usleep(100000);  /* let the child block on byte 0 */
	/* The child waits for us; waiting for its byte 1 would deadlock. */
	CHECK(set(fd, F_SETLKW, F_WRLCK, SEEK_SET, 1, 1) == -1 && errno == EDEADLK);
	put(order[1], 'P');
	CHECK(set(fd, F_SETLK, F_RDLCK, SEEK_SET, 0, 1) == 0);  /* downgrade wakes it */
	close(order[1]);
	put(go[1], 'g');
	CHECK(set(fd, F_SETLKW, F_WRLCK, SEEK_SET, 1, 1) == 0);
	wait_ok(pid);
	expect_all(order[0], "PC");
	close(fd);
	close(ready[0]);
	close(ready[1]);
	close(go[0]);
	close(go[1]);
	close(order[0]);
}

/* --------------------------------------------------------------- OFD */

/* OFD locks belong to the open file: they conflict within one process,
 * survive closing other fds, and go with the last close. */
static void check_ofd(void)
{
	int a = open_file(O_RDWR), b = open_file(O_RDWR), c;
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
	pid_t pid;

	CHECK(set(a, F_OFD_SETLK, F_WRLCK, SEEK_SET, 0, 10) == 0);
	CHECK(set(b, F_OFD_SETLK, F_RDLCK, SEEK_SET, 5, 1) == -1 && errno == EAGAIN);
	CHECK(set(b, F_SETLK, F_RDLCK, SEEK_SET, 5, 1) == -1 && errno == EAGAIN);
	CHECK(set(b, F_OFD_SETLK, F_WRLCK, SEEK_SET, 10, 10) == 0);
	CHECK(fcntl(b, F_OFD_GETLK, &fl) == 0);
	expect(fl, F_WRLCK, 0, 10, -1);
	fl.l_pid = 1;
	CHECK(fcntl(b, F_OFD_GETLK, &fl) == -1 && errno == EINVAL);
	CHECK(fcntl(b, F_OFD_SETLK, &fl) == -1 && errno == EINVAL);
	expect(probe(F_RDLCK, 0, 0), F_WRLCK, 0, 10, -1);

	CHECK((pid = fork()) >= 0);
	if (pid == 0) {
		/* Inherited open file, same owner: it may change the lock. */
		CHECK(set(a, F_OFD_SETLK, F_RDLCK, SEEK_SET, 0, 10) == 0);
		_exit(0);
	}
	wait_ok(pid);
	expect(probe(F_WRLCK, 0, 0), F_RDLCK, 0, 10, -1);
	CHECK(set(b, F_OFD_SETLK, F_RDLCK, SEEK_SET, 0, 1) == 0);

	CHECK((c = dup(a)) >= 0);
	close(c);
	c = open_file(O_RDONLY);
	close(c);
	CHECK(set(b, F_OFD_SETLK, F_WRLCK, SEEK_SET, 5, 1) == -1 && errno == EAGAIN);
	close(a);
	CHECK(set(b, F_OFD_SETLKW, F_WRLCK, SEEK_SET, 0, 0) == 0);
	expect(probe(F_RDLCK, 0, 0), F_WRLCK, 0, 0, -1);
	close(b);
	expect(probe(F_RDLCK, 0, 0), F_UNLCK, 0, 0, 0);
}

/* flock and fcntl locks don't see each other (Linux). */
static void check_independent(void)
{
	int a = open_file(O_RDWR), b = open_file(O_RDWR);

	CHECK(flock(a, LOCK_EX) == 0);
	CHECK(set(b, F_OFD_SETLK, F_WRLCK, SEEK_SET, 0, 0) == 0);
	CHECK(flock(b, LOCK_SH | LOCK_NB) == -1 && errno == EWOULDBLOCK);
	close(a);
	close(b);
}

static const struct check checks[] = {
	{ "flock_owners", check_flock_owners },
	{ "flock_convert", check_flock_convert },
	{ "flock_wait", check_flock_wait },
	{ "ranges", check_ranges },
	{ "offsets", check_offsets },
	{ "posix_release", check_posix_release },
	{ "setlkw", check_setlkw },
	{ "ofd", check_ofd },
	{ "independent", check_independent },
};

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "all";

	setvbuf(stdout, NULL, _IONBF, 0);
	snprintf(path, sizeof(path), "/tmp/locks-%d", (int)getpid());
	run_checks(checks, sizeof(checks) / sizeof(checks[0]), mode);
	unlink(path);
	return 0;
}
