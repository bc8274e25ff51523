/* exec.c: ELF loading (ET_EXEC, static-PIE, and dynamic executables through
 * their PT_INTERP loader) and the initial stack: argc, argv, envp and the
 * auxiliary vector, as Linux lays them out. */
#include "kernel.h"
#include "exec.h"
#include "arch/x86_64/trap.h"
#include "arch/x86_64/x86.h"
#include "fs/vfs.h"
#include "lib/string.h"
#include "mm/kmalloc.h"
#include "mm/vm.h"
#include "random.h"
#include "sched/proc.h"
#include "sched/sched.h"
#include "vdso/vdso.h"
#include <linux/auxvec.h>
#include <linux/elf.h>
#include <linux/stat.h>

#define SCRIPT_LINE_MAX 256
#define AUXV_MAX 24  /* auxiliary vector entries, AT_NULL included */

struct image {
	struct inode *in;
	const char *data;   /* the whole file (fdata_flat) */
	uint64_t size;
	const Elf64_Ehdr *eh;
	const Elf64_Phdr *ph;
	uint64_t base;      /* load bias: 0 for ET_EXEC */
	uint64_t phdr_addr; /* where the program headers are mapped */
	uint64_t end;       /* highest mapped address */
	const char *interp; /* PT_INTERP path inside data, or NULL */
};

/* Validates the headers; every later read stays inside im->data. */
static int elf_check(struct image *im)
{
	const Elf64_Ehdr *eh = (const void *)im->data;

	if (im->size < sizeof(*eh) || memcmp(eh->e_ident, ELFMAG, SELFMAG))
		return -ENOEXEC;
	if (eh->e_ident[EI_CLASS] != ELFCLASS64 || eh->e_machine != EM_X86_64 ||
	    (eh->e_type != ET_EXEC && eh->e_type != ET_DYN) ||
	    eh->e_phentsize != sizeof(Elf64_Phdr) ||
	    eh->e_phoff > im->size ||
	    eh->e_phnum > (im->size - eh->e_phoff) / sizeof(Elf64_Phdr))
		return -ENOEXEC;
	im->eh = eh;
	im->ph = (const void *)(im->data + eh->e_phoff);
	for (int i = 0; i < eh->e_phnum; i++) {
		const Elf64_Phdr *ph = &im->ph[i];

		if (ph->p_type != PT_INTERP)
			continue;
		if (ph->p_offset > im->size || ph->p_filesz > im->size - ph->p_offset ||
		    !ph->p_filesz || im->data[ph->p_offset + ph->p_filesz - 1])
			return -ENOEXEC;
		im->interp = im->data + ph->p_offset;
	}
	return 0;
}

/* Bytes from the lowest to the highest PT_LOAD address. */
static uint64_t image_span(const struct image *im)
{
	uint64_t lo = UINT64_MAX, hi = 0;

	for (int i = 0; i < im->eh->e_phnum; i++) {
		const Elf64_Phdr *ph = &im->ph[i];

		if (ph->p_type != PT_LOAD)
			continue;
		lo = MIN(lo, ALIGN_DOWN(ph->p_vaddr, PAGE_SIZE));
		hi = MAX(hi, ph->p_vaddr + ph->p_memsz);
	}
	return hi > lo ? ALIGN_UP(hi - lo, PAGE_SIZE) : 0;
}

static unsigned segment_prot(uint32_t flags)
{
	return (flags & PF_R ? VM_READ : 0) | (flags & PF_W ? VM_WRITE : 0) |
	       (flags & PF_X ? VM_EXEC : 0);
}

static int load_segment(struct mm *mm, struct image *im, const Elf64_Phdr *ph)
{
	uint64_t start = im->base + ph->p_vaddr;
	uint64_t page = ALIGN_DOWN(start, PAGE_SIZE);
	uint64_t end = ALIGN_UP(start + ph->p_memsz, PAGE_SIZE);
	unsigned prot = segment_prot(ph->p_flags);
	int err;

	if (ph->p_filesz > ph->p_memsz || ph->p_offset > im->size ||
	    ph->p_filesz > im->size - ph->p_offset || end > USER_MMAP_TOP || end < start)
		return -ENOEXEC;
	/* A segment may share its first page with the previous one. */
	if (page < im->end) {
		err = vm_protect(mm, page, PAGE_SIZE, prot | VM_READ | VM_WRITE | VM_EXEC);
		if (err)
			return err;
		page += PAGE_SIZE;
	}
	if (end > page && (err = vm_map_fixed(mm, page, end - page, prot)))
		return err;
	if (ph->p_offset == 0)
		im->phdr_addr = start + im->eh->e_phoff;
	im->end = MAX(im->end, end);
	return vm_copy_in(mm, start, im->data + ph->p_offset, ph->p_filesz);
}

static int load_image(struct mm *mm, struct image *im)
{
	for (int i = 0; i < im->eh->e_phnum; i++) {
		const Elf64_Phdr *ph = &im->ph[i];
		int err;

		if (ph->p_type == PT_PHDR)
			im->phdr_addr = im->base + ph->p_vaddr;
		if (ph->p_type != PT_LOAD)
			continue;
		err = load_segment(mm, im, ph);
		if (err)
			return err;
	}
	return im->end ? 0 : -ENOEXEC;
}

static int open_image(const char *path, struct image *im)
{
	struct inode *ino;
	int err = vfs_lookup(path, &ino);

	if (err)
		return err;
	if (!S_ISREG(ino->mode))
		return -EACCES;
	*im = (struct image){ .in = ino, .size = ino->size };
	if (!(im->data = fdata_flat(ino, &err)))
		return err;
	return elf_check(im);
}

static void close_image(struct image *im)
{
	if (im->in)
		fdata_unflat(im->in, im->data);
}

/* Loads the program's own dynamic loader (ld.so) in the mmap area. */
static int load_interp(struct mm *mm, const struct image *main, struct image *in)
{
	int err = open_image(main->interp, in);

	if (err)
		return err == -ENOENT ? -ELIBACC : err;
	if (in->eh->e_type != ET_DYN || in->interp)
		return -ELIBBAD;
	in->base = vm_find_free(mm, image_span(in));
	if (!in->base)
		return -ENOMEM;
	return load_image(mm, in);
}

/* Builds the stack top-down in user memory. */
struct stack_builder {
	struct mm *mm;
	uint64_t sp;
	int err;
};

static uint64_t push_bytes(struct stack_builder *sb, const void *data, size_t len)
{
	sb->sp -= len;
	if (!sb->err)
		sb->err = vm_copy_in(sb->mm, sb->sp, data, len);
	return sb->sp;
}

static uint64_t push_string(struct stack_builder *sb, const char *s)
{
	return push_bytes(sb, s, strlen(s) + 1);
}

/* Copies the strings of v as one block, in order, as Linux lays out argv and
 * envp (/proc/PID/cmdline reads them back); fills ptrs[i] with their
 * addresses and returns the block's start. */
static uint64_t push_strings(struct stack_builder *sb, char *const v[], int n, uint64_t *ptrs)
{
	uint64_t size = 0, at;

	for (int i = 0; i < n; i++)
		size += strlen(v[i]) + 1;
	sb->sp -= size;
	at = sb->sp;
	for (int i = 0; i < n && !sb->err; i++) {
		size_t len = strlen(v[i]) + 1;

		ptrs[i] = at;
		sb->err = vm_copy_in(sb->mm, at, v[i], len);
		at += len;
	}
	return sb->sp;
}

static int count(char *const v[])
{
	int n = 0;

	while (v[n])
		n++;
	return n;
}

static int build_stack(struct mm *mm, struct image *im, uint64_t interp_base, uint64_t vdso,
		       const char *path,
		       char *const argv[], char *const envp[], uint64_t *sp_out)
{
	struct stack_builder sb = { .mm = mm, .sp = USER_STACK_TOP };
	int argc = count(argv), envc = count(envp), nwords = 0;
	uint64_t execfn, platform, rnd, *words, *w;
	uint8_t random[16];
	uint32_t id[4];

	execfn = push_string(&sb, path);
	platform = push_string(&sb, "x86_64");
	random_bytes(random, sizeof(random));
	rnd = push_bytes(&sb, random, sizeof(random));
	words = kmalloc((argc + envc + 3 + 2 * AUXV_MAX) * sizeof(uint64_t));
	if (!words)
		return -ENOMEM;
	w = words;
	*w++ = argc;
	mm->env_end = sb.sp;
	mm->env_start = push_strings(&sb, envp, envc, w + argc + 1);
	mm->arg_end = sb.sp;
	mm->arg_start = push_strings(&sb, argv, argc, w);
	w += argc;
	*w++ = 0;
	w += envc;
	*w++ = 0;
	cpuid(1, 0, id);
#define AUX(type, val) (*w++ = (type), *w++ = (val))
	AUX(AT_PHDR, im->phdr_addr);
	AUX(AT_PHENT, sizeof(Elf64_Phdr));
	AUX(AT_PHNUM, im->eh->e_phnum);
	AUX(AT_PAGESZ, PAGE_SIZE);
	AUX(AT_BASE, interp_base);
	AUX(AT_FLAGS, 0);
	AUX(AT_ENTRY, im->base + im->eh->e_entry);
	AUX(AT_UID, 0);
	AUX(AT_EUID, 0);
	AUX(AT_GID, 0);
	AUX(AT_EGID, 0);
	AUX(AT_SECURE, 0);
	AUX(AT_RANDOM, rnd);
	AUX(AT_HWCAP, id[3]);
	AUX(AT_HWCAP2, 0);
	AUX(AT_CLKTCK, 100);
	AUX(AT_PLATFORM, platform);
	AUX(AT_EXECFN, execfn);
	if (vdso)
		AUX(AT_SYSINFO_EHDR, vdso);
	AUX(AT_NULL, 0);
#undef AUX
	nwords = w - words;
	/* The stack pointer at entry is 16-byte aligned and points at argc. */
	sb.sp = ALIGN_DOWN(sb.sp - nwords * sizeof(uint64_t), 16) + nwords * sizeof(uint64_t);
	*sp_out = push_bytes(&sb, words, nwords * sizeof(uint64_t));
	kfree(words);
	return sb.err;
}

static void init_registers(struct trapframe *tf, uint64_t entry, uint64_t sp)
{
	*tf = (struct trapframe){
		.rip = entry, .cs = USER_CS, .rflags = 0x202, .rsp = sp, .ss = USER_DS,
	};
}

/* Builds the new address space completely before touching the caller's,
 * so a failed exec returns to the old program intact. */
static int load_program(struct mm *mm, const char *path, char *const argv[],
			char *const envp[], uint64_t *entry, uint64_t *sp)
{
	struct image im = { 0 }, interp = { 0 };
	int err = open_image(path, &im);

	if (!err) {
		im.base = im.eh->e_type == ET_DYN ? USER_PIE_BASE : 0;
		err = load_image(mm, &im);
	}
	if (!err) {
		mm->brk_start = mm->brk = im.end;
		if (im.interp)
			err = load_interp(mm, &im, &interp);
	}
	if (!err && !(err = vm_map_fixed(mm, USER_STACK_TOP - USER_STACK_MAX, USER_STACK_MAX,
					 VM_READ | VM_WRITE)))
		err = build_stack(mm, &im, interp.base, vdso_map(mm), path, argv, envp, sp);
	if (!err)
		*entry = im.interp ? interp.base + interp.eh->e_entry : im.base + im.eh->e_entry;
	close_image(&interp);
	close_image(&im);
	return err;
}

/* A "#!interpreter [arg]" script: the argv the interpreter is run with,
 * [interpreter, arg, path, argv[1]...], or NULL if path is not a script.
 * *owned tells how many leading strings were allocated here. */
static char **script_argv(const char *path, char *const argv[], int *owned, int *err)
{
	char line[SCRIPT_LINE_MAX], *p, *interp, *arg = NULL;
	struct inode *ino;
	char **v;
	int n = 0, argc = count(argv);
	size_t len;

	*err = vfs_lookup(path, &ino);
	if (*err || !S_ISREG(ino->mode) || ino->size < 2)
		return NULL;
	len = MIN(ino->size, sizeof(line) - 1);
	if ((*err = fdata_read(ino, 0, line, len)) || memcmp(line, "#!", 2))
		return NULL;
	line[len] = '\0';
	memmove(line, line + 2, len - 1);
	if ((p = strchr(line, '\n')))
		*p = '\0';
	for (interp = line; *interp == ' ' || *interp == '\t'; interp++)
		;
	for (p = interp; *p && *p != ' ' && *p != '\t'; p++)
		;
	if (*p) {
		*p++ = '\0';
		while (*p == ' ' || *p == '\t')
			p++;
		arg = *p ? p : NULL;
	}
	if (!*interp || !(v = kzalloc((argc + 4) * sizeof(char *)))) {
		*err = *interp ? -ENOMEM : -ENOEXEC;
		return NULL;
	}
	v[n++] = kstrdup(interp);
	if (arg)
		v[n++] = kstrdup(arg);
	v[n++] = kstrdup(path);
	*owned = n;
	for (int i = 1; i < argc; i++)
		v[n++] = (char *)argv[i];  /* borrowed from the caller */
	return v;
}

static void free_script_argv(char **v, int owned)
{
	for (int i = 0; i < owned; i++)
		kfree(v[i]);
	kfree(v);
}

/* Linux names a task after the file it executes, cut to 15 characters. */
static void set_comm(struct task *t, const char *path)
{
	const char *base = strrchr(path, '/');

	memset(t->comm, 0, sizeof(t->comm));
	strlcpy(t->comm, base ? base + 1 : path, sizeof(t->comm));
}

int exec_load(struct task *t, const char *path, char *const argv[], char *const envp[])
{
	struct proc *p = t->proc;
	struct mm *mm, *old = p->mm;
	uint64_t entry = 0, sp = 0;
	int err, owned = 0;
	char **sargv = script_argv(path, argv, &owned, &err);
	const char *file = sargv ? sargv[0] : path;
	char *exe;

	if (err)
		return err;
	mm = vm_create();
	exe = kstrdup(file);
	err = mm && exe ? load_program(mm, file, sargv ? sargv : argv, envp, &entry, &sp)
			: -ENOMEM;
	if (sargv)
		free_script_argv(sargv, owned);
	if (err) {
		vm_release(mm);
		kfree(exe);
		return err;
	}
	p->mm = mm;
	if (old) {
		paging_switch(mm->root);
		vm_release(old);
	}
	init_registers(t->tf, entry, sp);
	t->fs_base = 0;
	set_comm(t, file);
	kfree(p->exe_path);
	p->exe_path = exe;
	return 0;
}
