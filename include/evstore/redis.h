/*
 * <evstore/redis.h>: a store kept in Redis Streams, shared by every process
 * that points at the same Redis.  Built only when hiredis was found at build
 * time: <evstore/config.h> then defines EVS_HAVE_REDIS to 1 (and the
 * umbrella <evstore/evstore.h> includes this header).
 *
 * Semantics: the store contract of <evstore/store.h>, across processes.  Two
 * store objects (in one process or in two) over the same Redis and the same
 * key_prefix see one log per session: explicit ids are checked and
 * append_next ids are assigned by a Lua script on the server, so ids stay
 * unique, gap-free and ordered, EVS_EORDER means what it means for the
 * memory store, and every instance reports the same epoch.  docs/REDIS.md
 * describes the key layout, the scripts and the id mapping.
 *
 * Thread-safety: every call except evs_store_destroy() may run concurrently
 * from any number of threads.  hiredis connections are not thread-safe, so
 * the store keeps a small lock-free pool of connections per node: a call
 * takes one (a compare-and-swap on a slot), uses it alone and puts it back.
 * When every pooled connection is busy the call opens an extra one and
 * closes it afterwards; no call waits for another thread.
 *
 * Failures: a call that cannot reach its node, or whose node does not answer
 * within timeout_ms, returns EVS_EBACKEND; the broken connection is dropped
 * and the next call connects again, so the store recovers by itself once the
 * server is back.  An append that returned EVS_EBACKEND may or may not have
 * been applied (the reply was lost).  The error's text goes to the optional
 * on_error callback, in the calling thread, before the call returns.
 *
 * Timestamps are the appending process's CLOCK_REALTIME.
 */
#ifndef EVSTORE_REDIS_H
#define EVSTORE_REDIS_H

#include <stddef.h>
#include <stdint.h>

#include <evstore/store.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Largest max_events_per_session a Redis store accepts. */
#define EVS_REDIS_MAX_EVENTS_LIMIT ((size_t)1 << 30)
/* Largest max_event_bytes a Redis store accepts (Redis's own bulk limit is
 * 512 MiB; a payload travels in one command). */
#define EVS_REDIS_EVENT_BYTES_LIMIT ((size_t)256 << 20)
/* Longest key_prefix, in bytes. */
#define EVS_REDIS_KEY_PREFIX_MAX 128
/* Most nodes one store spreads sessions over. */
#define EVS_REDIS_MAX_NODES 64

/*
 * A backend error report.
 * @err:  the code the call is about to return (EVS_EBACKEND, EVS_EDECODE,
 *        EVS_EENCODE or EVS_ENOMEM).
 * @node: the node's name as given in the options ("127.0.0.1:6379").
 * @text: what hiredis or Redis said; valid only during the call.
 * @arg:  on_error_arg from the options.
 * Called in the thread whose call failed, possibly from several threads at
 * once; it must not call into the same store.
 */
typedef void evs_redis_error_fn(int err, const char *node, const char *text,
                                void *arg);

struct evs_redis_opts {
	const char *const *nodes;      /* "host:port" or "unix:/path"; NULL:
	                                  "127.0.0.1:6379".  Hosts are numeric
	                                  addresses or names. */
	size_t      node_count;        /* > 1: sessions are spread over the nodes
	                                  by rendezvous hashing of the session id;
	                                  every instance must list the same nodes
	                                  (in any order) */
	const char *key_prefix;        /* NULL: "evs:"; must not contain '{' */
	size_t      max_events_per_session;   /* 0: the default (1000) */
	size_t      max_event_bytes;          /* 0: 1 MiB */
	uint32_t    timeout_ms;        /* connect and command timeout; 0: 1000 */
	uint64_t    session_ttl_ms;    /* 0: none; else a session's keys expire
	                                  after this long without an append */
	/* Added fields (zero keeps the default): */
	size_t      pool_size;         /* pooled connections per node; 0: 16 */
	size_t      replay_batch;      /* events fetched per round trip by
	                                  replay_after; 0: 128 */
	evs_redis_error_fn *on_error;  /* NULL: errors are not reported */
	void       *on_error_arg;
};

/*
 * evs_redis_store_create - make a store over one or more Redis nodes.
 * @opts: NULL for the defaults; copied (strings included).
 * @out:  receives the store on success; untouched on failure.
 *
 * Does not connect: connections are opened by the first calls that need
 * them, so a node that is down at creation time is no error here.
 *
 * Returns 0, EVS_EINVAL (out NULL, node_count 0 with nodes set or over
 * EVS_REDIS_MAX_NODES, a node that is not "host:port" or "unix:/path", a
 * key_prefix with '{' or longer than EVS_REDIS_KEY_PREFIX_MAX, a limit out of
 * range) or EVS_ENOMEM.  Destroy with evs_store_destroy().  Thread-safe.
 *
 * Every op returns the codes documented in <evstore/store.h>, plus:
 *   EVS_EBACKEND  the node is down, did not answer within timeout_ms, or
 *                 answered with an unexpected error;
 *   EVS_EDECODE   a session key holds something this store did not write
 *                 (wrong type, malformed fields or entry ids);
 *   EVS_EENCODE   hiredis could not format the request.
 * purge_session deletes whatever the session's keys hold, garbage included.
 */
int evs_redis_store_create(const struct evs_redis_opts *opts,
                           struct evs_store **out);

/*
 * evs_redis_store_node_of - which node a session lives on.
 * Returns the index into opts->nodes (0 for a single node), or -1 if s is
 * not a Redis store or session is not a valid session id.  Thread-safe.
 */
int evs_redis_store_node_of(const struct evs_store *s, const char *session);

#ifdef __cplusplus
}
#endif

#endif /* EVSTORE_REDIS_H */
