/*
 * tests/stress_caching.c: warm-ups racing live appends, under TSan.
 *
 *   stress_caching [--duration SECONDS]
 *
 * One shared backend (memory store); instance A is a composer whose cache is
 * smaller than the backend and fails 1 append in 40 (a wrapper); instance B
 * is a second composer with its own cache; a third writer appends straight
 * to the backend.  Producers append_next through A, B and the backend while
 * readers replay through A from recent and from old ids, so replays hit,
 * miss, switch tiers and warm the cache while live appends race them.
 *
 * Every replay checks: ids strictly increase; with `truncated` clear they
 * are gap-free from after_id + 1 and reach at least the newest id committed
 * before the replay started (no short replay); each payload's checksum
 * holds, names its session, and is the one appended under that id (the
 * producers publish id -> (writer, seq) in a table); per writer, sequence
 * numbers increase (no reordering).  Phase 2 adds a purger; the checks that
 * assume one log (gap-freedom, completeness, the id table) are dropped.
 * At the end, quiescent: the cache holds strictly increasing ids whose bytes
 * equal the backend's, and replays through A equal the backend's exactly.
 *
 * Every loop is bounded by the duration and an operation cap.  The last line
 * is "stress_caching: N passed, N failed".
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <evstore/caching.h>
#include <evstore/memory.h>

#define STRESS_NAME "stress_caching"
#include "stress_common.h"

#include "caching_wrap.h"

#define SESSIONS   3
#define WRITERS    3          /* via A, via B, straight to the backend */
#define READERS    2
#define BCAP       256        /* backend events per session */
#define CCAP       96         /* cache A events per session */
#define TABLE      4096       /* id -> writer/seq, per session (> BCAP) */
#define MAX_OPS    400000     /* per thread, per phase */
#define MAX_SEEN   (BCAP + 16)

static struct evs_store *backend, *raw_cache_a, *cache_a, *inst_a, *cache_b,
    *inst_b;
static struct wrap_ctl ctl;
static double duration_s = 1.0;
static bool purging;          /* phase 2; written by main between phases */
static atomic_bool stop;
static _Atomic uint64_t committed[SESSIONS];
static _Atomic uint64_t table[SESSIONS][TABLE];
/* Each writer's sequence numbers go on across phases (a phase's threads are
 * joined before the next phase's are created), so per-writer order holds
 * across them. */
static uint64_t writer_seq[WRITERS];

struct payload {
	uint32_t session;
	uint32_t writer;
	uint64_t seq;
	uint64_t check;
	char pad[24];
};

static uint64_t
checksum(const struct payload *p)
{
	return stress_checksum(p->session, p->writer, p->seq);
}

static void
name(unsigned i, char *buf, size_t n)
{
	snprintf(buf, n, "cs-%u", i);
}

static bool
stopped(void)
{
	/* Relaxed: a stop flag; nothing is published through it. */
	return atomic_load_explicit(&stop, memory_order_relaxed);
}

/* ---- writers ------------------------------------------------------------- */

static void *
writer(void *argp)
{
	unsigned w = (unsigned)(uintptr_t)argp;
	struct evs_store *s = w == 0 ? inst_a : w == 1 ? inst_b : backend;
	uint64_t rnd = 0x51ed27u + w, seq = writer_seq[w];

	for (unsigned long n = 0; n < MAX_OPS && !stopped(); n++) {
		unsigned si = (unsigned)(xorshift(&rnd) % SESSIONS);
		struct payload p;
		char nm[32];
		uint64_t id, cur;
		int rc;

		memset(&p, 0, sizeof(p));
		p.session = si;
		p.writer = w;
		p.seq = ++seq;
		p.check = checksum(&p);
		name(si, nm, sizeof(nm));
		rc = evs_store_append_next(s, nm, &p, sizeof(p), &id);
		CHECK(rc == 0, "append_next: %s", evs_strerror_name(rc));
		if (rc != 0)
			continue;
		/* R1: pairs with A1 in check_event(): a reader that finds
		 * this id in the table sees who appended it. */
		atomic_store_explicit(&table[si][id % TABLE],
		    id << 24 | (uint64_t)w << 20 | (p.seq & 0xfffff),
		    memory_order_release);
		/* R2: pairs with A2 in reader(): raise the committed mark
		 * (CAS retried only when another writer raised it). */
		cur = atomic_load_explicit(&committed[si], memory_order_relaxed);
		for (int k = 0; k < 1000 && cur < id; k++) {
			if (atomic_compare_exchange_weak_explicit(&committed[si],
			    &cur, id, memory_order_release, memory_order_relaxed))
				break;
		}
	}
	writer_seq[w] = seq;   /* read by the next phase's thread after join */
	return NULL;
}

/* ---- readers ----------------------------------------------------------- */

struct seen {
	size_t n;
	uint64_t id[MAX_SEEN];
	uint32_t writer[MAX_SEEN];
	uint64_t seq[MAX_SEEN];
	unsigned session;
	bool bad;
};

static int
collect(const struct evs_event *ev, void *arg)
{
	struct seen *s = arg;
	struct payload p;

	if (s->n == MAX_SEEN)
		return 5;   /* cannot happen: a replay holds <= BCAP events */
	if (ev->len != sizeof(p)) {
		s->bad = true;
		return 6;
	}
	memcpy(&p, ev->data, sizeof(p));
	if (p.check != checksum(&p) || p.session != s->session ||
	    p.writer >= WRITERS) {
		s->bad = true;
		return 6;
	}
	s->id[s->n] = ev->id;
	s->writer[s->n] = p.writer;
	s->seq[s->n] = p.seq;
	s->n++;
	return 0;
}

static struct seen seen_buf[READERS + 1];

static void
check_replay(const struct seen *s, uint64_t after, uint64_t c0,
             const struct evs_replay_info *info, int rc)
{
	uint64_t last_seq[WRITERS] = { 0 };
	bool ok = true;

	CHECK(rc == 0 && !s->bad, "replay rc %d, bad payload %d", rc, s->bad);
	CHECK(info->delivered == s->n, "delivered %zu, saw %zu",
	    info->delivered, s->n);
	for (size_t i = 0; i < s->n; i++) {
		if (s->id[i] <= (i == 0 ? after : s->id[i - 1])) {
			fprintf(stderr, "id %" PRIu64 " after %" PRIu64 "\n",
			    s->id[i], i == 0 ? after : s->id[i - 1]);
			ok = false;
		}
		if (s->seq[i] <= last_seq[s->writer[i]]) {
			fprintf(stderr, "id %" PRIu64 ": writer %u seq %" PRIu64
			    " after seq %" PRIu64 "\n", s->id[i], s->writer[i],
			    s->seq[i], last_seq[s->writer[i]]);
			ok = false;
		}
		last_seq[s->writer[i]] = s->seq[i];
		if (!purging) {
			/* A1: pairs with R1 in writer(). */
			uint64_t t = atomic_load_explicit(
			    &table[s->session][s->id[i] % TABLE],
			    memory_order_acquire);

			if (t >> 24 == s->id[i] &&
			    ((t >> 20 & 0xf) != s->writer[i] ||
			     (t & 0xfffff) != (s->seq[i] & 0xfffff))) {
				fprintf(stderr, "id %" PRIu64 " served with "
				    "another event's payload\n", s->id[i]);
				ok = false;
			}
		}
	}
	CHECK(ok, "order, per-writer order or id/payload binding broken "
	    "(after %" PRIu64 ", %zu events)", after, s->n);
	if (purging || info->truncated)
		return;
	for (size_t i = 0; i < s->n; i++)
		if (s->id[i] != after + 1 + i) {
			CHECK(false, "gap: event %zu is %" PRIu64 " after %" PRIu64,
			    i, s->id[i], after);
			return;
		}
	if (c0 > after)
		CHECK(s->n > 0 && s->id[s->n - 1] >= c0, "short replay: after %"
		    PRIu64 " reached %" PRIu64 ", %" PRIu64 " was committed",
		    after, s->n > 0 ? s->id[s->n - 1] : after, c0);
	CHECK(s->n == 0 || info->log.last_id >= s->id[s->n - 1], "log.last_id");
}

static void *
reader(void *argp)
{
	unsigned r = (unsigned)(uintptr_t)argp;
	struct seen *s = &seen_buf[r];
	uint64_t rnd = 0xabcdefu + r;

	for (unsigned long n = 0; n < MAX_OPS && !stopped(); n++) {
		unsigned si = (unsigned)(xorshift(&rnd) % SESSIONS);
		struct evs_replay_info info;
		uint64_t c0, after, back;
		char nm[32];
		int rc;

		name(si, nm, sizeof(nm));
		/* A2: pairs with R2 in writer(): every id <= c0 was appended
		 * (the call returned) before this replay starts. */
		c0 = atomic_load_explicit(&committed[si], memory_order_acquire);
		back = xorshift(&rnd) % 4 == 0 ? xorshift(&rnd) % (2 * BCAP) :
		    xorshift(&rnd) % 16;
		after = c0 > back ? c0 - back : 0;
		memset(s, 0, offsetof(struct seen, id));
		s->session = si;
		rc = evs_store_replay_after(inst_a, nm, after, collect, s, &info);
		check_replay(s, after, c0, &info, rc);
	}
	return NULL;
}

static void *
purger(void *argp)
{
	uint64_t rnd = 0x7777u;

	(void)argp;
	for (unsigned long n = 0; n < MAX_OPS / 100 && !stopped(); n++) {
		unsigned si = (unsigned)(xorshift(&rnd) % SESSIONS);
		char nm[32];
		struct evs_store *s = xorshift(&rnd) % 2 ? inst_a : inst_b;
		/* Pacing so logs grow between purges; no thread waits on it. */
		struct timespec ts = { 0, 2000000 };
		int rc;

		name(si, nm, sizeof(nm));
		rc = evs_store_purge_session(s, nm);
		/* Only cache appends fail (fail_every), so a purge must
		 * succeed. */
		CHECK(rc == 0, "purge: %s", evs_strerror_name(rc));
		nanosleep(&ts, NULL);
	}
	return NULL;
}

/* ---- phases and the final, quiescent checks ---------------------------------- */

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void
run_phase(bool with_purger)
{
	pthread_t w[WRITERS], r[READERS], p;
	double t0 = now_s();

	purging = with_purger;
	/* Relaxed: threads are created after this store. */
	atomic_store_explicit(&stop, false, memory_order_relaxed);
	for (unsigned i = 0; i < WRITERS; i++)
		pthread_create(&w[i], NULL, writer, (void *)(uintptr_t)i);
	for (unsigned i = 0; i < READERS; i++)
		pthread_create(&r[i], NULL, reader, (void *)(uintptr_t)i);
	if (with_purger)
		pthread_create(&p, NULL, purger, NULL);
	/* The main thread only keeps time; it synchronizes by joining.
	 * Bounded: the phase ends after duration_s. */
	while (now_s() - t0 < duration_s) {
		struct timespec ts = { 0, 20000000 };

		nanosleep(&ts, NULL);
	}
	atomic_store_explicit(&stop, true, memory_order_relaxed);
	for (unsigned i = 0; i < WRITERS; i++)
		pthread_join(w[i], NULL);
	for (unsigned i = 0; i < READERS; i++)
		pthread_join(r[i], NULL);
	if (with_purger)
		pthread_join(p, NULL);
}

struct raw {
	size_t n;
	uint64_t id[MAX_SEEN * 2];
	unsigned char data[MAX_SEEN * 2][sizeof(struct payload)];
	size_t len[MAX_SEEN * 2];
};

static int
raw_cb(const struct evs_event *ev, void *arg)
{
	struct raw *r = arg;

	if (r->n == MAX_SEEN * 2)
		return 5;
	r->id[r->n] = ev->id;
	r->len[r->n] = ev->len;
	if (ev->len <= sizeof(r->data[0]))
		memcpy(r->data[r->n], ev->data, ev->len);
	r->n++;
	return 0;
}

static struct raw rb, ra, rc_;

static void
final_checks(void)
{
	atomic_store(&ctl.fail_every, 0);
	for (unsigned si = 0; si < SESSIONS; si++) {
		char nm[32];
		struct evs_replay_info ia, ib;
		bool ok = true;

		name(si, nm, sizeof(nm));
		/* The cache: increasing ids, and bytes equal to the backend's
		 * where the cached copy is of the backend's current log. */
		memset(&rc_, 0, sizeof(rc_.n));
		rc_.n = 0;
		evs_store_replay_after(raw_cache_a, nm, 0, raw_cb, &rc_, NULL);
		rb.n = 0;
		evs_store_replay_after(backend, nm, 0, raw_cb, &rb, &ib);
		for (size_t i = 1; i < rc_.n; i++)
			if (rc_.id[i] <= rc_.id[i - 1])
				ok = false;
		CHECK(ok, "cache ids not increasing");
		/* Replays through A equal the backend's, from many points. */
		for (uint64_t k = 0; k <= 40; k++) {
			uint64_t after = ib.log.last_id > k * 8 ?
			    ib.log.last_id - k * 8 : 0;

			ra.n = 0;
			rb.n = 0;
			evs_store_replay_after(inst_a, nm, after, raw_cb, &ra, &ia);
			evs_store_replay_after(backend, nm, after, raw_cb, &rb, &ib);
			ok = ra.n == rb.n && ia.truncated == ib.truncated &&
			    ia.log.epoch == ib.log.epoch &&
			    ia.log.last_id == ib.log.last_id;
			for (size_t i = 0; ok && i < ra.n; i++)
				ok = ra.id[i] == rb.id[i] && ra.len[i] == rb.len[i] &&
				    memcmp(ra.data[i], rb.data[i], ra.len[i]) == 0;
			CHECK(ok, "quiescent replay after %" PRIu64 " differs "
			    "from the backend's", after);
		}
	}
}

int
main(int argc, char **argv)
{
	struct evs_memory_opts bo = { BCAP, 0, EVS_MULTI_PRODUCER };
	struct evs_memory_opts co = { CCAP, 0, EVS_MULTI_PRODUCER };
	struct evs_caching_stats st;
	unsigned long passed, failed;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--duration") == 0 && i + 1 < argc) {
			duration_s = atof(argv[++i]);
		} else {
			fprintf(stderr, "usage: %s [--duration SECONDS]\n", argv[0]);
			return 2;
		}
	}
	if (evs_memory_store_create(&bo, &backend) != 0 ||
	    evs_memory_store_create(&co, &raw_cache_a) != 0 ||
	    wrap_store_create(raw_cache_a, &ctl, &cache_a) != 0 ||
	    evs_caching_store_create(cache_a, backend, &inst_a) != 0 ||
	    evs_memory_store_create(&bo, &cache_b) != 0 ||
	    evs_caching_store_create(cache_b, backend, &inst_b) != 0) {
		fprintf(stderr, "stress_caching: cannot create the stores\n");
		return 1;
	}
	atomic_store(&ctl.fail_every, 40);

	run_phase(false);
	final_checks();
	evs_caching_store_stats(inst_a, &st);
	printf("stress_caching: phase 1: hits %" PRIu64 ", partial %" PRIu64
	    ", misses %" PRIu64 ", warm-ups %" PRIu64 " (%" PRIu64 " events), "
	    "rebuilds %" PRIu64 ", cache errors %" PRIu64 "\n", st.hits,
	    st.partial_hits, st.misses, st.warmups, st.warmed_events,
	    st.rebuilds, st.cache_errors);
	CHECK(st.hits > 0 && st.warmups > 0 && st.misses + st.partial_hits > 0,
	    "the run did not exercise hits, misses and warm-ups");

	atomic_store(&ctl.fail_every, 40);
	run_phase(true);
	final_checks();
	evs_caching_store_stats(inst_a, &st);
	printf("stress_caching: after phase 2: hits %" PRIu64 ", partial %"
	    PRIu64 ", misses %" PRIu64 ", warm-ups %" PRIu64 ", rebuilds %"
	    PRIu64 "\n", st.hits, st.partial_hits, st.misses, st.warmups,
	    st.rebuilds);

	evs_store_destroy(inst_a);
	evs_store_destroy(inst_b);
	evs_store_destroy(cache_a);
	evs_store_destroy(raw_cache_a);
	evs_store_destroy(cache_b);
	evs_store_destroy(backend);
	passed = atomic_load(&checks_passed);
	failed = atomic_load(&checks_failed);
	printf("stress_caching: %lu passed, %lu failed\n", passed, failed);
	return failed == 0 ? 0 : 1;
}
