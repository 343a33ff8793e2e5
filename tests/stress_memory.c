/*
 * tests/stress_memory.c: producers, readers and a purger on shared sessions.
 *
 *   stress_memory [--duration SECONDS] [--single]
 *
 * Phase 1 (no purges): P threads append_next into S shared sessions, one
 * thread appends explicit ids (info, then append last+1, retrying on
 * EVS_EORDER), R readers replay from where they left off.  Every replay
 * checks, for every event: ids strictly increase and have no gaps unless
 * `truncated` says the reader missed events (and `truncated` is never set
 * without a gap); the payload names its session and id and its checksum
 * holds.  At the end the counts add up: each session's newest id equals the
 * number of successful appends to it (ids are gap-free) and it retains
 * min(appends, capacity) events.
 *
 * Phase 2 (purge storm): the same while a purger purges sessions at random;
 * logs restart with new epochs; every replay's invariants still hold, and at
 * the end purging everything leaves the store empty.
 *
 * Every loop is bounded by the duration and by an operation cap.  The
 * summary line is "stress: N passed, N failed".
 */
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <evstore/evstore.h>

#define STRESS_NAME "stress"
#include "stress_common.h"

#define SESSIONS   4
#define PRODUCERS  3
#define READERS    2
#define CAPACITY   64
#define MAX_OPS    2000000   /* per thread, per phase */

static struct evs_store *store;
static double duration_s = 1.0;
static bool single_mode;
/* Set by main after the phase's time is up; read by workers to stop. */
static atomic_bool stop;
static atomic_bool purging;
static atomic_ulong ops_done;
static atomic_ulong appended[SESSIONS];

struct payload {
	uint32_t session;
	uint32_t writer;
	uint64_t id;       /* as the producer learned it, or explicit */
	uint64_t check;
};

static uint64_t
checksum(const struct payload *p)
{
	return stress_checksum(p->session, p->writer, p->id);
}

static void
session_name(unsigned i, char *buf, size_t n)
{
	snprintf(buf, n, "stress-session-%u", i);
}

/* ---- producers ------------------------------------------------------- */

struct producer_arg {
	unsigned index;
};

/* Multi-producer mode: append_next with the id embedded afterwards is not
 * possible (the id is known only on return), so the payload carries the
 * writer's own sequence and the reader checks the checksum and session; the
 * id itself is checked by gap-freedom. */
static void *
producer(void *argp)
{
	struct producer_arg *a = argp;
	uint64_t rnd = 0x1234567u + a->index;
	char name[64];

	for (uint64_t n = 0; n < MAX_OPS &&
	     !atomic_load_explicit(&stop, memory_order_relaxed); n++) {
		/* relaxed: a stop flag; nothing is published through it */
		unsigned si = single_mode ? a->index % SESSIONS
		    : (unsigned)(xorshift(&rnd) % SESSIONS);
		struct payload p = { si, a->index, n, 0 };
		uint64_t id;
		int rc;

		p.check = checksum(&p);
		session_name(si, name, sizeof(name));
		rc = evs_store_append_next(store, name, &p, sizeof(p), &id);
		CHECK(rc == 0, "append_next: %s", evs_strerror(rc));
		if (rc == 0 && !atomic_load_explicit(&purging,
		    memory_order_relaxed))
			atomic_fetch_add_explicit(&appended[si], 1,
			    memory_order_relaxed); /* counted; read after join */
		atomic_fetch_add_explicit(&ops_done, 1, memory_order_relaxed);
	}
	return NULL;
}

/* Appends explicit ids to its own session: info, then last + 1; EVS_EORDER
 * means another writer got there first (in single mode there is none). */
static void *
explicit_writer(void *argp)
{
	const char *name = "stress-explicit";
	uint64_t ok = 0;

	(void)argp;
	for (uint64_t n = 0; n < MAX_OPS &&
	     !atomic_load_explicit(&stop, memory_order_relaxed); n++) {
		struct evs_log_info li;
		struct payload p = { 99, 99, 0, 0 };
		int rc = evs_store_info(store, name, &li);

		CHECK(rc == 0, "info: %s", evs_strerror(rc));
		p.id = li.retained > 0 ? li.last_id + 1 : 1;
		p.check = checksum(&p);
		rc = evs_store_append(store, name, p.id, &p, sizeof(p));
		CHECK(rc == 0 || rc == EVS_EORDER, "append: %s", evs_strerror(rc));
		if (rc == 0)
			ok++;
		atomic_fetch_add_explicit(&ops_done, 1, memory_order_relaxed);
	}
	return (void *)(uintptr_t)ok;
}

/* ---- readers ------------------------------------------------------------- */

struct replay_check {
	unsigned session;
	uint64_t after;
	uint64_t prev;        /* last id delivered in this replay */
	bool gap;             /* ids not contiguous from after + 1 */
	bool bad;
};

static int
check_event(const struct evs_event *ev, void *arg)
{
	struct replay_check *c = arg;
	struct payload p;
	uint64_t expect = c->prev + 1;

	if (ev->id != expect)
		c->gap = true;
	CHECK(ev->id > c->prev, "ids not increasing: %" PRIu64 " after %" PRIu64,
	    ev->id, c->prev);
	CHECK(ev->len == sizeof(p), "payload length %zu", ev->len);
	if (ev->len == sizeof(p)) {
		memcpy(&p, ev->data, sizeof(p));
		CHECK(p.check == checksum(&p), "torn or foreign payload at id %"
		    PRIu64, ev->id);
		CHECK(p.session == c->session, "event of session %u in session %u",
		    p.session, c->session);
		if (p.session == 99)
			CHECK(p.id == ev->id, "explicit id %" PRIu64 " stored as %"
			    PRIu64, p.id, ev->id);
	}
	c->prev = ev->id;
	return 0;
}

static void *
reader(void *argp)
{
	uint64_t last[SESSIONS + 1] = { 0 }, epoch[SESSIONS + 1] = { 0 };
	uint64_t rnd = 0xabcdefu + (uintptr_t)argp;
	char name[64];

	for (uint64_t n = 0; n < MAX_OPS &&
	     !atomic_load_explicit(&stop, memory_order_relaxed); n++) {
		unsigned si = (unsigned)(xorshift(&rnd) % (SESSIONS + 1));
		struct evs_replay_info info;
		struct replay_check c;
		int rc;

		if (si == SESSIONS)
			snprintf(name, sizeof(name), "stress-explicit");
		else
			session_name(si, name, sizeof(name));
		/* Sometimes start over from an old id, as a late client does. */
		if (xorshift(&rnd) % 8 == 0)
			last[si] = last[si] / 2;
		memset(&c, 0, sizeof(c));
		c.session = si == SESSIONS ? 99 : si;
		c.after = c.prev = last[si];
		rc = evs_store_replay_after(store, name, c.after, check_event, &c,
		    &info);
		CHECK(rc == 0, "replay: %s", evs_strerror(rc));
		/* The replay owes every id up to the newest one it saw at its
		 * start; a missing tail is a gap too. */
		if (info.log.last_id > c.after && c.prev != info.log.last_id)
			c.gap = true;
		if (si != SESSIONS) {
			/* append_next ids are gap-free, so a gap means events
			 * were missed, and `truncated` must say exactly that. */
			CHECK(info.truncated == c.gap, "truncated=%d but gap=%d "
			    "(after %" PRIu64 ", %zu delivered, newest %" PRIu64 ")",
			    info.truncated, c.gap, c.after, info.delivered,
			    info.log.last_id);
		}
		if (info.log.epoch != epoch[si]) {
			/* A new log: its ids restart, so start from its top. */
			epoch[si] = info.log.epoch;
			last[si] = info.delivered > 0 ? c.prev : 0;
		} else if (info.delivered > 0) {
			last[si] = c.prev;
		}
		atomic_fetch_add_explicit(&ops_done, 1, memory_order_relaxed);
	}
	return NULL;
}

static void *
purger(void *argp)
{
	uint64_t rnd = 0x5eedu;
	char name[64];

	(void)argp;
	for (uint64_t n = 0; n < MAX_OPS &&
	     !atomic_load_explicit(&stop, memory_order_relaxed); n++) {
		unsigned si = (unsigned)(xorshift(&rnd) % SESSIONS);
		int rc;

		session_name(si, name, sizeof(name));
		rc = evs_store_purge_session(store, name);
		CHECK(rc == 0, "purge: %s", evs_strerror(rc));
		atomic_fetch_add_explicit(&ops_done, 1, memory_order_relaxed);
		if (n % 4 == 0)
			sched_yield();   /* let logs grow between purges */
	}
	return NULL;
}

/* ---- driver ---------------------------------------------------------------- */

static void
run_for(double seconds)
{
	struct timespec ts = { (time_t)seconds,
	    (long)((seconds - (double)(time_t)seconds) * 1e9) };

	/* The workers do not wait on this: it only decides when to stop. */
	nanosleep(&ts, NULL);
	atomic_store(&stop, true);
}

static void
phase(bool with_purges)
{
	pthread_t p[PRODUCERS], r[READERS], x, pu;
	struct producer_arg pa[PRODUCERS];
	void *ok = NULL;
	char name[64];

	atomic_store(&stop, false);
	atomic_store(&purging, with_purges);
	for (unsigned i = 0; i < SESSIONS; i++)
		atomic_store(&appended[i], 0);
	for (unsigned i = 0; i < PRODUCERS; i++) {
		pa[i].index = i;
		pthread_create(&p[i], NULL, producer, &pa[i]);
	}
	for (unsigned i = 0; i < READERS; i++)
		pthread_create(&r[i], NULL, reader, (void *)(uintptr_t)i);
	pthread_create(&x, NULL, explicit_writer, NULL);
	if (with_purges)
		pthread_create(&pu, NULL, purger, NULL);
	run_for(duration_s);
	for (unsigned i = 0; i < PRODUCERS; i++)
		pthread_join(p[i], NULL);
	for (unsigned i = 0; i < READERS; i++)
		pthread_join(r[i], NULL);
	pthread_join(x, &ok);
	if (with_purges)
		pthread_join(pu, NULL);

	if (!with_purges) {
		struct evs_log_info li;
		uint64_t n;

		for (unsigned i = 0; i < SESSIONS; i++) {
			n = atomic_load(&appended[i]);
			session_name(i, name, sizeof(name));
			CHECK(evs_store_info(store, name, &li) == 0, "info");
			CHECK(n == 0 || li.last_id == n, "session %u: newest id %"
			    PRIu64 " after %" PRIu64 " appends", i, li.last_id, n);
			CHECK(li.retained == (n < CAPACITY ? n : CAPACITY),
			    "session %u retains %zu", i, li.retained);
		}
		n = (uint64_t)(uintptr_t)ok;
		CHECK(evs_store_info(store, "stress-explicit", &li) == 0, "info");
		CHECK(n == 0 || li.last_id == n, "explicit: newest id %" PRIu64
		    " after %" PRIu64 " successful appends", li.last_id, n);
	}
	for (unsigned i = 0; i < SESSIONS; i++) {
		session_name(i, name, sizeof(name));
		CHECK(evs_store_purge_session(store, name) == 0, "purge");
	}
	CHECK(evs_store_purge_session(store, "stress-explicit") == 0, "purge");
	CHECK(evs_memory_store_session_count(store) == 0, "sessions left: %zu",
	    evs_memory_store_session_count(store));
	CHECK(evs_memory_store_total_events(store) == 0, "events left");
}

int
main(int argc, char **argv)
{
	struct evs_memory_opts o = { .max_events_per_session = CAPACITY };
	unsigned long failed;
	int rc;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--duration") == 0 && i + 1 < argc)
			duration_s = atof(argv[++i]);
		else if (strcmp(argv[i], "--single") == 0)
			single_mode = true;
		else {
			fprintf(stderr, "usage: %s [--duration SECONDS] [--single]\n",
			    argv[0]);
			return 2;
		}
	}
	if (duration_s <= 0 || duration_s > 86400)
		duration_s = 1.0;
	if (single_mode) {
		o.producers = EVS_SINGLE_PRODUCER;
	}
	rc = evs_memory_store_create(&o, &store);
	if (rc != 0) {
		fprintf(stderr, "create: %s\n", evs_strerror(rc));
		return 1;
	}
	phase(false);
	phase(true);
	evs_store_destroy(store);

	failed = atomic_load(&checks_failed);
	printf("stress (%s, %.1fs per phase): %lu ops\n",
	    single_mode ? "single producer" : "multi producer", duration_s,
	    atomic_load(&ops_done));
	printf("stress: %lu passed, %lu failed\n", atomic_load(&checks_passed),
	    failed);
	return failed == 0 ? 0 : 1;
}
