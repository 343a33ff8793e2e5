/*
 * tests/stress_redis.c: several threads on one Redis store.
 *
 *   stress_redis [--duration SECONDS]
 *
 * Phase 1 (no purges): P threads append_next into S shared sessions while R
 * readers replay from where they left off.  Every replay checks that ids
 * strictly increase with no gap unless `truncated` says events were missed,
 * that each payload names its session and holds its checksum.  At the end
 * each session's newest id equals the number of successful appends to it
 * (ids are gap-free across threads) and it retains min(appends, capacity).
 *
 * Phase 2 (purges): the same while a purger purges sessions at random; every
 * replay's invariants still hold.
 *
 * The pool is smaller than the number of threads, so the path that opens an
 * extra connection runs too.  Loops are bounded by time and an operation
 * cap.  The summary line is "stress_redis: N passed, N failed".
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <evstore/redis.h>

#define STRESS_NAME "stress_redis"
#include "stress_common.h"

#include "redis_harness.h"

#define SESSIONS  3
#define PRODUCERS 3
#define READERS   2
#define CAPACITY  50
#define MAX_OPS   200000   /* per thread, per phase */

static struct evs_store *store;
static double duration_s = 1.0;
/* Set by main when the phase's time is up; workers poll it to stop. */
static atomic_bool stop;
static atomic_bool purging;
static atomic_ulong ops_done, backend_errors;
static atomic_ulong appended[SESSIONS];

struct payload {
	uint32_t session;
	uint32_t writer;
	uint64_t seq;
	uint64_t check;
};

static uint64_t
checksum(const struct payload *p)
{
	return stress_checksum(p->session, p->writer, p->seq);
}

static const char *
session_name(unsigned i)
{
	static const char *const names[SESSIONS] = { "alpha", "beta", "gamma" };

	return names[i];
}

static bool
stopped(void)
{
	/* Relaxed: a stop flag; nothing is published through it. */
	return atomic_load_explicit(&stop, memory_order_relaxed);
}

static void *
producer(void *arg)
{
	unsigned me = (unsigned)(uintptr_t)arg;
	uint64_t rnd = 0x9e3779b97f4a7c15u * (me + 1);

	for (uint64_t seq = 0; seq < MAX_OPS && !stopped(); seq++) {
		struct payload p;
		unsigned sidx;
		uint64_t id;
		int rc;

		rnd ^= rnd << 13;
		rnd ^= rnd >> 7;
		rnd ^= rnd << 17;
		sidx = (unsigned)(rnd % SESSIONS);
		p.session = sidx;
		p.writer = me;
		p.seq = seq;
		p.check = checksum(&p);
		rc = evs_store_append_next(store, session_name(sidx), &p,
		    sizeof(p), &id);
		CHECK(rc == 0 || rc == EVS_EBACKEND, "append_next: %s",
		    evs_strerror(rc));
		if (rc == 0)
			atomic_fetch_add_explicit(&appended[sidx], 1,
			    memory_order_relaxed);   /* counter, read after join */
		else
			atomic_fetch_add_explicit(&backend_errors, 1,
			    memory_order_relaxed);   /* counter, read after join */
		atomic_fetch_add_explicit(&ops_done, 1, memory_order_relaxed);
	}
	return NULL;
}

struct replay_state {
	unsigned sidx;
	uint64_t last;        /* last id delivered in this replay */
	bool any;
	uint64_t after;
	uint64_t first;       /* first id delivered */
	unsigned gaps;        /* consecutive deliveries whose ids differ by > 1 */
};

static int
check_event(const struct evs_event *ev, void *arg)
{
	struct replay_state *st = arg;
	struct payload p;

	CHECK(ev->id > st->after, "id %llu not after %llu",
	    (unsigned long long)ev->id, (unsigned long long)st->after);
	CHECK(!st->any || ev->id > st->last, "ids not increasing");
	CHECK(ev->len == sizeof(p), "payload length %zu", ev->len);
	if (ev->len == sizeof(p)) {
		memcpy(&p, ev->data, sizeof(p));
		CHECK(p.session == st->sidx, "event of session %u in %u",
		    p.session, st->sidx);
		CHECK(p.check == checksum(&p), "bad checksum");
	}
	if (st->any && ev->id != st->last + 1)
		st->gaps++;
	if (!st->any)
		st->first = ev->id;
	st->last = ev->id;
	st->any = true;
	return 0;
}

static void *
reader(void *arg)
{
	unsigned me = (unsigned)(uintptr_t)arg;
	uint64_t from[SESSIONS] = { 0 }, epoch[SESSIONS] = { 0 };

	for (unsigned k = 0; k < MAX_OPS && !stopped(); k++) {
		unsigned sidx = (k + me) % SESSIONS;
		struct replay_state st = { sidx, 0, false, from[sidx], 0, 0 };
		struct evs_replay_info info;
		int rc;

		rc = evs_store_replay_after(store, session_name(sidx),
		    from[sidx], check_event, &st, &info);
		CHECK(rc == 0 || rc == EVS_EBACKEND, "replay: %s",
		    evs_strerror(rc));
		if (rc != 0)
			continue;
		if (info.log.epoch != epoch[sidx]) {
			epoch[sidx] = info.log.epoch;   /* new log: start over */
			from[sidx] = 0;
			continue;
		}
		CHECK(st.last <= info.log.last_id, "delivered past last_id");
		/* append_next ids have no holes: a jump means evictions, and
		 * then `truncated` must say so. */
		if (st.any && from[sidx] > 0 && st.first != from[sidx] + 1)
			st.gaps++;
		CHECK(st.gaps == 0 || info.truncated, "gap without truncated");
		if (st.any)
			from[sidx] = st.last;
		atomic_fetch_add_explicit(&ops_done, 1, memory_order_relaxed);
	}
	return NULL;
}

static void *
purger(void *arg)
{
	uint64_t rnd = 12345;

	(void)arg;
	for (unsigned k = 0; k < MAX_OPS && !stopped(); k++) {
		struct timespec ts = { 0, 2000000 };   /* pacing, not sync */
		int rc;

		rnd = rnd * 6364136223846793005u + 1442695040888963407u;
		rc = evs_store_purge_session(store,
		    session_name((unsigned)(rnd >> 33) % SESSIONS));
		CHECK(rc == 0 || rc == EVS_EBACKEND, "purge: %s",
		    evs_strerror(rc));
		nanosleep(&ts, NULL);
	}
	return NULL;
}

static void
run_phase(bool with_purger)
{
	pthread_t th[PRODUCERS + READERS + 1];
	int n = 0;
	struct timespec ts;

	atomic_store(&stop, false);
	atomic_store(&purging, with_purger);
	for (unsigned i = 0; i < PRODUCERS; i++)
		pthread_create(&th[n++], NULL, producer, (void *)(uintptr_t)i);
	for (unsigned i = 0; i < READERS; i++)
		pthread_create(&th[n++], NULL, reader, (void *)(uintptr_t)i);
	if (with_purger)
		pthread_create(&th[n++], NULL, purger, NULL);
	/* The phase's length: a deadline, not a synchronization. */
	ts.tv_sec = (time_t)duration_s;
	ts.tv_nsec = (long)((duration_s - (double)ts.tv_sec) * 1e9);
	nanosleep(&ts, NULL);
	atomic_store(&stop, true);
	for (int i = 0; i < n; i++)
		pthread_join(th[i], NULL);
}

int
main(int argc, char **argv)
{
	struct redis_server srv;
	const char *nodes[1];
	char prefix[64];
	struct evs_redis_opts o = { 0 };
	unsigned long passed, failed;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--duration") == 0 && i + 1 < argc)
			duration_s = atof(argv[++i]);
	}
	if (duration_s <= 0 || duration_s > 3600)
		duration_s = 1.0;
	redis_harness_require("stress_redis");
	if (redis_server_start(&srv, false) != 0) {
		fprintf(stderr, "stress_redis: FAILED: cannot start redis-server\n");
		return 1;
	}
	nodes[0] = srv.node;
	snprintf(prefix, sizeof(prefix), "evs-stress:%ld:", (long)getpid());
	o.nodes = nodes;
	o.node_count = 1;
	o.key_prefix = prefix;
	o.max_events_per_session = CAPACITY;
	o.timeout_ms = 5000;
	o.pool_size = 2;   /* fewer than the threads: extra connections too */
	o.replay_batch = 16;
	if (evs_redis_store_create(&o, &store) != 0) {
		fprintf(stderr, "stress_redis: FAILED: create\n");
		return 1;
	}

	run_phase(false);
	for (unsigned i = 0; i < SESSIONS; i++) {
		struct evs_log_info li;
		unsigned long n = atomic_load(&appended[i]);

		CHECK(evs_store_info(store, session_name(i), &li) == 0, "info");
		CHECK(atomic_load(&backend_errors) != 0 || li.last_id == n,
		    "session %u: last id %llu after %lu appends", i,
		    (unsigned long long)li.last_id, n);
		CHECK(li.retained == (n < CAPACITY ? n : CAPACITY),
		    "session %u: retained %zu", i, li.retained);
	}
	run_phase(true);
	for (unsigned i = 0; i < SESSIONS; i++) {
		struct evs_log_info li;

		CHECK(evs_store_purge_session(store, session_name(i)) == 0,
		    "final purge");
		CHECK(evs_store_info(store, session_name(i), &li) == 0 &&
		    li.epoch == 0, "session %u still there", i);
	}
	evs_store_destroy(store);
	redis_server_stop(&srv);

	passed = atomic_load(&checks_passed);
	failed = atomic_load(&checks_failed);
	printf("stress_redis: %lu operations, %lu backend errors\n",
	    atomic_load(&ops_done), atomic_load(&backend_errors));
	printf("stress_redis: %lu passed, %lu failed\n", passed, failed);
	return failed == 0 && passed > 0 ? 0 : 1;
}
