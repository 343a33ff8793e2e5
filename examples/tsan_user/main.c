/*
 * examples/tsan_user/main.c: a user's program that hammers evstore from
 * several threads, built and run under ThreadSanitizer against an installed
 * TSan build of the library (docs/TSAN.md).  A clean run prints
 * "tsan_user: N passed, 0 failed" and TSan reports nothing.
 *
 * Four producers append_next into shared sessions, two readers replay and
 * check order and payloads, one thread reads info and purges.  The program
 * shares its own state between threads the way a server would: a results
 * table written by the readers and read by main after join, and a stop flag.
 * Every loop is bounded by an operation count.
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include <evstore/evstore.h>

#define SESSIONS   3
#define PRODUCERS  4
#define READERS    2
#define APPENDS    20000   /* per producer */
#define REPLAYS    4000    /* per reader */
#define PURGES     300

static struct evs_store *store;
static atomic_int producers_left = PRODUCERS;
static unsigned long checks[READERS], failures[READERS];

struct payload {
	uint32_t producer;
	uint32_t seq;
	uint64_t check;
};

static uint64_t
sum(const struct payload *p)
{
	return ((uint64_t)p->producer << 32 | p->seq) * UINT64_C(0x9e3779b97f4a7c15);
}

static void
name_of(unsigned i, char *buf)
{
	snprintf(buf, 32, "user-session-%u", i);
}

static void *
producer(void *arg)
{
	unsigned me = (unsigned)(uintptr_t)arg;
	char name[32];

	for (uint32_t i = 0; i < APPENDS; i++) {
		struct payload p = { me, i, 0 };
		uint64_t id;

		p.check = sum(&p);
		name_of((me + i) % SESSIONS, name);
		if (evs_store_append_next(store, name, &p, sizeof(p), &id) != 0)
			fprintf(stderr, "tsan_user: append_next failed\n");
	}
	/* Release: pairs with the acquire loads in reader() and purger(),
	 * although only a count is passed. */
	atomic_fetch_sub_explicit(&producers_left, 1, memory_order_release);
	return NULL;
}

/* c[0]: events seen, c[1]: failed checks, c[2]: the previous id. */
static int
on_event(const struct evs_event *ev, void *arg)
{
	unsigned long *c = arg;
	struct payload p;

	c[0]++;
	if (ev->len != sizeof(p) || ev->id <= c[2]) {
		c[1]++;
		return 0;
	}
	memcpy(&p, ev->data, sizeof(p));
	if (p.check != sum(&p))
		c[1]++;
	c[2] = ev->id;
	return 0;
}

static void *
reader(void *arg)
{
	unsigned me = (unsigned)(uintptr_t)arg;
	uint64_t after[SESSIONS] = { 0 };
	char name[32];

	for (unsigned i = 0; i < REPLAYS; i++) {
		unsigned s = i % SESSIONS;
		struct evs_replay_info info;
		unsigned long c[3] = { 0, 0, after[s] };   /* events, bad, prev */

		name_of(s, name);
		if (evs_store_replay_after(store, name, after[s], on_event, c,
		    &info) != 0)
			c[1]++;
		checks[me] += c[0];
		failures[me] += c[1];
		after[s] = info.delivered > 0 ? c[2] : (i % 7 == 0 ? 0 : after[s]);
		/* Acquire: pairs with the producers' release; stop early when
		 * they are done and the reader has caught up. */
		if (atomic_load_explicit(&producers_left, memory_order_acquire) == 0 &&
		    i > REPLAYS / 2)
			break;
	}
	return NULL;
}

static void *
purger(void *arg)
{
	char name[32];

	(void)arg;
	for (unsigned i = 0; i < PURGES; i++) {
		struct evs_log_info li;

		name_of(i % SESSIONS, name);
		(void)evs_store_info(store, name, &li);
		if (i % 3 == 0)
			(void)evs_store_purge_session(store, name);
		/* Acquire: as in reader(). */
		if (atomic_load_explicit(&producers_left, memory_order_acquire) == 0)
			break;
	}
	return NULL;
}

int
main(void)
{
	pthread_t p[PRODUCERS], r[READERS], g;
	unsigned long ok = 0, bad = 0;
	int rc = evs_memory_store_create(NULL, &store);

	if (rc != 0) {
		fprintf(stderr, "tsan_user: create: %s\n", evs_strerror(rc));
		return 1;
	}
	for (unsigned i = 0; i < PRODUCERS; i++)
		pthread_create(&p[i], NULL, producer, (void *)(uintptr_t)i);
	for (unsigned i = 0; i < READERS; i++)
		pthread_create(&r[i], NULL, reader, (void *)(uintptr_t)i);
	pthread_create(&g, NULL, purger, NULL);
	for (unsigned i = 0; i < PRODUCERS; i++)
		pthread_join(p[i], NULL);
	for (unsigned i = 0; i < READERS; i++)
		pthread_join(r[i], NULL);
	pthread_join(g, NULL);
	for (unsigned i = 0; i < READERS; i++) {
		ok += checks[i] - failures[i];
		bad += failures[i];
	}
	printf("tsan_user: %zu events in %zu sessions at the end\n",
	    evs_memory_store_total_events(store),
	    evs_memory_store_session_count(store));
	evs_store_destroy(store);
	printf("tsan_user: %lu passed, %lu failed\n", ok, bad);
	return bad == 0 ? 0 : 1;
}
