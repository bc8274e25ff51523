/* uname.c: prints the uname(2) fields, one "field=value" per line. */
#include <sys/utsname.h>
#include "check.h"

int main(void)
{
	struct utsname u;
	CHECK(uname(&u) == 0);
	printf("sysname=%s\nnodename=%s\nrelease=%s\nversion=%s\nmachine=%s\n",
	       u.sysname, u.nodename, u.release, u.version, u.machine);
	return 0;
}
