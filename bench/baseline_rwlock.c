/*
 * bench/baseline_rwlock.c: a C port of the reference design.
 *
 * One pthread_rwlock_t over a hash map of per-session ring buffers of
 * heap-copied payloads:
 *   - append / append_next / purge take the write lock;
 *   - replay takes the read lock, copies the events after the id out (an
 *     array of events, each payload malloc'ed and copied, as the reference
 *     returns a Vec of cloned events), releases the lock, then calls the
 *     callback for each copy and frees them.
 * The lock is writer-preferring (PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP),
 * like Rust's std RwLock on Linux, so appends are not starved by replays.
 * Favouring the baseline: the payload copy, the timestamp and the hash are
 * computed before the lock is taken, and evicted events and purged sessions
 * are freed after it is released.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "smap.h"

struct rw_store {
	struct evs_store base;
	pthread_rwlock_t lock;
	struct smap map;
};

static struct rw_store *
to_rw(struct evs_store *s)
{
	return evs__container_of(s, struct rw_store, base);
}

static int
rw_append_common(struct evs_store *s, const char *session, size_t slen,
                 bool assign, uint64_t *id, const void *data, size_t len)
{
	struct rw_store *r = to_rw(s);
	uint64_t hash;
	struct bsess *ss;
	struct bev *ev, *old = NULL;
	int err;

	if (len > r->map.max_bytes)
		return EVS_ETOOBIG;
	ev = bev_make(data, len);
	if (ev == NULL)
		return EVS_ENOMEM;
	hash = evs__hash(session, slen, r->map.seed);
	pthread_rwlock_wrlock(&r->lock);
	ss = smap_find(&r->map, session, slen, hash);
	if (ss == NULL)
		ss = smap_insert(&r->map, session, slen, hash);
	if (ss == NULL) {
		err = EVS_ENOMEM;
	} else {
		err = bsess_next_id(ss, assign, id);
		if (err == 0) {
			ev->id = *id;
			old = bsess_push(ss, r->map.cap, ev, &err);
		}
	}
	pthread_rwlock_unlock(&r->lock);
	if (err != 0)
		free(ev);
	free(old);
	return err;
}

static int
rw_append(struct evs_store *s, const char *session, size_t slen, uint64_t id,
          const void *data, size_t len)
{
	return rw_append_common(s, session, slen, false, &id, data, len);
}

static int
rw_append_next(struct evs_store *s, const char *session, size_t slen,
               const void *data, size_t len, uint64_t *id)
{
	return rw_append_common(s, session, slen, true, id, data, len);
}

static int
rw_replay(struct evs_store *s, const char *session, size_t slen,
          uint64_t after_id, evs_replay_fn *fn, void *arg,
          struct evs_replay_info *info)
{
	struct rw_store *r = to_rw(s);
	uint64_t hash = evs__hash(session, slen, r->map.seed);
	struct evs_event *copy = NULL;
	struct bsess *ss;
	uint32_t n = 0, i, first;
	int rc = 0;

	pthread_rwlock_rdlock(&r->lock);
	ss = smap_find(&r->map, session, slen, hash);
	if (ss == NULL) {
		pthread_rwlock_unlock(&r->lock);
		return 0;
	}
	bsess_info(ss, &info->log);
	if (ss->evicted && ss->evicted_id > after_id)
		info->truncated = true;
	first = bsess_first_after(ss, after_id);
	if (first < ss->count) {
		copy = malloc((size_t)(ss->count - first) * sizeof(*copy));
		if (copy == NULL) {
			pthread_rwlock_unlock(&r->lock);
			return EVS_ENOMEM;
		}
		for (i = first; i < ss->count; i++) {
			const struct bev *ev = bsess_at(ss, i);
			void *p = malloc(ev->len > 0 ? ev->len : 1);

			if (p == NULL) {
				rc = EVS_ENOMEM;
				break;
			}
			memcpy(p, ev->data, ev->len);
			copy[n].id = ev->id;
			copy[n].timestamp_ns = ev->ts;
			copy[n].data = p;
			copy[n].len = ev->len;
			n++;
		}
	}
	pthread_rwlock_unlock(&r->lock);
	for (i = 0; i < n && rc == 0; i++) {
		info->delivered++;
		rc = fn(&copy[i], arg);
	}
	for (i = 0; i < n; i++)
		free((void *)copy[i].data);
	free(copy);
	return rc;
}

static int
rw_info(struct evs_store *s, const char *session, size_t slen,
        struct evs_log_info *info)
{
	struct rw_store *r = to_rw(s);
	uint64_t hash = evs__hash(session, slen, r->map.seed);
	struct bsess *ss;

	pthread_rwlock_rdlock(&r->lock);
	ss = smap_find(&r->map, session, slen, hash);
	if (ss != NULL)
		bsess_info(ss, info);
	pthread_rwlock_unlock(&r->lock);
	return 0;
}

static int
rw_purge(struct evs_store *s, const char *session, size_t slen)
{
	struct rw_store *r = to_rw(s);
	uint64_t hash = evs__hash(session, slen, r->map.seed);
	struct bsess *ss;

	pthread_rwlock_wrlock(&r->lock);
	ss = smap_remove(&r->map, session, slen, hash);
	pthread_rwlock_unlock(&r->lock);
	bsess_free(ss);
	return 0;
}

static void
rw_destroy(struct evs_store *s)
{
	struct rw_store *r = to_rw(s);

	smap_fini(&r->map);
	pthread_rwlock_destroy(&r->lock);
	free(r);
}

static const struct evs_store_ops rw_ops = {
	.name = "baseline-rwlock",
	.append = rw_append,
	.append_next = rw_append_next,
	.replay_after = rw_replay,
	.info = rw_info,
	.purge_session = rw_purge,
	.destroy = rw_destroy,
};

int
bench_rwlock_create(const struct bench_store_opts *o, struct evs_store **out)
{
	struct rw_store *r = calloc(1, sizeof(*r));
	pthread_rwlockattr_t attr;

	if (r == NULL)
		return EVS_ENOMEM;
	if (smap_init(&r->map, o) != 0) {
		free(r);
		return EVS_ENOMEM;
	}
	pthread_rwlockattr_init(&attr);
	pthread_rwlockattr_setkind_np(&attr,
	    PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
	pthread_rwlock_init(&r->lock, &attr);
	pthread_rwlockattr_destroy(&attr);
	r->base.ops = &rw_ops;
	*out = &r->base;
	return 0;
}
