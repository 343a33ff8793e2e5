/*
 * bench/prims.c: raw primitive costs (see prims.h).
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <ck_ring.h>

#include "internal.h"
#include "prims.h"

uint64_t
bench_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

#define RING_SLOTS 1024u

static double
prim_ck_ring_pair(uint64_t iters, size_t payload)
{
	static ck_ring_buffer_t buf[RING_SLOTS];
	ck_ring_t ring;
	uint64_t t0, t1;
	void *out = NULL;

	ck_ring_init(&ring, RING_SLOTS);
	t0 = bench_now_ns();
	for (uint64_t i = 0; i < iters; i++) {
		(void)ck_ring_enqueue_spsc(&ring, buf, (void *)(uintptr_t)(i + 1));
		(void)ck_ring_dequeue_spsc(&ring, buf, &out);
		bench_sink(out);
	}
	t1 = bench_now_ns();
	return (double)(t1 - t0);
}

static double
prim_memcpy(uint64_t iters, size_t payload)
{
	unsigned char *src = malloc(payload), *dst = malloc(payload);
	uint64_t t0, t1;

	if (src == NULL || dst == NULL) {
		free(src);
		free(dst);
		return 0;
	}
	memset(src, 0x5a, payload);
	t0 = bench_now_ns();
	for (uint64_t i = 0; i < iters; i++) {
		memcpy(dst, src, payload);
		bench_sink(dst);
	}
	t1 = bench_now_ns();
	free(src);
	free(dst);
	return (double)(t1 - t0);
}

static double
prim_malloc_copy_free(uint64_t iters, size_t payload)
{
	unsigned char *src = malloc(payload);
	uint64_t t0, t1;

	if (src == NULL)
		return 0;
	memset(src, 0x5a, payload);
	t0 = bench_now_ns();
	for (uint64_t i = 0; i < iters; i++) {
		unsigned char *p = malloc(payload + 32);

		if (p != NULL)
			memcpy(p + 32, src, payload);
		bench_sink(p);
		free(p);
	}
	t1 = bench_now_ns();
	free(src);
	return (double)(t1 - t0);
}

static double
prim_clock_realtime(uint64_t iters, size_t payload)
{
	uint64_t t0, t1;

	t0 = bench_now_ns();
	for (uint64_t i = 0; i < iters; i++) {
		int64_t v = evs__now_ns();

		bench_sink(v);
	}
	t1 = bench_now_ns();
	return (double)(t1 - t0);
}

static double
prim_hash(uint64_t iters, size_t payload)
{
	char key[16] = "sess-0000042";
	uint64_t t0, t1, h = 0;

	t0 = bench_now_ns();
	for (uint64_t i = 0; i < iters; i++) {
		key[11] = (char)('0' + (i & 7));
		h ^= evs__hash(key, 12, 0x1234);
		bench_sink(h);
	}
	t1 = bench_now_ns();
	return (double)(t1 - t0);
}

static double
prim_rwlock_read(uint64_t iters, size_t payload)
{
	pthread_rwlock_t l;
	uint64_t t0, t1;

	pthread_rwlock_init(&l, NULL);
	t0 = bench_now_ns();
	for (uint64_t i = 0; i < iters; i++) {
		pthread_rwlock_rdlock(&l);
		pthread_rwlock_unlock(&l);
	}
	t1 = bench_now_ns();
	pthread_rwlock_destroy(&l);
	return (double)(t1 - t0);
}

static double
prim_mutex(uint64_t iters, size_t payload)
{
	pthread_mutex_t l;
	uint64_t t0, t1;

	pthread_mutex_init(&l, NULL);
	t0 = bench_now_ns();
	for (uint64_t i = 0; i < iters; i++) {
		pthread_mutex_lock(&l);
		pthread_mutex_unlock(&l);
	}
	t1 = bench_now_ns();
	pthread_mutex_destroy(&l);
	return (double)(t1 - t0);
}

static double
prim_faa(uint64_t iters, size_t payload)
{
	static atomic_ulong ctr;
	uint64_t t0, t1;

	t0 = bench_now_ns();
	for (uint64_t i = 0; i < iters; i++) {
		/* Relaxed: measures the locked instruction alone; only this
		 * thread touches the counter, nothing is published. */
		unsigned long v = atomic_fetch_add_explicit(&ctr, 1,
		    memory_order_relaxed);

		bench_sink(v);
	}
	t1 = bench_now_ns();
	return (double)(t1 - t0);
}

/*
 * Records malloc'ed and copied on this thread, freed on another core (the
 * consumer takes them from an SPSC ck_ring and frees them): the pattern of
 * a store whose evicted records are freed by another thread (liburcu's
 * call_rcu worker).  Timed on the producer, per record.
 */
struct xfree_arg {
	ck_ring_t *ring;
	ck_ring_buffer_t *buf;
	size_t len;
};

#define XFREE_STOP ((void *)(uintptr_t)1)
#define XFREE_SPIN_MAX 2000000000ull

static void *
xfree_consumer(void *p)
{
	struct xfree_arg *a = p;
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(1, &set);
	(void)pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
	for (uint64_t spin = 0; spin < XFREE_SPIN_MAX; spin++) {
		void *r;

		/* ck_ring's SPSC protocol orders the record's contents with its
		 * enqueue (its own fences); nothing else is shared. */
		if (!ck_ring_dequeue_spsc(a->ring, a->buf, &r))
			continue;
		if (r == XFREE_STOP)
			break;
		free(r);
	}
	return NULL;
}

static double
prim_xthread_free(uint64_t iters, size_t payload)
{
	static ck_ring_buffer_t buf[RING_SLOTS];
	ck_ring_t ring;
	struct xfree_arg a = { &ring, buf, payload };
	unsigned char src[1024];
	cpu_set_t set, old;
	pthread_t th;
	uint64_t t0, t1;

	memset(src, 0x5a, sizeof(src));
	ck_ring_init(&ring, RING_SLOTS);
	pthread_getaffinity_np(pthread_self(), sizeof(old), &old);
	CPU_ZERO(&set);
	CPU_SET(0, &set);
	(void)pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
	if (pthread_create(&th, NULL, xfree_consumer, &a) != 0)
		return 0;
	t0 = bench_now_ns();
	for (uint64_t i = 0; i < iters; i++) {
		unsigned char *p = malloc(payload + 36);

		if (p != NULL)
			memcpy(p + 36, src, payload < sizeof(src) ? payload
			    : sizeof(src));
		for (uint64_t spin = 0; p != NULL && spin < XFREE_SPIN_MAX;
		     spin++)
			if (ck_ring_enqueue_spsc(&ring, buf, p))
				break;
	}
	t1 = bench_now_ns();
	for (uint64_t spin = 0; spin < XFREE_SPIN_MAX; spin++)
		if (ck_ring_enqueue_spsc(&ring, buf, XFREE_STOP))
			break;
	pthread_join(th, NULL);
	(void)pthread_setaffinity_np(pthread_self(), sizeof(old), &old);
	return (double)(t1 - t0);
}

const struct bench_prim bench_prims[] = {
	{ "ck_ring spsc enq+deq",     prim_ck_ring_pair,     0 },
	{ "memcpy payload",           prim_memcpy,           1 },
	{ "malloc+memcpy+free",       prim_malloc_copy_free, 1 },
	{ "malloc+memcpy, free on cpu 1", prim_xthread_free, 1 },
	{ "clock_gettime REALTIME",   prim_clock_realtime,   0 },
	{ "evs__hash 12 B id",        prim_hash,             0 },
	{ "urcu-bp rd lock+unlock (call)", prim_urcu_bp_read, 0 },
	{ "urcu-bp rd lock+unlock (inline)", prim_urcu_bp_read_inline, 0 },
	{ "urcu-memb rd lock+unlock (call)", prim_urcu_memb_read, 0 },
	{ "rwlock rd lock+unlock",    prim_rwlock_read,      0 },
	{ "mutex lock+unlock",        prim_mutex,            0 },
	{ "atomic fetch-add",         prim_faa,              0 },
};
const size_t bench_nprims = sizeof(bench_prims) / sizeof(bench_prims[0]);
