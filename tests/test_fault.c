/*
 * tests/test_fault.c: the memory store under allocation failures.
 * Built only with -DEVSTORE_FAULT_INJECTION=ON (src/fault.c); CI runs it in
 * an ASan + LeakSanitizer build, so a leak on any failure path fails it.
 *
 * Random operations run against the store and a simple model while a share
 * of the library's allocations fail.  Every call must return exactly what
 * the model says, or EVS_ENOMEM for an append (which then changes nothing);
 * after every step the whole store is compared with the model.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include <evstore/evstore.h>

#include "fault.h"

#define NSESS   5
#define MAXCAP  40
#define MAXLEN  24

struct mev {
	uint64_t id;
	size_t len;
	unsigned char data[MAXLEN];
};

struct mlog {
	struct mev ev[MAXCAP];   /* oldest first */
	size_t n;
	bool evicted;            /* hwm is valid */
	uint64_t hwm;            /* newest evicted id */
	uint64_t epoch;          /* seen for this log; 0 until first checked */
	uint64_t last_epoch;     /* of the previous log */
};

struct model {
	struct mlog log[NSESS];
	size_t cap;
	size_t max_bytes;
};

static uint64_t
rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static void
sname(unsigned i, char *buf)
{
	snprintf(buf, 32, "fault-%u", i);
}

static void
model_append(struct model *m, unsigned s, uint64_t id, const void *d, size_t len)
{
	struct mlog *l = &m->log[s];

	if (l->n == m->cap) {
		l->evicted = true;
		l->hwm = l->ev[0].id;
		memmove(&l->ev[0], &l->ev[1], (l->n - 1) * sizeof(l->ev[0]));
		l->n--;
	}
	l->ev[l->n].id = id;
	l->ev[l->n].len = len;
	if (len > 0)
		memcpy(l->ev[l->n].data, d, len);
	l->n++;
}

struct collect {
	struct mev got[MAXCAP];
	size_t n;
};

static int
collect_cb(const struct evs_event *ev, void *arg)
{
	struct collect *c = arg;

	assert_true(c->n < MAXCAP);
	assert_true(ev->len <= MAXLEN);
	c->got[c->n].id = ev->id;
	c->got[c->n].len = ev->len;
	if (ev->len > 0)
		memcpy(c->got[c->n].data, ev->data, ev->len);
	c->n++;
	return 0;
}

/* The store's view of session s equals the model's. */
static void
check_session(struct evs_store *st, struct model *m, unsigned s, uint64_t after)
{
	struct mlog *l = &m->log[s];
	struct evs_log_info li;
	struct evs_replay_info ri;
	struct collect c;
	size_t first = 0;
	char name[32];

	sname(s, name);
	assert_int_equal(evs_store_info(st, name, &li), 0);
	assert_int_equal(li.retained, l->n);
	if (l->n == 0) {
		assert_true(li.epoch == 0);
		if (l->epoch != 0)
			l->last_epoch = l->epoch;
		l->epoch = 0;
	} else {
		assert_true(li.first_id == l->ev[0].id);
		assert_true(li.last_id == l->ev[l->n - 1].id);
		assert_true(li.epoch != 0);
		if (l->epoch == 0) {
			/* A new log: its epoch differs from the previous one. */
			assert_true(li.epoch != l->last_epoch);
			l->epoch = li.epoch;
		}
		assert_true(li.epoch == l->epoch);
	}
	memset(&c, 0, sizeof(c));
	assert_int_equal(evs_store_replay_after(st, name, after, collect_cb, &c,
	    &ri), 0);
	while (first < l->n && l->ev[first].id <= after)
		first++;
	assert_int_equal(c.n, l->n - first);
	assert_int_equal(ri.delivered, c.n);
	for (size_t i = 0; i < c.n; i++) {
		assert_true(c.got[i].id == l->ev[first + i].id);
		assert_int_equal(c.got[i].len, l->ev[first + i].len);
		assert_memory_equal(c.got[i].data, l->ev[first + i].data,
		    c.got[i].len);
	}
	assert_int_equal(ri.truncated, l->n > 0 && l->evicted && l->hwm > after);
}

static void
check_all(struct evs_store *st, struct model *m, uint64_t *r)
{
	size_t events = 0, sessions = 0;

	for (unsigned s = 0; s < NSESS; s++) {
		struct mlog *l = &m->log[s];
		uint64_t after = l->n > 0 ? l->ev[rnd(r) % l->n].id - 1 : 0;

		check_session(st, m, s, rnd(r) % 4 == 0 ? 0 : after);
		events += l->n;
		sessions += l->n > 0;
	}
	assert_int_equal(evs_memory_store_total_events(st), events);
	assert_int_equal(evs_memory_store_session_count(st), sessions);
}

static void
run_model(size_t cap, unsigned permille, uint64_t seed, unsigned steps)
{
	struct evs_memory_opts o = { .max_events_per_session = cap,
	    .max_event_bytes = MAXLEN - 4 };
	struct evs_store *st = NULL;
	static struct model m;
	uint64_t r = seed | 1;
	unsigned enomem = 0, ok = 0;
	int rc;

	memset(&m, 0, sizeof(m));
	m.cap = cap;
	m.max_bytes = o.max_event_bytes;
	evs__fault_set(seed, permille);
	/* Creation may fail too; it either succeeds or returns EVS_ENOMEM
	 * and leaves the out-parameter alone. */
	for (unsigned tries = 0; tries < 1000; tries++) {
		rc = evs_memory_store_create(&o, &st);
		assert_true(rc == 0 || rc == EVS_ENOMEM);
		if (rc == 0)
			break;
		assert_null(st);
	}
	assert_non_null(st);

	for (unsigned step = 0; step < steps; step++) {
		unsigned s = (unsigned)(rnd(&r) % NSESS);
		struct mlog *l = &m.log[s];
		unsigned char data[MAXLEN];
		size_t len = (size_t)(rnd(&r) % (MAXLEN + 1));
		uint64_t newest = l->n > 0 ? l->ev[l->n - 1].id : 0;
		uint64_t id = 0;
		char name[32];

		for (size_t i = 0; i < len; i++)
			data[i] = (unsigned char)rnd(&r);
		sname(s, name);
		switch (rnd(&r) % 8) {
		case 0: case 1: case 2: {   /* explicit id, sometimes stale */
			uint64_t want = l->n == 0 ? rnd(&r) % 3
			    : newest + rnd(&r) % 4;
			int expect;

			want = want > 0 ? want - 1 : 0;   /* newest-1 .. newest+2 */
			expect = len > m.max_bytes ? EVS_ETOOBIG
			    : (l->n > 0 && want <= newest) ? EVS_EORDER : 0;
			rc = evs_store_append(st, name, want, data, len);
			if (rc == EVS_ENOMEM && expect != EVS_ETOOBIG) {
				enomem++;
				break;
			}
			assert_int_equal(rc, expect);
			if (rc == 0) {
				model_append(&m, s, want, data, len);
				ok++;
			}
			break;
		}
		case 3: case 4: case 5: {   /* store-assigned id */
			int expect = len > m.max_bytes ? EVS_ETOOBIG : 0;

			rc = evs_store_append_next(st, name, data, len, &id);
			if (rc == EVS_ENOMEM && expect == 0) {
				enomem++;
				break;
			}
			assert_int_equal(rc, expect);
			if (rc == 0) {
				assert_true(id == (l->n > 0 ? newest + 1 : 1));
				model_append(&m, s, id, data, len);
				ok++;
			}
			break;
		}
		case 6:                     /* purge */
			if (rnd(&r) % 4 != 0)
				break;
			assert_int_equal(evs_store_purge_session(st, name), 0);
			l->n = 0;
			l->evicted = false;
			if (l->epoch != 0)
				l->last_epoch = l->epoch;
			l->epoch = 0;
			break;
		default:                    /* replay / info: no allocation */
			check_session(st, &m, s, newest > 2 ? newest - 2 : 0);
			break;
		}
		check_all(st, &m, &r);
	}
	/* Failures were really injected, and successes still happened. */
	if (permille > 0)
		assert_true(enomem > 0);
	assert_true(ok > 0);
	evs__fault_set(0, 0);
	evs_store_destroy(st);
}

static void
test_model_caps(void **state)
{
	static const size_t caps[] = { 1, 3, 8, 9, 17, 40 };

	(void)state;
	for (size_t i = 0; i < sizeof(caps) / sizeof(caps[0]); i++) {
		run_model(caps[i], 0, 0x1000 + i, 300);      /* model sanity */
		run_model(caps[i], 150, 0x2000 + i, 4000);
		run_model(caps[i], 600, 0x3000 + i, 4000);
	}
}

/* Every allocation fails: every append says EVS_ENOMEM, nothing appears. */
static void
test_all_fail(void **state)
{
	struct evs_store *st;
	struct evs_log_info li;
	uint64_t id = 7;

	(void)state;
	assert_int_equal(evs_memory_store_create(NULL, &st), 0);
	evs__fault_set(1, 1000);
	assert_int_equal(evs_store_append(st, "a", 1, "x", 1), EVS_ENOMEM);
	assert_int_equal(evs_store_append_next(st, "a", "x", 1, &id), EVS_ENOMEM);
	assert_true(id == 7);
	assert_true(evs__fault_failures() > 0);
	assert_int_equal(evs_store_info(st, "a", &li), 0);
	assert_true(li.epoch == 0 && li.retained == 0);
	evs__fault_set(0, 0);
	assert_int_equal(evs_store_append_next(st, "a", "x", 1, &id), 0);
	assert_true(id == 1);
	evs_store_destroy(st);

	evs__fault_set(2, 1000);
	st = NULL;
	assert_int_equal(evs_memory_store_create(NULL, &st), EVS_ENOMEM);
	assert_null(st);
	evs__fault_set(0, 0);
}

/* Threads append_next under failures: the ids that succeeded are exactly
 * 1..N (failed appends leave no gap and no trace). */
#define T_THREADS 4
#define T_OPS     3000

static struct evs_store *tstore;

static void *
fault_worker(void *arg)
{
	uint64_t n = 0, prev = 0;

	(void)arg;
	for (unsigned i = 0; i < T_OPS; i++) {
		uint64_t id = 0;
		int rc = evs_store_append_next(tstore, "shared", &i, sizeof(i), &id);

		if (rc == 0) {
			if (id <= prev)
				return (void *)(uintptr_t)UINT64_MAX;
			prev = id;
			n++;
		} else if (rc != EVS_ENOMEM) {
			return (void *)(uintptr_t)UINT64_MAX;
		}
	}
	return (void *)(uintptr_t)n;
}

static void
test_threads(void **state)
{
	struct evs_memory_opts o = { .max_events_per_session = 50 };
	pthread_t th[T_THREADS];
	struct evs_log_info li;
	uint64_t total = 0;

	(void)state;
	assert_int_equal(evs_memory_store_create(&o, &tstore), 0);
	evs__fault_set(42, 300);
	for (unsigned i = 0; i < T_THREADS; i++)
		assert_int_equal(pthread_create(&th[i], NULL, fault_worker, NULL), 0);
	for (unsigned i = 0; i < T_THREADS; i++) {
		void *ret;

		assert_int_equal(pthread_join(th[i], &ret), 0);
		assert_true((uintptr_t)ret != (uintptr_t)UINT64_MAX);
		total += (uintptr_t)ret;
	}
	assert_true(evs__fault_failures() > 0);
	evs__fault_set(0, 0);
	assert_true(total > 0);
	assert_int_equal(evs_store_info(tstore, "shared", &li), 0);
	assert_true(li.last_id == total);
	assert_int_equal(li.retained, total < 50 ? total : 50);
	evs_store_destroy(tstore);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_model_caps),
		cmocka_unit_test(test_all_fail),
		cmocka_unit_test(test_threads),
	};

	return cmocka_run_group_tests_name("fault", tests, NULL, NULL);
}
