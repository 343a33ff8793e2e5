/*
 * evstore: a bounded, per-session event log for resumable streams.
 *
 * <evstore/store.h>: events, log information, error codes and the generic
 * store interface that every backend (memory, caching, ...) implements.
 *
 * Conventions used by every function in this library:
 *   - Functions return 0 on success or a negative EVS_E* code; evs_strerror()
 *     turns a code into text.  There is no errno and no error state kept on an
 *     object, so a failed call never poisons later ones.
 *   - Nothing takes ownership of its arguments.  `session` and `data` are
 *     copied before a call returns.  Events handed to a replay callback are
 *     borrowed until the callback returns: copy what you want to keep.
 *   - A call that fails before it starts does not invoke its callback.
 *   - A session id is a NUL-terminated byte string of 1 to EVS_SESSION_ID_MAX
 *     bytes (not counting the NUL).  Bytes are compared exactly.
 */
#ifndef EVSTORE_STORE_H
#define EVSTORE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define EVS_VERSION_MAJOR 0
#define EVS_VERSION_MINOR 1
#define EVS_VERSION_PATCH 0

/* Events a session keeps when the store's options say 0. */
#define EVS_DEFAULT_MAX_EVENTS_PER_SESSION 1000
/* Longest session id, in bytes, not counting the terminating NUL. */
#define EVS_SESSION_ID_MAX 255

/*
 * Error codes.  Each failure has its own negative constant; 0 is success.
 * A replay callback's non-zero return value is passed back as is, so a
 * callback should stop a replay with a positive value to keep it apart from
 * these codes.
 */
#define EVS_EINVAL   (-1)  /* bad argument: NULL pointer, bad session id, ... */
#define EVS_ENOMEM   (-2)  /* out of memory; the store is unchanged */
#define EVS_EORDER   (-3)  /* explicit id not greater than the session's newest */
#define EVS_ETOOBIG  (-4)  /* payload longer than the store's max_event_bytes */
#define EVS_EENCODE  (-5)  /* a store could not encode the request */
#define EVS_EDECODE  (-6)  /* a store found data it cannot decode */
#define EVS_EBACKEND (-7)  /* a backend store failed (connection, timeout, ...) */

/*
 * evs_strerror - a short English description of an error code.
 * @err: 0 or a value returned by an evstore function.
 *
 * Returns a static string; never NULL.  Unknown codes give "unknown error".
 * Thread-safe.
 */
const char *evs_strerror(int err);

/*
 * evs_strerror_name - the constant's name of an error code ("EVS_EORDER").
 * Returns a static string; never NULL ("EVS_UNKNOWN" for unknown codes).
 */
const char *evs_strerror_name(int err);

/* One event as handed to a replay callback. */
struct evs_event {
	uint64_t    id;
	int64_t     timestamp_ns;  /* CLOCK_REALTIME when appended */
	const void *data;          /* borrowed until the callback returns */
	size_t      len;
};

/*
 * A replay callback.  Return 0 to receive the next event; any other value
 * stops the replay and is returned by evs_store_replay_after() as is.
 */
typedef int evs_replay_fn(const struct evs_event *event, void *arg);

/* What a store holds for one session, as seen at one instant. */
struct evs_log_info {
	uint64_t epoch;      /* 0: no log for this session.  Otherwise it changes
	                        each time the session's log is created anew (first
	                        append, or first append after a purge); random, so
	                        unlikely to repeat across processes */
	size_t   retained;   /* events held now */
	uint64_t first_id;   /* oldest held (valid when retained > 0) */
	uint64_t last_id;    /* newest held (valid when retained > 0) */
};

/* What one replay did. */
struct evs_replay_info {
	struct evs_log_info log;  /* the log the replay read from */
	size_t   delivered;  /* events passed to the callback */
	bool     truncated;  /* an event with id > after_id was evicted before it
	                        could be replayed: the reader missed events */
};

/* A store.  Opaque to callers; implementers see <evstore/backend.h>. */
struct evs_store;

/*
 * evs_store_append - append a copy of an event under the caller's id.
 * @s:       the store.
 * @session: session id, 1..EVS_SESSION_ID_MAX bytes, NUL-terminated; copied.
 * @id:      must be greater than the session's newest id; any id (0 too) is
 *           accepted by an empty session.
 * @data:    payload, copied before the call returns; may be NULL if len is 0.
 * @len:     payload length, at most the store's max_event_bytes.
 *
 * If the session holds more than its maximum number of events afterwards,
 * the oldest is evicted.
 *
 * Returns 0, or:
 *   EVS_EINVAL   s or session NULL, session empty or too long, data NULL with
 *                len > 0;
 *   EVS_ETOOBIG  len over the store's max_event_bytes;
 *   EVS_EORDER   id not greater than the session's newest id;
 *   EVS_ENOMEM   out of memory;
 *   EVS_EENCODE, EVS_EDECODE, EVS_EBACKEND  from stores that have a backend.
 * On any error the store is unchanged.
 *
 * Thread-safety: see each store's header (the memory store allows any number
 * of concurrent callers).
 */
int evs_store_append(struct evs_store *s, const char *session, uint64_t id,
                     const void *data, size_t len);

/*
 * evs_store_append_next - append a copy of an event under a store-assigned id.
 * @id: out: the id given to the event (the session's newest id + 1, or 1 for
 *      a new log).  May be NULL.
 *
 * The id is assigned atomically with the insert: concurrent callers on one
 * session get unique, gap-free ids, and replays return them in id order.
 * Returns as evs_store_append(), except that EVS_EORDER cannot happen unless
 * the session's newest id is UINT64_MAX.
 */
int evs_store_append_next(struct evs_store *s, const char *session,
                          const void *data, size_t len, uint64_t *id);

/*
 * evs_store_replay_after - deliver the held events with id > after_id.
 * @fn:   called once per event, in increasing id order; see evs_replay_fn.
 * @arg:  passed to fn.
 * @info: out, may be NULL: the log's state, how many events were delivered,
 *        and whether the reader missed events (truncated).
 *
 * Never delivers an event of another session, a torn payload, a duplicate,
 * or a later id before an earlier one it could still deliver.  An unknown
 * session is not an error: nothing is delivered and info->log.epoch is 0.
 * `truncated` is set exactly when an event with id > after_id was evicted
 * before the replay could deliver it.
 *
 * Returns 0, fn's non-zero return value (the replay stopped there; info is
 * still filled), or EVS_EINVAL (s, session or fn NULL; bad session id), or a
 * backend error.  On EVS_EINVAL fn was not called.
 */
int evs_store_replay_after(struct evs_store *s, const char *session,
                           uint64_t after_id, evs_replay_fn *fn, void *arg,
                           struct evs_replay_info *info);

/*
 * evs_store_info - the session's log as seen at one instant.
 * An unknown session is not an error: *info is zeroed (epoch 0).
 * Returns 0, EVS_EINVAL (NULL argument, bad session id) or a backend error.
 */
int evs_store_info(struct evs_store *s, const char *session,
                   struct evs_log_info *info);

/*
 * evs_store_purge_session - remove a session and all its events.
 * A replay that starts after this returns sees none of them.  Purging an
 * unknown session succeeds (idempotent).  The next append starts a new log
 * with a new epoch.
 * Returns 0, EVS_EINVAL or a backend error.
 */
int evs_store_purge_session(struct evs_store *s, const char *session);

/*
 * evs_store_name - a short static name of the store's kind ("memory", ...).
 * Returns "" for NULL.
 */
const char *evs_store_name(const struct evs_store *s);

/*
 * evs_store_destroy - free a store and everything it holds.
 * NULL is a no-op.  No other call on this store may run concurrently or
 * after it.  A composer does not destroy the stores it borrows.
 */
void evs_store_destroy(struct evs_store *s);

#ifdef __cplusplus
}
#endif

#endif /* EVSTORE_STORE_H */
