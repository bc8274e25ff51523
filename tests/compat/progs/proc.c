/* proc.c: /proc and /dev: /proc/self/exe, cmdline, status, stat, maps,
 * fd/, /proc/PID for self, /proc/cpuinfo, meminfo, uptime, loadavg,
 * /proc/sys/kernel/{ostype,pid_max}, and /dev/null, /dev/zero, /dev/urandom. Prints only
 * facts that hold on any Linux machine. */
#include "compat.h"
#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

static char filebuf[1 << 16];

static const char *slurp(const char *path)
{
	int fd = open(path, O_RDONLY);
	size_t n = 0;
	ssize_t r;

	if (fd < 0)
		return NULL;
	while (n < sizeof filebuf - 1 && (r = read(fd, filebuf + n, sizeof filebuf - 1 - n)) > 0)
		n += r;
	filebuf[n] = 0;
	close(fd);
	return filebuf;
}

int main(int argc, char **argv)
{
	char buf[4096], path[64];
	const char *s;
	ssize_t n;

	(void)argc;
	compat_begin();
	memset(buf, 0, sizeof buf);
	n = readlink("/proc/self/exe", buf, sizeof buf - 1);
	CHECK(n > 0 && strcmp(buf, argv[0]) == 0, "/proc/self/exe is argv[0]");

	{
		int fd = open("/proc/self/cmdline", O_RDONLY);
		n = fd >= 0 ? read(fd, buf, sizeof buf) : -1;
		CHECK(n == (ssize_t)strlen(argv[0]) + 1 + 4 && strcmp(buf, argv[0]) == 0 &&
		      strcmp(buf + strlen(argv[0]) + 1, "arg") == 0, "/proc/self/cmdline");
		if (fd >= 0)
			close(fd);
	}

	s = slurp("/proc/self/status");
	CHECK(s && strstr(s, "\nPid:\t") && strncmp(s, "Name:\t", 6) == 0, "/proc/self/status");
	{
		snprintf(path, sizeof path, "Pid:\t%d\n", getpid());
		CHECK(s && strstr(s, path), "status Pid matches getpid");
	}

	s = slurp("/proc/self/stat");
	CHECK(s && atoi(s) == getpid(), "/proc/self/stat pid field");

	s = slurp("/proc/self/maps");
	CHECK(s && strstr(s, argv[0]) && strstr(s, "[stack]"), "/proc/self/maps has exe and [stack]");

	{
		DIR *d = opendir("/proc/self/fd");
		struct dirent *e;
		int has0 = 0, has1 = 0, has2 = 0;
		CHECK(d != NULL, "opendir /proc/self/fd");
		while (d && (e = readdir(d))) {
			has0 |= strcmp(e->d_name, "0") == 0;
			has1 |= strcmp(e->d_name, "1") == 0;
			has2 |= strcmp(e->d_name, "2") == 0;
		}
		if (d)
			closedir(d);
		CHECK(has0 && has1 && has2, "/proc/self/fd lists 0 1 2");
	}
	{
		int fd = open("/proc/self/exe", O_RDONLY);
		snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
		memset(buf, 0, sizeof buf);
		CHECK(fd >= 0 && readlink(path, buf, sizeof buf - 1) > 0 && strcmp(buf, argv[0]) == 0,
		      "/proc/self/fd/N links to the opened file");
		close(fd);
	}
	snprintf(path, sizeof path, "/proc/%d/stat", getpid());
	s = slurp(path);
	CHECK(s && atoi(s) == getpid(), "/proc/PID/stat");

	s = slurp("/proc/cpuinfo");
	CHECK(s && strstr(s, "processor") && strstr(s, "flags"), "/proc/cpuinfo");
	s = slurp("/proc/meminfo");
	CHECK(s && strncmp(s, "MemTotal:", 9) == 0 && strstr(s, "MemAvailable:"), "/proc/meminfo");
	s = slurp("/proc/uptime");
	CHECK(s && strchr(s, '.') && atof(s) >= 0, "/proc/uptime");
	s = slurp("/proc/loadavg");
	CHECK(s != NULL, "/proc/loadavg");
	s = slurp("/proc/sys/kernel/ostype");
	CHECK(s && strcmp(s, "Linux\n") == 0, "/proc/sys/kernel/ostype");
	s = slurp("/proc/sys/kernel/pid_max");
	CHECK(s && atoi(s) > 0, "/proc/sys/kernel/pid_max");
	CHECK(sysconf(_SC_NPROCESSORS_ONLN) >= 1, "sysconf NPROCESSORS_ONLN");

	{
		int fd = open("/dev/null", O_RDWR);
		CHECK(fd >= 0 && write(fd, "x", 1) == 1 && read(fd, buf, 1) == 0, "/dev/null");
		close(fd);
		fd = open("/dev/zero", O_RDONLY);
		memset(buf, 1, 64);
		CHECK(fd >= 0 && read(fd, buf, 64) == 64 && buf[0] == 0 && buf[63] == 0, "/dev/zero");
		close(fd);
		fd = open("/dev/urandom", O_RDONLY);
		CHECK(fd >= 0 && read(fd, buf, 64) == 64, "/dev/urandom");
		close(fd);
	}
	return compat_end();
}
