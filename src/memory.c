/*
 * src/memory.c: the lock-free in-memory store.
 *
 * Structure (docs/DESIGN.md tells the whole story):
 *   - sessions live in a liburcu lock-free hash table (cds_lfht), keyed by a
 *     seeded hash of the session id; a session is unlinked by purge and freed
 *     after an RCU grace period (liburcu-bp, so callers need no registration);
 *   - each session owns a ring of `cap` slots; slot `seq % cap` holds a
 *     pointer to the immutable record of the event with sequence number `seq`
 *     (0, 1, 2, ... in append order);
 *   - `tail` counts the published sequence numbers.  It may lag one behind
 *     the slots (a producer publishes its slot, then advances tail; anyone who
 *     sees the lag helps);
 *   - evicted records are retired in per-thread batches handed to call_rcu.
 *
 * Ordering guarantees:
 *   - An event is visible to replay_after/info in every thread once the
 *     append that stored it has returned, and a replay sees it complete
 *     (record written before R1 publishes it; readers load with A3).
 *   - Within a session, appends are linearizable: each takes effect at its
 *     successful slot compare-and-swap (R1), where its id is checked against,
 *     or derived from, the event it follows, so ids are strictly increasing
 *     in sequence order and append_next ids are gap-free.
 *   - replay_after delivers, in increasing id order, every event with
 *     id > after_id that was published when it read `tail` and was not
 *     evicted before it got to it; if one was evicted, `truncated` is set.
 *   - A replay that starts after purge_session returned cannot find the
 *     purged log (cds_lfht_del happened before), so it sees none of it.
 *
 * Progress guarantees:
 *   - append, append_next: lock-free.  The only loop retries a
 *     compare-and-swap that failed because another append to the same
 *     session succeeded.  Session creation uses cds_lfht_add_unique
 *     (lock-free); memory comes from malloc.
 *   - replay_after, info: lock-free.  They never write shared state; they
 *     start over only when producers evicted the event they were about to
 *     read, i.e. because other appends made progress.
 *   - purge_session: lock-free (cds_lfht_del, then call_rcu; no grace-period
 *     wait).
 *   - destroy: blocking (waits for pending RCU callbacks); no concurrent calls.
 *
 * Test hooks (docs/TESTING.md): EVS__STRESS_POINT() marks the racy points;
 * it is empty unless built with EVSTORE_STRESS_POINTS.  Blocks under
 * #ifdef EVS_BUG_* plant known bugs (EVSTORE_INJECT_BUG=<name>) so the
 * stress tests can show they catch them; normal builds never define them.
 */
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <ck_pr.h>

#include <urcu-bp.h>
#include <urcu/rculfhash.h>

#include <evstore/memory.h>

#include "internal.h"

/* ---- records -------------------------------------------------------------- */

/* One event, immutable once published. */
struct rec {
	uint64_t seq;         /* position in the session's append order */
	uint64_t id;
	uint64_t evicted_id;  /* id of the event this one evicted (seq - cap);
	                         meaningful when seq >= cap */
	int64_t  ts;
	uint32_t len;
	unsigned char data[];
};

#define REC_HDR offsetof(struct rec, data)

/* ---- the ring's slot array, in lazily allocated segments ------------------- */

/*
 * Ring position p (0 <= p < cap) lives in segment k at offset o:
 *   segment 0 holds positions [0, 8), segment k >= 1 holds [2^(k+2), 2^(k+3)).
 * So a session's first 8 events cost one 64-byte segment, and the array
 * doubles as it fills.  The last segment is cut at cap.
 */
#define SEG0_SLOTS 8u

static inline unsigned
seg_index(uint64_t p, uint64_t *off)
{
	unsigned msb;

	if (p < SEG0_SLOTS) {
		*off = p;
		return 0;
	}
	msb = 63u - (unsigned)__builtin_clzll(p);
	*off = p - (UINT64_C(1) << msb);
	return msb - 2u;
}

static inline uint64_t
seg_start(unsigned k)
{
	return k == 0 ? 0 : UINT64_C(1) << (k + 2);
}

struct session {
	struct cds_lfht_node node;    /* in store->table */
	struct rcu_head rcu;          /* deferred free after purge */
	struct evs_memory_store *store;
	uint64_t hash;
	uint64_t epoch;
	uint64_t tail;                /* sequence numbers < tail are published */
	uint16_t keylen;
	/* Room reserved for later: per-session byte count, last access time
	 * and an eviction hook (docs/DESIGN.md, "Extension points"). */
	struct rec **seg[];           /* store->nseg segment pointers, then
	                                 segment 0's slots (allocated with the
	                                 session), then the key */
};

struct evs_memory_store {
	struct evs_store base;
	struct cds_lfht *table;
	uint64_t seed;                /* hash key */
	uint64_t epoch_base;          /* random; epochs are mix(base + counter) */
	uint64_t epoch_ctr;
	uint64_t cap;                 /* max events per session */
	uint64_t max_bytes;           /* max payload length */
	unsigned nseg;
	bool single_producer;
	/* Sizing the session table (see "the session table's size" below). */
	uint64_t nsessions;           /* live sessions: +1 create, -1 purge */
	uint64_t target;              /* bucket count the resizer should reach */
	uint32_t stop;                /* set by destroy */
	sem_t wake;                   /* posted when target or stop changed */
	pthread_t resizer;
};

static inline unsigned
seg0_slots(const struct evs_memory_store *m)
{
	return m->cap < SEG0_SLOTS ? (unsigned)m->cap : SEG0_SLOTS;
}

static inline struct rec **
session_seg0(const struct session *ss)
{
	return (struct rec **)&ss->seg[ss->store->nseg];
}

static inline const char *
session_key(const struct session *ss)
{
	return (const char *)(session_seg0(ss) + seg0_slots(ss->store));
}

static inline unsigned
seg_slots(const struct evs_memory_store *m, unsigned k)
{
	uint64_t start = seg_start(k);
	uint64_t size = k == 0 ? SEG0_SLOTS : start;

	if (start + size > m->cap)
		size = m->cap - start;
	return (unsigned)size;
}

/*
 * The slot for sequence number seq, or NULL if its segment does not exist
 * yet (then the slot is empty).  Readers' path.
 */
static inline struct rec **
slot_peek(struct session *ss, uint64_t seq)
{
	uint64_t off;
	unsigned k = seg_index(seq % ss->store->cap, &off);
	/* A4: pairs with R3 in slot_get(): a segment is zeroed before its
	 * pointer is published, so its empty slots read as NULL. */
	struct rec **seg = ck_pr_load_ptr(&ss->seg[k]);

	ck_pr_fence_acquire();
	return seg != NULL ? &seg[off] : NULL;
}

/* The slot for seq, allocating its segment if needed.  Producers' path.
 * Returns NULL only when out of memory. */
static struct rec **
slot_get(struct session *ss, uint64_t seq)
{
	uint64_t off;
	unsigned k = seg_index(seq % ss->store->cap, &off);
	/* A4: as in slot_peek(). */
	struct rec **seg = ck_pr_load_ptr(&ss->seg[k]);
	struct rec **fresh;

	ck_pr_fence_acquire();
	if (evs__likely(seg != NULL))
		return &seg[off];
	fresh = evs__calloc(seg_slots(ss->store, k), sizeof(*fresh));
	if (fresh == NULL)
		return NULL;
	EVS__STRESS_POINT();
	/* R3: pairs with A4: the zeroed segment is visible before its pointer.
	 * If another producer installed one first, use theirs. */
	ck_pr_fence_store_atomic();
	if (ck_pr_cas_ptr(&ss->seg[k], NULL, fresh))
		return &fresh[off];
	free(fresh);
	seg = ck_pr_load_ptr(&ss->seg[k]);   /* A4 again, for the winner's. */
	ck_pr_fence_acquire();
	return &seg[off];
}

/* ---- RCU helpers, with the annotations ThreadSanitizer needs --------------- */

/*
 * liburcu is not instrumented, so TSan cannot see that a grace period
 * separates a reader's last access from the free that follows.  Every read
 * side section ends by releasing gp_token; every free after a grace period
 * starts by acquiring it (../shared/FACTS.md).  In other builds these are
 * no-ops.
 */
static char gp_token;
/* Likewise for rcu_barrier(): every callback releases cb_token when done,
 * and destroy acquires it after rcu_barrier() returns. */
static char cb_token;

static inline void
read_lock(void)
{
	rcu_read_lock();
}

static inline void
read_unlock(void)
{
	evs__tsan_release(&gp_token);
	rcu_read_unlock();
}

/* ---- retiring and recycling evicted records -------------------------------- */

/*
 * An evicted record may still be read by a replay that loaded its slot
 * before the eviction, so it may be reused or freed only after a grace
 * period.  Each thread (a "reclaimer") collects the records it evicts in a
 * batch and hands the full batch to call_rcu: one queue operation per
 * RETIRE_BATCH appends, and no rcu_head in each record.
 *
 * When the grace period is over, the callback does not free the records on
 * liburcu's worker thread: glibc's free of memory that another thread
 * allocated costs 10-20x a local one here (docs/PERFORMANCE.md).  It pushes
 * the batch back onto its owner's `ready` stack.  The owner moves what it
 * finds there to its private `reuse` list, and its next appends take their
 * records from that list instead of calling malloc; a record that does not
 * fit is freed locally.  Grace periods end in bursts (every batch queued
 * during one comes back at once), so an owner may hold up to READY_MAX
 * batches and READY_BYTES bytes this way; past that the callback frees the
 * batch itself.  That bound is also what an owner that stopped appending
 * keeps until it exits (its exit drains everything, after rcu_barrier, so
 * no callback still points at it) or, for the calling thread, until
 * destroy.
 *
 * ASan and fault-injection builds do not recycle: every record is freed,
 * so ASan's poisoning of freed memory and the injected allocation failures
 * keep their full power.  TSan builds do recycle, so TSan checks that a
 * reused record's new contents are ordered after every read of its old ones
 * (gp_token, then R5/A5).
 */
#define RETIRE_BATCH 126
#define READY_MAX 1024                 /* batches an owner may hold */
#define READY_BYTES (8u << 20)         /* ... and their bytes */
#define REUSE_TRIES 4                  /* misfits freed before malloc */

#if defined(EVS_FAULT_INJECTION) || defined(__SANITIZE_ADDRESS__)
#define RECYCLE 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define RECYCLE 0
#endif
#endif
#ifndef RECYCLE
#define RECYCLE 1
#endif

struct reclaimer;

struct retire_batch {
	struct rcu_head rcu;
	struct reclaimer *owner;
	struct retire_batch *next;    /* in owner->ready or owner->reuse */
	uint64_t bytes;               /* sum of the records' sizes */
	unsigned n;
	void *p[RETIRE_BATCH];
};

struct reclaimer {
	struct retire_batch *cur;     /* being filled; owner only */
	struct retire_batch *spare;   /* an empty batch to reuse; owner only */
	struct retire_batch *reuse;   /* grace period over, records to reuse;
	                                 owner only */
	struct retire_batch *ready;   /* grace period over: pushed by callbacks,
	                                 taken whole by the owner */
	uint64_t held;                /* batches on ready + reuse (approximate) */
	uint64_t held_bytes;          /* their bytes (approximate) */
};

static _Thread_local struct reclaimer *tls_rc;
static pthread_key_t retire_key;
static pthread_once_t retire_once = PTHREAD_ONCE_INIT;
static int retire_key_err;

static inline size_t
rec_size(const struct rec *r)
{
	return REC_HDR + r->len;
}

static void
batch_free(struct retire_batch *b)
{
	for (unsigned i = 0; i < b->n; i++)
		free(b->p[i]);
	free(b);
}

static void
batch_done_cb(struct rcu_head *head)
{
	struct retire_batch *b = caa_container_of(head, struct retire_batch, rcu);
	struct reclaimer *rc;

	/* Pairs with the releases in read_unlock() and retire_flush(): every
	 * reader that could see these records has left, and the batch is
	 * complete. */
	evs__tsan_acquire(&gp_token);
	rc = b->owner;
	/* Relaxed uses: soft bounds; nothing is published through them. */
	if (!RECYCLE || ck_pr_load_64(&rc->held) >= READY_MAX ||
	    ck_pr_load_64(&rc->held_bytes) + b->bytes > READY_BYTES) {
		batch_free(b);   /* the owner holds enough already */
	} else {
		struct retire_batch *top;

		ck_pr_inc_64(&rc->held);
		(void)ck_pr_faa_64(&rc->held_bytes, b->bytes);
		do {
			top = ck_pr_load_ptr(&rc->ready);
			b->next = top;
			/* R5: pairs with A5 in reclaim_ready(): the batch and its
			 * records (and every reader's last access to them, via
			 * gp_token) happen before the owner reuses them. */
			ck_pr_fence_store_atomic();
		} while (!ck_pr_cas_ptr(&rc->ready, top, b));
	}
	evs__tsan_release(&cb_token);   /* pairs with rcu_barrier() callers */
}

/* Done with a batch from the reuse list: keep it as the spare or free it.
 * Its records are gone (reused or freed). */
static void
batch_retire_empty(struct reclaimer *rc, struct retire_batch *b)
{
	/* Relaxed uses: counts only. */
	ck_pr_dec_64(&rc->held);
	(void)ck_pr_faa_64(&rc->held_bytes, (uint64_t)0 - b->bytes);
	b->n = 0;
	b->bytes = 0;
	if (rc->spare == NULL)
		rc->spare = b;
	else
		free(b);
}

/* Move the batches whose grace period is over to the reuse list.  Owner
 * only. */
static void
reclaim_ready(struct reclaimer *rc)
{
	/* A5: pairs with R5 in batch_done_cb(). */
	struct retire_batch *b = ck_pr_fas_ptr(&rc->ready, NULL);

	ck_pr_fence_acquire();
	while (b != NULL) {
		struct retire_batch *next = b->next;

		b->next = rc->reuse;
		rc->reuse = b;
		b = next;
	}
}

/* Free everything a reclaimer holds.  No callback may still refer to it
 * (call after rcu_barrier()). */
static void
reclaimer_drain(struct reclaimer *rc)
{
	reclaim_ready(rc);
	while (rc->reuse != NULL) {
		struct retire_batch *b = rc->reuse;

		rc->reuse = b->next;
		for (unsigned i = 0; i < b->n; i++)
			free(b->p[i]);
		b->n = 0;
		batch_retire_empty(rc, b);
	}
	free(rc->spare);
	rc->spare = NULL;
}

static void
retire_flush(struct reclaimer *rc)
{
	struct retire_batch *b = rc->cur;

	if (b == NULL || b->n == 0)
		return;
	rc->cur = NULL;
	b->owner = rc;
	/* Pairs with the acquire in batch_done_cb(): our own writes to these
	 * records happen before their reuse or free. */
	evs__tsan_release(&gp_token);
	call_rcu(&b->rcu, batch_done_cb);
}

/* Thread exit: hand the partial batch to call_rcu, wait until every
 * callback for this thread's batches has run (blocking is fine here: this
 * is not an append or replay path), then free it all. */
static void
retire_thread_exit(void *arg)
{
	struct reclaimer *rc = arg;

	tls_rc = NULL;
	if (rc == NULL)
		return;
	retire_flush(rc);
	rcu_barrier();
	evs__tsan_acquire(&cb_token);
	reclaimer_drain(rc);
	free(rc->cur);
	free(rc);
}

static void
retire_key_init(void)
{
	retire_key_err = pthread_key_create(&retire_key, retire_thread_exit);
}

/* The calling thread's reclaimer, ready to retire one record without
 * allocating; NULL when out of memory.  Called before an append takes
 * effect, so ENOMEM changes nothing. */
static struct reclaimer *
retire_reserve(void)
{
	struct reclaimer *rc = tls_rc;

	if (evs__unlikely(rc == NULL)) {
		(void)pthread_once(&retire_once, retire_key_init);
		if (retire_key_err != 0)
			return NULL;
		rc = evs__calloc(1, sizeof(*rc));
		if (rc == NULL)
			return NULL;
		if (pthread_setspecific(retire_key, rc) != 0) {
			free(rc);
			return NULL;
		}
		tls_rc = rc;
	}
	if (evs__unlikely(rc->cur == NULL)) {
		if (rc->spare != NULL) {
			rc->cur = rc->spare;
			rc->spare = NULL;
		} else {
			rc->cur = evs__malloc(sizeof(*rc->cur));
			if (rc->cur == NULL)
				return NULL;
			rc->cur->n = 0;
			rc->cur->bytes = 0;
		}
	}
	return rc;
}

/* A record with room for len payload bytes: one whose grace period is over
 * when it fits, else a new one.  NULL when out of memory. */
#ifdef EVS_BUG_REUSE_BEFORE_GP
/* INJECTED BUG (tests only): the record this thread evicted last, reused by
 * its next append at once instead of after a grace period. */
static _Thread_local struct rec *bug_early;
#endif

static inline struct rec *
rec_alloc(struct reclaimer *rc, size_t len)
{
	size_t need = REC_HDR + len;
	unsigned tries = 0;

#ifdef EVS_BUG_REUSE_BEFORE_GP
	if (bug_early != NULL && malloc_usable_size(bug_early) >= need) {
		struct rec *r = bug_early;

		bug_early = NULL;
		return r;
	}
#endif

	/* Relaxed peek: A5 in reclaim_ready() does the acquiring. */
	if (rc->reuse == NULL && ck_pr_load_ptr(&rc->ready) != NULL)
		reclaim_ready(rc);
	while (rc->reuse != NULL && tries < REUSE_TRIES) {
		struct retire_batch *b = rc->reuse;

		if (b->n == 0) {
			rc->reuse = b->next;
			batch_retire_empty(rc, b);
			continue;
		}
		struct rec *r = b->p[--b->n];
		size_t have = malloc_usable_size(r);

		if (have >= need && have <= 2 * need + 64)
			return r;
		free(r);   /* a poor fit: let malloc find a better one */
		tries++;
	}
	return evs__malloc(need);
}

/* Retire a record; retire_reserve() succeeded earlier in this call. */
static inline void
retire(struct reclaimer *rc, struct rec *r)
{
	struct retire_batch *b = rc->cur;

#ifdef EVS_BUG_FREE_BEFORE_GP
	/* INJECTED BUG (tests only): free the evicted record at once instead
	 * of after a grace period; a replay may still be reading it. */
	(void)b;
	free(r);
	return;
#endif
#ifdef EVS_BUG_REUSE_BEFORE_GP
	if (bug_early == NULL) {
		bug_early = r;
		return;
	}
#endif
	b->p[b->n++] = r;
	b->bytes += rec_size(r);
	if (b->n == RETIRE_BATCH)
		retire_flush(rc);
}

/* ---- the session table ---------------------------------------------------- */

static void table_check(struct evs_memory_store *m, uint64_t n);

struct key_ref {
	const char *key;
	size_t len;
};

static int
session_match(struct cds_lfht_node *node, const void *arg)
{
	const struct key_ref *k = arg;
	struct session *ss = caa_container_of(node, struct session, node);

	/* Pairs with the release in session_create(): the node's key was
	 * written before cds_lfht_add_unique published it. */
	evs__tsan_acquire(ss);
	return ss->keylen == k->len && memcmp(session_key(ss), k->key, k->len) == 0;
}

/* Find a session.  Call inside a read-side section. */
static struct session *
session_find(struct evs_memory_store *m, const char *key, size_t len,
             uint64_t hash)
{
	struct key_ref k = { key, len };
	struct cds_lfht_iter iter;
	struct cds_lfht_node *node;

	cds_lfht_lookup(m->table, (unsigned long)hash, session_match, &k, &iter);
	node = cds_lfht_iter_get_node(&iter);
	if (node == NULL)
		return NULL;
	evs__tsan_acquire(caa_container_of(node, struct session, node));
	return caa_container_of(node, struct session, node);
}

static uint64_t
next_epoch(struct evs_memory_store *m)
{
	uint64_t e;

	do {
		/* Relaxed use of a read-modify-write: only uniqueness of the
		 * counter value matters; nothing is published through it. */
		e = evs__mix64(m->epoch_base + ck_pr_faa_64(&m->epoch_ctr, 1));
	} while (e == 0);
	return e;
}

static void
session_free(struct session *ss)
{
	struct evs_memory_store *m = ss->store;

	for (unsigned k = 0; k < m->nseg; k++) {
		struct rec **seg = ss->seg[k];
		unsigned n;

		if (seg == NULL)
			continue;
		n = seg_slots(m, k);
		for (unsigned i = 0; i < n; i++)
			free(seg[i]);
		if (k > 0)
			free(seg);   /* segment 0 is part of the session */
	}
	free(ss);
}

static void
session_free_cb(struct rcu_head *head)
{
	/* Pairs with the releases in read_unlock(): every reader and producer
	 * that could see this session has left its read-side section. */
	evs__tsan_acquire(&gp_token);
	session_free(caa_container_of(head, struct session, rcu));
	evs__tsan_release(&cb_token);   /* pairs with mem_destroy() */
}

/* Find or create a session.  Call inside a read-side section.
 * Returns NULL only when out of memory. */
static struct session *
session_get(struct evs_memory_store *m, const char *key, size_t len)
{
	uint64_t hash = evs__hash(key, len, m->seed);
	struct session *ss = session_find(m, key, len, hash);
	struct key_ref k = { key, len };
	struct cds_lfht_node *node;

	if (evs__likely(ss != NULL))
		return ss;
	ss = evs__calloc(1, sizeof(*ss) + m->nseg * sizeof(ss->seg[0]) +
	    seg0_slots(m) * sizeof(struct rec *) + len + 1);
	if (ss == NULL)
		return NULL;
	ss->store = m;
	ss->seg[0] = session_seg0(ss);
	ss->hash = hash;
	ss->epoch = next_epoch(m);
	ss->keylen = (uint16_t)len;
	memcpy((char *)session_key(ss), key, len);
	EVS__STRESS_POINT();
	/* Pairs with the acquires in session_match() and session_find():
	 * cds_lfht_add_unique publishes the node with a release barrier that
	 * TSan cannot see. */
	evs__tsan_release(ss);
	node = cds_lfht_add_unique(m->table, (unsigned long)hash, session_match,
	    &k, &ss->node);
	if (node != &ss->node) {
		/* Another thread created it first; ours was never visible. */
		free(ss);
		ss = caa_container_of(node, struct session, node);
		evs__tsan_acquire(ss);
		return ss;
	}
	/* Relaxed use of a read-modify-write: a count for sizing only. */
	table_check(m, ck_pr_faa_64(&m->nsessions, 1) + 1);
	return ss;
}

/* ---- the session table's size --------------------------------------------- */

/*
 * liburcu 0.13's automatic resizing re-evaluates the size only when its
 * approximate count lands exactly on a power of two, against the size the
 * inserting thread saw; a grow still in flight can make it miss the only
 * trigger for the next doubling, and the table stays far too small
 * (docs/PERFORMANCE.md measured 4-50x slower lookups at 100K-1M sessions).
 * So the store sizes its table itself: session creation and purge keep a
 * count of live sessions (one atomic add each; appends to existing
 * sessions and replays never touch it), and when the count leaves
 * [target / 8, 2 * target] the thread that noticed sets a new power-of-two
 * target and posts `wake`.  cds_lfht_resize() blocks, so it cannot run on
 * an API path: each store has a small resizer thread that sleeps in
 * sem_wait() and performs the resize.
 */
#define TABLE_MIN 1024u

static uint64_t
pow2_at_least(uint64_t n)
{
	return n <= 1 ? 1 : UINT64_C(1) << (64 - __builtin_clzll(n - 1));
}

static void
table_check(struct evs_memory_store *m, uint64_t n)
{
	/* Relaxed use: the target is a hint for the resizer; sem_post carries
	 * the wake-up (and its own ordering). */
	uint64_t t = ck_pr_load_64(&m->target), want = t;

	if (n > 2 * t)
		want = pow2_at_least(n);
	else if (t > TABLE_MIN && n < t / 8)
		want = pow2_at_least(2 * n);
	if (want < TABLE_MIN)
		want = TABLE_MIN;
	/* One thread wins each change; a lost race means another thread set a
	 * target from a count as recent as ours. */
	if (want != t && ck_pr_cas_64(&m->target, t, want))
		(void)sem_post(&m->wake);
}

static void *
resizer_main(void *arg)
{
	struct evs_memory_store *m = arg;
	uint64_t size = TABLE_MIN;

	/* cds_lfht_resize() wants a registered RCU thread; with liburcu-bp a
	 * first read-side section registers it. */
	rcu_read_lock();
	rcu_read_unlock();
	for (;;) {
		uint64_t t;

		while (sem_wait(&m->wake) != 0 && errno == EINTR)
			;
		/* Relaxed uses: sem_post/sem_wait order these loads after the
		 * stores that preceded the post. */
		if (ck_pr_load_32(&m->stop) != 0)
			break;
		t = ck_pr_load_64(&m->target);
		if (t != size) {
			cds_lfht_resize(m->table, (unsigned long)t);
			size = t;
		}
	}
	return NULL;
}

/* ---- appending ---------------------------------------------------------- */

static int
append_common(struct evs_memory_store *m, const char *key, size_t keylen,
              bool assign, uint64_t id, const void *data, size_t len,
              uint64_t *out_id)
{
	struct reclaimer *rc;
	struct session *ss;
	struct rec *r, *cur;
	uint64_t cap = m->cap;
	int err;

	if (len > m->max_bytes)
		return EVS_ETOOBIG;
	rc = retire_reserve();
	if (rc == NULL)
		return EVS_ENOMEM;
	r = rec_alloc(rc, len);
	if (r == NULL)
		return EVS_ENOMEM;
#ifndef EVS_BUG_PUBLISH_BEFORE_WRITE
	if (len > 0)
		memcpy(r->data, data, len);
#endif
	r->len = (uint32_t)len;
	r->ts = evs__now_ns();

	read_lock();
	ss = session_get(m, key, keylen);
	if (ss == NULL) {
		err = EVS_ENOMEM;
		goto fail;
	}
	for (;;) {
		struct rec **slot;
		struct rec *prev;
		/* A1: pairs with R2 below (in whichever append advanced tail):
		 * every sequence number below t is published in its slot. */
		uint64_t t = ck_pr_load_64(&ss->tail);

		ck_pr_fence_acquire();
		EVS__STRESS_POINT();
		slot = slot_get(ss, t);
		if (slot == NULL) {
			err = EVS_ENOMEM;
			goto fail;
		}
		/* A2: pairs with R1: if the slot holds a record, its fields
		 * are visible. */
		cur = ck_pr_load_ptr(slot);
		ck_pr_fence_acquire();
		if (cur != NULL && cur->seq >= t) {
			/* Sequence t is published but tail still says t: the
			 * producer that published it has not advanced tail yet.
			 * Help it (R2) rather than wait for it, then retry. */
			ck_pr_fence_atomic();
			(void)ck_pr_cas_64(&ss->tail, t, t + 1);
			continue;
		}
		/* cur is NULL (first lap) or the record of seq t - cap, which
		 * publishing seq t evicts. */
		if (t > 0) {
			struct rec **pslot = cap == 1 ? slot : slot_peek(ss, t - 1);

			/* A2: as above, for the newest event. */
			prev = pslot != NULL ? ck_pr_load_ptr(pslot) : NULL;
			ck_pr_fence_acquire();
			if (prev == NULL || prev->seq != t - 1)
				continue;   /* stale t: others appended meanwhile */
			if (assign) {
				if (prev->id == UINT64_MAX) {
					err = EVS_EORDER;
					goto fail;
				}
				id = prev->id + 1;
			} else if (id <= prev->id) {
				err = EVS_EORDER;
				goto fail;
			}
		} else if (assign) {
			id = 1;
		}
		r->seq = t;
		r->id = id;
		r->evicted_id = cur != NULL ? cur->id : 0;
		EVS__STRESS_POINT();

#ifdef EVS_BUG_RELAXED_PUBLISH
		/* INJECTED BUG (tests only): the slot is published with a
		 * relaxed store / compare-and-swap, so nothing orders the
		 * record's fields before its pointer (R1 lost). */
		if (m->single_producer) {
			__atomic_store_n(slot, r, __ATOMIC_RELAXED);
			ck_pr_fence_release();
			ck_pr_store_64(&ss->tail, t + 1);
			break;
		} else {
			struct rec *expect = cur;

			if (__atomic_compare_exchange_n(slot, &expect, r, false,
			    __ATOMIC_RELAXED, __ATOMIC_RELAXED)) {
				EVS__STRESS_POINT();
				ck_pr_fence_atomic();
				(void)ck_pr_cas_64(&ss->tail, t, t + 1);
				break;
			}
			continue;
		}
#endif
		if (m->single_producer) {
			/* R1 (single producer): pairs with A2 and A3: the record
			 * is complete before the slot points at it. */
			ck_pr_fence_release();
			ck_pr_store_ptr(slot, r);
			EVS__STRESS_POINT();
			/* R2 (single producer): pairs with A1: tail moves past
			 * t only after slot t is published. */
			ck_pr_fence_release();
			ck_pr_store_64(&ss->tail, t + 1);
			break;
		}
		/* R1: pairs with A2 and A3: the record is complete before the
		 * slot points at it.  The compare also claims sequence t: it
		 * fails if anyone published t first.  `cur` cannot be freed and
		 * reused at the same address while we hold the read lock, so a
		 * success means the slot never changed (no ABA). */
		ck_pr_fence_store_atomic();
		if (ck_pr_cas_ptr(slot, cur, r)) {
			EVS__STRESS_POINT();
			/* R2: pairs with A1: tail moves past t only after slot
			 * t is published.  Failure means a helper did it. */
			ck_pr_fence_atomic();
			(void)ck_pr_cas_64(&ss->tail, t, t + 1);
			break;
		}
	}
#ifdef EVS_BUG_PUBLISH_BEFORE_WRITE
	/* INJECTED BUG (tests only): the payload is copied after the record
	 * was published, so a replay can see it unwritten. */
	EVS__STRESS_POINT();
	if (len > 0)
		memcpy(r->data, data, len);
#endif
	if (cur != NULL)
		retire(rc, cur);
	read_unlock();
	if (out_id != NULL)
		*out_id = id;
	return 0;

fail:
	read_unlock();
	free(r);
	return err;
}

static struct evs_memory_store *
to_mem(struct evs_store *s)
{
	return evs__container_of(s, struct evs_memory_store, base);
}

static int
mem_append(struct evs_store *s, const char *session, size_t session_len,
           uint64_t id, const void *data, size_t len)
{
	return append_common(to_mem(s), session, session_len, false, id, data,
	    len, NULL);
}

static int
mem_append_next(struct evs_store *s, const char *session, size_t session_len,
                const void *data, size_t len, uint64_t *id)
{
	return append_common(to_mem(s), session, session_len, true, 0, data, len,
	    id);
}

/* ---- reading ------------------------------------------------------------- */

/* A consistent view of a session's ring at one instant. */
struct snap {
	uint64_t tail;        /* sequence numbers < tail were published */
	uint64_t lo;          /* oldest sequence number still held */
	struct rec *first;    /* record of lo */
	struct rec *last;     /* record of tail - 1 */
};

/* A3: loads a slot's record; pairs with R1: the record's fields and payload
 * are visible once its pointer is.  Returns the record only if it is the one
 * of sequence number seq (not yet overwritten by seq + cap). */
static inline struct rec *
load_rec(struct session *ss, uint64_t seq)
{
	struct rec **slot = slot_peek(ss, seq);
	struct rec *r;

	if (slot == NULL)
		return NULL;
	r = ck_pr_load_ptr(slot);
	ck_pr_fence_acquire();
	EVS__STRESS_POINT();
#ifdef EVS_BUG_SKIP_SEQ_CHECK
	/* INJECTED BUG (tests only): trust whatever record the slot holds,
	 * even one that a later lap (seq + cap) put there. */
	return r;
#endif
	return r != NULL && r->seq == seq ? r : NULL;
}

/* Take a snapshot; false if the session holds no event yet.  Retries only
 * when producers evicted what it was reading (lock-free, not wait-free). */
static bool
take_snap(struct session *ss, struct snap *sn)
{
	uint64_t cap = ss->store->cap;

	for (;;) {
		/* A1: pairs with R2: sequence numbers below t are published. */
		uint64_t t = ck_pr_load_64(&ss->tail);

		ck_pr_fence_acquire();
		if (t == 0)
			return false;
		sn->tail = t;
		sn->lo = t > cap ? t - cap : 0;
		sn->last = load_rec(ss, t - 1);
		sn->first = sn->last != NULL ? load_rec(ss, sn->lo) : NULL;
		if (sn->first != NULL)
			return true;
	}
}

static void
snap_info(const struct session *ss, const struct snap *sn,
          struct evs_log_info *info)
{
	info->epoch = ss->epoch;
	info->retained = (size_t)(sn->tail - sn->lo);
	info->first_id = sn->first->id;
	info->last_id = sn->last->id;
}

/* The newest evicted id in the snapshot, or false if nothing was evicted. */
static inline bool
snap_evicted(const struct snap *sn, uint64_t *hwm)
{
	if (sn->lo == 0)
		return false;
	*hwm = sn->last->evicted_id;   /* seq tail-1 evicted seq lo-1 */
	return true;
}

/* How far ahead a replay prefetches records: enough to overlap several
 * cache misses when the records are cold (a large store), little enough not
 * to matter when they are hot. */
#define PREFETCH_AHEAD 4

static inline void
prefetch_rec(const struct rec *r)
{
	if (r != NULL) {
		__builtin_prefetch(r);
		__builtin_prefetch((const char *)r + 64);
	}
}

static int
mem_replay_after(struct evs_store *s, const char *session, size_t session_len,
                 uint64_t after_id, evs_replay_fn *fn, void *arg,
                 struct evs_replay_info *info)
{
	struct evs_memory_store *m = to_mem(s);
	uint64_t hash = evs__hash(session, session_len, m->seed);
	struct session *ss;
	struct snap sn;
	uint64_t upto, hwm;
	bool first_round = true;
	int rc = 0;

	read_lock();
	ss = session_find(m, session, session_len, hash);
	if (ss == NULL || !take_snap(ss, &sn))
		goto out;
	snap_info(ss, &sn, &info->log);
	upto = sn.last->id;   /* deliver nothing appended after we started */

	for (;;) {
		uint64_t lo, hi, seq;
		struct rec *r;

		if (!first_round && !take_snap(ss, &sn))
			break;   /* cannot happen: tail never decreases */
		first_round = false;
#ifdef EVS_BUG_TRUNCATED_OFF_BY_ONE
		/* INJECTED BUG (tests only): also reports truncation when only
		 * the reader's own after_id event was evicted. */
		if (snap_evicted(&sn, &hwm) && hwm >= after_id)
			info->truncated = true;
#else
		if (snap_evicted(&sn, &hwm) && hwm > after_id)
			info->truncated = true;
#endif
		if (sn.last->id <= after_id)
			break;
		lo = sn.lo;
		if (sn.first->id > after_id)
			goto deliver;   /* everything held is wanted */
		/* Ids are usually consecutive (append_next), so guess where
		 * after_id + 1 sits and check the guess and its predecessor:
		 * two record loads instead of a binary search's ~log2(cap)
		 * dependent ones, which are cache misses in a large store.
		 * A wrong guess (sparse ids, evictions) falls through. */
		hi = after_id + 1 - sn.first->id;   /* >= 1 */
		if (hi < sn.tail - sn.lo) {
			struct rec *p;

			r = load_rec(ss, sn.lo + hi);
			p = r != NULL && r->id > after_id ?
			    load_rec(ss, sn.lo + hi - 1) : NULL;
			if (p != NULL && p->id <= after_id) {
				lo = sn.lo + hi;
				goto deliver;
			}
		}
		/* Binary search for the first held seq with id > after_id.  A
		 * seq evicted meanwhile counts as "too old". */
		hi = sn.tail - 1;   /* id(hi) > after_id */
		while (lo < hi) {
			uint64_t mid = lo + (hi - lo) / 2;

			r = load_rec(ss, mid);
			if (r == NULL || r->id <= after_id)
				lo = mid + 1;
			else
				hi = mid;
		}
		/* Unless lo is the oldest held, its predecessor must still be
		 * there with id <= after_id; if it was evicted, a newer
		 * snapshot tells whether we missed anything. */
		if (lo > sn.lo) {
			r = load_rec(ss, lo - 1);
			if (r == NULL)
				continue;
		}
deliver:
		for (seq = lo; seq < sn.tail; seq++) {
			struct evs_event ev;

			if (seq + PREFETCH_AHEAD < sn.tail) {
				struct rec **ps = slot_peek(ss, seq + PREFETCH_AHEAD);

				/* Relaxed use: only a prefetch hint; the record is
				 * loaded with A3 (load_rec) when its turn comes.  A
				 * stale pointer is harmless: prefetches never fault,
				 * and the read lock keeps the memory mapped. */
				if (ps != NULL)
					prefetch_rec(ck_pr_load_ptr(ps));
			}
			r = load_rec(ss, seq);
			if (r == NULL)
				break;   /* evicted under us: new snapshot */
			if (r->id > upto)
				goto out;
			ev.id = r->id;
			ev.timestamp_ns = r->ts;
			ev.data = r->data;
			ev.len = r->len;
			info->delivered++;
			after_id = r->id;
			EVS__STRESS_POINT();
			rc = fn(&ev, arg);
			if (rc != 0)
				goto out;
			/* Everything owed is delivered.  Stop here: a later
			 * round would judge `truncated` by evictions of events
			 * newer than upto, which this replay does not owe. */
			if (after_id == upto)
				goto out;
		}
		if (seq == sn.tail)
			break;
	}
out:
	read_unlock();
	return rc;
}

static int
mem_info(struct evs_store *s, const char *session, size_t session_len,
         struct evs_log_info *info)
{
	struct evs_memory_store *m = to_mem(s);
	uint64_t hash = evs__hash(session, session_len, m->seed);
	struct session *ss;
	struct snap sn;

	read_lock();
	ss = session_find(m, session, session_len, hash);
	if (ss != NULL && take_snap(ss, &sn))
		snap_info(ss, &sn, info);
	read_unlock();
	return 0;
}

static int
mem_purge_session(struct evs_store *s, const char *session, size_t session_len)
{
	struct evs_memory_store *m = to_mem(s);
	uint64_t hash = evs__hash(session, session_len, m->seed);
	struct session *ss;

	read_lock();
	ss = session_find(m, session, session_len, hash);
	EVS__STRESS_POINT();
	/* Only the thread whose cds_lfht_del succeeds schedules the free. */
	if (ss != NULL && cds_lfht_del(m->table, &ss->node) == 0) {
#ifdef EVS_BUG_PURGE_FREE_EARLY
		/* INJECTED BUG (tests only): free the unlinked session and its
		 * records at once; readers and producers may still hold it. */
		session_free(ss);
		read_unlock();
		return 0;
#endif
		/* Pairs with the acquire in session_free_cb(). */
		evs__tsan_release(&gp_token);
		call_rcu(&ss->rcu, session_free_cb);
		/* Relaxed use of a read-modify-write: a count for sizing only. */
		table_check(m, ck_pr_faa_64(&m->nsessions, (uint64_t)-1) - 1);
	}
	read_unlock();
	return 0;
}

/* ---- whole-store operations ------------------------------------------------- */

static void
mem_destroy(struct evs_store *s)
{
	struct evs_memory_store *m = to_mem(s);
	struct cds_lfht_iter iter;
	struct cds_lfht_node *node;

	/* Stop the resizer first: no resize may run while the table goes. */
	ck_pr_store_32(&m->stop, 1);   /* sem_post orders it for sem_wait */
	(void)sem_post(&m->wake);
	(void)pthread_join(m->resizer, NULL);
	(void)sem_destroy(&m->wake);

	read_lock();
	cds_lfht_for_each(m->table, &iter, node) {
		struct session *ss = caa_container_of(node, struct session, node);

		evs__tsan_acquire(ss);
		if (cds_lfht_del(m->table, node) == 0) {
			evs__tsan_release(&gp_token);
			call_rcu(&ss->rcu, session_free_cb);
		}
	}
	read_unlock();
	if (tls_rc != NULL)
		retire_flush(tls_rc);
	/* Wait for every callback queued so far: purged sessions, our retired
	 * records and the sessions just removed. */
	rcu_barrier();
	evs__tsan_acquire(&gp_token);
	evs__tsan_acquire(&cb_token);   /* the callbacks are done with m */
	if (tls_rc != NULL)
		reclaim_ready(tls_rc);   /* our batches: into the pool or freed */
	(void)cds_lfht_destroy(m->table, NULL);
	free(m);
}

static const struct evs_store_ops memory_ops = {
	.name = "memory",
	.append = mem_append,
	.append_next = mem_append_next,
	.replay_after = mem_replay_after,
	.info = mem_info,
	.purge_session = mem_purge_session,
	.destroy = mem_destroy,
};

bool
evs_is_memory_store(const struct evs_store *s)
{
	return s != NULL && s->ops == &memory_ops;
}

int
evs_memory_store_create(const struct evs_memory_opts *opts,
                        struct evs_store **out)
{
	struct evs_memory_opts o = { 0 };
	struct evs_memory_store *m;
	uint64_t off;

	if (out == NULL)
		return EVS_EINVAL;
	if (opts != NULL)
		o = *opts;
	if (o.max_events_per_session == 0)
		o.max_events_per_session = EVS_DEFAULT_MAX_EVENTS_PER_SESSION;
	if (o.max_event_bytes == 0)
		o.max_event_bytes = EVS_MEMORY_DEFAULT_EVENT_BYTES;
	if (o.max_events_per_session > EVS_MEMORY_MAX_EVENTS_LIMIT ||
	    o.max_event_bytes > EVS_MEMORY_EVENT_BYTES_LIMIT ||
	    (o.producers != EVS_MULTI_PRODUCER &&
	     o.producers != EVS_SINGLE_PRODUCER))
		return EVS_EINVAL;

	m = evs__calloc(1, sizeof(*m));
	if (m == NULL)
		return EVS_ENOMEM;
	m->base.ops = &memory_ops;
	m->cap = o.max_events_per_session;
	m->max_bytes = o.max_event_bytes;
	m->single_producer = o.producers == EVS_SINGLE_PRODUCER;
	m->nseg = seg_index(m->cap - 1, &off) + 1;
	m->seed = evs__random64();
	m->epoch_base = evs__random64();
	m->target = TABLE_MIN;
	/* No AUTO_RESIZE or ACCOUNTING: the store sizes the table itself
	 * (table_check), which also spares session creation liburcu's per-CPU
	 * counter updates. */
	m->table = cds_lfht_new(TABLE_MIN, TABLE_MIN, 0, 0, NULL);
	if (m->table == NULL) {
		free(m);
		return EVS_ENOMEM;
	}
	if (sem_init(&m->wake, 0, 0) != 0) {
		(void)cds_lfht_destroy(m->table, NULL);
		free(m);
		return EVS_ENOMEM;
	}
	if (pthread_create(&m->resizer, NULL, resizer_main, m) != 0) {
		(void)sem_destroy(&m->wake);
		(void)cds_lfht_destroy(m->table, NULL);
		free(m);
		return EVS_ENOMEM;
	}
	*out = &m->base;
	return 0;
}

static void
count_sessions(struct evs_store *s, size_t *sessions, size_t *events)
{
	struct evs_memory_store *m;
	struct cds_lfht_iter iter;
	struct cds_lfht_node *node;

	*sessions = 0;
	*events = 0;
	if (!evs_is_memory_store(s))
		return;
	m = to_mem(s);
	read_lock();
	cds_lfht_for_each(m->table, &iter, node) {
		struct session *ss = caa_container_of(node, struct session, node);
		uint64_t t;

		evs__tsan_acquire(ss);
		/* A1: only a count is read; no record is dereferenced. */
		t = ck_pr_load_64(&ss->tail);
		if (t > 0) {
			(*sessions)++;
			*events += (size_t)(t < m->cap ? t : m->cap);
		}
	}
	read_unlock();
}

size_t
evs_memory_store_total_events(struct evs_store *s)
{
	size_t sessions, events;

	count_sessions(s, &sessions, &events);
	return events;
}

size_t
evs_memory_store_session_count(struct evs_store *s)
{
	size_t sessions, events;

	count_sessions(s, &sessions, &events);
	return sessions;
}
