/*
 * src/caching.c: the caching composer (<evstore/caching.h>).
 *
 * The composer keeps no per-session state of its own: everything it needs
 * to decide whether the cache may answer a replay travels with the cached
 * events, in a header in front of each payload:
 *
 *   epoch  the backend log the event was read from or appended to (as
 *          observed from the backend before the event was cached; 0 when
 *          unknown, which never validates);
 *   prev   a "link": the backend log held, and will ever hold, no event with
 *          an id strictly between prev and this event's id;
 *   ts     the backend's timestamp (or the composer's, for its own appends).
 *
 * A replay reads the backend's info (epoch E, first_id F, last_id L), then
 * replays the cache and delivers a cached event only if its header says E
 * and its link reaches back to the last id delivered (or to after_id).  If
 * that chain reaches L, the cache held exactly the backend's events in
 * (after_id, L]; if it breaks, the backend delivers the rest after the last
 * id delivered.  docs/DESIGN.md ("The caching composer") has the proof, and
 * explains where links come from (appends: id - 1; warm-ups: the backend's
 * replay order) and why warming cannot reorder or duplicate (the cache's own
 * EVS_EORDER check, appends in increasing id order only).
 *
 * Ordering guarantees:
 *   - append/append_next: the backend's append happens before the cache's
 *     (program order in one thread), so an event is never in the cache
 *     without being in the backend.  The composer adds no ordering of its
 *     own between threads: what one thread's append makes visible to
 *     another thread's replay is published by the two stores (for the
 *     memory store, its R1/R2 releases and A1/A3 acquires).
 *   - replay_after is correct under any interleaving with other calls on
 *     this composer, on other composers sharing the backend, and on the
 *     backend directly: it relies only on facts that, once true, stay true
 *     (a link's "no event between", a purged epoch never coming back).
 *   - The statistics counters are relaxed: they publish nothing and are
 *     exact only when no call is running.
 *
 * Progress guarantees:
 *   - append, append_next, replay_after, info, purge_session: lock-free
 *     whenever the two stores' calls are.  The composer takes no lock, never
 *     waits for another thread, and its loops are bounded by the events a
 *     store delivers or by the warm-up buffer.  A thread preempted anywhere
 *     in a composer call blocks no other thread.
 *   - evs_caching_store_stats: wait-free (a fixed number of relaxed loads).
 *   - destroy: no concurrent calls; frees the composer only.
 */
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <evstore/caching.h>

#include "internal.h"

/* ---- the cached event's header ------------------------------------------- */

#define HDR_LEN   EVS_CACHING_OVERHEAD
#define HDR_MAGIC UINT32_C(0x31435645)   /* "EVC1" read little-endian */

struct hdr {
	uint64_t epoch;
	uint64_t prev;
	int64_t  ts;
};

static inline void
put32(unsigned char *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static inline void
put64(unsigned char *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static inline uint32_t
get32(const unsigned char *p)
{
	uint32_t v = 0;

	for (int i = 3; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static inline uint64_t
get64(const unsigned char *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

/* Layout: magic(4) flags(4, zero) epoch(8) prev(8) ts(8), little-endian. */
static void
hdr_write(unsigned char *p, const struct hdr *h)
{
	put32(p, HDR_MAGIC);
	put32(p + 4, 0);
	put64(p + 8, h->epoch);
	put64(p + 16, h->prev);
	put64(p + 24, (uint64_t)h->ts);
}

/* False if the cached event was not written by a composer. */
static bool
hdr_read(const struct evs_event *ev, struct hdr *h)
{
	const unsigned char *p = ev->data;

	if (ev->len < HDR_LEN || get32(p) != HDR_MAGIC || get32(p + 4) != 0)
		return false;
	h->epoch = get64(p + 8);
	h->prev = get64(p + 16);
	h->ts = (int64_t)get64(p + 24);
	return true;
}

/* The link an appended event can always claim: nothing lies strictly
 * between id - 1 and id. */
static inline uint64_t
trivial_prev(uint64_t id)
{
	return id > 0 ? id - 1 : 0;
}

/* ---- the composer and its counters -------------------------------------- */

enum {
	C_HITS, C_PARTIAL, C_MISSES, C_WARMUPS, C_WARMED, C_REBUILDS,
	C_CACHE_ERRORS, C_NCOUNTERS
};

/* Counters are sharded by thread so that readers on different cores do not
 * bounce one cache line on every hit.  A shard is padded to 128 bytes: two
 * shards never share a 64-byte line, whatever malloc's alignment. */
#define NSHARDS 8

struct shard {
	_Atomic uint64_t c[C_NCOUNTERS];
	char pad[128 - C_NCOUNTERS * sizeof(uint64_t)];
};

struct caching_store {
	struct evs_store base;
	struct evs_store *cache;
	struct evs_store *backend;
	struct shard shard[NSHARDS];
};

static _Atomic unsigned shard_next;
static _Thread_local unsigned shard_mine;   /* 0: not chosen yet */

static void
count(struct caching_store *cs, int which, uint64_t n)
{
	unsigned k = shard_mine;

	if (evs__unlikely(k == 0)) {
		/* Relaxed: only spreads threads over shards; any value works. */
		k = atomic_fetch_add_explicit(&shard_next, 1,
		    memory_order_relaxed) % NSHARDS + 1;
		shard_mine = k;
	}
	/* Relaxed: a statistics counter; nothing is published through it. */
	atomic_fetch_add_explicit(&cs->shard[k - 1].c[which], n,
	    memory_order_relaxed);
}

static struct caching_store *
to_cs(struct evs_store *s)
{
	return evs__container_of(s, struct caching_store, base);
}

/* ---- writing to the cache --------------------------------------------------- */

/* Append header + payload to the cache under the backend's id. */
static int
cache_put(struct evs_store *cache, const char *session, uint64_t id,
          const struct hdr *h, const void *data, size_t len)
{
	unsigned char small[512];
	unsigned char *buf = small;
	int rc;

	if (len > SIZE_MAX - HDR_LEN)
		return EVS_ETOOBIG;
	if (HDR_LEN + len > sizeof(small)) {
		buf = evs__malloc(HDR_LEN + len);
		if (buf == NULL)
			return EVS_ENOMEM;
	}
	hdr_write(buf, h);
	if (len > 0)
		memcpy(buf + HDR_LEN, data, len);
	rc = evs_store_append(cache, session, id, buf, HDR_LEN + len);
	if (buf != small)
		free(buf);
	return rc;
}

struct tag_ctx {
	uint64_t epoch;
};

static int
tag_cb(const struct evs_event *ev, void *arg)
{
	struct tag_ctx *t = arg;
	struct hdr h;

	if (hdr_read(ev, &h))
		t->epoch = h.epoch;
	return 1;   /* one event is enough */
}

/*
 * The backend epoch to write in the header of an event about to be
 * appended: any epoch observed from the backend before the backend append
 * will do.  If the append lands in that log, the header is true; if it lands
 * in another, that one is newer, so the observed log was purged and no
 * replay will ever validate against it again.  The cache's newest event
 * carries the epoch the cache mirrors (observed when it was cached); when
 * the cache has none, ask the backend (one info call).
 */
static uint64_t
live_epoch(struct caching_store *cs, const char *session)
{
	struct evs_log_info li;
	struct tag_ctx t = { 0 };

	if (evs_store_info(cs->cache, session, &li) == 0 && li.retained > 0 &&
	    li.last_id > 0) {
		(void)evs_store_replay_after(cs->cache, session, li.last_id - 1,
		    tag_cb, &t, NULL);
		if (t.epoch != 0)
			return t.epoch;
	}
	if (evs_store_info(cs->backend, session, &li) != 0)
		return 0;
	return li.epoch;
}

static void
cache_after_append(struct caching_store *cs, const char *session,
                   uint64_t epoch, uint64_t id, const void *data, size_t len)
{
	struct hdr h = { epoch, trivial_prev(id), evs__now_ns() };
	int rc = cache_put(cs->cache, session, id, &h, data, len);

	/* EVS_EORDER: a warm-up or a later append got there first; either the
	 * event is cached already or the chain check will see it missing. */
	if (rc != 0 && rc != EVS_EORDER)
		count(cs, C_CACHE_ERRORS, 1);
}

static int
cs_append(struct evs_store *s, const char *session, size_t session_len,
          uint64_t id, const void *data, size_t len)
{
	struct caching_store *cs = to_cs(s);
	uint64_t epoch = live_epoch(cs, session);
	int rc;

	(void)session_len;
	rc = evs_store_append(cs->backend, session, id, data, len);
	if (rc != 0)
		return rc;
	cache_after_append(cs, session, epoch, id, data, len);
	return 0;
}

static int
cs_append_next(struct evs_store *s, const char *session, size_t session_len,
               const void *data, size_t len, uint64_t *id)
{
	struct caching_store *cs = to_cs(s);
	uint64_t epoch = live_epoch(cs, session);
	uint64_t got;
	int rc;

	(void)session_len;
	rc = evs_store_append_next(cs->backend, session, data, len, &got);
	if (rc != 0)
		return rc;
	cache_after_append(cs, session, epoch, got, data, len);
	*id = got;
	return 0;
}

/* ---- the warm-up buffer ------------------------------------------------------ */

/*
 * Events read from the backend are buffered, not appended to the cache as
 * they arrive: whether their links can be trusted depends on the backend
 * replay's `truncated`, known only at its end.  The buffer keeps the newest
 * WARM_MAX_EVENTS events and at most WARM_MAX_BYTES of payload (older ones
 * are dropped: a cache that small would evict them anyway).
 */
#define WARM_MAX_EVENTS 4096
#define WARM_MAX_BYTES  ((size_t)16 << 20)

struct wev {
	uint64_t id;
	uint64_t prev;
	int64_t ts;
	size_t len;
	unsigned char *buf;   /* HDR_LEN bytes of room, then the payload */
};

struct warm {
	struct wev *v;
	size_t cap, head, n;  /* ring: v[(head + i) % cap], i < n */
	size_t bytes;
	bool failed;          /* out of memory: give up warming */
};

static void
warm_drop_oldest(struct warm *w)
{
	struct wev *e = &w->v[w->head];

	w->bytes -= e->len;
	free(e->buf);
	w->head = (w->head + 1) % w->cap;
	w->n--;
}

static bool
warm_grow(struct warm *w)
{
	size_t ncap = w->cap == 0 ? 16 : w->cap * 2;
	struct wev *nv;

	if (ncap > WARM_MAX_EVENTS)
		ncap = WARM_MAX_EVENTS;
	nv = evs__malloc(ncap * sizeof(*nv));
	if (nv == NULL)
		return false;
	for (size_t i = 0; i < w->n; i++)
		nv[i] = w->v[(w->head + i) % w->cap];
	free(w->v);
	w->v = nv;
	w->cap = ncap;
	w->head = 0;
	return true;
}

static void
warm_free(struct warm *w)
{
	while (w->n > 0)
		warm_drop_oldest(w);
	free(w->v);
	w->v = NULL;
	w->cap = 0;
}

/* Buffer a copy of ev, which the backend delivered right after `prev`. */
static void
warm_add(struct warm *w, const struct evs_event *ev, uint64_t prev)
{
	struct wev *e;
	unsigned char *buf;

	if (w->failed)
		return;
	if (ev->len > WARM_MAX_BYTES || ev->len > SIZE_MAX - HDR_LEN) {
		/* Too big to buffer: it will not be cached, and the chain
		 * check will see it missing.  Older ones are useless too. */
		while (w->n > 0)
			warm_drop_oldest(w);
		return;
	}
	while (w->n > 0 && (w->n == WARM_MAX_EVENTS ||
	    w->bytes + ev->len > WARM_MAX_BYTES))
		warm_drop_oldest(w);
	if (w->n == w->cap && !warm_grow(w)) {
		w->failed = true;
		return;
	}
	buf = evs__malloc(HDR_LEN + ev->len);
	if (buf == NULL) {
		w->failed = true;
		return;
	}
	if (ev->len > 0)
		memcpy(buf + HDR_LEN, ev->data, ev->len);
	e = &w->v[(w->head + w->n) % w->cap];
	e->id = ev->id;
	e->prev = prev;
	e->ts = ev->timestamp_ns;
	e->len = ev->len;
	e->buf = buf;
	w->n++;
	w->bytes += ev->len;
}

enum warm_mode {
	WARM_EXTEND,    /* append what the cache lacks at its end */
	WARM_REBUILD    /* purge the cache's copy of the session first */
};

/*
 * Copy the buffered events into the cache.  @rinfo is the backend replay's
 * info; @cache_epoch is the cache's log epoch seen by the hit attempt (a
 * rebuild is skipped if another thread rebuilt since).
 */
static void
warm_flush(struct caching_store *cs, const char *session, struct warm *w,
           const struct evs_replay_info *rinfo, enum warm_mode mode,
           uint64_t cache_epoch)
{
	struct evs_log_info now, ci;
	uint64_t skip_upto = 0, appended = 0;
	bool skip = false;

	if (w->n == 0 || w->failed || rinfo->log.epoch == 0)
		return;
	if (rinfo->truncated) {
		/*
		 * The backend evicted events under the replay, so a link
		 * (prev, id) may span an event that was evicted after our info
		 * but before the replay reached it.  An event with id >= F, the
		 * backend's oldest now, was held throughout, so the replay
		 * delivered it: links with prev >= F - 1 are still exact.  The
		 * others fall back to the trivial link.
		 */
		if (evs_store_info(cs->backend, session, &now) != 0 ||
		    now.epoch != rinfo->log.epoch || now.retained == 0)
			return;
		for (size_t i = 0; i < w->n; i++) {
			struct wev *e = &w->v[(w->head + i) % w->cap];

			if (now.first_id > 0 && e->prev < now.first_id - 1)
				e->prev = trivial_prev(e->id);
		}
	}
	if (mode == WARM_REBUILD && evs_store_info(cs->cache, session, &ci) == 0 &&
	    ci.epoch == cache_epoch) {
		if (evs_store_purge_session(cs->cache, session) != 0) {
			count(cs, C_CACHE_ERRORS, 1);
			return;
		}
		count(cs, C_REBUILDS, 1);
	} else if (evs_store_info(cs->cache, session, &ci) == 0 &&
	    ci.retained > 0) {
		/* Only an optimisation: EVS_EORDER would refuse these. */
		skip = true;
		skip_upto = ci.last_id;
	}
	for (size_t i = 0; i < w->n; i++) {
		struct wev *e = &w->v[(w->head + i) % w->cap];
		struct hdr h = { rinfo->log.epoch, e->prev, e->ts };
		int rc;

		if (skip && e->id <= skip_upto)
			continue;
		hdr_write(e->buf, &h);
		/* The cache refuses an id not above its newest (EVS_EORDER):
		 * that is what keeps warming from reordering or duplicating
		 * events when live appends or other warm-ups race with it. */
		rc = evs_store_append(cs->cache, session, e->id, e->buf,
		    HDR_LEN + e->len);
		if (rc == 0) {
			appended++;
		} else if (rc != EVS_EORDER) {
			count(cs, C_CACHE_ERRORS, 1);
			break;
		}
	}
	if (appended > 0) {
		count(cs, C_WARMUPS, 1);
		count(cs, C_WARMED, appended);
	}
}

/* ---- replay ---------------------------------------------------------------- */

/* What a callback returns to stop the store that calls it; the reason is
 * kept in the context, so the value itself need not be unique. */
#define STOP 1

enum hit_state {
	HS_RUNNING,      /* the cache ran out of events (or failed) */
	HS_DONE,         /* delivered up to the backend's last id */
	HS_USER_STOP,    /* the caller's callback stopped the replay */
	HS_BAD_TAG,      /* an event of another backend log, or no header */
	HS_STARTS_LATE,  /* the first cached event's link misses after_id */
	HS_GAP,          /* a link broke after some events were delivered */
	HS_OLDER         /* the cache holds events the backend evicted */
};

struct hit_ctx {
	uint64_t epoch;          /* the backend's log */
	uint64_t first;          /* its oldest id when we looked */
	uint64_t upto;           /* its newest id when we looked */
	uint64_t after;
	uint64_t last_ok;        /* last id delivered (after_id at first) */
	evs_replay_fn *fn;
	void *arg;
	struct evs_replay_info *info;
	int user_rc;
	enum hit_state state;
};

static int
hit_cb(const struct evs_event *ev, void *arg)
{
	struct hit_ctx *c = arg;
	struct evs_event out;
	struct hdr h;
	int rc;

	if (ev->id <= c->last_ok || ev->id > c->upto) {
		c->state = HS_GAP;   /* the cache lacks the backend's last id */
		return STOP;
	}
	if (!hdr_read(ev, &h) || h.epoch != c->epoch) {
		c->state = HS_BAD_TAG;
		return STOP;
	}
	if (h.prev > c->last_ok) {
		c->state = c->last_ok == c->after ? HS_STARTS_LATE : HS_GAP;
		return STOP;
	}
	if (ev->id < c->first) {
		/* The backend evicted it (> after_id): only the backend can
		 * say what is missing.  The cache is not wrong, just longer. */
		c->state = HS_OLDER;
		return STOP;
	}
	out.id = ev->id;
	out.timestamp_ns = h.ts;
	out.data = (const unsigned char *)ev->data + HDR_LEN;
	out.len = ev->len - HDR_LEN;
	c->info->delivered++;
	c->last_ok = ev->id;
	rc = c->fn(&out, c->arg);
	if (rc != 0) {
		c->user_rc = rc;
		c->state = HS_USER_STOP;
		return STOP;
	}
	if (ev->id == c->upto) {
		c->state = HS_DONE;
		return STOP;
	}
	return 0;
}

struct fb_ctx {
	evs_replay_fn *fn;
	void *arg;
	struct evs_replay_info *info;
	uint64_t last;           /* id the next event follows in the backend */
	uint64_t upto;           /* deliver nothing newer (see below) */
	bool user_stopped;
	bool reached;            /* stopped at upto */
	struct warm warm;
};

static int
fb_cb(const struct evs_event *ev, void *arg)
{
	struct fb_ctx *c = arg;
	int rc;

	if (ev->id > c->upto) {
		/* upto, which existed when we looked, was evicted before this
		 * replay reached it: the backend has set `truncated`. */
		c->reached = true;
		return STOP;
	}
	warm_add(&c->warm, ev, c->last);
	c->last = ev->id;
	c->info->delivered++;
	rc = c->fn(ev, c->arg);
	if (rc != 0) {
		c->user_stopped = true;
		return rc;
	}
	if (ev->id == c->upto) {
		c->reached = true;
		return STOP;
	}
	return 0;
}

static int
cs_replay_after(struct evs_store *s, const char *session, size_t session_len,
                uint64_t after_id, evs_replay_fn *fn, void *arg,
                struct evs_replay_info *info)
{
	struct caching_store *cs = to_cs(s);
	struct evs_log_info b;
	struct evs_replay_info ri;
	struct fb_ctx f;
	enum warm_mode mode = WARM_EXTEND;
	uint64_t last_ok = after_id, cache_epoch = 0;
	int rc;

	(void)session_len;
	rc = evs_store_info(cs->backend, session, &b);
	if (rc != 0)
		return rc;
	if (b.epoch == 0) {
		count(cs, C_HITS, 1);   /* no log: nothing to deliver */
		return 0;
	}
	if (b.retained > 0 && after_id >= b.last_id) {
		/* Nothing newer, and every evicted id is below first_id. */
		info->log = b;
		count(cs, C_HITS, 1);
		return 0;
	}
	/*
	 * The cache may answer only if the backend's `truncated` is known to
	 * be false.  Every evicted id is below first_id, so it is when
	 * after_id >= first_id - 1; when after_id is older, the first cached
	 * event's link must show that the log never held an event between
	 * after_id and first_id (hit_cb checks both).
	 */
	if (b.retained > 0) {
		struct hit_ctx h = {
			.epoch = b.epoch, .first = b.first_id, .upto = b.last_id,
			.after = after_id, .last_ok = after_id, .fn = fn,
			.arg = arg, .info = info, .state = HS_RUNNING,
		};
		struct evs_replay_info ci;

		memset(&ci, 0, sizeof(ci));
		rc = evs_store_replay_after(cs->cache, session, after_id,
		    hit_cb, &h, &ci);
		if (h.state == HS_USER_STOP || h.last_ok == b.last_id) {
			info->log = b;
			count(cs, C_HITS, 1);
			return h.state == HS_USER_STOP ? h.user_rc : 0;
		}
		if (h.state == HS_RUNNING && rc != 0)
			count(cs, C_CACHE_ERRORS, 1);   /* the cache failed */
		/* Rebuild only a copy that cannot be extended; not one that is
		 * merely smaller than the range (the cache evicted it). */
		if (h.state == HS_BAD_TAG ||
		    ((h.state == HS_GAP || h.state == HS_STARTS_LATE) &&
		     !ci.truncated))
			mode = WARM_REBUILD;
		last_ok = h.last_ok;
		cache_epoch = ci.log.epoch;
	}

	/* The backend delivers what the cache could not vouch for. */
	memset(&f, 0, sizeof(f));
	f.fn = fn;
	f.arg = arg;
	f.info = info;
	f.last = last_ok;
	/*
	 * After a partial answer from the cache, the backend completes the
	 * answer as of our info call: up to its last_id then, as a single
	 * backend replay would (it delivers nothing appended after it
	 * started).  Alone, the backend's replay is the answer as it is.
	 */
	f.upto = last_ok != after_id ? b.last_id : UINT64_MAX;
	memset(&ri, 0, sizeof(ri));
	rc = evs_store_replay_after(cs->backend, session, last_ok, fb_cb, &f, &ri);
	if (f.reached && !f.user_stopped)
		rc = 0;
	info->log = ri.log;
	info->truncated = ri.truncated;
	if (last_ok != after_id) {
		count(cs, C_PARTIAL, 1);
		/* Like a backend replay, report the log as it was when the
		 * answer was fixed: at our info call. */
		if (ri.log.epoch == b.epoch)
			info->log = b;
		if (ri.log.epoch != b.epoch) {
			/* Purged since our info: the rest of the old log is gone. */
			info->truncated = true;
			if (ri.delivered == 0)
				info->log = b;
		}
	} else {
		count(cs, C_MISSES, 1);
	}
	if (rc == 0 || f.user_stopped)
		warm_flush(cs, session, &f.warm, &ri, mode, cache_epoch);
	warm_free(&f.warm);
	return rc;
}

/* ---- the rest of the interface ------------------------------------------------ */

static int
cs_info(struct evs_store *s, const char *session, size_t session_len,
        struct evs_log_info *info)
{
	(void)session_len;
	return evs_store_info(to_cs(s)->backend, session, info);
}

static int
cs_purge_session(struct evs_store *s, const char *session, size_t session_len)
{
	struct caching_store *cs = to_cs(s);
	int rc_cache, rc_backend;

	(void)session_len;
	rc_cache = evs_store_purge_session(cs->cache, session);
	rc_backend = evs_store_purge_session(cs->backend, session);
	if (rc_cache != 0)
		count(cs, C_CACHE_ERRORS, 1);
	return rc_cache != 0 ? rc_cache : rc_backend;
}

static void
cs_destroy(struct evs_store *s)
{
	free(to_cs(s));
}

static const struct evs_store_ops caching_ops = {
	.name = "caching",
	.append = cs_append,
	.append_next = cs_append_next,
	.replay_after = cs_replay_after,
	.info = cs_info,
	.purge_session = cs_purge_session,
	.destroy = cs_destroy,
};

bool
evs_is_caching_store(const struct evs_store *s)
{
	return s != NULL && s->ops == &caching_ops;
}

int
evs_caching_store_create(struct evs_store *cache, struct evs_store *backend,
                         struct evs_store **out)
{
	struct caching_store *cs;

	if (cache == NULL || backend == NULL || out == NULL || cache == backend)
		return EVS_EINVAL;
	cs = evs__calloc(1, sizeof(*cs));
	if (cs == NULL)
		return EVS_ENOMEM;
	for (unsigned k = 0; k < NSHARDS; k++) {
		for (unsigned i = 0; i < C_NCOUNTERS; i++) {
			/* Relaxed: nobody else can see cs before *out is set,
			 * and handing *out to another thread publishes it. */
			atomic_init(&cs->shard[k].c[i], 0);
		}
	}
	cs->base.ops = &caching_ops;
	cs->cache = cache;
	cs->backend = backend;
	*out = &cs->base;
	return 0;
}

int
evs_caching_store_stats(struct evs_store *s, struct evs_caching_stats *out)
{
	uint64_t sum[C_NCOUNTERS] = { 0 };
	struct caching_store *cs;

	if (!evs_is_caching_store(s) || out == NULL)
		return EVS_EINVAL;
	cs = to_cs(s);
	for (unsigned k = 0; k < NSHARDS; k++) {
		for (unsigned i = 0; i < C_NCOUNTERS; i++) {
			/* Relaxed: a statistic; it orders nothing else. */
			sum[i] += atomic_load_explicit(&cs->shard[k].c[i],
			    memory_order_relaxed);
		}
	}
	out->hits = sum[C_HITS];
	out->partial_hits = sum[C_PARTIAL];
	out->misses = sum[C_MISSES];
	out->warmups = sum[C_WARMUPS];
	out->warmed_events = sum[C_WARMED];
	out->rebuilds = sum[C_REBUILDS];
	out->cache_errors = sum[C_CACHE_ERRORS];
	return 0;
}
