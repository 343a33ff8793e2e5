/*
 * bench/baseline_mutex.c: a hash map under a lock, with a mutex per session.
 *
 * The map is guarded by a pthread_rwlock_t (read lock to look a session up,
 * write lock to insert or remove one); a session found is pinned by a
 * reference count (like an Arc<Mutex<Session>> cloned out of the map) and
 * its ring is then used under the session's own mutex, so operations on
 * different sessions only share the map lock briefly.  Replay calls the
 * callback while holding the session mutex (no copy-out): the cheapest
 * obvious design, which favours this baseline.
 *
 * Ordering guarantees: everything a session holds is guarded by its mutex;
 * the map by its rwlock.  The reference count only decides who frees.
 * Progress guarantees: blocking (locks).
 */
#include <stdlib.h>

#include "internal.h"
#include "smap.h"

struct mx_store {
	struct evs_store base;
	pthread_rwlock_t maplock;
	struct smap map;
};

static struct mx_store *
to_mx(struct evs_store *s)
{
	return evs__container_of(s, struct mx_store, base);
}

static void
sess_ref(struct bsess *ss)
{
	/* Relaxed: taken while the map lock keeps the session alive (the map
	 * holds a reference); nothing is published through the count.  The
	 * free is ordered by U1 in sess_unref(). */
	atomic_fetch_add_explicit(&ss->refs, 1, memory_order_relaxed);
}

static void
sess_unref(struct bsess *ss)
{
	/* U1: acq_rel; pairs with itself in the other holders' sess_unref():
	 * every holder's accesses happen before the last holder frees. */
	if (atomic_fetch_sub_explicit(&ss->refs, 1, memory_order_acq_rel) == 1)
		bsess_free(ss);
}

/* Look up (and with create, insert) a session and take a reference. */
static struct bsess *
sess_get(struct mx_store *x, const char *key, size_t len, uint64_t hash,
         bool create)
{
	struct bsess *ss;

	pthread_rwlock_rdlock(&x->maplock);
	ss = smap_find(&x->map, key, len, hash);
	if (ss != NULL)
		sess_ref(ss);
	pthread_rwlock_unlock(&x->maplock);
	if (ss != NULL || !create)
		return ss;
	pthread_rwlock_wrlock(&x->maplock);
	ss = smap_find(&x->map, key, len, hash);
	if (ss == NULL)
		ss = smap_insert(&x->map, key, len, hash);
	if (ss != NULL)
		sess_ref(ss);
	pthread_rwlock_unlock(&x->maplock);
	return ss;
}

static int
mx_append_common(struct evs_store *s, const char *session, size_t slen,
                 bool assign, uint64_t *id, const void *data, size_t len)
{
	struct mx_store *x = to_mx(s);
	uint64_t hash;
	struct bsess *ss;
	struct bev *ev, *old = NULL;
	int err;

	if (len > x->map.max_bytes)
		return EVS_ETOOBIG;
	ev = bev_make(data, len);
	if (ev == NULL)
		return EVS_ENOMEM;
	hash = evs__hash(session, slen, x->map.seed);
	ss = sess_get(x, session, slen, hash, true);
	if (ss == NULL) {
		free(ev);
		return EVS_ENOMEM;
	}
	pthread_mutex_lock(&ss->mu);
	err = bsess_next_id(ss, assign, id);
	if (err == 0) {
		ev->id = *id;
		old = bsess_push(ss, x->map.cap, ev, &err);
	}
	pthread_mutex_unlock(&ss->mu);
	sess_unref(ss);
	if (err != 0)
		free(ev);
	free(old);
	return err;
}

static int
mx_append(struct evs_store *s, const char *session, size_t slen, uint64_t id,
          const void *data, size_t len)
{
	return mx_append_common(s, session, slen, false, &id, data, len);
}

static int
mx_append_next(struct evs_store *s, const char *session, size_t slen,
               const void *data, size_t len, uint64_t *id)
{
	return mx_append_common(s, session, slen, true, id, data, len);
}

static int
mx_replay(struct evs_store *s, const char *session, size_t slen,
          uint64_t after_id, evs_replay_fn *fn, void *arg,
          struct evs_replay_info *info)
{
	struct mx_store *x = to_mx(s);
	struct bsess *ss = sess_get(x, session, slen,
	    evs__hash(session, slen, x->map.seed), false);
	int rc;

	if (ss == NULL)
		return 0;
	pthread_mutex_lock(&ss->mu);
	rc = bsess_replay_direct(ss, after_id, fn, arg, info);
	pthread_mutex_unlock(&ss->mu);
	sess_unref(ss);
	return rc;
}

static int
mx_info(struct evs_store *s, const char *session, size_t slen,
        struct evs_log_info *info)
{
	struct mx_store *x = to_mx(s);
	struct bsess *ss = sess_get(x, session, slen,
	    evs__hash(session, slen, x->map.seed), false);

	if (ss == NULL)
		return 0;
	pthread_mutex_lock(&ss->mu);
	bsess_info(ss, info);
	pthread_mutex_unlock(&ss->mu);
	sess_unref(ss);
	return 0;
}

static int
mx_purge(struct evs_store *s, const char *session, size_t slen)
{
	struct mx_store *x = to_mx(s);
	uint64_t hash = evs__hash(session, slen, x->map.seed);
	struct bsess *ss;

	pthread_rwlock_wrlock(&x->maplock);
	ss = smap_remove(&x->map, session, slen, hash);
	pthread_rwlock_unlock(&x->maplock);
	if (ss != NULL)
		sess_unref(ss);   /* the map's reference */
	return 0;
}

static void
mx_destroy(struct evs_store *s)
{
	struct mx_store *x = to_mx(s);

	smap_fini(&x->map);
	pthread_rwlock_destroy(&x->maplock);
	free(x);
}

static const struct evs_store_ops mx_ops = {
	.name = "baseline-mutex",
	.append = mx_append,
	.append_next = mx_append_next,
	.replay_after = mx_replay,
	.info = mx_info,
	.purge_session = mx_purge,
	.destroy = mx_destroy,
};

int
bench_mutex_create(const struct bench_store_opts *o, struct evs_store **out)
{
	struct mx_store *x = calloc(1, sizeof(*x));

	if (x == NULL)
		return EVS_ENOMEM;
	if (smap_init(&x->map, o) != 0) {
		free(x);
		return EVS_ENOMEM;
	}
	pthread_rwlock_init(&x->maplock, NULL);
	x->base.ops = &mx_ops;
	*out = &x->base;
	return 0;
}
