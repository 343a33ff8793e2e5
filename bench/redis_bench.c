/*
 * bench/redis_bench.c: evs-bench-redis, the Redis rows of the benchmark.
 *
 *   evs-bench-redis [--quick] [--unix]
 *
 * Starts its own redis-server (loopback TCP, or a unix socket with --unix;
 * persistence off) and measures, single-threaded unless said otherwise:
 *   - the Redis store alone: append_next, info, replay of the newest 100
 *     events of a 1000-event session;
 *   - append_next throughput from 4 threads sharing one store (the pool);
 *   - the caching composer (memory cache over the Redis store), when
 *     libevstore has it: the same replay answered by the cache (hit) and by
 *     Redis (miss: the session is purged from the cache before each
 *     replay; the purge is not timed), and the ratio hit / direct Redis.
 * Prints one line per row ("redis: <row> ...").  Without redis-server it
 * prints a skip line and exits 0, so the default suite passes on machines
 * without Redis.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <evstore/caching.h>
#include <evstore/memory.h>
#include <evstore/redis.h>

#include "hist.h"
#include "redis_harness.h"

#define SESSION_EVENTS 1000
#define REPLAY_TAIL    100
#define PAYLOAD        128
#define MT_THREADS     4

static int64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void
row(const char *name, const struct bench_hist *h, const char *extra)
{
	printf("redis: %-34s n=%-6llu p50=%8.1f us  p99=%8.1f us  mean=%8.1f us%s%s\n",
	    name, (unsigned long long)h->count,
	    (double)bench_hist_quantile(h, 0.50) / 1e3,
	    (double)bench_hist_quantile(h, 0.99) / 1e3,
	    bench_hist_mean(h) / 1e3, extra != NULL ? "  " : "",
	    extra != NULL ? extra : "");
}

static int
count_cb(const struct evs_event *ev, void *arg)
{
	(*(size_t *)arg)++;
	(void)ev;
	return 0;
}

static int
fill(struct evs_store *s, const char *session)
{
	char buf[PAYLOAD];

	memset(buf, 'p', sizeof(buf));
	for (uint64_t id = 1; id <= SESSION_EVENTS; id++) {
		if (evs_store_append(s, session, id, buf, sizeof(buf)) != 0)
			return -1;
	}
	return 0;
}

/* Times `iters` replays of the newest REPLAY_TAIL events. */
static int
time_replays(struct evs_store *s, struct evs_store *purge_from,
             const char *session, int iters, struct bench_hist *h)
{
	bench_hist_reset(h);
	for (int i = 0; i < iters; i++) {
		size_t n = 0;
		int64_t t0;

		if (purge_from != NULL &&
		    evs_store_purge_session(purge_from, session) != 0)
			return -1;
		t0 = now_ns();
		if (evs_store_replay_after(s, session,
		    SESSION_EVENTS - REPLAY_TAIL, count_cb, &n, NULL) != 0 ||
		    n != REPLAY_TAIL)
			return -1;
		bench_hist_record(h, (uint64_t)(now_ns() - t0));
	}
	return 0;
}

struct mt_arg {
	struct evs_store *s;
	int ops;
	int failures;
};

static void *
mt_worker(void *p)
{
	struct mt_arg *a = p;
	char buf[PAYLOAD];

	memset(buf, 'm', sizeof(buf));
	for (int i = 0; i < a->ops; i++) {
		if (evs_store_append_next(a->s, "mt", buf, sizeof(buf), NULL) != 0)
			a->failures++;
	}
	return NULL;
}

int
main(int argc, char **argv)
{
	bool quick = false, use_unix = false;
	struct redis_server srv;
	const char *nodes[1];
	struct evs_redis_opts o = { 0 };
	struct evs_store *r = NULL;
	struct bench_hist h;
	double direct_p50;
	int iters, rc = 1;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--quick") == 0)
			quick = true;
		else if (strcmp(argv[i], "--unix") == 0)
			use_unix = true;
		else {
			fprintf(stderr, "usage: %s [--quick] [--unix]\n", argv[0]);
			return 2;
		}
	}
	iters = quick ? 200 : 2000;
	if (!redis_harness_available()) {
		printf("redis: skipped: redis-server is not installed "
		    "(scripts/setup.sh installs it)\n");
		return 0;
	}
	if (redis_server_start(&srv, use_unix) != 0) {
		fprintf(stderr, "redis: cannot start redis-server\n");
		return 1;
	}
	nodes[0] = srv.node;
	o.nodes = nodes;
	o.node_count = 1;
	o.key_prefix = "evs-bench:";
	o.timeout_ms = 5000;
	if (evs_redis_store_create(&o, &r) != 0)
		goto out;
	printf("redis: server %s (%s), payload %d B, %d iterations\n",
	    srv.node, use_unix ? "unix socket" : "loopback TCP", PAYLOAD, iters);

	/* append_next */
	bench_hist_reset(&h);
	{
		char buf[PAYLOAD];

		memset(buf, 'a', sizeof(buf));
		for (int i = 0; i < iters; i++) {
			int64_t t0 = now_ns();

			if (evs_store_append_next(r, "append", buf, sizeof(buf),
			    NULL) != 0)
				goto out;
			bench_hist_record(&h, (uint64_t)(now_ns() - t0));
		}
	}
	row("store append_next", &h, NULL);

	/* info */
	if (fill(r, "replay") != 0)
		goto out;
	bench_hist_reset(&h);
	for (int i = 0; i < iters; i++) {
		struct evs_log_info li;
		int64_t t0 = now_ns();

		if (evs_store_info(r, "replay", &li) != 0)
			goto out;
		bench_hist_record(&h, (uint64_t)(now_ns() - t0));
	}
	row("store info", &h, NULL);

	/* replay of the newest 100 of 1000 */
	if (time_replays(r, NULL, "replay", iters, &h) != 0)
		goto out;
	row("store replay 100 of 1000", &h, NULL);
	direct_p50 = (double)bench_hist_quantile(&h, 0.50);

	/* append_next from several threads on one store */
	{
		struct mt_arg a[MT_THREADS];
		pthread_t th[MT_THREADS];
		int64_t t0 = now_ns();
		double secs;
		int total = 0, failures = 0;
		char extra[96];

		for (int i = 0; i < MT_THREADS; i++) {
			a[i] = (struct mt_arg){ r, iters * 2, 0 };
			pthread_create(&th[i], NULL, mt_worker, &a[i]);
		}
		for (int i = 0; i < MT_THREADS; i++) {
			pthread_join(th[i], NULL);
			total += a[i].ops;
			failures += a[i].failures;
		}
		secs = (double)(now_ns() - t0) / 1e9;
		snprintf(extra, sizeof(extra), "(%d failed)", failures);
		printf("redis: %-34s %.0f appends/s %s\n",
		    "store append_next, 4 threads", (double)total / secs, extra);
	}

#if EVS_BENCH_HAVE_CACHING
	{
		struct evs_store *cache = NULL, *top = NULL;
		struct evs_caching_stats st;
		char extra[160];
		double hit_p50;

		if (evs_memory_store_create(NULL, &cache) != 0 ||
		    evs_caching_store_create(cache, r, &top) != 0)
			goto out_c;
		if (fill(top, "cached") != 0)
			goto out_c;
		/* hit: the cache holds the session */
		if (time_replays(top, NULL, "cached", iters, &h) != 0)
			goto out_c;
		hit_p50 = (double)bench_hist_quantile(&h, 0.50);
		evs_caching_store_stats(top, &st);
		snprintf(extra, sizeof(extra), "hits=%llu misses=%llu",
		    (unsigned long long)st.hits, (unsigned long long)st.misses);
		row("composer replay 100, hit", &h, extra);
		/* miss: the cache lost the session */
		if (time_replays(top, cache, "cached", iters, &h) != 0)
			goto out_c;
		evs_caching_store_stats(top, &st);
		snprintf(extra, sizeof(extra), "hits=%llu misses=%llu",
		    (unsigned long long)st.hits, (unsigned long long)st.misses);
		row("composer replay 100, miss", &h, extra);
		printf("redis: %-34s %.4f (p50 %.1f us / %.1f us; %.0fx faster)\n",
		    "ratio hit / direct Redis replay", hit_p50 / direct_p50,
		    hit_p50 / 1e3, direct_p50 / 1e3, direct_p50 / hit_p50);
		rc = 0;
out_c:
		evs_store_destroy(top);
		evs_store_destroy(cache);
		if (rc != 0)
			goto out;
	}
#else
	printf("redis: composer rows skipped: libevstore has no caching "
	    "composer yet\n");
	(void)direct_p50;
#endif
	rc = 0;
out:
	if (rc != 0)
		fprintf(stderr, "redis: a benchmark step failed\n");
	evs_store_destroy(r);
	redis_server_stop(&srv);
	return rc;
}
