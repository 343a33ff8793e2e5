/*
 * bench/smap.c: the session map shared by baseline-rwlock, baseline-mutex
 * and the floor (see smap.h).  Single-threaded code: callers lock.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "smap.h"

#define SMAP_BUCKETS0 1024u
#define RING0 4u

int
smap_init(struct smap *m, const struct bench_store_opts *o)
{
	memset(m, 0, sizeof(*m));
	m->buckets = calloc(SMAP_BUCKETS0, sizeof(*m->buckets));
	if (m->buckets == NULL)
		return EVS_ENOMEM;
	m->nbuckets = SMAP_BUCKETS0;
	m->seed = evs__random64();
	m->epoch_base = evs__random64();
	m->cap = (uint32_t)(o->cap != 0 ? o->cap : EVS_DEFAULT_MAX_EVENTS_PER_SESSION);
	m->max_bytes = o->max_bytes != 0 ? o->max_bytes : ((size_t)1 << 20);
	return 0;
}

void
bsess_free(struct bsess *ss)
{
	if (ss == NULL)
		return;
	for (uint32_t i = 0; i < ss->count; i++)
		free(bsess_at(ss, i));
	free(ss->ring);
	pthread_mutex_destroy(&ss->mu);
	free(ss);
}

void
smap_fini(struct smap *m)
{
	for (size_t b = 0; b < m->nbuckets; b++) {
		struct bsess *ss = m->buckets[b], *next;

		for (size_t guard = 0; ss != NULL && guard <= m->count; guard++) {
			next = ss->next;
			bsess_free(ss);
			ss = next;
		}
	}
	free(m->buckets);
	m->buckets = NULL;
}

struct bsess *
smap_find(struct smap *m, const char *key, size_t len, uint64_t hash)
{
	struct bsess *ss = m->buckets[hash & (m->nbuckets - 1)];

	for (; ss != NULL; ss = ss->next) {
		if (ss->hash == hash && ss->keylen == len &&
		    memcmp(ss->key, key, len) == 0)
			return ss;
	}
	return NULL;
}

/* Double the bucket array (load factor 1), as any growing map would. */
static void
smap_grow(struct smap *m)
{
	size_t n = m->nbuckets * 2;
	struct bsess **nb = calloc(n, sizeof(*nb));

	if (nb == NULL)
		return;   /* keep the old table: only slower */
	for (size_t b = 0; b < m->nbuckets; b++) {
		struct bsess *ss = m->buckets[b], *next;

		for (; ss != NULL; ss = next) {
			next = ss->next;
			ss->next = nb[ss->hash & (n - 1)];
			nb[ss->hash & (n - 1)] = ss;
		}
	}
	free(m->buckets);
	m->buckets = nb;
	m->nbuckets = n;
}

struct bsess *
smap_insert(struct smap *m, const char *key, size_t len, uint64_t hash)
{
	struct bsess *ss = calloc(1, sizeof(*ss) + len + 1);
	uint32_t r0 = m->cap < RING0 ? m->cap : RING0;
	uint64_t e;
	size_t b;

	if (ss == NULL)
		return NULL;
	ss->ring = malloc(r0 * sizeof(*ss->ring));
	if (ss->ring == NULL) {
		free(ss);
		return NULL;
	}
	ss->alloc = r0;
	ss->hash = hash;
	do {
		e = evs__mix64(m->epoch_base + ++m->epoch_ctr);
	} while (e == 0);
	ss->epoch = e;
	ss->keylen = (uint16_t)len;
	memcpy(ss->key, key, len);
	pthread_mutex_init(&ss->mu, NULL);
	/* Relaxed: the session is not shared yet; publishing it (under the
	 * caller's lock) orders this store. */
	atomic_init(&ss->refs, 1);
	if (m->count + 1 > m->nbuckets)
		smap_grow(m);
	b = hash & (m->nbuckets - 1);
	ss->next = m->buckets[b];
	m->buckets[b] = ss;
	m->count++;
	return ss;
}

struct bsess *
smap_remove(struct smap *m, const char *key, size_t len, uint64_t hash)
{
	struct bsess **pp = &m->buckets[hash & (m->nbuckets - 1)];

	for (; *pp != NULL; pp = &(*pp)->next) {
		struct bsess *ss = *pp;

		if (ss->hash == hash && ss->keylen == len &&
		    memcmp(ss->key, key, len) == 0) {
			*pp = ss->next;
			ss->next = NULL;
			m->count--;
			return ss;
		}
	}
	return NULL;
}

struct bev *
bev_make(const void *data, size_t len)
{
	struct bev *ev = malloc(offsetof(struct bev, data) + len);

	if (ev == NULL)
		return NULL;
	if (len > 0)
		memcpy(ev->data, data, len);
	ev->len = (uint32_t)len;
	ev->ts = evs__now_ns();
	return ev;
}

int
bsess_next_id(const struct bsess *ss, bool assign, uint64_t *id)
{
	uint64_t newest;

	if (ss->count == 0) {
		if (assign)
			*id = 1;
		return 0;
	}
	newest = bsess_at(ss, ss->count - 1)->id;
	if (assign) {
		if (newest == UINT64_MAX)
			return EVS_EORDER;
		*id = newest + 1;
		return 0;
	}
	return *id > newest ? 0 : EVS_EORDER;
}

struct bev *
bsess_push(struct bsess *ss, uint32_t cap, struct bev *ev, int *err)
{
	struct bev *old = NULL;
	uint32_t k;

	*err = 0;
	if (ss->count == cap) {
		old = ss->ring[ss->head];
		ss->ring[ss->head] = ev;
		ss->head = ss->head + 1 == ss->alloc ? 0 : ss->head + 1;
		ss->evicted = true;
		ss->evicted_id = old->id;
		return old;
	}
	if (ss->count == ss->alloc) {
		uint32_t n = ss->alloc * 2 < cap ? ss->alloc * 2 : cap;
		struct bev **nr = malloc((size_t)n * sizeof(*nr));

		if (nr == NULL) {
			*err = EVS_ENOMEM;
			return NULL;
		}
		for (uint32_t i = 0; i < ss->count; i++)
			nr[i] = bsess_at(ss, i);
		free(ss->ring);
		ss->ring = nr;
		ss->alloc = n;
		ss->head = 0;
	}
	k = ss->head + ss->count;
	if (k >= ss->alloc)
		k -= ss->alloc;
	ss->ring[k] = ev;
	ss->count++;
	return NULL;
}

void
bsess_info(const struct bsess *ss, struct evs_log_info *info)
{
	info->epoch = ss->epoch;
	info->retained = ss->count;
	if (ss->count > 0) {
		info->first_id = bsess_at(ss, 0)->id;
		info->last_id = bsess_at(ss, ss->count - 1)->id;
	}
}

uint32_t
bsess_first_after(const struct bsess *ss, uint64_t after_id)
{
	uint32_t lo = 0, hi = ss->count;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (bsess_at(ss, mid)->id <= after_id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

int
bsess_replay_direct(const struct bsess *ss, uint64_t after_id,
                    evs_replay_fn *fn, void *arg, struct evs_replay_info *info)
{
	bsess_info(ss, &info->log);
	if (ss->evicted && ss->evicted_id > after_id)
		info->truncated = true;
	for (uint32_t i = bsess_first_after(ss, after_id); i < ss->count; i++) {
		const struct bev *ev = bsess_at(ss, i);
		struct evs_event e = { ev->id, ev->ts, ev->data, ev->len };
		int rc;

		info->delivered++;
		rc = fn(&e, arg);
		if (rc != 0)
			return rc;
	}
	return 0;
}
