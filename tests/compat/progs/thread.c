/* thread.c: threads: pthread_create/join with 8 threads, a mutex-protected
 * counter, condition variables, a barrier, semaphores, thread-local
 * storage, pthread_once, gettid, raw futex WAIT/WAKE, detached threads and
 * pthread_kill. */
#include "compat.h"
#include <signal.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <sys/syscall.h>
#include <unistd.h>

/* From <linux/futex.h>, which musl-gcc cannot see. */
#define FUTEX_WAIT_PRIVATE 128
#define FUTEX_WAKE_PRIVATE 129

#define NTHREADS 8
#define ITERS 20000

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static long counter;
static atomic_long acounter;
static __thread long tls_value = 5;
static pthread_barrier_t barrier;
static atomic_int tids_distinct = 1;
static pid_t tids[NTHREADS];
static int once_runs;
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void once_fn(void)
{
	once_runs++;
}

static void *worker(void *arg)
{
	long id = (long)arg;

	tls_value = id * 100;
	tids[id] = (pid_t)syscall(SYS_gettid);
	pthread_once(&once, once_fn);
	pthread_barrier_wait(&barrier);
	for (int i = 0; i < ITERS; i++) {
		pthread_mutex_lock(&lock);
		counter++;
		pthread_mutex_unlock(&lock);
		atomic_fetch_add(&acounter, 1);
	}
	return (void *)(tls_value + 1);
}

static int turn;

static void *pingpong(void *arg)
{
	(void)arg;
	for (int i = 0; i < 1000; i++) {
		pthread_mutex_lock(&lock);
		while (turn != 1)
			pthread_cond_wait(&cond, &lock);
		turn = 0;
		pthread_cond_signal(&cond);
		pthread_mutex_unlock(&lock);
	}
	return NULL;
}

static atomic_int futex_word;

static long futex(atomic_int *uaddr, int op, int val, const struct timespec *ts)
{
	return syscall(SYS_futex, uaddr, op, val, ts, NULL, 0);
}

static void *futex_waker(void *arg)
{
	(void)arg;
	usleep(20000);
	atomic_store(&futex_word, 1);
	futex(&futex_word, FUTEX_WAKE_PRIVATE, 1, NULL);
	return NULL;
}

static sem_t sem;
static void *sem_poster(void *arg)
{
	(void)arg;
	for (int i = 0; i < 100; i++)
		sem_post(&sem);
	return NULL;
}

static volatile int detached_done;
static void *detached(void *arg)
{
	(void)arg;
	detached_done = 1;
	return NULL;
}

static volatile sig_atomic_t usr1_in_thread;
static void on_usr1(int s)
{
	(void)s;
	usr1_in_thread = 1;
}

static void *sleeper(void *arg)
{
	(void)arg;
	for (int i = 0; i < 5000 && !usr1_in_thread; i++)
		usleep(1000);
	return NULL;
}

int main(void)
{
	pthread_t th[NTHREADS], t;
	void *ret;
	long retsum = 0;
	int ok = 1;

	compat_begin();
	CHECK(pthread_barrier_init(&barrier, NULL, NTHREADS) == 0, "barrier init");
	for (long i = 0; i < NTHREADS; i++)
		ok &= pthread_create(&th[i], NULL, worker, (void *)i) == 0;
	CHECK(ok, "create %d threads", NTHREADS);
	for (int i = 0; i < NTHREADS; i++) {
		ok &= pthread_join(th[i], &ret) == 0;
		retsum += (long)ret;
	}
	CHECK(ok, "join %d threads", NTHREADS);
	printf("mutex counter %ld, atomic counter %ld, joined values sum %ld\n",
	       counter, (long)acounter, retsum);
	CHECK(tls_value == 5, "main thread's TLS untouched");
	CHECK(once_runs == 1, "pthread_once ran once");
	for (int i = 0; i < NTHREADS; i++) {
		if (tids[i] == getpid())
			tids_distinct = 0;
		for (int j = 0; j < i; j++)
			if (tids[i] == tids[j])
				tids_distinct = 0;
	}
	CHECK(tids_distinct, "gettid distinct per thread and != pid");

	CHECK(pthread_create(&t, NULL, pingpong, NULL) == 0, "create ping-pong thread");
	for (int i = 0; i < 1000; i++) {
		pthread_mutex_lock(&lock);
		turn = 1;
		pthread_cond_signal(&cond);
		while (turn != 0)
			pthread_cond_wait(&cond, &lock);
		pthread_mutex_unlock(&lock);
	}
	CHECK(pthread_join(t, NULL) == 0, "1000 condvar round trips");

	{
		struct timespec ts = { 0, 10 * 1000 * 1000 };
		CHECK(futex(&futex_word, FUTEX_WAIT_PRIVATE, 0, &ts) < 0 && errno == ETIMEDOUT,
		      "FUTEX_WAIT times out");
		CHECK(futex(&futex_word, FUTEX_WAIT_PRIVATE, 1, NULL) < 0 && errno == EAGAIN,
		      "FUTEX_WAIT with a stale value: EAGAIN");
		pthread_create(&t, NULL, futex_waker, NULL);
		while (atomic_load(&futex_word) == 0)
			futex(&futex_word, FUTEX_WAIT_PRIVATE, 0, NULL);
		pthread_join(t, NULL);
		CHECK(atomic_load(&futex_word) == 1, "FUTEX_WAKE wakes the waiter");
	}

	{
		int n = 0;
		sem_init(&sem, 0, 0);
		pthread_create(&t, NULL, sem_poster, NULL);
		for (int i = 0; i < 100; i++)
			n += sem_wait(&sem) == 0;
		pthread_join(t, NULL);
		CHECK(n == 100, "100 sem_wait/sem_post");
	}

	{
		pthread_attr_t a;
		pthread_attr_init(&a);
		pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
		CHECK(pthread_create(&t, &a, detached, NULL) == 0, "detached thread");
		for (int i = 0; i < 5000 && !detached_done; i++)
			usleep(1000);
		CHECK(detached_done, "detached thread ran");
	}

	{
		signal(SIGUSR1, on_usr1);
		pthread_create(&t, NULL, sleeper, NULL);
		CHECK(pthread_kill(t, SIGUSR1) == 0, "pthread_kill");
		pthread_join(t, NULL);
		CHECK(usr1_in_thread, "signal handled");
	}

	{
		pthread_t th2[NTHREADS];
		for (int round = 0; round < 10; round++) {
			for (long i = 0; i < NTHREADS; i++)
				pthread_create(&th2[i], NULL, detached, NULL);
			for (int i = 0; i < NTHREADS; i++)
				pthread_join(th2[i], NULL);
		}
		CHECK(1, "80 short-lived threads");
	}
	return compat_end();
}
