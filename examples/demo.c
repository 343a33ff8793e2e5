/*
 * evs-demo: append, replay and purge across threads, and print what was seen.
 *
 * Two producer threads append_next into one session while a reader thread
 * resumes from the last id it saw, as a reconnecting SSE client would.  Then
 * the session is purged and a fresh log (new epoch) starts.
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <evstore/evstore.h>

#define PER_PRODUCER 20000

static struct evs_store *store;
static const char *session = "demo-session";

static void *
producer(void *arg)
{
	char buf[64];
	int who = (int)(intptr_t)arg;

	for (int i = 0; i < PER_PRODUCER; i++) {
		uint64_t id;
		int n = snprintf(buf, sizeof(buf), "producer %d event %d", who, i);
		int rc = evs_store_append_next(store, session, buf, (size_t)n, &id);

		if (rc != 0) {
			fprintf(stderr, "append_next: %s\n", evs_strerror(rc));
			exit(1);
		}
	}
	return NULL;
}

struct reader_state {
	uint64_t last_id;
	uint64_t delivered;
	uint64_t replays;
	uint64_t truncations;
	uint64_t order_errors;
};

static int
on_event(const struct evs_event *ev, void *arg)
{
	struct reader_state *st = arg;

	if (ev->id <= st->last_id)
		st->order_errors++;
	st->last_id = ev->id;
	st->delivered++;
	return 0;
}

static void *
reader(void *arg)
{
	struct reader_state *st = arg;

	/* Resume until every event has been seen or reported missed. */
	while (st->last_id < 2 * PER_PRODUCER) {
		struct evs_replay_info info;
		int rc = evs_store_replay_after(store, session, st->last_id,
		    on_event, st, &info);

		if (rc != 0) {
			fprintf(stderr, "replay: %s\n", evs_strerror(rc));
			exit(1);
		}
		st->replays++;
		if (info.truncated)
			st->truncations++;
		if (info.delivered == 0)
			sched_yield();   /* nothing new yet; a server would wait */
	}
	return NULL;
}

static int
print_event(const struct evs_event *ev, void *arg)
{
	(void)arg;
	printf("  id %-6" PRIu64 " %.*s\n", ev->id, (int)ev->len,
	    (const char *)ev->data);
	return 0;
}

int
main(void)
{
	struct evs_memory_opts opts = { .max_events_per_session = 1000 };
	struct reader_state st = { 0 };
	struct evs_log_info info;
	pthread_t p[2], r;
	int rc;

	rc = evs_memory_store_create(&opts, &store);
	if (rc != 0) {
		fprintf(stderr, "create: %s\n", evs_strerror(rc));
		return 1;
	}
	pthread_create(&r, NULL, reader, &st);
	for (int i = 0; i < 2; i++)
		pthread_create(&p[i], NULL, producer, (void *)(intptr_t)i);
	for (int i = 0; i < 2; i++)
		pthread_join(p[i], NULL);
	pthread_join(r, NULL);

	evs_store_info(store, session, &info);
	printf("evstore demo: 2 producers appended %d events to \"%s\"\n",
	    2 * PER_PRODUCER, session);
	printf("log: epoch %016" PRIx64 ", %zu retained, ids %" PRIu64 "..%" PRIu64
	    "\n", info.epoch, info.retained, info.first_id, info.last_id);
	printf("reader: %" PRIu64 " events in %" PRIu64 " replays, %" PRIu64
	    " replays reported missed events (ring of %zu), %" PRIu64
	    " ordering errors\n", st.delivered, st.replays, st.truncations,
	    opts.max_events_per_session, st.order_errors);

	printf("a client that reconnects with Last-Event-ID %" PRIu64 " gets:\n",
	    info.last_id - 3);
	evs_store_replay_after(store, session, info.last_id - 3, print_event,
	    NULL, NULL);

	evs_store_purge_session(store, session);
	evs_store_info(store, session, &info);
	printf("after purge: epoch %" PRIu64 ", %zu retained\n", info.epoch,
	    info.retained);
	evs_store_append_next(store, session, "fresh", 5, NULL);
	evs_store_info(store, session, &info);
	printf("after a new append: epoch %016" PRIx64 " (a new log), first id %"
	    PRIu64 "\n", info.epoch, info.first_id);

	evs_store_destroy(store);
	return st.order_errors == 0 ? 0 : 1;
}
