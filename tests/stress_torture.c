/*
 * tests/stress_torture.c: an rcutorture-style adversarial run of the memory
 * store.
 *
 *   stress_torture [--duration SECONDS] [--seed N] [--phase NAME]
 *
 * --duration is the whole run (default 4 s), split evenly over the phases
 * (or given to the one phase named by --phase);
 * a soak run is e.g. `--duration 3600`, which also prints progress every 10 s.
 * Every thread loop is bounded by the phase's deadline and by MAX_OPS.  The
 * last line is "stress_torture: N passed, N failed" (N counts checks).
 *
 * Phases (more threads than the machine's cores in every phase):
 *   order     cap 16, multi-producer: 4 producers append_next into 3
 *             sessions, 2 writers append explicit ids into a 4th, 3 readers
 *             replay and read info;
 *   order-1   the same with cap 1 (every append evicts);
 *   single    cap 16, single-producer mode: one producer per session;
 *   purge     cap 8, 12 sessions purged continuously by 2 purgers while 4
 *             producers append and 3 readers replay.  In an ASan build the
 *             freed records and sessions are poisoned, so a reader that
 *             touches reclaimed memory aborts the run.
 *
 * Checks, for every event a replay delivers:
 *   - ids strictly increase, and never exceed the log's newest id at start;
 *   - the payload (variable length) names this session, its checksum and
 *     padding hold (no torn or foreign payload);
 *   - explicit-id events carry their id in the payload: it equals ev->id;
 *   - append_next events carry (writer, writer sequence): each writer's
 *     sequence strictly increases within a replay and across replays that
 *     continue where the last stopped, and when the producer has recorded
 *     which id append_next returned for it, that is the id replayed;
 * for every replay and info call:
 *   - append_next logs are gap-free, so `truncated` is set exactly when the
 *     delivered ids are not after_id + 1 ... newest;
 *   - retained <= capacity, newest - oldest + 1 == retained (gap-free logs),
 *     delivered <= retained;
 *   - the epoch is not one that a purge had already removed when the call
 *     started, and never one this reader saw before a newer one;
 * and after each phase without purges, the counts add up (each session's
 * newest id equals its successful appends; it retains min(appends, cap)).
 * In the purge phase each purger also checks that after its purge returns,
 * info shows a different epoch.
 *
 * All test state shared between threads is atomic; the relaxed accesses are
 * counters or self-contained values (see each comment).
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

#define MAX_SESSIONS   12
#define MAX_WRITERS    8
#define MAX_OPS        5000000u    /* per thread, per phase */
#define PAD_MAX        40
#define ID_RING        4096        /* append_next ids remembered per writer */
#define DEAD_RING      256         /* purged epochs remembered per session */
#define EPOCH_HIST     8
#define EXPLICIT_TAG   0x80000000u /* writer field of explicit-id payloads */

/* ---- checks ---------------------------------------------------------------- */

static atomic_ulong checks_passed, checks_failed, ops_done;
static atomic_ulong reports;   /* failures printed, capped */

#define CHECK(cond, ...) do {                                               \
	if (cond) {                                                         \
		/* relaxed: a counter, read after the threads are joined */ \
		atomic_fetch_add_explicit(&checks_passed, 1,                \
		    memory_order_relaxed);                                  \
	} else {                                                            \
		check_failed(__LINE__);                                     \
		if (atomic_fetch_add_explicit(&reports, 1,                  \
		    memory_order_relaxed) < 20) {                           \
			fprintf(stderr, __VA_ARGS__);                       \
			fputc('\n', stderr);                                \
		}                                                           \
	}                                                                   \
} while (0)

static void
check_failed(int line)
{
	/* relaxed: counters, read after the threads are joined */
	if (atomic_fetch_add_explicit(&reports, 0, memory_order_relaxed) < 20)
		fprintf(stderr, "stress_torture: check failed at line %d: ", line);
	atomic_fetch_add_explicit(&checks_failed, 1, memory_order_relaxed);
}

static void
count_op(void)
{
	/* relaxed: a counter */
	atomic_fetch_add_explicit(&ops_done, 1, memory_order_relaxed);
}

static uint64_t
xorshift(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static uint64_t
mix(uint64_t x)
{
	x ^= x >> 31;
	x *= UINT64_C(0x7fb5d329728ea185);
	x ^= x >> 27;
	x *= UINT64_C(0x81dadef4bc2dd44d);
	x ^= x >> 33;
	return x;
}

/* ---- payloads ------------------------------------------------------------- */

struct payload {
	uint32_t session;
	uint32_t writer;   /* producer index, or EXPLICIT_TAG | writer index */
	uint64_t wseq;     /* the writer's own sequence number, from 1 */
	uint64_t id;       /* explicit writers: the id appended; else 0 */
	uint64_t check;    /* over the fields above and the padding length */
};

#define HDR sizeof(struct payload)

static uint64_t
checksum(const struct payload *p, size_t pad)
{
	return mix(((uint64_t)p->session << 32 | p->writer) ^ mix(p->wseq) ^
	    mix(p->id + 0x9e37) ^ pad);
}

static unsigned char
pad_byte(uint64_t check, size_t i)
{
	return (unsigned char)((check >> (8 * (i % 8))) ^ (i * 31));
}

static size_t
make_payload(unsigned char *buf, uint32_t session, uint32_t writer,
             uint64_t wseq, uint64_t id, size_t pad)
{
	struct payload p = { session, writer, wseq, id, 0 };

	p.check = checksum(&p, pad);
	memcpy(buf, &p, HDR);
	for (size_t i = 0; i < pad; i++)
		buf[HDR + i] = pad_byte(p.check, i);
	return HDR + pad;
}

/* ---- shared phase state --------------------------------------------------- */

struct phase_cfg {
	const char *name;
	size_t cap;
	bool single;
	unsigned next_sessions;    /* append_next sessions: 0 .. n-1 */
	unsigned expl_sessions;    /* explicit-id sessions follow them */
	unsigned producers;
	unsigned expl_writers;     /* per explicit session */
	unsigned readers;
	unsigned purgers;          /* purger i owns sessions s with s % n == i */
};

static struct evs_store *store;
static const struct phase_cfg *cfg;
static uint64_t base_seed = 0x5eed;
/* Set by main at the deadline; workers only read it to stop.  relaxed:
 * nothing is published through it (results are read after join). */
static atomic_bool stop;

/* Successful appends per session (no-purge phases), and the newest
 * explicit id that succeeded.  relaxed: counters, read after join. */
static atomic_ulong appended[MAX_SESSIONS];
static atomic_ulong expl_max[MAX_SESSIONS];
/* Explicit-id tickets per session.  relaxed: only uniqueness matters. */
static atomic_ulong tickets[MAX_SESSIONS];

/*
 * The id append_next returned for (session, writer, wseq), recorded by the
 * producer after the call: (wseq & 0xffffff) << 40 | id.  A reader that
 * replays the event compares when the tag matches (the producer may not have
 * recorded it yet, or a later wseq may have replaced it).  relaxed: each
 * value is self-contained; no other memory is read through it.
 */
static atomic_uint_least64_t given_id[MAX_SESSIONS][MAX_WRITERS][ID_RING];

/*
 * Epochs removed by purges, per session: count, then entries
 * (i & 0xffffff) << 40 | (epoch & (2^40 - 1)).  A purger appends after its
 * purge returned; a reader loads count before its call, so every entry below
 * that count names a log the call must not see.
 */
struct dead_ring {
	atomic_uint_least64_t count;
	atomic_uint_least64_t e[DEAD_RING];
};
static struct dead_ring dead[MAX_SESSIONS];

#define LOW40 ((UINT64_C(1) << 40) - 1)

static void
session_name(unsigned i, char *buf, size_t n)
{
	snprintf(buf, n, "torture-%u", i);
}

static bool
is_next_session(unsigned s)
{
	return s < cfg->next_sessions;
}

static unsigned
nsessions(void)
{
	return cfg->next_sessions + cfg->expl_sessions;
}

static bool
stopping(void)
{
	/* relaxed: see `stop` */
	return atomic_load_explicit(&stop, memory_order_relaxed);
}

/* ---- producers -------------------------------------------------------------- */

static void *
producer(void *argp)
{
	unsigned w = (unsigned)(uintptr_t)argp;
	uint64_t rnd = mix(base_seed + w + 1) | 1;
	uint64_t wseq[MAX_SESSIONS] = { 0 }, last_id[MAX_SESSIONS] = { 0 };
	unsigned char buf[HDR + PAD_MAX];
	char name[32];

	for (unsigned n = 0; n < MAX_OPS && !stopping(); n++) {
		unsigned s = cfg->single ? w : (unsigned)(xorshift(&rnd) %
		    cfg->next_sessions);
		size_t len;
		uint64_t id = 0;
		int rc;

		len = make_payload(buf, s, w, ++wseq[s], 0,
		    (size_t)(xorshift(&rnd) % (PAD_MAX + 1)));
		session_name(s, name, sizeof(name));
		rc = evs_store_append_next(store, name, buf, len, &id);
		count_op();
		CHECK(rc == 0, "append_next: %s", evs_strerror(rc));
		if (rc != 0)
			continue;
		/* relaxed: a self-contained value (see given_id) */
		atomic_store_explicit(&given_id[s][w][wseq[s] % ID_RING],
		    (wseq[s] & 0xffffff) << 40 | (id & LOW40),
		    memory_order_relaxed);
		if (cfg->purgers == 0) {
			CHECK(id > last_id[s], "writer %u: append_next gave %"
			    PRIu64 " after %" PRIu64, w, id, last_id[s]);
			last_id[s] = id;
			/* relaxed: a counter, read after join */
			atomic_fetch_add_explicit(&appended[s], 1,
			    memory_order_relaxed);
		}
	}
	return NULL;
}

/* Explicit ids from a shared ticket: appends race, and one with a smaller
 * ticket than the newest id gets EVS_EORDER, which must change nothing. */
static void *
explicit_writer(void *argp)
{
	unsigned w = (unsigned)(uintptr_t)argp;
	unsigned s = cfg->next_sessions + w % cfg->expl_sessions;
	uint64_t rnd = mix(base_seed + 100 + w) | 1, wseq = 0, newest = 0;
	unsigned char buf[HDR + PAD_MAX];
	char name[32];

	session_name(s, name, sizeof(name));
	for (unsigned n = 0; n < MAX_OPS && !stopping(); n++) {
		/* relaxed: the ticket only has to be unique */
		uint64_t id = atomic_fetch_add_explicit(&tickets[s],
		    1 + xorshift(&rnd) % 3, memory_order_relaxed) + 1;
		size_t len = make_payload(buf, s, EXPLICIT_TAG | w, ++wseq, id,
		    (size_t)(xorshift(&rnd) % (PAD_MAX + 1)));
		int rc = evs_store_append(store, name, id, buf, len);

		count_op();
		CHECK(rc == 0 || rc == EVS_EORDER, "append %" PRIu64 ": %s", id,
		    evs_strerror(rc));
		if (rc == 0) {
			if (id > newest)
				newest = id;
			/* relaxed: counters, read after join */
			atomic_fetch_add_explicit(&appended[s], 1,
			    memory_order_relaxed);
		}
	}
	/* relaxed: read after join */
	for (uint64_t m = atomic_load_explicit(&expl_max[s],
	    memory_order_relaxed); m < newest && !atomic_compare_exchange_weak_explicit(
	    &expl_max[s], &m, newest, memory_order_relaxed,
	    memory_order_relaxed);)
		;
	return NULL;
}

/* ---- readers -------------------------------------------------------------------- */

struct reader_session {
	uint64_t after;                  /* next replay starts after this id */
	uint64_t epoch;                  /* of the log `after` belongs to */
	uint64_t wseq[MAX_WRITERS];      /* newest writer seq seen, this epoch */
	uint64_t hist[EPOCH_HIST];       /* epochs seen before `epoch` */
	unsigned nhist;
};

struct replay_ctx {
	unsigned session;
	uint64_t after;
	uint64_t prev;
	uint64_t first_wseq[MAX_WRITERS];
	uint64_t last_wseq[MAX_WRITERS];
	unsigned delivered;
	uint64_t ids[4];                 /* the first ids delivered, for reports */
	unsigned stop_at;                /* 0: never stop early */
	bool gap;
};

static int
on_event(const struct evs_event *ev, void *arg)
{
	struct replay_ctx *c = arg;
	struct payload p;
	size_t pad;
	bool pad_ok = true;

	CHECK(ev->id > c->prev, "session %u: id %" PRIu64 " after %" PRIu64,
	    c->session, ev->id, c->prev);
	if (ev->id != c->prev + 1)
		c->gap = true;
	c->prev = ev->id;
	if (c->delivered < 4)
		c->ids[c->delivered] = ev->id;
	c->delivered++;
	CHECK(ev->len >= HDR && ev->len <= HDR + PAD_MAX, "session %u: length %zu",
	    c->session, ev->len);
	if (ev->len < HDR || ev->len > HDR + PAD_MAX)
		return 0;
	memcpy(&p, ev->data, HDR);
	pad = ev->len - HDR;
	for (size_t i = 0; i < pad; i++)
		if (((const unsigned char *)ev->data)[HDR + i] != pad_byte(p.check, i))
			pad_ok = false;
	CHECK(p.check == checksum(&p, pad) && pad_ok,
	    "session %u: torn payload at id %" PRIu64, c->session, ev->id);
	CHECK(p.session == c->session, "session %u: event of session %u at id %"
	    PRIu64, c->session, p.session, ev->id);
	if (p.session != c->session || p.check != checksum(&p, pad))
		return 0;
	if (!is_next_session(c->session)) {
		CHECK((p.writer & EXPLICIT_TAG) != 0 && p.id == ev->id,
		    "session %u: explicit id %" PRIu64 " replayed as %" PRIu64,
		    c->session, p.id, ev->id);
	} else if (p.writer < MAX_WRITERS) {
		/* relaxed: a self-contained value (see given_id) */
		uint64_t g = atomic_load_explicit(
		    &given_id[c->session][p.writer][p.wseq % ID_RING],
		    memory_order_relaxed);

		CHECK(p.wseq > c->last_wseq[p.writer], "session %u: writer %u "
		    "seq %" PRIu64 " after %" PRIu64 " (id %" PRIu64 ")",
		    c->session, p.writer, p.wseq, c->last_wseq[p.writer], ev->id);
		if (c->first_wseq[p.writer] == 0)
			c->first_wseq[p.writer] = p.wseq;
		c->last_wseq[p.writer] = p.wseq;
		if (g >> 40 == (p.wseq & 0xffffff))
			CHECK((g & LOW40) == (ev->id & LOW40), "session %u: "
			    "append_next returned %" PRIu64 " but replay says %"
			    PRIu64, c->session, g & LOW40, ev->id);
	} else {
		CHECK(false, "session %u: bad writer %u", c->session, p.writer);
	}
	if (c->stop_at != 0 && c->delivered == c->stop_at)
		return 42;
	return 0;
}

static bool
epoch_dead(unsigned s, uint64_t epoch, uint64_t count)
{
	uint64_t from = count > DEAD_RING ? count - DEAD_RING : 0;

	for (uint64_t i = from; i < count; i++) {
		/* relaxed: a self-contained value; `count` was loaded with
		 * acquire (D2), after the entries below it were written. */
		uint64_t v = atomic_load_explicit(&dead[s].e[i % DEAD_RING],
		    memory_order_relaxed);

		if (v >> 40 == (i & 0xffffff) && (v & LOW40) == (epoch & LOW40))
			return true;
	}
	return false;
}

static uint64_t
dead_count(unsigned s)
{
	/* D2: pairs with D1 in purger(): entries below count were recorded
	 * after their purge returned. */
	return atomic_load_explicit(&dead[s].count, memory_order_acquire);
}

static void
check_log_info(unsigned s, const struct evs_log_info *li, uint64_t ndead)
{
	if (li->epoch == 0) {
		CHECK(li->retained == 0, "session %u: no log but %zu retained", s,
		    li->retained);
		return;
	}
	CHECK(li->retained >= 1 && li->retained <= cfg->cap, "session %u: "
	    "retained %zu, cap %zu", s, li->retained, cfg->cap);
	CHECK(li->first_id <= li->last_id, "session %u: first %" PRIu64
	    " > last %" PRIu64, s, li->first_id, li->last_id);
	if (is_next_session(s))
		CHECK(li->last_id - li->first_id + 1 == li->retained, "session %u: "
		    "ids %" PRIu64 "..%" PRIu64 " but %zu retained", s,
		    li->first_id, li->last_id, li->retained);
	CHECK(!epoch_dead(s, li->epoch, ndead), "session %u: epoch %" PRIx64
	    " seen after its purge returned", s, li->epoch);
}

/* The reader moved to log `epoch`; it must never come back to an old one. */
static void
note_epoch(struct reader_session *rs, unsigned s, uint64_t epoch)
{
	if (epoch == 0 || epoch == rs->epoch)
		return;
	for (unsigned i = 0; i < rs->nhist && i < EPOCH_HIST; i++)
		CHECK(rs->hist[i] != epoch, "session %u: old epoch %" PRIx64
		    " came back", s, epoch);
	if (rs->epoch != 0)
		rs->hist[rs->nhist++ % EPOCH_HIST] = rs->epoch;
	rs->epoch = epoch;
	rs->after = 0;
	memset(rs->wseq, 0, sizeof(rs->wseq));
}

static void
one_replay(struct reader_session *rs, unsigned s, uint64_t *rnd)
{
	struct replay_ctx c;
	struct evs_replay_info info;
	uint64_t ndead = dead_count(s);
	bool continuing;
	char name[32];
	int rc;

	memset(&c, 0, sizeof(c));
	c.session = s;
	switch (xorshift(rnd) % 16) {
	case 0:  c.after = rs->after / 2; break;      /* a late client */
	case 1:  c.after = 0; break;
	case 2:  c.after = rs->after + xorshift(rnd) % 4; break;
	default: c.after = rs->after; break;
	}
	continuing = c.after == rs->after;
	c.prev = c.after;
	if (xorshift(rnd) % 8 == 0)
		c.stop_at = 1 + (unsigned)(xorshift(rnd) % 4);
	session_name(s, name, sizeof(name));
	rc = evs_store_replay_after(store, name, c.after, on_event, &c, &info);
	count_op();
	CHECK(rc == 0 || (rc == 42 && c.stop_at != 0 &&
	    c.delivered == c.stop_at), "session %u: replay returned %d", s, rc);
	CHECK(info.delivered == c.delivered, "session %u: delivered %zu, "
	    "callback saw %u", s, info.delivered, c.delivered);
	check_log_info(s, &info.log, ndead);
	CHECK(info.delivered <= info.log.retained, "session %u: delivered %zu "
	    "of %zu retained", s, info.delivered, info.log.retained);
	if (c.delivered > 0)
		CHECK(info.log.epoch != 0 && c.prev <= info.log.last_id,
		    "session %u: delivered id %" PRIu64 " past newest %" PRIu64,
		    s, c.prev, info.log.last_id);
	if (rc == 0 && is_next_session(s)) {
		/* Gap-free ids: the replay owes after+1 .. newest. */
		if (info.log.epoch != 0 && info.log.last_id > c.after &&
		    c.prev != info.log.last_id)
			c.gap = true;
		CHECK(info.truncated == c.gap, "session %u: truncated=%d, gap=%d "
		    "(after %" PRIu64 ", delivered %zu: %" PRIu64 ",%" PRIu64
		    ",%" PRIu64 "...; log held %" PRIu64 "..%" PRIu64 " at start)",
		    s, info.truncated, c.gap, c.after, info.delivered, c.ids[0],
		    c.ids[1], c.ids[2], info.log.first_id, info.log.last_id);
	}
	if (info.log.epoch == 0)
		return;
	if (info.log.epoch == rs->epoch && continuing && is_next_session(s)) {
		/* Continuing in the same log: each writer's sequence goes on
		 * increasing from where the last replay left it. */
		for (unsigned w = 0; w < MAX_WRITERS; w++)
			if (c.first_wseq[w] != 0)
				CHECK(c.first_wseq[w] > rs->wseq[w], "session %u: "
				    "writer %u seq %" PRIu64 " after %" PRIu64
				    " in an earlier replay", s, w, c.first_wseq[w],
				    rs->wseq[w]);
	}
	note_epoch(rs, s, info.log.epoch);
	if (info.log.epoch == rs->epoch && c.delivered > 0) {
		if (continuing)
			for (unsigned w = 0; w < MAX_WRITERS; w++)
				if (c.last_wseq[w] != 0)
					rs->wseq[w] = c.last_wseq[w];
		rs->after = c.prev;
	}
	if (!continuing)
		memset(rs->wseq, 0, sizeof(rs->wseq));   /* start afresh */
}

static void *
reader(void *argp)
{
	struct reader_session rs[MAX_SESSIONS];
	uint64_t rnd = mix(base_seed + 200 + (uintptr_t)argp) | 1;
	char name[32];

	memset(rs, 0, sizeof(rs));
	for (unsigned n = 0; n < MAX_OPS && !stopping(); n++) {
		unsigned s = (unsigned)(xorshift(&rnd) % nsessions());

		if (xorshift(&rnd) % 8 == 0) {
			struct evs_log_info li;
			uint64_t ndead = dead_count(s);
			int rc;

			session_name(s, name, sizeof(name));
			rc = evs_store_info(store, name, &li);
			count_op();
			CHECK(rc == 0, "info: %s", evs_strerror(rc));
			check_log_info(s, &li, ndead);
			note_epoch(&rs[s], s, li.epoch);
			continue;
		}
		one_replay(&rs[s], s, &rnd);
	}
	return NULL;
}

/* ---- purgers ------------------------------------------------------------- */

static void *
purger(void *argp)
{
	unsigned me = (unsigned)(uintptr_t)argp;
	uint64_t rnd = mix(base_seed + 300 + me) | 1;
	char name[32];

	for (unsigned n = 0; n < MAX_OPS && !stopping(); n++) {
		unsigned s = (unsigned)(xorshift(&rnd) % nsessions());
		struct evs_log_info before, after;
		int rc;

		if (s % cfg->purgers != me)
			continue;
		session_name(s, name, sizeof(name));
		rc = evs_store_info(store, name, &before);
		CHECK(rc == 0, "info: %s", evs_strerror(rc));
		rc = evs_store_purge_session(store, name);
		count_op();
		CHECK(rc == 0, "purge: %s", evs_strerror(rc));
		rc = evs_store_info(store, name, &after);
		CHECK(rc == 0, "info: %s", evs_strerror(rc));
		/* Only this thread purges s, so the log `before` is gone. */
		CHECK(before.epoch == 0 || after.epoch != before.epoch,
		    "session %u: epoch %" PRIx64 " survived its purge", s,
		    before.epoch);
		if (before.epoch != 0) {
			/* Only this thread writes dead[s].  relaxed: the entry
			 * is published by D1 below. */
			uint64_t i = atomic_load_explicit(&dead[s].count,
			    memory_order_relaxed);

			atomic_store_explicit(&dead[s].e[i % DEAD_RING],
			    (i & 0xffffff) << 40 | (before.epoch & LOW40),
			    memory_order_relaxed);
			/* D1: pairs with D2 in dead_count(): the entry, and the
			 * purge before it, happen before a reader sees count. */
			atomic_store_explicit(&dead[s].count, i + 1,
			    memory_order_release);
		}
		if (n % 4 == 0)
			sched_yield();   /* let logs grow between purges */
	}
	return NULL;
}

/* ---- driver ------------------------------------------------------------------ */

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Decide when the phase stops.  Nobody waits on this thread: it only sets
 * the stop flag at the deadline (and prints progress in soak runs). */
static void
run_until(double seconds, bool progress)
{
	double t0 = now_s(), next = t0 + 10;

	while (now_s() - t0 < seconds) {
		struct timespec ts = { 0, 50 * 1000 * 1000 };

		(void)nanosleep(&ts, NULL);
		if (progress && now_s() >= next) {
			next += 10;
			/* relaxed: approximate progress counters */
			printf("  %.0fs: %lu ops, %lu checks passed, %lu failed\n",
			    now_s() - t0, atomic_load_explicit(&ops_done,
			    memory_order_relaxed), atomic_load_explicit(
			    &checks_passed, memory_order_relaxed),
			    atomic_load_explicit(&checks_failed,
			    memory_order_relaxed));
			fflush(stdout);
		}
	}
	/* relaxed: see `stop` */
	atomic_store_explicit(&stop, true, memory_order_relaxed);
}

static void
end_checks(void)
{
	char name[32];

	for (unsigned s = 0; cfg->purgers == 0 && s < nsessions(); s++) {
		struct evs_log_info li;
		/* relaxed: all writers have been joined */
		uint64_t n = atomic_load_explicit(&appended[s],
		    memory_order_relaxed);

		session_name(s, name, sizeof(name));
		CHECK(evs_store_info(store, name, &li) == 0, "info");
		CHECK(li.retained == (n < cfg->cap ? n : cfg->cap), "session %u: "
		    "retains %zu after %" PRIu64 " appends", s, li.retained, n);
		if (n == 0)
			continue;
		if (is_next_session(s))
			CHECK(li.last_id == n, "session %u: newest id %" PRIu64
			    " after %" PRIu64 " appends", s, li.last_id, n);
		else
			CHECK(li.last_id == atomic_load_explicit(&expl_max[s],
			    memory_order_relaxed), "session %u: newest id %"
			    PRIu64, s, li.last_id);
	}
	for (unsigned s = 0; s < nsessions(); s++) {
		session_name(s, name, sizeof(name));
		CHECK(evs_store_purge_session(store, name) == 0, "purge");
	}
	CHECK(evs_memory_store_session_count(store) == 0, "sessions left");
	CHECK(evs_memory_store_total_events(store) == 0, "events left");
}

static int
run_phase(const struct phase_cfg *c, double seconds, bool progress)
{
	struct evs_memory_opts o = { .max_events_per_session = c->cap };
	pthread_t th[64];
	unsigned nth = 0;
	unsigned long ops0 = atomic_load(&ops_done);
	unsigned long pass0 = atomic_load(&checks_passed);
	unsigned long fail0 = atomic_load(&checks_failed);
	int rc;

	cfg = c;
	o.producers = c->single ? EVS_SINGLE_PRODUCER : EVS_MULTI_PRODUCER;
	rc = evs_memory_store_create(&o, &store);
	if (rc != 0) {
		fprintf(stderr, "create: %s\n", evs_strerror(rc));
		return -1;
	}
	atomic_store(&stop, false);
	for (unsigned s = 0; s < MAX_SESSIONS; s++) {
		atomic_store(&appended[s], 0);
		atomic_store(&expl_max[s], 0);
		atomic_store(&tickets[s], 0);
		atomic_store(&dead[s].count, 0);
		for (unsigned w = 0; w < MAX_WRITERS; w++)
			for (unsigned i = 0; i < ID_RING; i++)
				atomic_store(&given_id[s][w][i], 0);
	}
	for (unsigned i = 0; i < c->producers; i++)
		pthread_create(&th[nth++], NULL, producer, (void *)(uintptr_t)i);
	for (unsigned i = 0; i < c->expl_writers * c->expl_sessions; i++)
		pthread_create(&th[nth++], NULL, explicit_writer,
		    (void *)(uintptr_t)i);
	for (unsigned i = 0; i < c->readers; i++)
		pthread_create(&th[nth++], NULL, reader, (void *)(uintptr_t)i);
	for (unsigned i = 0; i < c->purgers; i++)
		pthread_create(&th[nth++], NULL, purger, (void *)(uintptr_t)i);
	run_until(seconds, progress);
	for (unsigned i = 0; i < nth; i++)
		pthread_join(th[i], NULL);
	end_checks();
	evs_store_destroy(store);
	store = NULL;
	printf("phase %-8s cap %-3zu %2u threads: %lu ops, %lu checks passed, "
	    "%lu failed\n", c->name, c->cap, nth, atomic_load(&ops_done) - ops0,
	    atomic_load(&checks_passed) - pass0,
	    atomic_load(&checks_failed) - fail0);
	fflush(stdout);
	return 0;
}

static const struct phase_cfg phases[] = {
	{ "order",   16, false, 3, 1, 4, 2, 3, 0 },
	{ "order-1",  1, false, 3, 1, 4, 2, 3, 0 },
	{ "single",  16, true,  3, 1, 3, 1, 3, 0 },
	{ "purge",    8, false, 10, 2, 4, 1, 3, 2 },
};

int
main(int argc, char **argv)
{
	double duration = 4;
	const char *only = NULL;
	unsigned long failed;
	size_t np = sizeof(phases) / sizeof(phases[0]);

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--duration") == 0 && i + 1 < argc)
			duration = atof(argv[++i]);
		else if (strcmp(argv[i], "--seed") == 0 && i + 1 < argc)
			base_seed = strtoull(argv[++i], NULL, 0);
		else if (strcmp(argv[i], "--phase") == 0 && i + 1 < argc)
			only = argv[++i];
		else {
			fprintf(stderr, "usage: %s [--duration SECONDS] "
			    "[--seed N] [--phase NAME]\n", argv[0]);
			return 2;
		}
	}
	if (!(duration > 0 && duration <= 7 * 86400))
		duration = 4;
	printf("stress_torture: %.1f s over %zu phases, seed %" PRIu64 "\n",
	    duration, np, base_seed);
	if (only != NULL) {
		size_t i;

		for (i = 0; i < np && strcmp(phases[i].name, only) != 0; i++)
			;
		if (i == np) {
			fprintf(stderr, "unknown phase %s\n", only);
			return 2;
		}
		if (run_phase(&phases[i], duration, duration >= 60) != 0)
			return 1;
	}
	for (size_t i = 0; only == NULL && i < np; i++)
		if (run_phase(&phases[i], duration / (double)np,
		    duration >= 60) != 0)
			return 1;
	failed = atomic_load(&checks_failed);
	printf("stress_torture: %lu ops done\n", atomic_load(&ops_done));
	printf("stress_torture: %lu passed, %lu failed\n",
	    atomic_load(&checks_passed), failed);
	return failed == 0 ? 0 : 1;
}
