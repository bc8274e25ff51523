/* lock.c: advisory locks: flock(2) per open file, fcntl(2) byte ranges per process or open file. */
#include <linux/fcntl.h>
#include <linux/fs.h>
#include "fs/lock.h"
#include "fs/vfs.h"
#include "mm/kmalloc.h"
#include "sched/sched.h"

#define OFFSET_MAX INT64_MAX  /* the end of a lock that runs to EOF and beyond */
#define LOCKS_MAX 16384       /* locks in the whole VM, then -ENOLCK: bounded memory */
#define CTX_BUCKETS 64
#define DEADLOCK_DEPTH 32     /* owners followed along a chain of waiters */

/* One lock; flock locks span [0, OFFSET_MAX]. An owner's fcntl locks on an
 * inode never overlap, and those of one type never touch (they merge). */
struct lock {
	struct lock *next;
	const void *owner;  /* POSIX: the fd table; OFD and flock: the struct file */
	off_t start, end;   /* inclusive */
	int pid;            /* F_GETLK's l_pid: the locking process, -1 for OFD */
	short type;         /* F_RDLCK or F_WRLCK */
};

/* The locks of one inode (or of one open file that has no inode). Kept in
 * a hash here rather than in struct inode: only locked inodes pay for it. */
struct lock_ctx {
	const void *key;
	struct lock *ranges;    /* fcntl locks, POSIX and OFD, unordered */
	struct lock *flocks;
	int sleepers;           /* tasks sleeping on it keep it allocated */
	struct lock_ctx *next;  /* hash chain */
};

/* A task blocked in POSIX F_SETLKW, for deadlock detection; on its stack. */
struct lock_waiter {
	const void *owner;
	const void *blocker;    /* the owner it waits for; NULL once woken */
	const struct lock_ctx *ctx;
	struct lock_waiter *next;
};

static struct lock_ctx *ctx_hash[CTX_BUCKETS];
static struct lock_waiter *waiters;
static int nlocks;

/* ------------------------------------------------------------ contexts */

static const void *key_of(const struct file *f)
{
	return f->inode ? (const void *)f->inode : (const void *)f;
}

static struct lock_ctx **bucket(const void *key)
{
	uintptr_t k = (uintptr_t)key;

	return &ctx_hash[((k >> 4) ^ (k >> 12)) % CTX_BUCKETS];
}

static struct lock_ctx *ctx_find(const void *key)
{
	struct lock_ctx *c = *bucket(key);

	while (c && c->key != key)
		c = c->next;
	return c;
}

static struct lock_ctx *ctx_get(const void *key)
{
	struct lock_ctx *c = ctx_find(key), **b = bucket(key);

	if (c || !(c = kzalloc(sizeof(*c))))
		return c;
	c->key = key;
	c->next = *b;
	*b = c;
	return c;
}

/* Frees c once it holds no locks and no task sleeps on it. */
static void ctx_put(struct lock_ctx *c)
{
	struct lock_ctx **pp = bucket(c->key);

	if (c->ranges || c->flocks || c->sleepers)
		return;
	while (*pp != c)
		pp = &(*pp)->next;
	*pp = c->next;
	kfree(c);
}

/* Something on c was unlocked: every sleeper looks again. */
static void ctx_wake(struct lock_ctx *c)
{
	if (!c->sleepers)
		return;
	/* A woken waiter no longer waits for anyone until it retries, so
	 * deadlock detection must not follow it. */
	for (struct lock_waiter *w = waiters; w; w = w->next)
		if (w->ctx == c)
			w->blocker = NULL;
	sched_wakeup(c);
}

/* --------------------------------------------------------------- locks */

static struct lock *lock_new(const void *owner, short type, int pid)
{
	struct lock *l;

	if (nlocks >= LOCKS_MAX || !(l = kmalloc(sizeof(*l))))
		return NULL;
	nlocks++;
	*l = (struct lock){ .owner = owner, .type = type, .pid = pid, .end = OFFSET_MAX };
	return l;
}

static void lock_free(struct lock *l)
{
	nlocks--;
	kfree(l);
}

static bool overlaps(const struct lock *a, const struct lock *b)
{
	return a->start <= b->end && b->start <= a->end;
}

/* Only different owners conflict, and only if one of them writes. */
static bool conflicts(const struct lock *a, const struct lock *b)
{
	return a->owner != b->owner && overlaps(a, b) &&
	       (a->type == F_WRLCK || b->type == F_WRLCK);
}

/* The lock in list that blocks req with the lowest start, or NULL. */
static struct lock *first_conflict(struct lock *list, const struct lock *req)
{
	struct lock *best = NULL;

	for (; list; list = list->next)
		if (conflicts(list, req) && (!best || list->start < best->start))
			best = list;
	return best;
}

/* Removes owner's locks from *list; returns whether there were any. */
static bool remove_owner(struct lock **list, const void *owner)
{
	struct lock **pp = list, *l;
	bool any = false;

	while ((l = *pp)) {
		if (l->owner != owner) {
			pp = &l->next;
			continue;
		}
		*pp = l->next;
		lock_free(l);
		any = true;
	}
	return any;
}

/* ------------------------------------------------------------- waiting */

static const void *blocked_on(const void *owner)
{
	for (struct lock_waiter *w = waiters; w; w = w->next)
		if (w->owner == owner && w->blocker)
			return w->blocker;
	return NULL;
}

/* Would owner, by waiting for blocker, close a cycle of POSIX waiters? */
static bool would_deadlock(const void *owner, const void *blocker)
{
	for (int i = 0; blocker && i < DEADLOCK_DEPTH; i++) {
		if (blocker == owner)
			return true;
		blocker = blocked_on(blocker);
	}
	return false;
}

/* Sleeps until something on c is unlocked; w, if not NULL, is visible to
 * deadlock detection meanwhile. Returns 0 or -EINTR. */
static long wait_unlock(struct lock_ctx *c, struct lock_waiter *w)
{
	struct lock_waiter **pp = &waiters;
	long err;

	if (w) {
		w->ctx = c;
		w->next = waiters;
		waiters = w;
	}
	c->sleepers++;
	err = sched_sleep(c, 0);
	c->sleepers--;
	while (w && *pp != w)
		pp = &(*pp)->next;
	if (w)
		*pp = w->next;
	return err;
}

/* ---------------------------------------------------------- byte ranges */

/* Would setting req split one of its owner's locks of another type in two? */
static bool needs_split(const struct lock_ctx *c, const struct lock *req)
{
	for (const struct lock *l = c->ranges; l; l = l->next)
		if (l->owner == req->owner && l->type != req->type &&
		    l->start < req->start && l->end > req->end)
			return true;
	return false;
}

/* Absorbs into req the owner's locks of its type that overlap or touch it. */
static void merge_same(struct lock_ctx *c, struct lock *req)
{
	struct lock **pp = &c->ranges, *l;

	while ((l = *pp)) {
		/* start - 1 and end + 1 without overflow: start >= 0. */
		if (l->owner != req->owner || l->type != req->type ||
		    l->start - 1 > req->end || req->start - 1 > l->end) {
			pp = &l->next;
			continue;
		}
		req->start = MIN(req->start, l->start);
		req->end = MAX(req->end, l->end);
		*pp = l->next;
		lock_free(l);
	}
}

/* Cuts req's range out of its owner's locks; *split becomes the upper part
 * of a lock that spans the range on both sides (and is then used up). */
static void cut_range(struct lock_ctx *c, const struct lock *req, struct lock **split)
{
	struct lock **pp = &c->ranges, *l;

	while ((l = *pp)) {
		if (l->owner != req->owner || !overlaps(l, req)) {
			pp = &l->next;
			continue;
		}
		if (l->start >= req->start && l->end <= req->end) {
			*pp = l->next;
			lock_free(l);
			continue;
		}
		if (l->start < req->start && l->end > req->end) {
			if (!*split)
				panic("lock: split without a spare lock");
			**split = *l;
			(*split)->start = req->end + 1;
			l->next = *split;
			*split = NULL;
		}
		if (l->start < req->start)
			l->end = req->start - 1;
		else
			l->start = req->end + 1;
		pp = &l->next;
	}
}

/* Gives req's owner exactly req's type (F_UNLCK: none) on req's range,
 * whatever it held there. Allocates first, so it fails whole or not at all. */
static int ranges_set(struct lock_ctx *c, const struct lock *req)
{
	struct lock *new = NULL, *split = NULL;

	if (req->type != F_UNLCK && !(new = lock_new(req->owner, req->type, req->pid)))
		return -ENOLCK;
	if (needs_split(c, req) && !(split = lock_new(req->owner, F_UNLCK, 0))) {
		if (new)
			lock_free(new);
		return -ENOLCK;
	}
	if (new) {
		new->start = req->start;
		new->end = req->end;
		merge_same(c, new);
	}
	/* Merging only grows new by locks of its own type, so the lock that
	 * needs_split found still spans it. */
	cut_range(c, new ? new : req, &split);
	if (new) {
		new->next = c->ranges;
		c->ranges = new;
	}
	if (split)
		lock_free(split);
	ctx_wake(c);
	return 0;
}

/* F_SETLK(W): waits (if wait) while another owner holds a conflicting lock. */
static int ranges_lock(struct lock_ctx *c, const struct lock *req, bool wait, bool posix)
{
	struct lock_waiter w = { .owner = req->owner };
	struct lock *b;
	long err;

	while (req->type != F_UNLCK && (b = first_conflict(c->ranges, req))) {
		if (!wait)
			return -EAGAIN;
		/* Linux checks only classic locks: OFD owners aren't processes. */
		if (posix && would_deadlock(req->owner, b->owner))
			return -EDEADLK;
		w.blocker = b->owner;
		if ((err = wait_unlock(c, posix ? &w : NULL)))
			return err;
	}
	return ranges_set(c, req);
}

/* l_whence, l_start and l_len as req's inclusive range, as Linux checks them. */
static int flock_range(const struct file *f, const struct flock *fl, struct lock *req)
{
	off_t base, start;

	switch (fl->l_whence) {
	case SEEK_SET: base = 0; break;
	case SEEK_CUR: base = f->pos; break;
	case SEEK_END: base = f->inode ? (off_t)f->inode->size : 0; break;
	default: return -EINVAL;
	}
	if (fl->l_start > OFFSET_MAX - base)
		return -EOVERFLOW;
	start = base + fl->l_start;
	if (start < 0)
		return -EINVAL;
	if (fl->l_len > 0) {
		if (fl->l_len - 1 > OFFSET_MAX - start)
			return -EOVERFLOW;
		req->end = start + fl->l_len - 1;
	} else if (fl->l_len < 0) {
		/* POSIX: a negative length locks the bytes before l_start. */
		if (start + fl->l_len < 0)
			return -EINVAL;
		req->end = start - 1;
		start += fl->l_len;
	} else {
		req->end = OFFSET_MAX;
	}
	req->start = start;
	return 0;
}

static int test_lock(const struct file *f, struct flock *fl, const struct lock *req)
{
	struct lock_ctx *c = ctx_find(key_of(f));
	const struct lock *b;

	if (req->type == F_UNLCK)
		return -EINVAL;
	if (!(b = c ? first_conflict(c->ranges, req) : NULL)) {
		fl->l_type = F_UNLCK;  /* the rest stays as the caller gave it */
		return 0;
	}
	fl->l_type = b->type;
	fl->l_whence = SEEK_SET;
	fl->l_start = b->start;
	fl->l_len = b->end == OFFSET_MAX ? 0 : b->end - b->start + 1;
	fl->l_pid = b->pid;
	return 0;
}

static int set_lock(const struct file *f, const struct lock *req, bool wait, bool posix)
{
	const void *key = key_of(f);
	struct lock_ctx *c = req->type == F_UNLCK ? ctx_find(key) : ctx_get(key);
	int err;

	if (!c)
		return req->type == F_UNLCK ? 0 : -ENOLCK;
	err = ranges_lock(c, req, wait, posix);
	ctx_put(c);
	return err;
}

/* F_SETLK needs the access the lock type claims. */
static bool mode_allows(const struct file *f, short type)
{
	unsigned acc = f->flags & O_ACCMODE;

	return type == F_UNLCK || (type == F_RDLCK ? acc != O_WRONLY : acc != O_RDONLY);
}

int lock_fcntl(struct file *f, int cmd, struct flock *fl,
	       const struct fdtable *owner, int pid)
{
	bool ofd = cmd == F_OFD_GETLK || cmd == F_OFD_SETLK || cmd == F_OFD_SETLKW;
	struct lock req = {
		.owner = ofd ? (const void *)f : (const void *)owner,
		.pid = ofd ? -1 : pid,
		.type = fl->l_type,
	};
	int err;

	if (ofd && fl->l_pid != 0)
		return -EINVAL;
	if (req.type != F_RDLCK && req.type != F_WRLCK && req.type != F_UNLCK)
		return -EINVAL;
	if ((err = flock_range(f, fl, &req)))
		return err;
	if (cmd == F_GETLK || cmd == F_OFD_GETLK)
		return test_lock(f, fl, &req);
	if (!mode_allows(f, req.type))
		return -EBADF;
	return set_lock(f, &req, cmd == F_SETLKW || cmd == F_OFD_SETLKW, !ofd);
}

/* ------------------------------------------------------------- flock(2) */

static struct lock *flock_of(struct lock_ctx *c, const struct file *f)
{
	struct lock *l = c->flocks;

	while (l && l->owner != f)
		l = l->next;
	return l;
}

static int flock_acquire(struct lock_ctx *c, struct file *f, short type, bool wait)
{
	struct lock req = { .owner = f, .type = type, .end = OFFSET_MAX }, *l;
	long err;

	while (first_conflict(c->flocks, &req)) {
		if (!wait)
			return -EWOULDBLOCK;
		if ((err = wait_unlock(c, NULL)))
			return err;
	}
	/* Another thread may have locked through f while this one slept. */
	if ((l = flock_of(c, f))) {
		l->type = type;
		return 0;
	}
	if (!(l = lock_new(f, type, -1)))
		return -ENOLCK;
	l->next = c->flocks;
	c->flocks = l;
	return 0;
}

int lock_flock(struct file *f, int op)
{
	struct lock_ctx *c;
	struct lock *mine;
	short type;
	int err = 0;

	switch (op & ~LOCK_NB) {
	case LOCK_SH: type = F_RDLCK; break;
	case LOCK_EX: type = F_WRLCK; break;
	case LOCK_UN: type = F_UNLCK; break;
	default: return -EINVAL;
	}
	c = type == F_UNLCK ? ctx_find(key_of(f)) : ctx_get(key_of(f));
	if (!c)
		return type == F_UNLCK ? 0 : -ENOLCK;
	mine = flock_of(c, f);
	if (mine && mine->type == type)
		return 0;
	/* A conversion drops the old lock first, as in Linux (and BSD): a
	 * waiting request may get in between. */
	if (mine && remove_owner(&c->flocks, f))
		ctx_wake(c);
	if (type != F_UNLCK)
		err = flock_acquire(c, f, type, !(op & LOCK_NB));
	ctx_put(c);
	return err;
}

/* ------------------------------------------------------------- releases */

void lock_posix_close(struct file *f, const struct fdtable *owner)
{
	struct lock_ctx *c;

	if (!nlocks || !(c = ctx_find(key_of(f))))
		return;
	if (remove_owner(&c->ranges, owner))
		ctx_wake(c);
	ctx_put(c);
}

void lock_file_release(struct file *f)
{
	struct lock_ctx *c;

	if (!nlocks || !(c = ctx_find(key_of(f))))
		return;
	if (remove_owner(&c->flocks, f) | remove_owner(&c->ranges, f))
		ctx_wake(c);
	ctx_put(c);
}
