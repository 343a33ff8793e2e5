/*
 * bench/floor.c: the "limits" store: the memory store's work with no
 * concurrency control at all (hash lookup, malloc + copy + timestamp,
 * evict and free the oldest).  Single-threaded use only: the harness never
 * gives it to two threads.  Results are read as "x times the floor".
 */
#include <stdlib.h>

#include "internal.h"
#include "smap.h"

struct floor_store {
	struct evs_store base;
	struct smap map;
};

static struct smap *
fmap(struct evs_store *s)
{
	return &evs__container_of(s, struct floor_store, base)->map;
}

static int
floor_append_common(struct evs_store *s, const char *session, size_t slen,
                    bool assign, uint64_t *id, const void *data, size_t len)
{
	struct smap *m = fmap(s);
	uint64_t hash;
	struct bsess *ss;
	struct bev *ev, *old;
	int err;

	if (len > m->max_bytes)
		return EVS_ETOOBIG;
	ev = bev_make(data, len);
	if (ev == NULL)
		return EVS_ENOMEM;
	hash = evs__hash(session, slen, m->seed);
	ss = smap_find(m, session, slen, hash);
	if (ss == NULL && (ss = smap_insert(m, session, slen, hash)) == NULL) {
		free(ev);
		return EVS_ENOMEM;
	}
	err = bsess_next_id(ss, assign, id);
	if (err != 0) {
		free(ev);
		return err;
	}
	ev->id = *id;
	old = bsess_push(ss, m->cap, ev, &err);
	if (err != 0)
		free(ev);
	free(old);
	return err;
}

static int
floor_append(struct evs_store *s, const char *session, size_t slen,
             uint64_t id, const void *data, size_t len)
{
	return floor_append_common(s, session, slen, false, &id, data, len);
}

static int
floor_append_next(struct evs_store *s, const char *session, size_t slen,
                  const void *data, size_t len, uint64_t *id)
{
	return floor_append_common(s, session, slen, true, id, data, len);
}

static int
floor_replay(struct evs_store *s, const char *session, size_t slen,
             uint64_t after_id, evs_replay_fn *fn, void *arg,
             struct evs_replay_info *info)
{
	struct smap *m = fmap(s);
	struct bsess *ss = smap_find(m, session, slen,
	    evs__hash(session, slen, m->seed));

	return ss == NULL ? 0 : bsess_replay_direct(ss, after_id, fn, arg, info);
}

static int
floor_info(struct evs_store *s, const char *session, size_t slen,
           struct evs_log_info *info)
{
	struct smap *m = fmap(s);
	struct bsess *ss = smap_find(m, session, slen,
	    evs__hash(session, slen, m->seed));

	if (ss != NULL)
		bsess_info(ss, info);
	return 0;
}

static int
floor_purge(struct evs_store *s, const char *session, size_t slen)
{
	struct smap *m = fmap(s);

	bsess_free(smap_remove(m, session, slen,
	    evs__hash(session, slen, m->seed)));
	return 0;
}

static void
floor_destroy(struct evs_store *s)
{
	struct floor_store *f = evs__container_of(s, struct floor_store, base);

	smap_fini(&f->map);
	free(f);
}

static const struct evs_store_ops floor_ops = {
	.name = "floor",
	.append = floor_append,
	.append_next = floor_append_next,
	.replay_after = floor_replay,
	.info = floor_info,
	.purge_session = floor_purge,
	.destroy = floor_destroy,
};

int
bench_floor_create(const struct bench_store_opts *o, struct evs_store **out)
{
	struct floor_store *f = calloc(1, sizeof(*f));

	if (f == NULL)
		return EVS_ENOMEM;
	if (smap_init(&f->map, o) != 0) {
		free(f);
		return EVS_ENOMEM;
	}
	f->base.ops = &floor_ops;
	*out = &f->base;
	return 0;
}
