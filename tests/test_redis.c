/*
 * tests/test_redis.c: what the Redis store adds to the contract, against real
 * redis-server processes: two store objects ("instances") over one Redis,
 * concurrent append_next from both, two nodes, a server that stops, pauses
 * and comes back, garbage in a session key, TTL expiry, ids at the ends of
 * the range, binary payloads and batched replays.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include <evstore/caching.h>
#include <evstore/memory.h>
#include <evstore/redis.h>

#include "redis_harness.h"

static struct redis_server srv_a, srv_b;
static unsigned long prefix_counter;

static void
new_prefix(char *buf, size_t n)
{
	snprintf(buf, n, "evs-t:%ld:%lu:", (long)getpid(), ++prefix_counter);
}

/* Counts reports from on_error (any thread). */
struct errlog {
	atomic_int count;
	atomic_int last_err;
	char last_text[256];   /* written by the single test thread only */
};

static void
on_error(int err, const char *node, const char *text, void *arg)
{
	struct errlog *l = arg;

	assert_non_null(node);
	assert_non_null(text);
	/* Relaxed: counters read by the same thread after the call. */
	atomic_fetch_add_explicit(&l->count, 1, memory_order_relaxed);
	atomic_store_explicit(&l->last_err, err, memory_order_relaxed);
	snprintf(l->last_text, sizeof(l->last_text), "%s", text);
}

static struct evs_store *
make_store(const char *const *nodes, size_t n, const char *prefix, size_t cap,
           uint32_t timeout_ms, uint64_t ttl_ms, struct errlog *log)
{
	struct evs_redis_opts o = {
		.nodes = nodes,
		.node_count = n,
		.key_prefix = prefix,
		.max_events_per_session = cap,
		.timeout_ms = timeout_ms != 0 ? timeout_ms : 5000,
		.session_ttl_ms = ttl_ms,
		.on_error = log != NULL ? on_error : NULL,
		.on_error_arg = log,
	};
	struct evs_store *s = NULL;

	assert_int_equal(evs_redis_store_create(&o, &s), 0);
	return s;
}

static struct evs_store *
make_a(const char *prefix, size_t cap)
{
	const char *nodes[1] = { srv_a.node };

	return make_store(nodes, 1, prefix, cap, 0, 0, NULL);
}

struct ids {
	size_t n;
	uint64_t id[256];
	size_t len[256];
	unsigned char first_bytes[256][8];
};

static int
collect(const struct evs_event *ev, void *arg)
{
	struct ids *c = arg;

	assert_true(c->n < 256);
	c->id[c->n] = ev->id;
	c->len[c->n] = ev->len;
	memcpy(c->first_bytes[c->n], ev->data, ev->len < 8 ? ev->len : 8);
	c->n++;
	return 0;
}

static redisReply *
raw(const struct redis_server *srv, const char *fmt, ...)
{
	redisContext *c = redis_server_connect(srv);
	redisReply *r;
	va_list ap;

	assert_non_null(c);
	va_start(ap, fmt);
	r = redisvCommand(c, fmt, ap);
	va_end(ap);
	redisFree(c);
	assert_non_null(r);
	return r;
}

/* ---- two instances ------------------------------------------------------- */

/* A caches 1..10 (through a composer when built), B appends 11..20, and a
 * replay through A after 5 returns 6..20. */
static void
test_cross_instance(void **state)
{
	char prefix[64];
	struct evs_store *a, *b, *ra;
	struct evs_replay_info info;
	struct ids got = { 0 };
#if EVS_TEST_HAVE_CACHING
	struct evs_store *cache;
#endif

	(void)state;
	new_prefix(prefix, sizeof(prefix));
	ra = make_a(prefix, 0);
	b = make_a(prefix, 0);
	a = ra;
#if EVS_TEST_HAVE_CACHING
	assert_int_equal(evs_memory_store_create(NULL, &cache), 0);
	assert_int_equal(evs_caching_store_create(cache, ra, &a), 0);
#endif
	for (uint64_t id = 1; id <= 10; id++)
		assert_int_equal(evs_store_append(a, "x", id, "a", 1), 0);
	got.n = 0;
	assert_int_equal(evs_store_replay_after(a, "x", 0, collect, &got,
	    NULL), 0);
	assert_int_equal(got.n, 10);   /* A has the events (cached) */
	for (uint64_t id = 11; id <= 20; id++)
		assert_int_equal(evs_store_append(b, "x", id, "b", 1), 0);
	got.n = 0;
	assert_int_equal(evs_store_replay_after(a, "x", 5, collect, &got,
	    &info), 0);
	assert_int_equal(got.n, 15);
	for (size_t i = 0; i < got.n; i++)
		assert_int_equal(got.id[i], 6 + i);
	assert_int_equal(info.log.last_id, 20);
	assert_false(info.truncated);
	/* EVS_EORDER across instances; append_next continues B's ids. */
	assert_int_equal(evs_store_append(a, "x", 20, "dup", 3), EVS_EORDER);
	{
		uint64_t id = 0;

		assert_int_equal(evs_store_append_next(a, "x", "n", 1, &id), 0);
		assert_int_equal(id, 21);
	}
#if EVS_TEST_HAVE_CACHING
	evs_store_destroy(a);
	evs_store_destroy(cache);
#endif
	evs_store_destroy(ra);
	evs_store_destroy(b);
}

/* Both instances report the same epoch; a purge through one and a
 * re-create through the other gives a new one. */
static void
test_epoch_shared(void **state)
{
	char prefix[64];
	struct evs_store *a, *b;
	struct evs_log_info ia, ib;

	(void)state;
	new_prefix(prefix, sizeof(prefix));
	a = make_a(prefix, 0);
	b = make_a(prefix, 0);
	assert_int_equal(evs_store_append(a, "e", 1, "x", 1), 0);
	assert_int_equal(evs_store_info(a, "e", &ia), 0);
	assert_int_equal(evs_store_info(b, "e", &ib), 0);
	assert_int_not_equal(ia.epoch, 0);
	assert_int_equal(ia.epoch, ib.epoch);
	assert_int_equal(evs_store_purge_session(b, "e"), 0);
	assert_int_equal(evs_store_info(a, "e", &ia), 0);
	assert_int_equal(ia.epoch, 0);
	assert_int_equal(evs_store_append(a, "e", 1, "y", 1), 0);
	assert_int_equal(evs_store_info(b, "e", &ib), 0);
	assert_int_not_equal(ib.epoch, 0);
	assert_int_not_equal(ib.epoch, ia.epoch);
	evs_store_destroy(a);
	evs_store_destroy(b);
}

#define NEXT_THREADS 2     /* per instance */
#define NEXT_PER_THREAD 300

struct next_arg {
	struct evs_store *s;
	uint64_t ids[NEXT_PER_THREAD];
	int failures;
};

static void *
next_worker(void *p)
{
	struct next_arg *a = p;

	for (int i = 0; i < NEXT_PER_THREAD; i++) {
		if (evs_store_append_next(a->s, "shared", "v", 1, &a->ids[i]) != 0)
			a->failures++;
	}
	return NULL;
}

static int
check_order(const struct evs_event *ev, void *arg)
{
	uint64_t *expect = arg;

	if (ev->id != *expect)
		return 1;
	(*expect)++;
	return 0;
}

/* Concurrent append_next from two instances (two threads each): the ids are
 * exactly 1..N, each once, and a replay returns them in order. */
static void
test_concurrent_append_next(void **state)
{
	enum { T = 2 * NEXT_THREADS, N = T * NEXT_PER_THREAD };
	char prefix[64];
	struct evs_store *s[2];
	struct next_arg args[T];
	pthread_t th[T];
	static unsigned char seen[N + 1];
	uint64_t expect = 1;
	struct evs_replay_info info;

	(void)state;
	new_prefix(prefix, sizeof(prefix));
	s[0] = make_a(prefix, N);
	s[1] = make_a(prefix, N);
	memset(seen, 0, sizeof(seen));
	for (int i = 0; i < T; i++) {
		memset(&args[i], 0, sizeof(args[i]));
		args[i].s = s[i % 2];
		assert_int_equal(pthread_create(&th[i], NULL, next_worker,
		    &args[i]), 0);
	}
	for (int i = 0; i < T; i++)
		assert_int_equal(pthread_join(th[i], NULL), 0);
	for (int i = 0; i < T; i++) {
		assert_int_equal(args[i].failures, 0);
		for (int k = 0; k < NEXT_PER_THREAD; k++) {
			uint64_t id = args[i].ids[k];

			assert_true(id >= 1 && id <= N);
			assert_int_equal(seen[id], 0);
			seen[id] = 1;
			if (k > 0)   /* one thread's ids increase */
				assert_true(id > args[i].ids[k - 1]);
		}
	}
	assert_int_equal(evs_store_replay_after(s[1], "shared", 0, check_order,
	    &expect, &info), 0);
	assert_int_equal(expect, N + 1);
	assert_int_equal(info.delivered, N);
	evs_store_destroy(s[0]);
	evs_store_destroy(s[1]);
}

/* ---- two nodes ----------------------------------------------------------- */

static void
test_two_nodes(void **state)
{
	const char *nodes[2] = { srv_a.node, srv_b.node };
	const char *swapped[2] = { srv_b.node, srv_a.node };
	char prefix[64], sid[32], key[160];
	struct evs_store *s, *t;
	int per_node[2] = { 0, 0 };

	(void)state;
	new_prefix(prefix, sizeof(prefix));
	s = make_store(nodes, 2, prefix, 5, 0, 0, NULL);
	t = make_store(swapped, 2, prefix, 5, 0, 0, NULL);
	for (int i = 0; i < 64; i++) {
		int node, other;
		struct ids got = { 0 };
		struct evs_replay_info info;
		redisReply *r;

		snprintf(sid, sizeof(sid), "sess-%d", i);
		node = evs_redis_store_node_of(s, sid);
		assert_true(node == 0 || node == 1);
		/* The order of the node list does not move a session. */
		assert_int_equal(evs_redis_store_node_of(t, sid), 1 - node);
		per_node[node]++;
		for (uint64_t id = 1; id <= 7; id++)
			assert_int_equal(evs_store_append(s, sid, id, "p", 1), 0);
		assert_int_equal(evs_store_replay_after(t, sid, 1, collect,
		    &got, &info), 0);
		assert_int_equal(got.n, 5);
		assert_int_equal(got.id[0], 3);
		assert_true(info.truncated);   /* 2 was evicted */
		/* The keys are on that node and not on the other. */
		snprintf(key, sizeof(key), "%s{%s}:s", prefix, sid);
		other = 1 - node;
		r = raw(node == 0 ? &srv_a : &srv_b, "EXISTS %s", key);
		assert_int_equal(r->integer, 1);
		freeReplyObject(r);
		r = raw(other == 0 ? &srv_a : &srv_b, "EXISTS %s", key);
		assert_int_equal(r->integer, 0);
		freeReplyObject(r);
	}
	assert_true(per_node[0] > 8 && per_node[1] > 8);
	evs_store_destroy(s);
	evs_store_destroy(t);
}

/* ---- failures ------------------------------------------------------------ */

/* A server that stops, pauses and restarts: EVS_EBACKEND within the timeout,
 * then success again without anything done to the store. */
static void
test_server_failures(void **state)
{
	struct redis_server f;
	const char *nodes[1];
	struct errlog log;
	struct evs_log_info li;
	struct evs_store *s;
	char prefix[64];
	int64_t t0, elapsed;
	int rc;

	(void)state;
	memset(&log, 0, sizeof(log));
	assert_int_equal(redis_server_start(&f, false), 0);
	nodes[0] = f.node;
	new_prefix(prefix, sizeof(prefix));
	s = make_store(nodes, 1, prefix, 0, 300, 0, &log);
	assert_int_equal(evs_store_append(s, "f", 1, "x", 1), 0);

	/* Paused: connections are accepted by the kernel, nothing answers. */
	redis_server_pause(&f);
	t0 = redis_harness_now_ms();
	rc = evs_store_append(s, "f", 2, "x", 1);
	elapsed = redis_harness_now_ms() - t0;
	assert_int_equal(rc, EVS_EBACKEND);
	assert_true(elapsed < 3000);   /* timeout 300 ms; generous bound */
	t0 = redis_harness_now_ms();
	assert_int_equal(evs_store_info(s, "f", &li), EVS_EBACKEND);
	assert_true(redis_harness_now_ms() - t0 < 3000);
	assert_true(atomic_load(&log.count) >= 2);
	assert_int_equal(atomic_load(&log.last_err), EVS_EBACKEND);
	redis_server_resume(&f);

	/* Killed: refused connections. */
	assert_int_equal(evs_store_info(s, "f", &li), 0);
	redis_server_kill(&f);
	t0 = redis_harness_now_ms();
	assert_int_equal(evs_store_append(s, "f", 3, "x", 1), EVS_EBACKEND);
	assert_int_equal(evs_store_append_next(s, "f", "x", 1, NULL),
	    EVS_EBACKEND);
	assert_int_equal(evs_store_purge_session(s, "f"), EVS_EBACKEND);
	assert_true(redis_harness_now_ms() - t0 < 3000);

	/* Back on the same port: the very next call works. */
	assert_int_equal(redis_server_restart(&f), 0);
	assert_int_equal(evs_store_info(s, "f", &li), 0);
	assert_int_equal(li.epoch, 0);   /* persistence is off: data is gone */
	assert_int_equal(evs_store_append(s, "f", 1, "y", 1), 0);

	/* Restart while connections sit in the pool: still no failed call. */
	assert_int_equal(redis_server_restart(&f), 0);
	assert_int_equal(evs_store_append(s, "f", 1, "z", 1), 0);
	evs_store_destroy(s);
	redis_server_stop(&f);
}

/* Garbage in a session's keys: EVS_EDECODE, reported; purge clears it. */
static void
test_garbage(void **state)
{
	char prefix[64];
	struct errlog log;
	struct evs_store *s;
	const char *nodes[1] = { srv_a.node };
	struct evs_log_info li;
	struct ids got = { 0 };
	redisReply *r;

	(void)state;
	memset(&log, 0, sizeof(log));
	new_prefix(prefix, sizeof(prefix));
	s = make_store(nodes, 1, prefix, 0, 0, 0, &log);

	/* A string where the meta hash should be. */
	freeReplyObject(raw(&srv_a, "SET %s{g1}:m junk", prefix));
	assert_int_equal(evs_store_append(s, "g1", 1, "x", 1), EVS_EDECODE);
	assert_int_equal(evs_store_append_next(s, "g1", "x", 1, NULL),
	    EVS_EDECODE);
	assert_int_equal(evs_store_info(s, "g1", &li), EVS_EDECODE);
	assert_int_equal(evs_store_replay_after(s, "g1", 0, collect, &got,
	    NULL), EVS_EDECODE);
	assert_int_equal(got.n, 0);
	assert_true(atomic_load(&log.count) >= 4);
	assert_int_equal(atomic_load(&log.last_err), EVS_EDECODE);
	assert_int_equal(evs_store_purge_session(s, "g1"), 0);
	assert_int_equal(evs_store_append(s, "g1", 1, "x", 1), 0);

	/* Malformed meta fields. */
	assert_int_equal(evs_store_append(s, "g2", 1, "x", 1), 0);
	freeReplyObject(raw(&srv_a, "HSET %s{g2}:m l notanumber", prefix));
	assert_int_equal(evs_store_append(s, "g2", 2, "x", 1), EVS_EDECODE);
	assert_int_equal(evs_store_info(s, "g2", &li), EVS_EDECODE);

	/* An entry id this store never writes, and one missing its fields. */
	assert_int_equal(evs_store_append(s, "g3", 1, "x", 1), 0);
	freeReplyObject(raw(&srv_a, "XADD %s{g3}:s 5-7 d y t 1", prefix));
	freeReplyObject(raw(&srv_a, "HSET %s{g3}:m l 5", prefix));
	got.n = 0;
	assert_int_equal(evs_store_replay_after(s, "g3", 0, collect, &got,
	    NULL), EVS_EDECODE);
	assert_int_equal(evs_store_append(s, "g4", 1, "x", 1), 0);
	freeReplyObject(raw(&srv_a, "XADD %s{g4}:s 2-1 zz y", prefix));
	freeReplyObject(raw(&srv_a, "HSET %s{g4}:m l 2", prefix));
	got.n = 0;
	assert_int_equal(evs_store_replay_after(s, "g4", 0, collect, &got,
	    NULL), EVS_EDECODE);
	assert_int_equal(got.n, 1);   /* event 1 was fine */

	/* A stream with no meta hash. */
	freeReplyObject(raw(&srv_a, "XADD %s{g5}:s 1-1 d y t 1", prefix));
	assert_int_equal(evs_store_info(s, "g5", &li), EVS_EDECODE);
	r = raw(&srv_a, "EXISTS %s{g5}:m", prefix);
	assert_int_equal(r->integer, 0);   /* nothing was written */
	freeReplyObject(r);
	evs_store_destroy(s);
}

/* Every append refreshes the TTL; an idle session vanishes by itself. */
static void
test_ttl_expiry(void **state)
{
	char prefix[64];
	const char *nodes[1] = { srv_a.node };
	struct evs_store *s;
	struct evs_log_info li;
	redisReply *r;
	int64_t deadline;
	bool gone = false;

	(void)state;
	new_prefix(prefix, sizeof(prefix));
	s = make_store(nodes, 1, prefix, 0, 0, 300, NULL);
	assert_int_equal(evs_store_append(s, "t", 1, "x", 1), 0);
	for (int k = 0; k < 2; k++) {
		r = raw(&srv_a, "PTTL %s{t}:%s", prefix, k == 0 ? "s" : "m");
		assert_true(r->integer > 0 && r->integer <= 300);
		freeReplyObject(r);
	}
	assert_int_equal(evs_store_append(s, "t", 2, "x", 1), 0);
	/* Poll the observable condition, bounded in time. */
	deadline = redis_harness_now_ms() + 10000;
	while (redis_harness_now_ms() < deadline) {
		assert_int_equal(evs_store_info(s, "t", &li), 0);
		if (li.epoch == 0) {
			gone = true;
			break;
		}
		assert_int_equal(li.retained, 2);
		redis_harness_nap_ms(20);
	}
	assert_true(gone);
	evs_store_destroy(s);
}

/* ---- ids, payloads, batches ---------------------------------------------- */

static void
test_id_range_ends(void **state)
{
	char prefix[64];
	struct evs_store *s;
	struct ids got = { 0 };
	struct evs_log_info li;

	(void)state;
	new_prefix(prefix, sizeof(prefix));
	s = make_a(prefix, 0);
	assert_int_equal(evs_store_append(s, "z", 0, "0", 1), 0);
	assert_int_equal(evs_store_append(s, "z", 9, "9", 1), 0);
	assert_int_equal(evs_store_append(s, "z", 10, "10", 2), 0);
	assert_int_equal(evs_store_append(s, "z", UINT64_MAX - 1, "m", 1), 0);
	assert_int_equal(evs_store_append(s, "z", UINT64_MAX, "M", 1), 0);
	assert_int_equal(evs_store_append_next(s, "z", "x", 1, NULL), EVS_EORDER);
	assert_int_equal(evs_store_info(s, "z", &li), 0);
	assert_int_equal(li.first_id, 0);
	assert_int_equal(li.last_id, UINT64_MAX);
	assert_int_equal(li.retained, 5);
	assert_int_equal(evs_store_replay_after(s, "z", 0, collect, &got, NULL), 0);
	assert_int_equal(got.n, 4);
	assert_int_equal(got.id[1], 10);
	got.n = 0;
	assert_int_equal(evs_store_replay_after(s, "z", UINT64_MAX - 2, collect,
	    &got, NULL), 0);
	assert_int_equal(got.n, 2);
	got.n = 0;
	assert_int_equal(evs_store_replay_after(s, "z", UINT64_MAX, collect,
	    &got, NULL), 0);
	assert_int_equal(got.n, 0);
	/* append_next across a decimal carry: 99 -> 100, 999 -> 1000. */
	assert_int_equal(evs_store_append(s, "c", 99, "x", 1), 0);
	{
		uint64_t id = 0;

		assert_int_equal(evs_store_append_next(s, "c", "x", 1, &id), 0);
		assert_int_equal(id, 100);
		assert_int_equal(evs_store_append(s, "c", 999, "x", 1), 0);
		assert_int_equal(evs_store_append_next(s, "c", "x", 1, &id), 0);
		assert_int_equal(id, 1000);
		assert_int_equal(evs_store_append(s, "c",
		    UINT64_C(18446744073709551614), "x", 1), 0);
		assert_int_equal(evs_store_append_next(s, "c", "x", 1, &id), 0);
		assert_int_equal(id, UINT64_MAX);
	}
	evs_store_destroy(s);
}

static void
test_binary_and_batches(void **state)
{
	const char *nodes[1] = { srv_a.node };
	struct evs_redis_opts o = {
		.nodes = nodes, .node_count = 1, .max_events_per_session = 50,
		.replay_batch = 7, .timeout_ms = 5000,
	};
	char prefix[64];
	struct evs_store *s;
	struct evs_replay_info info;
	struct ids got = { 0 };
	size_t big = 200000;
	unsigned char *buf = malloc(big);

	(void)state;
	assert_non_null(buf);
	new_prefix(prefix, sizeof(prefix));
	o.key_prefix = prefix;
	assert_int_equal(evs_redis_store_create(&o, &s), 0);
	for (size_t i = 0; i < big; i++)
		buf[i] = (unsigned char)(i * 7 + (i >> 8));
	for (uint64_t id = 1; id <= 100; id++) {
		buf[0] = (unsigned char)id;
		assert_int_equal(evs_store_append(s, "b", id, buf,
		    id == 100 ? big : 1 + id % 5), 0);
	}
	assert_int_equal(evs_store_replay_after(s, "b", 40, collect, &got,
	    &info), 0);
	assert_true(info.truncated);          /* 51..? evicted: kept 51..100 */
	assert_int_equal(got.n, 50);
	for (size_t i = 0; i < got.n; i++) {
		assert_int_equal(got.id[i], 51 + i);
		assert_int_equal(got.first_bytes[i][0], (unsigned char)(51 + i));
	}
	assert_int_equal(got.len[49], big);
	assert_int_equal(info.delivered, 50);
	got.n = 0;
	assert_int_equal(evs_store_replay_after(s, "b", 50, collect, &got,
	    &info), 0);
	assert_false(info.truncated);
	assert_int_equal(got.n, 50);
	free(buf);
	evs_store_destroy(s);
}

/* The server forgot the scripts (SCRIPT FLUSH, or a restart with pooled
 * digests): EVALSHA gets NOSCRIPT and the store falls back to EVAL. */
static void
test_script_flush(void **state)
{
	char prefix[64];
	struct evs_store *s;
	struct ids got = { 0 };
	struct evs_log_info li;
	uint64_t id = 0;

	(void)state;
	new_prefix(prefix, sizeof(prefix));
	s = make_a(prefix, 0);
	assert_int_equal(evs_store_append(s, "f", 1, "x", 1), 0);
	freeReplyObject(raw(&srv_a, "SCRIPT FLUSH"));
	assert_int_equal(evs_store_append_next(s, "f", "y", 1, &id), 0);
	assert_int_equal(id, 2);
	freeReplyObject(raw(&srv_a, "SCRIPT FLUSH"));
	assert_int_equal(evs_store_replay_after(s, "f", 0, collect, &got, NULL), 0);
	assert_int_equal(got.n, 2);
	freeReplyObject(raw(&srv_a, "SCRIPT FLUSH"));
	assert_int_equal(evs_store_info(s, "f", &li), 0);
	assert_int_equal(li.last_id, 2);
	evs_store_destroy(s);
}

static void
test_bad_options(void **state)
{
	struct evs_redis_opts o;
	struct evs_store *s = NULL;
	const char *bad_nodes[][1] = { { "nohost" }, { "h:0" }, { "h:70000" },
	    { "h:12x" }, { "unix:" }, { ":6379" } };
	const char *dup[2] = { "127.0.0.1:1", "127.0.0.1:1" };

	(void)state;
	assert_int_equal(evs_redis_store_create(NULL, NULL), EVS_EINVAL);
	for (size_t i = 0; i < sizeof(bad_nodes) / sizeof(bad_nodes[0]); i++) {
		memset(&o, 0, sizeof(o));
		o.nodes = bad_nodes[i];
		o.node_count = 1;
		assert_int_equal(evs_redis_store_create(&o, &s), EVS_EINVAL);
	}
	memset(&o, 0, sizeof(o));
	o.nodes = dup;
	o.node_count = 2;
	assert_int_equal(evs_redis_store_create(&o, &s), EVS_EINVAL);
	o.node_count = 0;
	assert_int_equal(evs_redis_store_create(&o, &s), EVS_EINVAL);
	memset(&o, 0, sizeof(o));
	o.key_prefix = "a{b";
	assert_int_equal(evs_redis_store_create(&o, &s), EVS_EINVAL);
	memset(&o, 0, sizeof(o));
	o.max_event_bytes = EVS_REDIS_EVENT_BYTES_LIMIT + 1;
	assert_int_equal(evs_redis_store_create(&o, &s), EVS_EINVAL);
	assert_null(s);
	/* Defaults need no server at creation time. */
	assert_int_equal(evs_redis_store_create(NULL, &s), 0);
	assert_string_equal(evs_store_name(s), "redis");
	assert_int_equal(evs_redis_store_node_of(s, "x"), 0);
	evs_store_destroy(s);
	evs_store_destroy(NULL);
}

static int
group_setup(void **state)
{
	(void)state;
	if (redis_server_start(&srv_a, false) != 0 ||
	    redis_server_start(&srv_b, false) != 0)
		return -1;
	return 0;
}

static int
group_teardown(void **state)
{
	(void)state;
	redis_server_stop(&srv_a);
	redis_server_stop(&srv_b);
	return 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cross_instance),
		cmocka_unit_test(test_epoch_shared),
		cmocka_unit_test(test_concurrent_append_next),
		cmocka_unit_test(test_two_nodes),
		cmocka_unit_test(test_server_failures),
		cmocka_unit_test(test_garbage),
		cmocka_unit_test(test_ttl_expiry),
		cmocka_unit_test(test_id_range_ends),
		cmocka_unit_test(test_binary_and_batches),
		cmocka_unit_test(test_script_flush),
		cmocka_unit_test(test_bad_options),
	};

	redis_harness_require("test_redis");
	return cmocka_run_group_tests_name("redis", tests, group_setup,
	    group_teardown);
}
