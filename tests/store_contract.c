/*
 * tests/store_contract.c: one suite for every store.  Each test gets a fresh
 * store from the backend's factory; nothing here knows which store it tests.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "store_contract.h"

static const struct contract_backend *B;

#define MAX_SEEN 64

struct seen {
	size_t n;
	uint64_t id[MAX_SEEN];
	char data[MAX_SEEN][32];
	size_t len[MAX_SEEN];
	int64_t ts[MAX_SEEN];
	int stop_after;   /* >0: return 7 after that many events */
};

static int
collect(const struct evs_event *ev, void *arg)
{
	struct seen *s = arg;

	assert_true(s->n < MAX_SEEN);
	s->id[s->n] = ev->id;
	s->len[s->n] = ev->len;
	s->ts[s->n] = ev->timestamp_ns;
	assert_true(ev->len < sizeof(s->data[0]));
	if (ev->len > 0)
		memcpy(s->data[s->n], ev->data, ev->len);
	s->data[s->n][ev->len] = '\0';
	s->n++;
	if (s->stop_after > 0 && (int)s->n == s->stop_after)
		return 7;
	return 0;
}

static int
never_called(const struct evs_event *ev, void *arg)
{
	(void)ev;
	(void)arg;
	fail_msg("callback called");
	return 0;
}

static struct evs_store *
make(size_t cap, size_t max_bytes)
{
	struct evs_store *s = NULL;

	assert_int_equal(B->make(B->ctx, cap, max_bytes, &s), 0);
	assert_non_null(s);
	return s;
}

static int
setup_default(void **state)
{
	*state = make(0, 0);
	return 0;
}

static int
teardown(void **state)
{
	B->destroy(B->ctx, *state);
	return 0;
}

static void
app(struct evs_store *s, const char *session, uint64_t id, const char *data)
{
	assert_int_equal(evs_store_append(s, session, id, data, strlen(data)), 0);
}

static struct seen
replay(struct evs_store *s, const char *session, uint64_t after,
       struct evs_replay_info *info)
{
	struct seen seen;

	memset(&seen, 0, sizeof(seen));
	assert_int_equal(evs_store_replay_after(s, session, after, collect,
	    &seen, info), 0);
	return seen;
}

/* ---- ported from the reference module ------------------------------------ */

/* ids 0,1,2: replay after 0 returns 1,2; after 5 returns nothing. */
static void
test_append_and_replay(void **state)
{
	struct evs_store *s = *state;
	struct evs_replay_info info;
	struct seen seen;

	app(s, "s1", 0, "zero");
	app(s, "s1", 1, "one");
	app(s, "s1", 2, "two");
	seen = replay(s, "s1", 0, &info);
	assert_int_equal(seen.n, 2);
	assert_int_equal(seen.id[0], 1);
	assert_string_equal(seen.data[0], "one");
	assert_int_equal(seen.id[1], 2);
	assert_string_equal(seen.data[1], "two");
	assert_int_equal(info.delivered, 2);
	assert_false(info.truncated);
	assert_int_equal(info.log.retained, 3);
	assert_int_equal(info.log.first_id, 0);
	assert_int_equal(info.log.last_id, 2);
	assert_int_not_equal(info.log.epoch, 0);

	seen = replay(s, "s1", 5, &info);
	assert_int_equal(seen.n, 0);
	assert_int_equal(info.delivered, 0);
	assert_false(info.truncated);
}

/* Capacity 3 with ids 0..4 keeps 2,3,4. */
static void
test_capacity_evicts_oldest(void **state)
{
	struct evs_store *s = make(3, 0);
	struct evs_replay_info info;
	struct evs_log_info li;
	struct seen seen;

	(void)state;
	for (uint64_t id = 0; id <= 4; id++)
		assert_int_equal(evs_store_append(s, "c", id, "x", 1), 0);
	assert_int_equal(evs_store_info(s, "c", &li), 0);
	assert_int_equal(li.retained, 3);
	assert_int_equal(li.first_id, 2);
	assert_int_equal(li.last_id, 4);
	seen = replay(s, "c", 1, &info);
	assert_int_equal(seen.n, 3);
	assert_int_equal(seen.id[0], 2);
	assert_int_equal(seen.id[1], 3);
	assert_int_equal(seen.id[2], 4);
	assert_false(info.truncated);   /* evicted 0 and 1, both <= 1 */
	B->destroy(B->ctx, s);
}

static void
test_sessions_isolated(void **state)
{
	struct evs_store *s = *state;
	struct evs_replay_info ia, ib;
	struct seen a, b;

	app(s, "alpha", 1, "a1");
	app(s, "beta", 1, "b1");
	app(s, "alpha", 2, "a2");
	app(s, "beta", 7, "b7");
	a = replay(s, "alpha", 0, &ia);
	b = replay(s, "beta", 0, &ib);
	assert_int_equal(a.n, 2);
	assert_string_equal(a.data[0], "a1");
	assert_string_equal(a.data[1], "a2");
	assert_int_equal(b.n, 2);
	assert_string_equal(b.data[0], "b1");
	assert_string_equal(b.data[1], "b7");
	assert_int_not_equal(ia.log.epoch, ib.log.epoch);
	/* A session id that is a prefix of another is another session. */
	a = replay(s, "alph", 0, &ia);
	assert_int_equal(a.n, 0);
	assert_int_equal(ia.log.epoch, 0);
}

static void
test_purge_removes_and_is_idempotent(void **state)
{
	struct evs_store *s = *state;
	struct evs_replay_info info;
	struct evs_log_info li;
	struct seen seen;

	app(s, "p", 1, "one");
	app(s, "p", 2, "two");
	app(s, "other", 1, "keep");
	assert_int_equal(evs_store_purge_session(s, "p"), 0);
	seen = replay(s, "p", 0, &info);
	assert_int_equal(seen.n, 0);
	assert_int_equal(info.log.epoch, 0);
	assert_int_equal(evs_store_info(s, "p", &li), 0);
	assert_int_equal(li.epoch, 0);
	assert_int_equal(li.retained, 0);
	assert_int_equal(evs_store_purge_session(s, "p"), 0);
	assert_int_equal(evs_store_purge_session(s, "never-existed"), 0);
	seen = replay(s, "other", 0, NULL);
	assert_int_equal(seen.n, 1);
	assert_string_equal(seen.data[0], "keep");
}

/* The store works through the generic interface alone. */
static void
test_generic_interface(void **state)
{
	struct evs_store *s = *state;
	uint64_t id = 0;

	assert_true(strlen(evs_store_name(s)) > 0);
	assert_int_equal(evs_store_append_next(s, "g", "a", 1, &id), 0);
	assert_int_equal(id, 1);
	assert_int_equal(replay(s, "g", 0, NULL).n, 1);
}

/* ---- the contract's other rules --------------------------------------------- */

static void
test_eorder(void **state)
{
	struct evs_store *s = *state;
	struct seen seen;

	app(s, "o", 5, "five");
	assert_int_equal(evs_store_append(s, "o", 5, "dup", 3), EVS_EORDER);
	assert_int_equal(evs_store_append(s, "o", 4, "old", 3), EVS_EORDER);
	assert_int_equal(evs_store_append(s, "o", 0, "old", 3), EVS_EORDER);
	seen = replay(s, "o", 0, NULL);
	assert_int_equal(seen.n, 1);
	assert_string_equal(seen.data[0], "five");
	app(s, "o", 6, "six");
	app(s, "o", 1000, "gap is fine");
	seen = replay(s, "o", 5, NULL);
	assert_int_equal(seen.n, 2);
	assert_int_equal(seen.id[1], 1000);
}

static void
test_any_first_id(void **state)
{
	struct evs_store *s = *state;
	struct evs_log_info li;

	app(s, "zero", 0, "z");
	assert_int_equal(evs_store_info(s, "zero", &li), 0);
	assert_int_equal(li.retained, 1);
	assert_int_equal(li.first_id, 0);
	app(s, "max", UINT64_MAX, "m");
	assert_int_equal(evs_store_append(s, "max", UINT64_MAX, "m", 1), EVS_EORDER);
	assert_int_equal(evs_store_append_next(s, "max", "n", 1, NULL), EVS_EORDER);
	assert_int_equal(evs_store_info(s, "max", &li), 0);
	assert_int_equal(li.retained, 1);
}

static void
test_append_next_ids(void **state)
{
	struct evs_store *s = *state;
	uint64_t id = 0;
	struct seen seen;

	for (uint64_t want = 1; want <= 5; want++) {
		assert_int_equal(evs_store_append_next(s, "n", "e", 1, &id), 0);
		assert_int_equal(id, want);
	}
	app(s, "n", 100, "explicit");
	assert_int_equal(evs_store_append_next(s, "n", "after", 5, &id), 0);
	assert_int_equal(id, 101);
	assert_int_equal(evs_store_append_next(s, "n", NULL, 0, NULL), 0);
	seen = replay(s, "n", 99, NULL);
	assert_int_equal(seen.n, 3);
	assert_int_equal(seen.id[0], 100);
	assert_int_equal(seen.id[1], 101);
	assert_int_equal(seen.id[2], 102);
	assert_int_equal(seen.len[2], 0);
}

static void
test_truncated(void **state)
{
	struct evs_store *s = make(3, 0);
	struct evs_replay_info info;
	struct seen seen;

	(void)state;
	for (uint64_t id = 1; id <= 5; id++)   /* keeps 3,4,5; evicted 1,2 */
		assert_int_equal(evs_store_append(s, "t", id, "x", 1), 0);
	seen = replay(s, "t", 0, &info);
	assert_true(info.truncated);
	assert_int_equal(seen.n, 3);
	assert_int_equal(seen.id[0], 3);
	seen = replay(s, "t", 1, &info);
	assert_true(info.truncated);       /* 2 was evicted */
	assert_int_equal(seen.n, 3);
	seen = replay(s, "t", 2, &info);
	assert_false(info.truncated);      /* nothing > 2 was evicted */
	assert_int_equal(seen.n, 3);
	seen = replay(s, "t", 4, &info);
	assert_false(info.truncated);
	assert_int_equal(seen.n, 1);
	seen = replay(s, "t", 5, &info);
	assert_false(info.truncated);
	assert_int_equal(seen.n, 0);

	/* Sparse ids: 10, 20, 30 in a ring of 2 evicts 10 only. */
	B->destroy(B->ctx, s);
	s = make(2, 0);
	assert_int_equal(evs_store_append(s, "sparse", 10, "a", 1), 0);
	assert_int_equal(evs_store_append(s, "sparse", 20, "b", 1), 0);
	assert_int_equal(evs_store_append(s, "sparse", 30, "c", 1), 0);
	seen = replay(s, "sparse", 15, &info);
	assert_false(info.truncated);
	assert_int_equal(seen.n, 2);
	seen = replay(s, "sparse", 9, &info);
	assert_true(info.truncated);
	assert_int_equal(seen.n, 2);
	seen = replay(s, "sparse", 10, &info);
	assert_false(info.truncated);
	B->destroy(B->ctx, s);
}

static void
test_epoch_changes_after_purge(void **state)
{
	struct evs_store *s = *state;
	struct evs_log_info a, b, c;

	assert_int_equal(evs_store_info(s, "e", &a), 0);
	assert_int_equal(a.epoch, 0);
	app(s, "e", 1, "x");
	assert_int_equal(evs_store_info(s, "e", &a), 0);
	assert_int_not_equal(a.epoch, 0);
	app(s, "e", 2, "y");
	assert_int_equal(evs_store_info(s, "e", &b), 0);
	assert_int_equal(a.epoch, b.epoch);   /* same log */
	assert_int_equal(evs_store_purge_session(s, "e"), 0);
	assert_int_equal(evs_store_info(s, "e", &b), 0);
	assert_int_equal(b.epoch, 0);
	app(s, "e", 1, "again");   /* a new log accepts any id again */
	assert_int_equal(evs_store_info(s, "e", &c), 0);
	assert_int_not_equal(c.epoch, 0);
	assert_int_not_equal(c.epoch, a.epoch);
	assert_int_equal(c.retained, 1);
}

static void
test_replay_callback_stops(void **state)
{
	struct evs_store *s = *state;
	struct evs_replay_info info;
	struct seen seen;

	for (uint64_t id = 1; id <= 5; id++)
		assert_int_equal(evs_store_append(s, "cb", id, "x", 1), 0);
	memset(&seen, 0, sizeof(seen));
	seen.stop_after = 2;
	assert_int_equal(evs_store_replay_after(s, "cb", 0, collect, &seen,
	    &info), 7);
	assert_int_equal(seen.n, 2);
	assert_int_equal(info.delivered, 2);
	assert_int_equal(info.log.last_id, 5);
}

static void
test_payload_bytes_and_timestamp(void **state)
{
	struct evs_store *s = *state;
	const unsigned char bin[] = { 0, 1, 2, 0, 255, 'x', 0 };
	struct timespec t0, t1;
	struct seen seen;
	int64_t lo, hi;

	clock_gettime(CLOCK_REALTIME, &t0);
	assert_int_equal(evs_store_append(s, "b", 1, bin, sizeof(bin)), 0);
	assert_int_equal(evs_store_append(s, "b", 2, NULL, 0), 0);
	clock_gettime(CLOCK_REALTIME, &t1);
	seen = replay(s, "b", 0, NULL);
	assert_int_equal(seen.n, 2);
	assert_int_equal(seen.len[0], sizeof(bin));
	assert_memory_equal(seen.data[0], bin, sizeof(bin));
	assert_int_equal(seen.len[1], 0);
	lo = (int64_t)t0.tv_sec * 1000000000 + t0.tv_nsec;
	hi = (int64_t)t1.tv_sec * 1000000000 + t1.tv_nsec;
	/* Allow a second of skew for stores whose clock is a server's. */
	assert_true(seen.ts[0] >= lo - 1000000000 && seen.ts[0] <= hi + 1000000000);
	assert_true(seen.ts[1] >= seen.ts[0]);
}

/* Every bad input gets EVS_EINVAL (or ETOOBIG) and changes nothing. */
static void
test_bad_input(void **state)
{
	struct evs_store *s = make(0, 16);
	char id255[EVS_SESSION_ID_MAX + 1], id256[EVS_SESSION_ID_MAX + 2];
	char big[17];
	struct evs_log_info li;
	struct evs_replay_info info;
	uint64_t id = 42;

	(void)state;
	memset(id255, 'k', sizeof(id255) - 1);
	id255[sizeof(id255) - 1] = '\0';
	memset(id256, 'k', sizeof(id256) - 1);
	id256[sizeof(id256) - 1] = '\0';
	memset(big, 'b', sizeof(big));

	app(s, "ok", 1, "x");
	assert_int_equal(evs_store_append(NULL, "ok", 2, "x", 1), EVS_EINVAL);
	assert_int_equal(evs_store_append(s, NULL, 2, "x", 1), EVS_EINVAL);
	assert_int_equal(evs_store_append(s, "", 2, "x", 1), EVS_EINVAL);
	assert_int_equal(evs_store_append(s, id256, 2, "x", 1), EVS_EINVAL);
	assert_int_equal(evs_store_append(s, "ok", 2, NULL, 1), EVS_EINVAL);
	assert_int_equal(evs_store_append(s, "ok", 2, big, sizeof(big)), EVS_ETOOBIG);
	assert_int_equal(evs_store_append(s, "ok", 2, big, 16), 0);
	assert_int_equal(evs_store_append_next(NULL, "ok", "x", 1, &id), EVS_EINVAL);
	assert_int_equal(evs_store_append_next(s, NULL, "x", 1, &id), EVS_EINVAL);
	assert_int_equal(evs_store_append_next(s, "", "x", 1, &id), EVS_EINVAL);
	assert_int_equal(evs_store_append_next(s, id256, "x", 1, &id), EVS_EINVAL);
	assert_int_equal(evs_store_append_next(s, "ok", NULL, 3, &id), EVS_EINVAL);
	assert_int_equal(evs_store_append_next(s, "ok", big, 17, &id), EVS_ETOOBIG);
	assert_int_equal(id, 42);   /* untouched on failure */
	assert_int_equal(evs_store_replay_after(NULL, "ok", 0, collect, NULL, &info),
	    EVS_EINVAL);
	assert_int_equal(evs_store_replay_after(s, NULL, 0, never_called, NULL,
	    &info), EVS_EINVAL);
	assert_int_equal(evs_store_replay_after(s, "", 0, never_called, NULL,
	    &info), EVS_EINVAL);
	assert_int_equal(evs_store_replay_after(s, id256, 0, never_called, NULL,
	    &info), EVS_EINVAL);
	assert_int_equal(evs_store_replay_after(s, "ok", 0, NULL, NULL, &info),
	    EVS_EINVAL);
	assert_int_equal(evs_store_info(NULL, "ok", &li), EVS_EINVAL);
	assert_int_equal(evs_store_info(s, "ok", NULL), EVS_EINVAL);
	assert_int_equal(evs_store_info(s, id256, &li), EVS_EINVAL);
	assert_int_equal(evs_store_purge_session(NULL, "ok"), EVS_EINVAL);
	assert_int_equal(evs_store_purge_session(s, ""), EVS_EINVAL);
	assert_int_equal(evs_store_purge_session(s, id256), EVS_EINVAL);
	evs_store_destroy(NULL);

	/* Nothing changed. */
	assert_int_equal(evs_store_info(s, "ok", &li), 0);
	assert_int_equal(li.retained, 2);
	assert_int_equal(li.last_id, 2);
	assert_int_equal(evs_store_info(s, "k", &li), 0);
	assert_int_equal(li.epoch, 0);

	/* 255 bytes is a valid session id; 256 is not. */
	app(s, id255, 1, "long");
	assert_int_equal(replay(s, id255, 0, NULL).n, 1);
	assert_int_equal(evs_store_purge_session(s, id255), 0);
	B->destroy(B->ctx, s);
}

static void
test_strerror(void **state)
{
	const int codes[] = { 0, EVS_EINVAL, EVS_ENOMEM, EVS_EORDER, EVS_ETOOBIG,
	    EVS_EENCODE, EVS_EDECODE, EVS_EBACKEND };
	size_t n = sizeof(codes) / sizeof(codes[0]);

	(void)state;
	for (size_t i = 0; i < n; i++) {
		assert_non_null(evs_strerror(codes[i]));
		assert_string_not_equal(evs_strerror(codes[i]), "unknown error");
		for (size_t j = i + 1; j < n; j++) {
			assert_int_not_equal(codes[i], codes[j]);
			assert_string_not_equal(evs_strerror(codes[i]),
			    evs_strerror(codes[j]));
		}
	}
	assert_string_equal(evs_strerror(-999), "unknown error");
	assert_string_equal(evs_strerror_name(EVS_EORDER), "EVS_EORDER");
}

/* Many events through a default-sized ring: order, bytes and eviction. */
static void
test_many_events_in_order(void **state)
{
	struct evs_store *s = make(100, 0);
	struct evs_log_info li;
	char buf[32];

	(void)state;
	for (int i = 1; i <= 1000; i++) {
		int n = snprintf(buf, sizeof(buf), "ev-%d", i);

		assert_int_equal(evs_store_append(s, "m", (uint64_t)i, buf,
		    (size_t)n), 0);
	}
	assert_int_equal(evs_store_info(s, "m", &li), 0);
	assert_int_equal(li.retained, 100);
	assert_int_equal(li.first_id, 901);
	assert_int_equal(li.last_id, 1000);
	for (uint64_t after = 890; after < 1000; after += 7) {
		struct evs_replay_info info;
		struct seen seen;

		memset(&seen, 0, sizeof(seen));
		seen.stop_after = 40;
		(void)evs_store_replay_after(s, "m", after, collect, &seen, &info);
		assert_true(seen.n > 0);
		assert_int_equal(seen.id[0], after < 900 ? 901 : after + 1);
		assert_int_equal(info.truncated, after < 900);
		for (size_t k = 0; k < seen.n; k++) {
			snprintf(buf, sizeof(buf), "ev-%d", (int)seen.id[k]);
			assert_string_equal(seen.data[k], buf);
			if (k > 0)
				assert_int_equal(seen.id[k], seen.id[k - 1] + 1);
		}
	}
	B->destroy(B->ctx, s);
}

int
contract_run(const struct contract_backend *backend)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_append_and_replay,
		    setup_default, teardown),
		cmocka_unit_test(test_capacity_evicts_oldest),
		cmocka_unit_test_setup_teardown(test_sessions_isolated,
		    setup_default, teardown),
		cmocka_unit_test_setup_teardown(test_purge_removes_and_is_idempotent,
		    setup_default, teardown),
		cmocka_unit_test_setup_teardown(test_generic_interface,
		    setup_default, teardown),
		cmocka_unit_test_setup_teardown(test_eorder, setup_default,
		    teardown),
		cmocka_unit_test_setup_teardown(test_any_first_id, setup_default,
		    teardown),
		cmocka_unit_test_setup_teardown(test_append_next_ids,
		    setup_default, teardown),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test_setup_teardown(test_epoch_changes_after_purge,
		    setup_default, teardown),
		cmocka_unit_test_setup_teardown(test_replay_callback_stops,
		    setup_default, teardown),
		cmocka_unit_test_setup_teardown(test_payload_bytes_and_timestamp,
		    setup_default, teardown),
		cmocka_unit_test(test_bad_input),
		cmocka_unit_test(test_strerror),
		cmocka_unit_test(test_many_events_in_order),
	};

	B = backend;
	return _cmocka_run_group_tests(backend->name, tests,
	    sizeof(tests) / sizeof(tests[0]), NULL, NULL);
}
