/* futex.c: futex(2): sleeping on a user word until another thread wakes
 * it, which pthread mutexes, condition variables and joins are built on.
 *
 * Waiters are keyed by (address space, user address), except for shared
 * futexes in MAP_SHARED memory, keyed by physical address: processes map
 * those pages at different addresses, and such pages never move (they are
 * not copy-on-write). Other memory is private to one address space or
 * copy-on-write, where a physical key would change under a waiter.
 */
#include <linux/futex.h>
#include <linux/time_types.h>
#include "clock.h"
#include "mm/uaccess.h"
#include "mm/vm.h"
#include "sched/proc.h"
#include "sched/sched.h"
#include "syscalls/futex.h"
#include "syscalls/syscall.h"

#define FUTEX_BUCKETS 64
#define NS_PER_S 1000000000ULL

/* A sleeping task, on its own kernel stack; the task sleeps on the waiter
 * itself, so a wake reaches exactly the tasks it picked. */
struct futex_waiter {
	const void *space;  /* the struct mm, or NULL for a physical address */
	uint64_t uaddr;
	uint32_t bitset;
	bool woken;
	struct futex_waiter *next;
};

static struct futex_waiter *buckets[FUTEX_BUCKETS];

struct futex_key {
	const void *space;
	uint64_t addr;
};

/* shared: the operation lacks FUTEX_PRIVATE_FLAG. */
static struct futex_key key_of(uint64_t uaddr, bool shared)
{
	struct mm *mm = current()->mm;
	uint64_t pa = shared ? vm_shared_phys(mm, uaddr) : 0;

	return pa ? (struct futex_key){ NULL, pa } : (struct futex_key){ mm, uaddr };
}

static struct futex_waiter **bucket(const void *space, uint64_t uaddr)
{
	uint64_t h = ((uint64_t)space ^ uaddr) * 0x9e3779b97f4a7c15ULL;

	return &buckets[h >> 58];  /* the top 6 bits: 64 buckets */
}

/* Appends, so waiters are woken in the order they came. */
static void enqueue(struct futex_waiter *w)
{
	struct futex_waiter **pp = bucket(w->space, w->uaddr);

	while (*pp)
		pp = &(*pp)->next;
	w->next = NULL;
	*pp = w;
}

static void dequeue(struct futex_waiter *w)
{
	struct futex_waiter **pp = bucket(w->space, w->uaddr);

	while (*pp != w)
		pp = &(*pp)->next;
	*pp = w->next;
}

/* Wakes up to n waiters on (mm, uaddr) whose bitset meets bitset, then
 * moves up to nmove of the rest to uaddr2. Returns how many it did both. */
static long wake_and_move(struct futex_key k, int n, uint32_t bitset,
			  struct futex_key k2, int nmove)
{
	struct futex_waiter **pp = bucket(k.space, k.addr), *w;
	long woken = 0, moved = 0;

	while ((w = *pp) && (woken < n || moved < nmove)) {
		if (w->space != k.space || w->uaddr != k.addr || !(w->bitset & bitset)) {
			pp = &w->next;
			continue;
		}
		*pp = w->next;
		if (woken < n) {
			w->woken = true;
			sched_wakeup(w);
			woken++;
		} else {
			w->space = k2.space;
			w->uaddr = k2.addr;
			enqueue(w);
			moved++;
		}
	}
	return woken + moved;
}

/* Thread exit (CLONE_CHILD_CLEARTID): glibc and musl wait on it shared. */
int futex_wake(uint64_t uaddr, int n)
{
	struct futex_key none = { 0 };

	return wake_and_move(key_of(uaddr, true), n, FUTEX_BITSET_MATCH_ANY, none, 0);
}

static long futex_wait(uint64_t uaddr, bool shared, uint32_t val, uint64_t deadline,
		       uint32_t bitset)
{
	struct futex_key k = key_of(uaddr, shared);
	struct futex_waiter w = { .space = k.space, .uaddr = k.addr, .bitset = bitset };
	uint32_t cur;
	long err;

	if (!bitset)
		return -EINVAL;
	if (copy_from_user(&cur, (const void *)uaddr, sizeof(cur)))
		return -EFAULT;
	/* Nothing runs between this check and the sleep: one CPU, and the
	 * kernel is not preempted. */
	if (cur != val)
		return -EAGAIN;
	enqueue(&w);
	do {
		err = sched_sleep(&w, deadline);
		if (w.woken)
			return 0;
	} while (!err);
	dequeue(&w);
	return err;
}

/* The monotonic deadline of a wait: FUTEX_WAIT's timeout is relative, the
 * others' absolute on the monotonic or (FUTEX_CLOCK_REALTIME) wall clock.
 * 0 if there is none. */
static long deadline_of(const struct __kernel_timespec *uts, int cmd, bool realtime,
			uint64_t *deadline)
{
	struct __kernel_timespec ts;
	uint64_t ns, mono = clock_monotonic_ns(), now;

	*deadline = 0;
	if (!uts)
		return 0;
	if (copy_from_user(&ts, uts, sizeof(ts)))
		return -EFAULT;
	if (ts.tv_sec < 0 || ts.tv_nsec < 0 || (uint64_t)ts.tv_nsec >= NS_PER_S)
		return -EINVAL;
	/* Beyond ~146 years is as good as never. */
	ns = (uint64_t)ts.tv_sec >= UINT64_MAX / NS_PER_S / 4 ? UINT64_MAX / 4 :
	     ts.tv_sec * NS_PER_S + ts.tv_nsec;
	if (cmd == FUTEX_WAIT)
		*deadline = mono + ns;
	else if (!realtime)
		*deadline = MAX(ns, 1);
	else
		*deadline = mono + (ns > (now = clock_realtime_ns()) ? ns - now : 0);
	return 0;
}

/* val2 arrives in the timeout argument for the requeue operations. */
static long sys_futex(uint32_t *uaddr, int op, uint32_t val,
		      const struct __kernel_timespec *uts, uint32_t *uaddr2, uint32_t val3)
{
	int cmd = op & FUTEX_CMD_MASK;
	bool realtime = op & FUTEX_CLOCK_REALTIME, shared = !(op & FUTEX_PRIVATE_FLAG);
	struct futex_key none = { 0 };
	int val2 = (int)(uintptr_t)uts;
	uint64_t deadline, addr = (uint64_t)uaddr;
	uint32_t cur;
	long err;

	if (addr & 3)
		return -EINVAL;
	if (realtime && cmd != FUTEX_WAIT && cmd != FUTEX_WAIT_BITSET)
		return -ENOSYS;
	switch (cmd) {
	case FUTEX_WAIT:
		val3 = FUTEX_BITSET_MATCH_ANY;
		/* fall through */
	case FUTEX_WAIT_BITSET:
		err = deadline_of(uts, cmd, realtime, &deadline);
		return err ? err : futex_wait(addr, shared, val, deadline, val3);
	case FUTEX_WAKE:
		val3 = FUTEX_BITSET_MATCH_ANY;
		/* fall through */
	case FUTEX_WAKE_BITSET:
		if (!val3)
			return -EINVAL;
		return wake_and_move(key_of(addr, shared), (int)MIN(val, (uint32_t)INT32_MAX),
				     val3, none, 0);
	case FUTEX_CMP_REQUEUE:
		if (copy_from_user(&cur, uaddr, sizeof(cur)))
			return -EFAULT;
		if (cur != val3)
			return -EAGAIN;
		/* fall through */
	case FUTEX_REQUEUE:
		if ((int)val < 0 || val2 < 0 || ((uint64_t)uaddr2 & 3))
			return -EINVAL;
		return wake_and_move(key_of(addr, shared), val, FUTEX_BITSET_MATCH_ANY,
				     key_of((uint64_t)uaddr2, shared), val2);
	default:
		/* FUTEX_WAKE_OP and the priority-inheritance operations. */
		return -ENOSYS;
	}
}

/* syscall-partial: futex: FUTEX_WAKE_OP and the priority-inheritance operations return ENOSYS */
SYSCALL(futex, sys_futex, "pdupxx");
