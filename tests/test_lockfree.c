/*
 * tests/test_lockfree.c: append, append_next, replay_after and info take no
 * lock and wait on no condition.
 *
 * The test defines the pthread locking and waiting functions itself, so that
 * every call to them -- from evstore, liburcu or Concurrency Kit, which reach
 * them through the dynamic linker -- comes here first; each counts the call
 * if the calling thread is inside one of those four API calls, then forwards
 * to the real function.  After a warm-up (first use of a thread registers it
 * with liburcu-bp, and the first call_rcu starts liburcu's worker thread;
 * both take liburcu's internal mutexes once), the same two threads append,
 * replay and
 * read info on shared sessions, with eviction (so retired records are handed
 * to call_rcu) and with new sessions being created (so the hash table
 * resizes), and the count must stay zero.
 *
 * What this cannot see: glibc's malloc takes its arena locks with internal
 * futex calls, not through these functions.  Appends allocate; the
 * allocator's own locking is outside evstore (docs/DESIGN.md, "Progress").
 *
 * The same is checked for the caching composer over two memory stores.
 *
 * Not built in sanitizer builds: the sanitizers intercept the same functions.
 */

#include <dlfcn.h>
#include <pthread.h>
#include <semaphore.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include <evstore/evstore.h>

static _Thread_local int in_api;
static atomic_ulong lock_calls;   /* calls made while in_api */
static _Thread_local const char *first_culprit;
static const char *culprit;

static void
note(const char *fn)
{
	if (in_api) {
		/* relaxed: a counter read after the threads are joined */
		atomic_fetch_add_explicit(&lock_calls, 1, memory_order_relaxed);
		if (first_culprit == NULL)
			first_culprit = culprit = fn;
	}
}

#define FORWARD(ret, name, params, args)                                  \
	ret name params                                                   \
	{                                                                 \
		static ret (*real) params;                                \
		if (real == NULL)                                         \
			*(void **)&real = dlsym(RTLD_NEXT, #name);        \
		note(#name);                                              \
		return real args;                                         \
	}

FORWARD(int, pthread_mutex_lock, (pthread_mutex_t *m), (m))
FORWARD(int, pthread_mutex_trylock, (pthread_mutex_t *m), (m))
FORWARD(int, pthread_rwlock_rdlock, (pthread_rwlock_t *l), (l))
FORWARD(int, pthread_rwlock_wrlock, (pthread_rwlock_t *l), (l))
FORWARD(int, pthread_rwlock_tryrdlock, (pthread_rwlock_t *l), (l))
FORWARD(int, pthread_rwlock_trywrlock, (pthread_rwlock_t *l), (l))
FORWARD(int, pthread_spin_lock, (pthread_spinlock_t *l), (l))
FORWARD(int, pthread_spin_trylock, (pthread_spinlock_t *l), (l))
FORWARD(int, pthread_cond_wait, (pthread_cond_t *c, pthread_mutex_t *m), (c, m))
FORWARD(int, pthread_cond_timedwait,
    (pthread_cond_t *c, pthread_mutex_t *m, const struct timespec *t), (c, m, t))
FORWARD(int, sem_wait, (sem_t *s), (s))
FORWARD(int, pthread_join, (pthread_t t, void **r), (t, r))

static struct evs_store *store;

struct worker {
	int index;
	int warmup;
	int rounds;
};

static int
count_cb(const struct evs_event *ev, void *arg)
{
	(void)ev;
	(*(uint64_t *)arg)++;
	return 0;
}

static void *
work(void *argp)
{
	struct worker *w = argp;
	char name[48];
	uint64_t n = 0;

	for (int i = 0; i < w->warmup + w->rounds; i++) {
		struct evs_log_info li;
		int measure = i >= w->warmup;
		int rc;

		snprintf(name, sizeof(name), "lf-%d", i % 8);
		in_api = measure;
		rc = evs_store_append_next(store, name, &i, sizeof(i), NULL);
		in_api = 0;
		assert_int_equal(rc, 0);
		in_api = measure;
		rc = evs_store_append(store, "lf-explicit", (uint64_t)i * 2 +
		    (uint64_t)w->index + 1000000u, &i, sizeof(i));
		in_api = 0;
		assert_true(rc == 0 || rc == EVS_EORDER);
		in_api = measure;
		rc = evs_store_replay_after(store, name, (uint64_t)(i / 2),
		    count_cb, &n, NULL);
		in_api = 0;
		assert_int_equal(rc, 0);
		in_api = measure;
		rc = evs_store_info(store, name, &li);
		in_api = 0;
		assert_int_equal(rc, 0);
		/* New sessions: exercises creation and table growth. */
		snprintf(name, sizeof(name), "lf-new-%d-%d", w->index, i);
		in_api = measure;
		rc = evs_store_append_next(store, name, "x", 1, NULL);
		in_api = 0;
		assert_int_equal(rc, 0);
	}
	return NULL;
}

static void
run_threads(int warmup, int rounds)
{
	struct worker w[2] = { { 0, warmup, rounds }, { 1, warmup, rounds } };
	pthread_t t[2];

	for (int i = 0; i < 2; i++)
		assert_int_equal(pthread_create(&t[i], NULL, work, &w[i]), 0);
	for (int i = 0; i < 2; i++)
		assert_int_equal(pthread_join(t[i], NULL), 0);
}

/* The interposition works: a lock taken inside the marked region counts. */
static void
test_interposition_sees_locks(void **state)
{
	pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
	unsigned long before = atomic_load(&lock_calls);

	(void)state;
	in_api = 1;
	pthread_mutex_lock(&m);
	pthread_mutex_unlock(&m);
	in_api = 0;
	assert_int_equal(atomic_load(&lock_calls), before + 1);
	atomic_store(&lock_calls, 0);
	first_culprit = NULL;
	culprit = NULL;
}

static void
test_hot_paths_take_no_lock(void **state)
{
	struct evs_memory_opts o = { .max_events_per_session = 16 };

	(void)state;
	assert_int_equal(evs_memory_store_create(&o, &store), 0);
	/* Each thread warms up (registration, liburcu's worker threads), then
	 * measures. */
	run_threads(2000, 30000);
	if (atomic_load(&lock_calls) != 0)
		fail_msg("%lu lock calls inside the API, first: %s",
		    atomic_load(&lock_calls), culprit);
	evs_store_destroy(store);
}

/* The caching composer over two memory stores: hits, misses, warm-ups and
 * appends through both tiers take no lock either. */
static void
test_composer_takes_no_lock(void **state)
{
	struct evs_memory_opts co = { .max_events_per_session = 8,
	    .max_event_bytes = 4096 };
	struct evs_memory_opts bo = { .max_events_per_session = 16 };
	struct evs_store *cache, *backend;

	(void)state;
	assert_int_equal(evs_memory_store_create(&co, &cache), 0);
	assert_int_equal(evs_memory_store_create(&bo, &backend), 0);
	assert_int_equal(evs_caching_store_create(cache, backend, &store), 0);
	atomic_store(&lock_calls, 0);
	run_threads(2000, 20000);
	if (atomic_load(&lock_calls) != 0)
		fail_msg("%lu lock calls inside the API, first: %s",
		    atomic_load(&lock_calls), culprit);
	evs_store_destroy(store);
	evs_store_destroy(cache);
	evs_store_destroy(backend);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_interposition_sees_locks),
		cmocka_unit_test(test_hot_paths_take_no_lock),
		cmocka_unit_test(test_composer_takes_no_lock),
	};

	return cmocka_run_group_tests_name("lockfree", tests, NULL, NULL);
}
