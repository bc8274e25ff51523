/* hello.c: prints a greeting, its argv and its environment.
 *
 * Arguments and environment entries are printed hex-encoded, one per line,
 * so the tests can check that every byte arrived exactly (spaces, quotes,
 * backslashes, empty strings, non-ASCII). Also used by bench/boot.py.
 */
#include <stdio.h>
#include <string.h>

extern char **environ;

static void hexline(const char *tag, int i, const char *s)
{
	if (i >= 0)
		printf("%s[%d]=", tag, i);
	else
		printf("%s=", tag);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		printf("%02x", *p);
	putchar('\n');
}

int main(int argc, char **argv)
{
	printf("hello from wisp\n");
	printf("argc=%d\n", argc);
	for (int i = 0; i < argc; i++)
		hexline("argv", i, argv[i]);
	if (argv[argc] != NULL)
		printf("argv not NULL-terminated\n");
	for (char **e = environ; *e; e++)
		hexline("env", -1, *e);
	fflush(stdout);
	fprintf(stderr, "hello on stderr\n");
	return 0;
}
