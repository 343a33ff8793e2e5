/*
 * tests/caching_wrap.h: a test store that wraps another one, counts the
 * calls it forwards and fails chosen operations on demand.  Used to prove
 * that a cache hit reads no payload from the backend and that a failing
 * cache never causes a short replay.
 */
#ifndef EVS_TEST_CACHING_WRAP_H
#define EVS_TEST_CACHING_WRAP_H

#include <stdatomic.h>
#include <stdint.h>

#include <evstore/store.h>

enum wrap_op {
	WRAP_APPEND, WRAP_APPEND_NEXT, WRAP_REPLAY, WRAP_INFO, WRAP_PURGE,
	WRAP_NOPS
};

/* Each field may be changed between calls from the thread that owns the
 * test; the counters are atomic so stress tests may read them. */
struct wrap_ctl {
	atomic_ulong calls[WRAP_NOPS];     /* calls forwarded or failed */
	atomic_ulong delivered;            /* events replay passed through */
	atomic_int fail[WRAP_NOPS];        /* non-zero: return this error */
	atomic_uint fail_every;            /* >0: appends fail 1 in N (EVS_EBACKEND) */
	atomic_uint fail_seed;
};

/* A store forwarding to inner (borrowed); destroy with evs_store_destroy(),
 * which does not destroy inner.  ctl is borrowed and must outlive it. */
int wrap_store_create(struct evs_store *inner, struct wrap_ctl *ctl,
                      struct evs_store **out);

#endif
