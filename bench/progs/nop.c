/* nop.c: exits at once; the program forkexec.c executes. */
int main(void)
{
	return 0;
}
