/*
 * <evstore/backend.h>: for those who write a store.
 *
 * A store is a struct that embeds `struct evs_store` and points it at a
 * `static const struct evs_store_ops` table, in the manner of SQLite's
 * sqlite3_file / sqlite3_io_methods.  Callers never call the table directly:
 * the evs_store_* wrappers in <evstore/store.h> check the arguments every
 * store shares (NULL pointers, session id length, NULL data with len > 0)
 * and only then dispatch, so an op receives:
 *   - a non-NULL store and a session id of 1..EVS_SESSION_ID_MAX bytes,
 *     with its length in `session_len` (the id is also NUL-terminated);
 *   - data != NULL whenever len > 0;
 *   - fn != NULL for replay_after, and an info pointer that is never NULL
 *     (the wrapper supplies scratch space when the caller passed NULL).
 * Checks that depend on the store (max_event_bytes, id order) are the op's.
 *
 * Every op is mandatory.  Ops return 0 or a negative EVS_E* code, exactly as
 * documented for the matching wrapper.
 */
#ifndef EVSTORE_BACKEND_H
#define EVSTORE_BACKEND_H

#include <evstore/store.h>

#ifdef __cplusplus
extern "C" {
#endif

struct evs_store_ops {
	const char *name;
	int  (*append)(struct evs_store *s, const char *session, size_t session_len,
	               uint64_t id, const void *data, size_t len);
	int  (*append_next)(struct evs_store *s, const char *session,
	                    size_t session_len, const void *data, size_t len,
	                    uint64_t *id /* never NULL */);
	int  (*replay_after)(struct evs_store *s, const char *session,
	                     size_t session_len, uint64_t after_id,
	                     evs_replay_fn *fn, void *arg,
	                     struct evs_replay_info *info /* never NULL */);
	int  (*info)(struct evs_store *s, const char *session, size_t session_len,
	             struct evs_log_info *info /* never NULL */);
	int  (*purge_session)(struct evs_store *s, const char *session,
	                      size_t session_len);
	void (*destroy)(struct evs_store *s /* never NULL */);
};

/* Embed this as a member of your store; set ops before handing it out. */
struct evs_store {
	const struct evs_store_ops *ops;
};

#ifdef __cplusplus
}
#endif

#endif /* EVSTORE_BACKEND_H */
