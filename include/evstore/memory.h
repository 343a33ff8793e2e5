/*
 * <evstore/memory.h>: the lock-free in-memory store.
 *
 * A lock-free hash table of sessions (liburcu's cds_lfht), each holding a
 * ring of its newest events built on Concurrency Kit atomics.  Session
 * removal is protected by RCU (liburcu-bp), so readers never block.
 *
 * Thread-safety: every call except evs_store_destroy() may run concurrently
 * with any other, from any thread, with no registration: the library uses
 * the "bulletproof" RCU flavour, which registers a thread on its first read
 * and cleans up when the thread exits.
 *
 * Progress: append, append_next, replay_after and info never wait for
 * another thread (no lock, no spin on another thread's progress; a failed
 * compare-and-swap is retried only because another call succeeded).  A
 * thread preempted anywhere inside append does not stop other producers or
 * readers.  purge_session does not wait either: it unlinks the session and
 * defers the free to after an RCU grace period.
 *
 * Replay callbacks run inside an RCU read-side critical section:
 *   - They may call append, append_next, replay_after, info and purge_session
 *     on any store (these never wait for a grace period).
 *   - They must not call evs_store_destroy() (it waits for a grace period and
 *     would deadlock), nor block for long: while a callback runs, memory
 *     freed by purges and evictions anywhere in the process cannot be
 *     reclaimed, so it accumulates until the callback returns.  Other
 *     threads' appends and replays are not delayed.
 *
 * Threads: each memory store runs one small background thread that resizes
 * its session table (liburcu's resize blocks, so it cannot run inside an
 * API call); it sleeps until the number of sessions has doubled or shrunk
 * eightfold, and evs_store_destroy() stops it.
 *
 * Memory: each session keeps at most max_events_per_session events; the
 * ring's slot array grows in segments as it fills, so a session with few
 * events costs little.  Evicted events are reused or freed after an RCU
 * grace period by the thread that evicted them (each appending thread keeps
 * at most 8 MiB of such records for reuse, released when it exits); purged
 * sessions are freed by liburcu's call_rcu thread.
 */
#ifndef EVSTORE_MEMORY_H
#define EVSTORE_MEMORY_H

#include <evstore/store.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Largest max_events_per_session a memory store accepts. */
#define EVS_MEMORY_MAX_EVENTS_LIMIT (1u << 24)
/* Largest max_event_bytes a memory store accepts (payload lengths are kept
 * in 32 bits). */
#define EVS_MEMORY_EVENT_BYTES_LIMIT ((size_t)UINT32_MAX)
/* max_event_bytes used when the options say 0. */
#define EVS_MEMORY_DEFAULT_EVENT_BYTES ((size_t)1 << 20)

enum evs_producers {
	EVS_MULTI_PRODUCER  = 0,  /* any number of threads append to a session */
	EVS_SINGLE_PRODUCER = 1   /* at most one thread appends to a given session
	                             at a time (other sessions and readers are
	                             unrestricted); appends skip two atomic
	                             read-modify-writes.  Breaking the rule may
	                             lose events or mis-order ids. */
};

struct evs_memory_opts {
	size_t max_events_per_session;   /* 0: EVS_DEFAULT_MAX_EVENTS_PER_SESSION;
	                                    at most EVS_MEMORY_MAX_EVENTS_LIMIT */
	size_t max_event_bytes;          /* 0: 1 MiB; at most
	                                    EVS_MEMORY_EVENT_BYTES_LIMIT */
	enum evs_producers producers;
};

/*
 * evs_memory_store_create - make an empty memory store.
 * @opts: NULL for the defaults; copied.
 * @out:  receives the store on success; untouched on failure.
 *
 * Returns 0, EVS_EINVAL (out NULL, an option out of range or producers not
 * one of the enum's values) or EVS_ENOMEM.
 * Destroy with evs_store_destroy().  Thread-safe.
 */
int evs_memory_store_create(const struct evs_memory_opts *opts,
                            struct evs_store **out);

/*
 * evs_memory_store_total_events - events held across all sessions.
 * evs_memory_store_session_count - sessions holding at least one event.
 *
 * Both walk the session table (O(sessions)) without blocking anyone; under
 * concurrent updates the result is a value the count had at some moment
 * during the walk for each session, not a global snapshot.  s must be a
 * memory store (anything else, or NULL, gives 0).
 */
size_t evs_memory_store_total_events(struct evs_store *s);
size_t evs_memory_store_session_count(struct evs_store *s);

/* True if s was made by evs_memory_store_create(). */
bool evs_is_memory_store(const struct evs_store *s);

#ifdef __cplusplus
}
#endif

#endif /* EVSTORE_MEMORY_H */
