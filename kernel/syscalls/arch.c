/* arch.c: x86-64 specific syscalls. */
#include "kernel.h"
#include "arch/x86_64/cpu.h"
#include "mm/uaccess.h"
#include "mm/vm.h"
#include "sched/sched.h"
#include "syscalls/syscall.h"
#include <asm/prctl.h>

static long sys_arch_prctl(int code, unsigned long addr)
{
	struct task *t = current_task();

	switch (code) {
	case ARCH_SET_FS:
		if (addr >= USER_SPACE_END)
			return -EPERM;
		t->fs_base = addr;
		cpu_set_fs_base(addr);
		return 0;
	case ARCH_GET_FS:
		return copy_to_user((void *)addr, &t->fs_base, sizeof(t->fs_base));
	default:
		return -EINVAL;
	}
}

SYSCALL(arch_prctl, sys_arch_prctl, "dx");
