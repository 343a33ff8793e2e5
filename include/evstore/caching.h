/*
 * <evstore/caching.h>: a fast store stacked over a slower, possibly shared one.
 *
 * The caching composer is itself a `struct evs_store`: it answers every
 * evs_store_* call with the semantics of <evstore/store.h>, exactly as the
 * backend alone would, and uses the cache only to avoid reading payloads from
 * the backend.  Composers stack: either store may itself be a composer.
 *
 * Ownership: the composer borrows both stores.  It never destroys them;
 * destroy the composer first, then the two stores (in any order).  The cache
 * must be dedicated to one composer: nothing else may append to it or purge
 * it while the composer is in use (a cache written by others is detected and
 * rebuilt, at the cost of misses, never of wrong answers).  The backend may be
 * shared with any number of other writers and composers (other instances of
 * a server behind a load balancer).
 *
 * What the cache holds: every event the composer appends or reads from the
 * backend, prefixed with an EVS_CACHING_OVERHEAD-byte header (the backend's
 * log epoch, the id of the backend event known to precede it, and the
 * backend's timestamp).  Give the cache a max_event_bytes of at least the
 * backend's plus EVS_CACHING_OVERHEAD (per composer level when composers are
 * stacked): a payload that does not fit in the cache is still appended to
 * the backend and is served from there.  The cache's capacity may be smaller
 * than the backend's; older events are then served by the backend.
 *
 * The exact replay guarantee: evs_store_replay_after() on the composer
 * delivers the events the backend holds for the session with id > after_id,
 * with the backend's ids, bytes and order, and fills `info` with the
 * backend's log (epoch, retained, first_id, last_id) and `truncated` as the
 * backend defines it -- the same answer a backend replay would give at one
 * instant during the call.  The cache answers only when it provably holds
 * every one of those events: the backend's evs_store_info() (no payload
 * transfer) gives the log's epoch and id range, and the headers in the cache
 * prove, link by link, that no backend event lies between two consecutive
 * cached ones (docs/DESIGN.md, "The caching composer").  Otherwise the
 * backend answers from the first event the cache could not vouch for; each
 * event reaches the callback exactly once, in increasing id order, even when
 * the answer switches from the cache to the backend mid-way.  After the
 * backend answered, the cache is warmed with what it read, so the next
 * replay of that range is a hit; warming never duplicates or reorders events
 * in the cache.  Timestamps: the backend's, except for events the composer
 * appended itself and still serves from the cache, which carry the time the
 * composer saw the backend's append succeed.
 * One race is not hidden: if the session is purged (through any instance)
 * while a replay has delivered part of its answer from the cache and then
 * needs the backend for the rest, the events after the switch may come from
 * the re-created log; `truncated` is then set and info->log describes the log
 * the last events came from.
 *
 * Requirements on the backend: each session's log is linearizable (a call
 * that starts after another returned sees its effect), replay delivers held
 * events in increasing id order without skipping one it still holds, and a
 * log's epoch is never reused.  The memory store meets them.
 *
 * Thread-safety and progress: every call except evs_store_destroy() may run
 * concurrently with any other on the same composer, from any thread, if the
 * two stores allow it (the memory store does).  The composer takes no lock
 * and never waits for another thread: its only shared state is a set of
 * statistics counters updated with relaxed atomic increments, so append,
 * append_next, replay_after and info are lock-free when both stores' are.
 * Replay callbacks run inside the cache's or the backend's replay: they obey
 * those stores' rules (for the memory store: do not destroy a store, do not
 * block for long).
 */
#ifndef EVSTORE_CACHING_H
#define EVSTORE_CACHING_H

#include <stdint.h>

#include <evstore/store.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Bytes the composer adds in front of each payload it stores in the cache. */
#define EVS_CACHING_OVERHEAD 32

/*
 * Counters, summed over all threads.  Each is read without stopping the
 * composer, so under concurrent calls the fields are not one snapshot.
 */
struct evs_caching_stats {
	uint64_t hits;          /* replays answered without a backend replay: by
	                           the cache, or by the backend's info alone when
	                           there was nothing to deliver */
	uint64_t partial_hits;  /* replays where the cache delivered a prefix and
	                           the backend the rest */
	uint64_t misses;        /* replays answered by the backend alone */
	uint64_t warmups;       /* replays after which the cache received events
	                           read from the backend */
	uint64_t warmed_events; /* events copied into the cache by warm-ups */
	uint64_t rebuilds;      /* times the cache's copy of a session was purged
	                           and refilled because it could not be extended
	                           (stale epoch, a hole) */
	uint64_t cache_errors;  /* cache operations that failed while the call
	                           itself succeeded (a failed cache append, e.g.
	                           EVS_ENOMEM or EVS_ETOOBIG); such failures only
	                           cost later hits */
};

/*
 * evs_caching_store_create - stack `cache` in front of `backend`.
 * @cache:   a fast store dedicated to this composer; borrowed.
 * @backend: the store of record, possibly shared; borrowed.
 * @out:     receives the composer on success; untouched on failure.
 *
 * Semantics of each call on the composer:
 *   append, append_next: the backend first; if it fails, its error is
 *     returned and the cache is untouched.  Then the cache, under the id the
 *     backend accepted or assigned.  If the cache fails, the call still
 *     succeeds (the event is durable in the backend), stats.cache_errors
 *     counts it, and no later replay is served from a cache that lacks it.
 *     Besides the backend's own call, an append makes two cheap calls on the
 *     cache (info and a one-event replay) to learn the backend epoch the
 *     cache mirrors; when the cache holds nothing for the session, one
 *     backend info instead.
 *   replay_after: see the guarantee above.  Returns 0, the callback's
 *     non-zero value, or the backend's error (a cache error only costs a
 *     miss).  On EVS_EINVAL the callback was not called.
 *   info: the backend's info.
 *   purge_session: the cache, then the backend (even if the cache failed);
 *     returns the first error, else 0.  Either order is safe: cached events
 *     name the backend log they belong to, and a purged log never comes
 *     back.
 *   destroy: frees the composer only.
 *
 * Returns 0, EVS_EINVAL (a NULL argument, or cache == backend) or
 * EVS_ENOMEM.  Thread-safe.
 */
int evs_caching_store_create(struct evs_store *cache, struct evs_store *backend,
                             struct evs_store **out);

/*
 * evs_caching_store_stats - read the composer's counters.
 * Returns 0, or EVS_EINVAL if s is not a caching composer or out is NULL.
 * Thread-safe; lock-free.
 */
int evs_caching_store_stats(struct evs_store *s, struct evs_caching_stats *out);

/* True if s was made by evs_caching_store_create(). */
bool evs_is_caching_store(const struct evs_store *s);

#ifdef __cplusplus
}
#endif

#endif /* EVSTORE_CACHING_H */
