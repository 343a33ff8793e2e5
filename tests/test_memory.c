/* tests/test_memory.c: what is specific to the memory store. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include <evstore/evstore.h>

static int
count_cb(const struct evs_event *ev, void *arg)
{
	uint64_t *n = arg;

	(void)ev;
	(*n)++;
	return 0;
}

static void
test_create_options(void **state)
{
	struct evs_memory_opts o;
	struct evs_store *s = (struct evs_store *)0x1;

	(void)state;
	assert_int_equal(evs_memory_store_create(NULL, NULL), EVS_EINVAL);
	memset(&o, 0, sizeof(o));
	o.max_events_per_session = (size_t)EVS_MEMORY_MAX_EVENTS_LIMIT + 1;
	assert_int_equal(evs_memory_store_create(&o, &s), EVS_EINVAL);
	memset(&o, 0, sizeof(o));
	o.max_event_bytes = EVS_MEMORY_EVENT_BYTES_LIMIT + 1;
	assert_int_equal(evs_memory_store_create(&o, &s), EVS_EINVAL);
	memset(&o, 0, sizeof(o));
	o.producers = (enum evs_producers)7;
	assert_int_equal(evs_memory_store_create(&o, &s), EVS_EINVAL);
	assert_ptr_equal(s, (struct evs_store *)0x1);   /* untouched */

	assert_int_equal(evs_memory_store_create(NULL, &s), 0);
	assert_true(evs_is_memory_store(s));
	assert_string_equal(evs_store_name(s), "memory");
	assert_false(evs_is_memory_store(NULL));
	evs_store_destroy(s);
	evs_store_destroy(NULL);
}

/* Defaults: 1000 events per session, 1 MiB payloads. */
static void
test_defaults(void **state)
{
	static char big[(1 << 20) + 1];
	struct evs_store *s;
	struct evs_log_info li;

	(void)state;
	assert_int_equal(evs_memory_store_create(NULL, &s), 0);
	for (int i = 0; i < 1500; i++)
		assert_int_equal(evs_store_append_next(s, "d", "x", 1, NULL), 0);
	assert_int_equal(evs_store_info(s, "d", &li), 0);
	assert_int_equal(li.retained, EVS_DEFAULT_MAX_EVENTS_PER_SESSION);
	assert_int_equal(li.first_id, 501);
	assert_int_equal(li.last_id, 1500);
	assert_int_equal(evs_store_append_next(s, "d", big, sizeof(big) - 1, NULL), 0);
	assert_int_equal(evs_store_append_next(s, "d", big, sizeof(big), NULL),
	    EVS_ETOOBIG);
	evs_store_destroy(s);
}

/* Rings of 1 and of sizes around the segment boundaries (8, 16, 32, ...). */
static void
test_ring_sizes(void **state)
{
	const size_t caps[] = { 1, 2, 7, 8, 9, 15, 16, 17, 33, 100, 257 };

	(void)state;
	for (size_t c = 0; c < sizeof(caps) / sizeof(caps[0]); c++) {
		struct evs_memory_opts o = { .max_events_per_session = caps[c] };
		struct evs_store *s;
		struct evs_log_info li;
		struct evs_replay_info ri;
		uint64_t n = 0, total = 3 * caps[c] + 5;

		assert_int_equal(evs_memory_store_create(&o, &s), 0);
		for (uint64_t i = 1; i <= total; i++) {
			assert_int_equal(evs_store_append(s, "r", i * 2, &i,
			    sizeof(i)), 0);
			assert_int_equal(evs_store_info(s, "r", &li), 0);
			assert_int_equal(li.retained, i < caps[c] ? i : caps[c]);
			assert_int_equal(li.last_id, i * 2);
		}
		assert_int_equal(evs_store_replay_after(s, "r", 0, count_cb, &n,
		    &ri), 0);
		assert_int_equal(n, caps[c]);
		assert_true(ri.truncated);
		assert_int_equal(ri.log.first_id, (total - caps[c] + 1) * 2);
		assert_int_equal(evs_memory_store_total_events(s), caps[c]);
		evs_store_destroy(s);
	}
}

static void
test_counts(void **state)
{
	struct evs_memory_opts o = { .max_events_per_session = 4 };
	struct evs_store *s;

	(void)state;
	assert_int_equal(evs_memory_store_create(&o, &s), 0);
	assert_int_equal(evs_memory_store_session_count(s), 0);
	assert_int_equal(evs_memory_store_total_events(s), 0);
	for (int i = 0; i < 10; i++)
		assert_int_equal(evs_store_append_next(s, "a", "x", 1, NULL), 0);
	assert_int_equal(evs_store_append_next(s, "b", "x", 1, NULL), 0);
	assert_int_equal(evs_memory_store_session_count(s), 2);
	assert_int_equal(evs_memory_store_total_events(s), 5);
	assert_int_equal(evs_store_purge_session(s, "a"), 0);
	assert_int_equal(evs_memory_store_session_count(s), 1);
	assert_int_equal(evs_memory_store_total_events(s), 1);
	/* A failed append does not create a session that counts. */
	assert_int_equal(evs_store_append(s, "b", 0, "x", 1), EVS_EORDER);
	assert_int_equal(evs_memory_store_session_count(s), 1);
	assert_int_equal(evs_memory_store_total_events(NULL), 0);
	evs_store_destroy(s);
}

/* 100,000 sessions: each keeps its own log, counts add up, purge empties. */
static void
test_many_sessions(void **state)
{
	struct evs_memory_opts o = { .max_events_per_session = 8 };
	const int n = 100000;
	struct evs_store *s;
	char key[32];

	(void)state;
	assert_int_equal(evs_memory_store_create(&o, &s), 0);
	for (int i = 0; i < n; i++) {
		snprintf(key, sizeof(key), "session-%d", i);
		for (int k = 0; k <= i % 3; k++)
			assert_int_equal(evs_store_append_next(s, key, &i,
			    sizeof(i), NULL), 0);
	}
	assert_int_equal(evs_memory_store_session_count(s), (size_t)n);
	assert_int_equal(evs_memory_store_total_events(s),
	    (size_t)(n / 3) * 6 + (n % 3 >= 1 ? 1 : 0) + (n % 3 >= 2 ? 2 : 0));
	for (int i = 0; i < n; i += 997) {
		struct evs_log_info li;

		snprintf(key, sizeof(key), "session-%d", i);
		assert_int_equal(evs_store_info(s, key, &li), 0);
		assert_int_equal(li.retained, (size_t)(i % 3 + 1));
		assert_int_equal(li.last_id, (uint64_t)(i % 3 + 1));
	}
	for (int i = 0; i < n; i += 2) {
		snprintf(key, sizeof(key), "session-%d", i);
		assert_int_equal(evs_store_purge_session(s, key), 0);
	}
	assert_int_equal(evs_memory_store_session_count(s), (size_t)n / 2);
	evs_store_destroy(s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_create_options),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_ring_sizes),
		cmocka_unit_test(test_counts),
		cmocka_unit_test(test_many_sessions),
	};

	return cmocka_run_group_tests_name("memory", tests, NULL, NULL);
}
