/*
 * tests/test_caching.c: the caching composer's own tests.
 *
 * Ported from the reference module (with their intended meaning): writes
 * reach both tiers; a replay served by the backend warms the cache; purge
 * clears both.  New: a cache smaller than the backend replayed from an old
 * id; two composers with separate caches over one shared backend; a failing
 * cache never causes a short replay; a cache hit reads no payload from the
 * backend (a counting wrapper proves it); stale epochs, sparse ids, a cache
 * too small for a payload, bad arguments and the statistics.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <evstore/caching.h>
#include <evstore/memory.h>

#include "caching_wrap.h"

#define MAXEV 256

struct got {
	size_t n;
	uint64_t id[MAXEV];
	char data[MAXEV][96];
	size_t len[MAXEV];
};

static int
collect(const struct evs_event *ev, void *arg)
{
	struct got *g = arg;

	assert_true(g->n < MAXEV);
	assert_true(ev->len < sizeof(g->data[0]));
	g->id[g->n] = ev->id;
	g->len[g->n] = ev->len;
	if (ev->len > 0)
		memcpy(g->data[g->n], ev->data, ev->len);
	g->data[g->n][ev->len] = '\0';
	g->n++;
	return 0;
}

static struct evs_store *
mem(size_t cap, size_t extra)
{
	struct evs_memory_opts o = {
		.max_events_per_session = cap,
		.max_event_bytes = 64 + extra,
	};
	struct evs_store *s = NULL;

	assert_int_equal(evs_memory_store_create(&o, &s), 0);
	return s;
}

static struct evs_store *
compose(struct evs_store *cache, struct evs_store *backend)
{
	struct evs_store *s = NULL;

	assert_int_equal(evs_caching_store_create(cache, backend, &s), 0);
	return s;
}

static void
app(struct evs_store *s, const char *session, uint64_t id)
{
	char buf[24];
	int n = snprintf(buf, sizeof(buf), "ev-%llu", (unsigned long long)id);

	assert_int_equal(evs_store_append(s, session, id, buf, (size_t)n), 0);
}

static struct got
replay(struct evs_store *s, const char *session, uint64_t after,
       struct evs_replay_info *info)
{
	struct got g;

	memset(&g, 0, sizeof(g));
	assert_int_equal(evs_store_replay_after(s, session, after, collect, &g,
	    info), 0);
	return g;
}

/* The composer's answer equals the backend's: ids, bytes, truncated, log. */
static void
assert_same_as_backend(struct evs_store *top, struct evs_store *backend,
                       const char *session, uint64_t after)
{
	struct evs_replay_info it, ib;
	struct got t = replay(top, session, after, &it);
	struct got b = replay(backend, session, after, &ib);

	assert_int_equal(t.n, b.n);
	for (size_t i = 0; i < t.n; i++) {
		assert_int_equal(t.id[i], b.id[i]);
		assert_int_equal(t.len[i], b.len[i]);
		assert_string_equal(t.data[i], b.data[i]);
	}
	assert_int_equal(it.delivered, ib.delivered);
	assert_int_equal(it.truncated, ib.truncated);
	assert_int_equal(it.log.epoch, ib.log.epoch);
	assert_int_equal(it.log.retained, ib.log.retained);
	assert_int_equal(it.log.first_id, ib.log.first_id);
	assert_int_equal(it.log.last_id, ib.log.last_id);
}

static struct evs_caching_stats
stats(struct evs_store *top)
{
	struct evs_caching_stats st;

	assert_int_equal(evs_caching_store_stats(top, &st), 0);
	return st;
}

/* The cache's copy of a session: ids and lengths (payloads carry a
 * header, so they are not kept). */
static int
collect_ids(const struct evs_event *ev, void *arg)
{
	struct got *g = arg;

	assert_true(g->n < MAXEV);
	g->id[g->n] = ev->id;
	g->len[g->n] = ev->len;
	g->n++;
	return 0;
}

static struct got
cached(struct evs_store *cache, const char *session)
{
	struct got g;

	memset(&g, 0, sizeof(g));
	assert_int_equal(evs_store_replay_after(cache, session, 0, collect_ids,
	    &g, NULL), 0);
	return g;
}

/* ---- ported from the reference module ------------------------------------ */

static void
test_writes_reach_both_tiers(void **state)
{
	struct evs_store *c = mem(0, EVS_CACHING_OVERHEAD), *b = mem(0, 0);
	struct evs_store *top = compose(c, b);
	struct got g;
	uint64_t id = 0;

	(void)state;
	app(top, "s", 1);
	app(top, "s", 2);
	assert_int_equal(evs_store_append_next(top, "s", "x", 1, &id), 0);
	assert_int_equal(id, 3);
	g = replay(b, "s", 0, NULL);
	assert_int_equal(g.n, 3);
	assert_string_equal(g.data[0], "ev-1");
	g = cached(c, "s");
	assert_int_equal(g.n, 3);
	assert_int_equal(g.id[2], 3);
	assert_int_equal(g.len[0], EVS_CACHING_OVERHEAD + 4);
	assert_same_as_backend(top, b, "s", 0);
	evs_store_destroy(top);
	evs_store_destroy(c);
	evs_store_destroy(b);
}

static void
test_backend_replay_warms_cache(void **state)
{
	struct evs_store *c = mem(0, EVS_CACHING_OVERHEAD), *b = mem(0, 0);
	struct evs_store *top = compose(c, b);
	struct evs_caching_stats st;
	struct got g;

	(void)state;
	for (uint64_t id = 1; id <= 5; id++)
		app(b, "w", id);             /* straight into the backend */
	assert_int_equal(cached(c, "w").n, 0);
	g = replay(top, "w", 0, NULL);
	assert_int_equal(g.n, 5);
	st = stats(top);
	assert_int_equal(st.misses, 1);
	assert_int_equal(st.warmups, 1);
	assert_int_equal(st.warmed_events, 5);
	assert_int_equal(cached(c, "w").n, 5);
	assert_same_as_backend(top, b, "w", 0);
	assert_same_as_backend(top, b, "w", 3);
	st = stats(top);
	assert_int_equal(st.hits, 2);
	assert_int_equal(st.misses, 1);
	evs_store_destroy(top);
	evs_store_destroy(c);
	evs_store_destroy(b);
}

static void
test_purge_clears_both(void **state)
{
	struct evs_store *c = mem(0, EVS_CACHING_OVERHEAD), *b = mem(0, 0);
	struct evs_store *top = compose(c, b);
	struct evs_log_info li;
	struct evs_replay_info info;

	(void)state;
	app(top, "p", 1);
	app(top, "p", 2);
	app(top, "keep", 1);
	assert_int_equal(evs_store_purge_session(top, "p"), 0);
	assert_int_equal(evs_store_info(b, "p", &li), 0);
	assert_int_equal(li.epoch, 0);
	assert_int_equal(evs_store_info(c, "p", &li), 0);
	assert_int_equal(li.epoch, 0);
	assert_int_equal(replay(top, "p", 0, &info).n, 0);
	assert_int_equal(info.log.epoch, 0);
	assert_int_equal(replay(top, "keep", 0, NULL).n, 1);
	assert_int_equal(evs_store_purge_session(top, "p"), 0);
	evs_store_destroy(top);
	evs_store_destroy(c);
	evs_store_destroy(b);
}

/* ---- the failures of the reference design ------------------------------------ */

/* Cache capacity 4, backend 100: a replay from an old id gets everything. */
static void
test_small_cache_old_id(void **state)
{
	struct evs_store *c = mem(4, EVS_CACHING_OVERHEAD), *b = mem(100, 0);
	struct evs_store *top = compose(c, b);
	struct evs_replay_info info;
	struct evs_caching_stats st0, st1;
	struct got g;

	(void)state;
	for (uint64_t id = 1; id <= 100; id++)
		app(top, "s", id);
	assert_int_equal(cached(c, "s").n, 4);
	g = replay(top, "s", 10, &info);
	assert_int_equal(g.n, 90);
	for (size_t i = 0; i < g.n; i++)
		assert_int_equal(g.id[i], 11 + i);
	assert_false(info.truncated);
	assert_int_equal(info.log.last_id, 100);
	assert_same_as_backend(top, b, "s", 10);
	assert_same_as_backend(top, b, "s", 0);
	/* The cache still holds the newest 4: a replay inside them hits. */
	st0 = stats(top);
	assert_same_as_backend(top, b, "s", 96);
	assert_same_as_backend(top, b, "s", 99);
	st1 = stats(top);
	assert_int_equal(st1.hits - st0.hits, 2);
	assert_int_equal(st1.rebuilds, 0);   /* a small cache is not stale */
	/* The backend evicts too: 101..150 push out 1..50. */
	for (uint64_t id = 101; id <= 150; id++)
		app(top, "s", id);
	assert_same_as_backend(top, b, "s", 10);    /* truncated */
	assert_same_as_backend(top, b, "s", 50);    /* not truncated */
	assert_same_as_backend(top, b, "s", 148);
	evs_store_destroy(top);
	evs_store_destroy(c);
	evs_store_destroy(b);
}

/* Instance A caches 1..10, instance B appends 11..20 to the shared backend:
 * a replay through A after 5 returns 6..20, and warms A's cache. */
static void
test_two_instances_shared_backend(void **state)
{
	struct evs_store *b = mem(0, 0);
	struct evs_store *ca = mem(0, EVS_CACHING_OVERHEAD);
	struct evs_store *cb = mem(0, EVS_CACHING_OVERHEAD);
	struct evs_store *a = compose(ca, b), *bb = compose(cb, b);
	struct evs_replay_info info;
	struct evs_caching_stats st0, st1;
	struct got g;

	(void)state;
	for (uint64_t id = 1; id <= 10; id++)
		app(a, "x", id);
	assert_int_equal(replay(a, "x", 0, NULL).n, 10);
	for (uint64_t id = 11; id <= 20; id++)
		app(bb, "x", id);
	g = replay(a, "x", 5, &info);
	assert_int_equal(g.n, 15);
	for (size_t i = 0; i < g.n; i++)
		assert_int_equal(g.id[i], 6 + i);
	assert_int_equal(info.log.last_id, 20);
	assert_false(info.truncated);
	assert_same_as_backend(a, b, "x", 5);
	/* A's cache was warmed: the next replays through A are hits. */
	st0 = stats(a);
	assert_same_as_backend(a, b, "x", 5);
	assert_same_as_backend(a, b, "x", 0);
	assert_same_as_backend(a, b, "x", 15);
	st1 = stats(a);
	assert_int_equal(st1.hits - st0.hits, 3);
	/* append_next through A continues B's ids; EVS_EORDER across them. */
	{
		uint64_t id = 0;

		assert_int_equal(evs_store_append(a, "x", 20, "d", 1), EVS_EORDER);
		assert_int_equal(evs_store_append_next(a, "x", "n", 1, &id), 0);
		assert_int_equal(id, 21);
	}
	assert_same_as_backend(a, b, "x", 0);
	assert_same_as_backend(bb, b, "x", 0);
	assert_same_as_backend(bb, b, "x", 12);
	evs_store_destroy(a);
	evs_store_destroy(bb);
	evs_store_destroy(ca);
	evs_store_destroy(cb);
	evs_store_destroy(b);
}

/* Another instance purges the shared session and starts a new log: the
 * stale cache must not answer, and the new epoch is reported. */
static void
test_stale_epoch(void **state)
{
	struct evs_store *b = mem(0, 0);
	struct evs_store *ca = mem(0, EVS_CACHING_OVERHEAD);
	struct evs_store *cb = mem(0, EVS_CACHING_OVERHEAD);
	struct evs_store *a = compose(ca, b), *bb = compose(cb, b);
	struct evs_replay_info i1, i2;
	struct got g;

	(void)state;
	for (uint64_t id = 1; id <= 10; id++)
		app(a, "e", id);
	g = replay(a, "e", 2, &i1);
	assert_int_equal(g.n, 8);
	assert_int_equal(evs_store_purge_session(bb, "e"), 0);
	for (uint64_t id = 1; id <= 3; id++)
		app(bb, "e", id);
	g = replay(a, "e", 0, &i2);
	assert_int_equal(g.n, 3);
	assert_int_not_equal(i2.log.epoch, i1.log.epoch);
	assert_same_as_backend(a, b, "e", 0);
	assert_same_as_backend(a, b, "e", 1);
	app(a, "e", 4);
	assert_same_as_backend(a, b, "e", 2);
	/* Same ids, different bytes in the new log: never the old ones. */
	assert_int_equal(evs_store_purge_session(bb, "e"), 0);
	for (uint64_t id = 1; id <= 10; id++)
		assert_int_equal(evs_store_append(bb, "e", id, "new", 3), 0);
	g = replay(a, "e", 5, NULL);
	assert_int_equal(g.n, 5);
	for (size_t i = 0; i < g.n; i++)
		assert_string_equal(g.data[i], "new");
	assert_same_as_backend(a, b, "e", 5);
	evs_store_destroy(a);
	evs_store_destroy(bb);
	evs_store_destroy(ca);
	evs_store_destroy(cb);
	evs_store_destroy(b);
}

/* A cache whose appends fail on demand never causes a short replay. */
static void
test_failing_cache(void **state)
{
	static struct wrap_ctl ctl;
	struct evs_store *raw = mem(0, EVS_CACHING_OVERHEAD), *b = mem(0, 0);
	struct evs_store *c = NULL, *top;
	struct evs_caching_stats st;
	struct got g;

	(void)state;
	memset(&ctl, 0, sizeof(ctl));
	assert_int_equal(wrap_store_create(raw, &ctl, &c), 0);
	top = compose(c, b);
	for (uint64_t id = 1; id <= 20; id++) {
		/* Fail the cache for 7, 8 and for the newest, 20. */
		atomic_store(&ctl.fail[WRAP_APPEND],
		    id == 7 || id == 8 || id == 20 ? EVS_ENOMEM : 0);
		app(top, "f", id);
		for (uint64_t after = 0; after <= id; after += 3)
			assert_same_as_backend(top, b, "f", after);
	}
	atomic_store(&ctl.fail[WRAP_APPEND], 0);
	st = stats(top);
	assert_true(st.cache_errors >= 3);
	g = replay(top, "f", 5, NULL);
	assert_int_equal(g.n, 15);
	for (size_t i = 0; i < g.n; i++)
		assert_int_equal(g.id[i], 6 + i);
	/* Warming repaired the holes: the same replay now hits. */
	{
		struct evs_caching_stats s0 = stats(top), s1;

		assert_same_as_backend(top, b, "f", 5);
		s1 = stats(top);
		assert_int_equal(s1.hits - s0.hits, 1);
	}
	/* A cache that fails every call: the backend answers everything. */
	for (int op = 0; op < WRAP_NOPS; op++)
		atomic_store(&ctl.fail[op], EVS_EBACKEND);
	app(top, "f", 21);
	assert_same_as_backend(top, b, "f", 0);
	assert_same_as_backend(top, b, "f", 19);
	/* append_next with a failing cache still returns the backend's id. */
	{
		uint64_t id = 0;

		assert_int_equal(evs_store_append_next(top, "f", "z", 1, &id), 0);
		assert_int_equal(id, 22);
	}
	assert_same_as_backend(top, b, "f", 20);
	/* Purge: the backend is purged even though the cache fails, and the
	 * cache's error is returned. */
	assert_int_equal(evs_store_purge_session(top, "f"), EVS_EBACKEND);
	assert_int_equal(replay(b, "f", 0, NULL).n, 0);
	/* Random failures, 1 in 3 cache appends. */
	for (int op = 0; op < WRAP_NOPS; op++)
		atomic_store(&ctl.fail[op], 0);
	atomic_store(&ctl.fail_every, 3);
	for (uint64_t id = 1; id <= 60; id++) {
		app(top, "r", id);
		assert_same_as_backend(top, b, "r", id / 2);
		assert_same_as_backend(top, b, "r", id > 3 ? id - 3 : 0);
	}
	evs_store_destroy(top);
	evs_store_destroy(c);
	evs_store_destroy(raw);
	evs_store_destroy(b);
}

/* A backend whose appends fail: the error comes back, the cache is
 * untouched. */
static void
test_failing_backend(void **state)
{
	static struct wrap_ctl ctl;
	struct evs_store *c = mem(0, EVS_CACHING_OVERHEAD), *raw = mem(0, 0);
	struct evs_store *b = NULL, *top;
	uint64_t id = 77;

	(void)state;
	memset(&ctl, 0, sizeof(ctl));
	assert_int_equal(wrap_store_create(raw, &ctl, &b), 0);
	top = compose(c, b);
	app(top, "b", 1);
	atomic_store(&ctl.fail[WRAP_APPEND], EVS_EBACKEND);
	atomic_store(&ctl.fail[WRAP_APPEND_NEXT], EVS_EBACKEND);
	assert_int_equal(evs_store_append(top, "b", 2, "x", 1), EVS_EBACKEND);
	assert_int_equal(evs_store_append_next(top, "b", "x", 1, &id),
	    EVS_EBACKEND);
	assert_int_equal(id, 77);
	assert_int_equal(cached(c, "b").n, 1);
	atomic_store(&ctl.fail[WRAP_INFO], EVS_EBACKEND);
	{
		struct evs_replay_info info;
		struct got g;

		memset(&g, 0, sizeof(g));
		assert_int_equal(evs_store_replay_after(top, "b", 0, collect, &g,
		    &info), EVS_EBACKEND);
		assert_int_equal(g.n, 0);
	}
	atomic_store(&ctl.fail[WRAP_INFO], 0);
	atomic_store(&ctl.fail[WRAP_REPLAY], EVS_EBACKEND);
	atomic_store(&ctl.fail[WRAP_PURGE], EVS_EBACKEND);
	assert_int_equal(evs_store_purge_session(top, "b"), EVS_EBACKEND);
	evs_store_destroy(top);
	evs_store_destroy(b);
	evs_store_destroy(raw);
	evs_store_destroy(c);
}

/* A cache hit reads no payload from the backend: a counting wrapper around
 * the backend sees info calls only. */
static void
test_hit_reads_no_backend_payload(void **state)
{
	static struct wrap_ctl ctl;
	struct evs_store *c = mem(0, EVS_CACHING_OVERHEAD), *raw = mem(0, 0);
	struct evs_store *b = NULL, *top;
	struct evs_caching_stats s0, s1;
	unsigned long r0, i0;

	(void)state;
	memset(&ctl, 0, sizeof(ctl));
	assert_int_equal(wrap_store_create(raw, &ctl, &b), 0);
	top = compose(c, b);
	for (uint64_t id = 1; id <= 10; id++)
		app(top, "h", id);
	for (int i = 0; i < 5; i++) {
		uint64_t id;

		assert_int_equal(evs_store_append_next(top, "h", "n", 1, &id), 0);
	}
	/* Events appended through the composer are hits right away (except
	 * the session's very first, whose backend log was unknown). */
	r0 = atomic_load(&ctl.calls[WRAP_REPLAY]);
	i0 = atomic_load(&ctl.calls[WRAP_INFO]);
	s0 = stats(top);
	assert_same_as_backend(top, raw, "h", 1);
	assert_same_as_backend(top, raw, "h", 7);
	assert_same_as_backend(top, raw, "h", 14);
	assert_same_as_backend(top, raw, "h", 15);
	assert_same_as_backend(top, raw, "h", 99);
	s1 = stats(top);
	assert_int_equal(s1.hits - s0.hits, 5);
	assert_int_equal(atomic_load(&ctl.calls[WRAP_REPLAY]), r0);
	assert_int_equal(atomic_load(&ctl.delivered), 0);
	assert_int_equal(atomic_load(&ctl.calls[WRAP_INFO]) - i0, 5);
	/* From 0 the first replay misses (and warms); then it hits too. */
	assert_same_as_backend(top, raw, "h", 0);
	r0 = atomic_load(&ctl.calls[WRAP_REPLAY]);
	assert_int_equal(r0, 1);
	assert_same_as_backend(top, raw, "h", 0);
	assert_same_as_backend(top, raw, "h", 3);
	assert_int_equal(atomic_load(&ctl.calls[WRAP_REPLAY]), r0);
	evs_store_destroy(top);
	evs_store_destroy(b);
	evs_store_destroy(raw);
	evs_store_destroy(c);
}

/* Explicit ids that skip values: correct at once, hits after a warm-up. */
static void
test_sparse_ids(void **state)
{
	struct evs_store *c = mem(0, EVS_CACHING_OVERHEAD), *b = mem(0, 0);
	struct evs_store *top = compose(c, b);
	struct evs_caching_stats s0, s1;

	(void)state;
	for (uint64_t id = 10; id <= 100; id += 10)
		app(top, "sp", id);
	for (uint64_t after = 0; after <= 100; after += 5)
		assert_same_as_backend(top, b, "sp", after);
	s0 = stats(top);
	for (uint64_t after = 0; after <= 100; after += 5)
		assert_same_as_backend(top, b, "sp", after);
	s1 = stats(top);
	assert_int_equal(s1.hits - s0.hits, 21);
	evs_store_destroy(top);
	evs_store_destroy(c);
	evs_store_destroy(b);
}

/* A payload too big for the cache (but not the backend) is served by the
 * backend; nothing is lost. */
static void
test_payload_too_big_for_cache(void **state)
{
	struct evs_store *c = mem(0, 0), *b = mem(0, 0);   /* no room for hdr */
	struct evs_store *top = compose(c, b);
	char big[64];
	struct got g;

	(void)state;
	memset(big, 'B', sizeof(big));
	app(top, "t", 1);
	assert_int_equal(evs_store_append(top, "t", 2, big, sizeof(big)), 0);
	app(top, "t", 3);
	assert_true(stats(top).cache_errors >= 1);
	g = replay(top, "t", 0, NULL);
	assert_int_equal(g.n, 3);
	assert_int_equal(g.id[1], 2);
	assert_same_as_backend(top, b, "t", 1);
	assert_same_as_backend(top, b, "t", 2);
	evs_store_destroy(top);
	evs_store_destroy(c);
	evs_store_destroy(b);
}

/* Events a stranger wrote into the cache (no header) are never served. */
static void
test_foreign_cache_content(void **state)
{
	struct evs_store *c = mem(0, EVS_CACHING_OVERHEAD), *b = mem(0, 0);
	struct evs_store *top = compose(c, b);
	struct got g;

	(void)state;
	for (uint64_t id = 1; id <= 5; id++) {
		app(b, "z", id);
		assert_int_equal(evs_store_append(c, "z", id, "junk", 4), 0);
	}
	g = replay(top, "z", 0, NULL);
	assert_int_equal(g.n, 5);
	assert_string_equal(g.data[0], "ev-1");
	assert_same_as_backend(top, b, "z", 2);
	assert_same_as_backend(top, b, "z", 0);
	assert_true(stats(top).rebuilds >= 1);
	evs_store_destroy(top);
	evs_store_destroy(c);
	evs_store_destroy(b);
}

/* A callback that stops the replay, on a hit and on a switch of tiers. */
static int
stop_at_3(const struct evs_event *ev, void *arg)
{
	struct got *g = arg;

	collect(ev, g);
	return g->n == 3 ? 42 : 0;
}

static void
test_callback_stops(void **state)
{
	struct evs_store *c = mem(0, EVS_CACHING_OVERHEAD), *b = mem(0, 0);
	struct evs_store *top = compose(c, b);
	struct evs_replay_info info;
	struct got g;

	(void)state;
	for (uint64_t id = 1; id <= 10; id++)
		app(top, "cb", id);
	for (uint64_t id = 11; id <= 20; id++)
		app(b, "cb", id);         /* the cache lacks 11..20 */
	for (uint64_t after = 5; after <= 12; after++) {
		memset(&g, 0, sizeof(g));
		assert_int_equal(evs_store_replay_after(top, "cb", after,
		    stop_at_3, &g, &info), 42);
		assert_int_equal(g.n, 3);
		assert_int_equal(info.delivered, 3);
		for (size_t i = 0; i < 3; i++)
			assert_int_equal(g.id[i], after + 1 + i);
		assert_int_equal(info.log.last_id, 20);
	}
	evs_store_destroy(top);
	evs_store_destroy(c);
	evs_store_destroy(b);
}

static void
test_bad_args_and_stats(void **state)
{
	struct evs_store *c = mem(0, EVS_CACHING_OVERHEAD), *b = mem(0, 0);
	struct evs_store *top = NULL;
	struct evs_caching_stats st;

	(void)state;
	assert_int_equal(evs_caching_store_create(NULL, b, &top), EVS_EINVAL);
	assert_int_equal(evs_caching_store_create(c, NULL, &top), EVS_EINVAL);
	assert_int_equal(evs_caching_store_create(c, b, NULL), EVS_EINVAL);
	assert_int_equal(evs_caching_store_create(c, c, &top), EVS_EINVAL);
	assert_null(top);
	top = compose(c, b);
	assert_true(evs_is_caching_store(top));
	assert_false(evs_is_caching_store(c));
	assert_false(evs_is_caching_store(NULL));
	assert_string_equal(evs_store_name(top), "caching");
	assert_int_equal(evs_caching_store_stats(c, &st), EVS_EINVAL);
	assert_int_equal(evs_caching_store_stats(NULL, &st), EVS_EINVAL);
	assert_int_equal(evs_caching_store_stats(top, NULL), EVS_EINVAL);
	st = stats(top);
	assert_int_equal(st.hits + st.misses + st.partial_hits + st.warmups +
	    st.warmed_events + st.rebuilds + st.cache_errors, 0);

	/* A known sequence and its exact counts. */
	replay(top, "q", 0, NULL);                     /* no log: hit */
	for (uint64_t id = 1; id <= 4; id++)
		app(b, "q", id);
	replay(top, "q", 0, NULL);                     /* miss, warms 4 */
	replay(top, "q", 2, NULL);                     /* hit */
	app(b, "q", 5);
	app(b, "q", 6);
	replay(top, "q", 2, NULL);                     /* partial, warms 2 */
	replay(top, "q", 6, NULL);                     /* nothing newer: hit */
	st = stats(top);
	assert_int_equal(st.hits, 3);
	assert_int_equal(st.misses, 1);
	assert_int_equal(st.partial_hits, 1);
	assert_int_equal(st.warmups, 2);
	assert_int_equal(st.warmed_events, 6);
	assert_int_equal(st.rebuilds, 0);
	assert_int_equal(st.cache_errors, 0);
	evs_store_destroy(top);
	evs_store_destroy(NULL);
	evs_store_destroy(c);
	evs_store_destroy(b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_writes_reach_both_tiers),
		cmocka_unit_test(test_backend_replay_warms_cache),
		cmocka_unit_test(test_purge_clears_both),
		cmocka_unit_test(test_small_cache_old_id),
		cmocka_unit_test(test_two_instances_shared_backend),
		cmocka_unit_test(test_stale_epoch),
		cmocka_unit_test(test_failing_cache),
		cmocka_unit_test(test_failing_backend),
		cmocka_unit_test(test_hit_reads_no_backend_payload),
		cmocka_unit_test(test_sparse_ids),
		cmocka_unit_test(test_payload_too_big_for_cache),
		cmocka_unit_test(test_foreign_cache_content),
		cmocka_unit_test(test_callback_stops),
		cmocka_unit_test(test_bad_args_and_stats),
	};

	return cmocka_run_group_tests_name("caching", tests, NULL, NULL);
}
