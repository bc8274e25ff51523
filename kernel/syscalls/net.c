/* net.c: sockets. There is no network stack yet: every address family is
 * unsupported, which C libraries handle quietly (nscd, syslog probes). */
#include "kernel.h"
#include "syscalls/syscall.h"

/* syscall-partial: socket: no address family is supported yet */
static long sys_socket(int domain, int type, int protocol)
{
	(void)domain;
	(void)type;
	(void)protocol;
	return -EAFNOSUPPORT;
}
SYSCALL(socket, sys_socket, "ddd");
