/*
 * tests/model_caching.c: model-based randomized test of the caching
 * composer.
 *
 *   model_caching [--duration SECONDS] [--seeds N] [--seed S] [--ops N]
 *
 * Each seed builds a shared backend (memory store, random capacity), the
 * composer under test A (its cache of random capacity, possibly smaller than
 * the backend, possibly too small for some payloads, behind a wrapper that
 * fails cache operations at random), a second composer B with its own cache
 * (another server instance) and direct backend writes.  It then runs random
 * append / append_next / replay / info / purge / bad-argument calls, through
 * A, B or the backend, against a plain reference model written here, and
 * compares every result: return codes, ids, payload bytes, order,
 * `delivered`, `truncated`, the log's retained/first/last, and epochs (a new
 * one exactly when the model starts a new log).  Replays always go through
 * A, sometimes with a callback that stops early.
 *
 * Seeds run until the duration is up or the seed count is reached, whichever
 * is first.  The last line is "model_caching: N passed, N failed" (one check
 * per seed).
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <evstore/caching.h>
#include <evstore/memory.h>

#include "caching_wrap.h"

#define NSESS     3
#define MAXPAY    48             /* the backend's max_event_bytes */
#define MODEL_MAX 4096

struct mev {
	uint64_t id;
	size_t len;
	unsigned char data[MAXPAY];
};

struct msess {
	struct mev ev[MODEL_MAX];    /* every event of the current log, oldest first */
	size_t n;                    /* appended to the current log */
	bool live;                   /* a log exists */
	unsigned log_no;             /* model's count of logs created */
	uint64_t epoch;              /* store epoch observed for this log (0: not yet) */
	uint64_t old_epochs[64];
	size_t n_old;
};

static const char *const names[NSESS] = { "alpha", "beta", "a-much-longer-id" };

struct world {
	uint64_t rng;
	size_t cap;                  /* backend capacity */
	struct msess s[NSESS];
	struct evs_store *backend, *raw_cache_a, *cache_a, *a, *cache_b, *b;
	struct wrap_ctl ctl;
	unsigned long ops;
	bool failed;
	unsigned seed;
};

static uint64_t
rnd(struct world *w)
{
	uint64_t x = w->rng += UINT64_C(0x9e3779b97f4a7c15);

	x = (x ^ (x >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	x = (x ^ (x >> 27)) * UINT64_C(0x94d049bb133111eb);
	return x ^ (x >> 31);
}

static unsigned
pick(struct world *w, unsigned n)
{
	return (unsigned)(rnd(w) % n);
}

#define CHECK(w, cond, ...) do {                                         \
	if (!(cond) && !(w)->failed) {                                   \
		(w)->failed = true;                                      \
		fprintf(stderr, "model_caching: seed %u op %lu: %s:%d: ", \
		    (w)->seed, (w)->ops, __FILE__, __LINE__);            \
		fprintf(stderr, __VA_ARGS__);                            \
		fputc('\n', stderr);                                     \
	}                                                                \
} while (0)

/* ---- the model ---------------------------------------------------------- */

static size_t
m_first(const struct world *w, const struct msess *m)
{
	return m->n > w->cap ? m->n - w->cap : 0;
}

static uint64_t
m_newest(const struct msess *m)
{
	return m->ev[m->n - 1].id;
}

static void
m_append(struct world *w, struct msess *m, uint64_t id, const void *data,
         size_t len)
{
	struct mev *e;

	if (!m->live) {
		m->live = true;
		m->log_no++;
		if (m->epoch != 0 && m->n_old < 64)
			m->old_epochs[m->n_old++] = m->epoch;
		m->epoch = 0;
		m->n = 0;
	}
	if (m->n == MODEL_MAX) {           /* keep the newest cap only */
		size_t drop = m->n - w->cap;

		memmove(m->ev, m->ev + drop, (m->n - drop) * sizeof(m->ev[0]));
		m->n -= drop;
		/* Remember that something was evicted: keep one dropped
		 * event's id as a marker at index 0 by never letting first
		 * reach 0 again; m_truncated handles it through `gone`. */
	}
	e = &m->ev[m->n++];
	e->id = id;
	e->len = len;
	memcpy(e->data, data, len);
}

static void
m_purge(struct msess *m)
{
	if (m->live && m->epoch != 0 && m->n_old < 64)
		m->old_epochs[m->n_old++] = m->epoch;
	m->live = false;
	m->n = 0;
	m->epoch = 0;
}

/* The newest evicted id, if any: the event just before the first held. */
static bool
m_evicted(const struct world *w, const struct msess *m, uint64_t *id)
{
	size_t f = m_first(w, m);

	if (f == 0)
		return false;
	*id = m->ev[f - 1].id;
	return true;
}

/* Check (and learn) the store's epoch for the model's current log. */
static void
check_epoch(struct world *w, struct msess *m, uint64_t epoch)
{
	if (!m->live || m->n == 0) {
		CHECK(w, epoch == 0, "epoch %" PRIu64 " for no log", epoch);
		return;
	}
	if (m->epoch == 0) {
		CHECK(w, epoch != 0, "epoch 0 for a live log");
		for (size_t i = 0; i < m->n_old; i++)
			CHECK(w, epoch != m->old_epochs[i], "epoch reused");
		m->epoch = epoch;
		return;
	}
	CHECK(w, epoch == m->epoch, "epoch changed without a new log");
}

static void
check_log(struct world *w, struct msess *m, const struct evs_log_info *li)
{
	check_epoch(w, m, li->epoch);
	if (!m->live || m->n == 0) {
		CHECK(w, li->retained == 0, "retained %zu for no log", li->retained);
		return;
	}
	CHECK(w, li->retained == m->n - m_first(w, m), "retained %zu != %zu",
	    li->retained, m->n - m_first(w, m));
	CHECK(w, li->first_id == m->ev[m_first(w, m)].id, "first_id");
	CHECK(w, li->last_id == m_newest(m), "last_id");
}

/* ---- operations ------------------------------------------------------------ */

static struct evs_store *
writer(struct world *w)
{
	unsigned k = pick(w, 10);

	return k < 6 ? w->a : k < 8 ? w->b : w->backend;
}

static void
payload(struct world *w, uint64_t id, unsigned char *buf, size_t *len)
{
	size_t n = pick(w, 5) == 0 ? 0 : pick(w, MAXPAY + 1);

	for (size_t i = 0; i < n; i++)
		buf[i] = (unsigned char)(rnd(w) ^ id ^ i);
	*len = n;
}

/* Inject cache failures for the next call (through the wrapper). */
static void
maybe_fail_cache(struct world *w)
{
	static const int errs[] = { EVS_ENOMEM, EVS_EBACKEND, EVS_ETOOBIG };

	for (int op = 0; op < WRAP_NOPS; op++)
		atomic_store(&w->ctl.fail[op],
		    pick(w, 12) == 0 ? errs[pick(w, 3)] : 0);
}

static void
op_append(struct world *w, unsigned si)
{
	struct msess *m = &w->s[si];
	unsigned char buf[MAXPAY + 8];
	size_t len;
	uint64_t id;
	int want, rc;
	struct evs_store *s = writer(w);

	if (!m->live || m->n == 0)
		id = pick(w, 4) == 0 ? 0 : 1 + pick(w, 5);
	else if (pick(w, 8) == 0)
		id = m_newest(m) - (m_newest(m) > 0 ? pick(w, 2) : 0); /* EORDER */
	else
		id = m_newest(m) + 1 + (pick(w, 3) == 0 ? pick(w, 6) : 0);
	payload(w, id, buf, &len);
	want = m->live && m->n > 0 && id <= m_newest(m) ? EVS_EORDER : 0;
	rc = evs_store_append(s, names[si], id, buf, len);
	CHECK(w, rc == want, "append %" PRIu64 ": %s, want %s", id,
	    evs_strerror_name(rc), evs_strerror_name(want));
	if (rc == 0)
		m_append(w, m, id, buf, len);
}

static void
op_append_next(struct world *w, unsigned si)
{
	struct msess *m = &w->s[si];
	unsigned char buf[MAXPAY];
	size_t len;
	uint64_t id = 0, want;
	struct evs_store *s = pick(w, 3) == 0 ? w->b : w->a;
	int rc;

	payload(w, 0, buf, &len);
	want = m->live && m->n > 0 ? m_newest(m) + 1 : 1;
	rc = evs_store_append_next(s, names[si], buf, len, &id);
	CHECK(w, rc == 0, "append_next: %s", evs_strerror_name(rc));
	CHECK(w, id == want, "append_next id %" PRIu64 ", want %" PRIu64, id, want);
	if (rc == 0)
		m_append(w, m, id, buf, len);
}

struct seen {
	size_t n, stop_after;
	uint64_t id[MODEL_MAX];
	size_t len[MODEL_MAX];
	unsigned char data[MODEL_MAX][MAXPAY];
	bool overflow;
};

static int
collect(const struct evs_event *ev, void *arg)
{
	struct seen *s = arg;

	if (s->n == MODEL_MAX || ev->len > MAXPAY) {
		s->overflow = true;
		return 99;
	}
	s->id[s->n] = ev->id;
	s->len[s->n] = ev->len;
	memcpy(s->data[s->n], ev->data, ev->len);
	s->n++;
	return s->stop_after > 0 && s->n == s->stop_after ? 7 : 0;
}

static struct seen seen;

static void
op_replay(struct world *w, unsigned si)
{
	struct msess *m = &w->s[si];
	struct evs_replay_info info;
	uint64_t after, ev_id;
	size_t f, expect_n = 0, start = 0;
	bool trunc = false;
	int rc, want_rc = 0;

	if (m->live && m->n > 0) {
		uint64_t hi = m_newest(m) + 2;
		uint64_t lo = m->ev[0].id;

		after = pick(w, 4) == 0 ? pick(w, (unsigned)(hi + 1)) :
		    lo + rnd(w) % (hi - lo + 1);
		if (pick(w, 40) == 0)
			after = UINT64_MAX - pick(w, 2);
	} else {
		after = pick(w, 10);
	}
	memset(&seen, 0, offsetof(struct seen, id));
	seen.stop_after = pick(w, 6) == 0 ? 1 + pick(w, 4) : 0;
	rc = evs_store_replay_after(w->a, names[si], after, collect, &seen, &info);
	CHECK(w, !seen.overflow, "replay overflow");
	if (m->live && m->n > 0) {
		f = m_first(w, m);
		start = f;
		while (start < m->n && m->ev[start].id <= after)
			start++;
		expect_n = m->n - start;
		trunc = m_evicted(w, m, &ev_id) && ev_id > after;
	}
	if (seen.stop_after > 0 && expect_n >= seen.stop_after) {
		expect_n = seen.stop_after;
		want_rc = 7;
	}
	CHECK(w, rc == want_rc, "replay rc %d want %d", rc, want_rc);
	CHECK(w, seen.n == expect_n, "replay after %" PRIu64 " delivered %zu, "
	    "want %zu", after, seen.n, expect_n);
	CHECK(w, info.delivered == seen.n, "info.delivered");
	CHECK(w, info.truncated == trunc, "truncated %d want %d (after %"
	    PRIu64 ")", info.truncated, trunc, after);
	check_log(w, m, &info.log);
	for (size_t i = 0; i < seen.n && i < expect_n; i++) {
		const struct mev *e = &m->ev[start + i];

		CHECK(w, seen.id[i] == e->id, "event %zu id %" PRIu64 " want %"
		    PRIu64, i, seen.id[i], e->id);
		CHECK(w, seen.len[i] == e->len &&
		    memcmp(seen.data[i], e->data, e->len) == 0,
		    "event %" PRIu64 " bytes differ", e->id);
	}
}

static void
op_info(struct world *w, unsigned si)
{
	struct evs_log_info li;
	int rc = evs_store_info(pick(w, 2) ? w->a : w->b, names[si], &li);

	CHECK(w, rc == 0, "info: %s", evs_strerror_name(rc));
	check_log(w, &w->s[si], &li);
}

static void
op_purge(struct world *w, unsigned si)
{
	unsigned k = pick(w, 4);
	struct evs_store *s = k < 2 ? w->a : k == 2 ? w->b : w->backend;
	int want = 0, rc, injected;

	/* Relaxed: same thread. */
	injected = atomic_load(&w->ctl.fail[WRAP_PURGE]);
	if (s == w->a && injected != 0)
		want = injected;   /* the cache's error, backend still purged */
	rc = evs_store_purge_session(s, names[si]);
	CHECK(w, rc == want, "purge: %s want %s", evs_strerror_name(rc),
	    evs_strerror_name(want));
	m_purge(&w->s[si]);
}

static void
op_bad(struct world *w, unsigned si)
{
	char longid[EVS_SESSION_ID_MAX + 2];
	unsigned char big[MAXPAY + 1];
	struct evs_replay_info info;
	struct evs_log_info li;
	uint64_t id = 5;
	int rc = 0, want = EVS_EINVAL;

	memset(longid, 'L', sizeof(longid) - 1);
	longid[sizeof(longid) - 1] = '\0';
	memset(big, 'b', sizeof(big));
	switch (pick(w, 9)) {
	case 0: rc = evs_store_append(w->a, NULL, 1, "x", 1); break;
	case 1: rc = evs_store_append(w->a, "", 1, "x", 1); break;
	case 2: rc = evs_store_append(w->a, longid, 1, "x", 1); break;
	case 3: rc = evs_store_append(w->a, names[si], UINT64_MAX, NULL, 2); break;
	case 4:
		rc = evs_store_append_next(w->a, names[si], big, sizeof(big), &id);
		want = EVS_ETOOBIG;
		CHECK(w, id == 5, "id written on failure");
		break;
	case 5:
		rc = evs_store_append(w->a, names[si], UINT64_MAX, big, sizeof(big));
		want = EVS_ETOOBIG;
		break;
	case 6:
		rc = evs_store_replay_after(w->a, names[si], 0, NULL, NULL, &info);
		break;
	case 7: rc = evs_store_info(w->a, longid, &li); break;
	default: rc = evs_store_purge_session(w->a, ""); break;
	}
	CHECK(w, rc == want, "bad args: %s want %s", evs_strerror_name(rc),
	    evs_strerror_name(want));
}

/* ---- one seed ------------------------------------------------------------ */

static bool
run_seed(unsigned seed, unsigned long nops)
{
	static struct world w;
	struct evs_memory_opts bo = { 0 }, co = { 0 }, cbo = { 0 };
	static const size_t caps[] = { 1, 2, 3, 5, 8, 16, 40 };

	memset(&w, 0, sizeof(w));
	w.seed = seed;
	w.rng = seed * UINT64_C(0x2545f4914f6cdd1d) + 1;
	w.cap = caps[pick(&w, 7)];
	bo.max_events_per_session = w.cap;
	bo.max_event_bytes = MAXPAY;
	co.max_events_per_session = pick(&w, 3) == 0 ? 1 + pick(&w, (unsigned)w.cap) :
	    w.cap + pick(&w, 10);
	/* Sometimes a cache too small for the biggest payloads. */
	co.max_event_bytes = MAXPAY + (pick(&w, 4) == 0 ? 20 : EVS_CACHING_OVERHEAD);
	cbo.max_events_per_session = w.cap;
	cbo.max_event_bytes = MAXPAY + EVS_CACHING_OVERHEAD;
	if (evs_memory_store_create(&bo, &w.backend) != 0 ||
	    evs_memory_store_create(&co, &w.raw_cache_a) != 0 ||
	    wrap_store_create(w.raw_cache_a, &w.ctl, &w.cache_a) != 0 ||
	    evs_caching_store_create(w.cache_a, w.backend, &w.a) != 0 ||
	    evs_memory_store_create(&cbo, &w.cache_b) != 0 ||
	    evs_caching_store_create(w.cache_b, w.backend, &w.b) != 0) {
		fprintf(stderr, "model_caching: cannot create the stores\n");
		return false;
	}
	bool failures = pick(&w, 3) != 0;

	for (w.ops = 0; w.ops < nops && !w.failed; w.ops++) {
		unsigned si = pick(&w, NSESS);
		unsigned k = pick(&w, 100);

		if (failures)
			maybe_fail_cache(&w);
		if (k < 30)
			op_append(&w, si);
		else if (k < 45)
			op_append_next(&w, si);
		else if (k < 85)
			op_replay(&w, si);
		else if (k < 90)
			op_info(&w, si);
		else if (k < 94)
			op_purge(&w, si);
		else
			op_bad(&w, si);
	}
	for (int op = 0; op < WRAP_NOPS; op++)
		atomic_store(&w.ctl.fail[op], 0);
	/* At the end, with a healthy cache, every replay still matches. */
	for (unsigned si = 0; si < NSESS && !w.failed; si++)
		for (int i = 0; i < 20; i++)
			op_replay(&w, si);
	evs_store_destroy(w.a);
	evs_store_destroy(w.b);
	evs_store_destroy(w.cache_a);
	evs_store_destroy(w.raw_cache_a);
	evs_store_destroy(w.cache_b);
	evs_store_destroy(w.backend);
	return !w.failed;
}

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

int
main(int argc, char **argv)
{
	double duration = 2.0, t0;
	unsigned long seeds = 100000, nops = 600, passed = 0, failed = 0;
	unsigned first = 1;
	bool one = false;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--duration") == 0 && i + 1 < argc)
			duration = atof(argv[++i]);
		else if (strcmp(argv[i], "--seeds") == 0 && i + 1 < argc)
			seeds = strtoul(argv[++i], NULL, 10);
		else if (strcmp(argv[i], "--seed") == 0 && i + 1 < argc) {
			first = (unsigned)strtoul(argv[++i], NULL, 10);
			one = true;
		} else if (strcmp(argv[i], "--ops") == 0 && i + 1 < argc)
			nops = strtoul(argv[++i], NULL, 10);
		else {
			fprintf(stderr, "usage: %s [--duration S] [--seeds N] "
			    "[--seed S] [--ops N]\n", argv[0]);
			return 2;
		}
	}
	if (one)
		seeds = 1;
	t0 = now_s();
	for (unsigned long i = 0; i < seeds; i++) {
		if (run_seed(first + (unsigned)i, nops))
			passed++;
		else
			failed++;
		if (!one && now_s() - t0 > duration)
			break;
	}
	printf("model_caching: %lu seeds of %lu ops in %.1f s\n", passed + failed,
	    nops, now_s() - t0);
	printf("model_caching: %lu passed, %lu failed\n", passed, failed);
	return failed == 0 && passed > 0 ? 0 : 1;
}
