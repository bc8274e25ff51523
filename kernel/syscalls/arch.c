/* arch.c: x86-64 specific syscalls. */
#include "kernel.h"
#include "arch/x86_64/cpu.h"
#include "mm/uaccess.h"
#include "mm/vm.h"
#include "sched/proc.h"
#include "syscalls/syscall.h"
#include <asm/prctl.h>

static long sys_arch_prctl(int code, unsigned long addr)
{
	struct proc *p = current();

	switch (code) {
	case ARCH_SET_FS:
		if (addr >= USER_SPACE_END)
			return -EPERM;
		p->fs_base = addr;
		cpu_set_fs_base(addr);
		return 0;
	case ARCH_GET_FS:
		return copy_to_user((void *)addr, &p->fs_base, sizeof(p->fs_base));
	default:
		return -EINVAL;
	}
}

SYSCALL(arch_prctl, sys_arch_prctl, "dx");
