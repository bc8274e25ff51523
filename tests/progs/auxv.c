/* auxv.c: prints the auxiliary vector entries a static program relies on. */
#include <elf.h>
#include <stdio.h>
#include <string.h>
#include <sys/auxv.h>

int main(void)
{
	unsigned long pagesz = getauxval(AT_PAGESZ);
	unsigned long rnd = getauxval(AT_RANDOM);
	unsigned long execfn = getauxval(AT_EXECFN);
	unsigned long phdr = getauxval(AT_PHDR);
	unsigned long phent = getauxval(AT_PHENT);
	unsigned long phnum = getauxval(AT_PHNUM);
	unsigned long entry = getauxval(AT_ENTRY);

	printf("AT_PAGESZ=%lu\n", pagesz);
	printf("AT_RANDOM_nonnull=%d\n", rnd != 0);
	if (rnd) {
		const unsigned char *r = (const unsigned char *)rnd;
		int nonzero = 0;
		printf("AT_RANDOM=");
		for (int i = 0; i < 16; i++) {
			printf("%02x", r[i]);
			nonzero |= r[i];
		}
		printf("\nAT_RANDOM_nonzero=%d\n", nonzero != 0);
	}
	printf("AT_EXECFN=%s\n", execfn ? (const char *)execfn : "(null)");
	printf("AT_PHDR_nonnull=%d\n", phdr != 0);
	printf("AT_PHENT=%lu\n", phent);
	printf("AT_PHNUM_nonzero=%d\n", phnum != 0);
	printf("AT_ENTRY_nonnull=%d\n", entry != 0);
	/* AT_PHDR must point at this program's own program headers. */
	if (phdr && phnum && phent == sizeof(Elf64_Phdr)) {
		const Elf64_Phdr *ph = (const Elf64_Phdr *)phdr;
		int has_load = 0;
		for (unsigned long i = 0; i < phnum; i++)
			has_load |= ph[i].p_type == PT_LOAD;
		printf("AT_PHDR_has_load=%d\n", has_load);
	}
	return 0;
}
