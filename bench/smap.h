/*
 * bench/smap.h: the session map shared by the baselines and the floor.
 *
 * One chained hash table of sessions (keyed by evs__hash with a per-store
 * seed, exactly as the memory store keys its table); each session holds a
 * ring of at most `cap` pointers to heap copies of its events (one malloc +
 * memcpy per event, CLOCK_REALTIME timestamp), growing by doubling like a
 * Rust VecDeque, oldest evicted when full.  Nothing here locks: each
 * contender wraps these calls in its own concurrency control (none for the
 * floor), so every contender does the same work apart from the locking.
 */
#ifndef EVS_BENCH_SMAP_H
#define EVS_BENCH_SMAP_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <evstore/backend.h>

/* One event: a heap copy made before the store is touched. */
struct bev {
	uint64_t id;
	int64_t  ts;
	uint32_t len;
	unsigned char data[];
};

struct bsess {
	struct bsess *next;       /* hash chain */
	uint64_t hash;
	uint64_t epoch;
	struct bev **ring;
	uint32_t alloc;           /* slots in ring (grows to cap) */
	uint32_t head;            /* index of the oldest event */
	uint32_t count;           /* events held */
	bool     evicted;         /* an event was evicted ... */
	uint64_t evicted_id;      /* ... and this is the newest evicted id */
	pthread_mutex_t mu;       /* baseline-mutex: guards the ring */
	atomic_uint refs;         /* baseline-mutex: map's ref + users' refs */
	uint16_t keylen;
	char key[];
};

struct smap {
	struct bsess **buckets;
	size_t nbuckets;          /* power of two */
	size_t count;
	uint64_t seed;
	uint64_t epoch_base;
	uint64_t epoch_ctr;
	uint32_t cap;
	size_t max_bytes;
};

/* Options shared by every contender's constructor. */
struct bench_store_opts {
	size_t cap;               /* max events per session */
	size_t max_bytes;         /* max payload */
};

int  smap_init(struct smap *m, const struct bench_store_opts *o);
void smap_fini(struct smap *m);
struct bsess *smap_find(struct smap *m, const char *key, size_t len,
                        uint64_t hash);
/* Insert a new empty session (the caller checked it is absent).
 * NULL when out of memory. */
struct bsess *smap_insert(struct smap *m, const char *key, size_t len,
                          uint64_t hash);
/* Unlink and return the session, or NULL if absent.  Caller frees. */
struct bsess *smap_remove(struct smap *m, const char *key, size_t len,
                          uint64_t hash);
void bsess_free(struct bsess *ss);

/* malloc + memcpy of the payload and a CLOCK_REALTIME timestamp. */
struct bev *bev_make(const void *data, size_t len);

/* Check/assign the id of the next event (EVS_EORDER on failure). */
int bsess_next_id(const struct bsess *ss, bool assign, uint64_t *id);
/* Append ev (its id set); returns the evicted event (caller frees) or NULL.
 * *err = EVS_ENOMEM if the ring could not grow (ev not taken). */
struct bev *bsess_push(struct bsess *ss, uint32_t cap, struct bev *ev,
                       int *err);
/* Fill info->log from the session. */
void bsess_info(const struct bsess *ss, struct evs_log_info *info);
/* Index (0 = oldest) of the first held event with id > after_id. */
uint32_t bsess_first_after(const struct bsess *ss, uint64_t after_id);
/* The i-th held event (0 = oldest). */
static inline struct bev *
bsess_at(const struct bsess *ss, uint32_t i)
{
	uint32_t k = ss->head + i;

	if (k >= ss->alloc)
		k -= ss->alloc;
	return ss->ring[k];
}
/* Deliver events after after_id straight from the ring (no copy). */
int bsess_replay_direct(const struct bsess *ss, uint64_t after_id,
                        evs_replay_fn *fn, void *arg,
                        struct evs_replay_info *info);

/* Constructors of the bench's own stores. */
int bench_floor_create(const struct bench_store_opts *o, struct evs_store **out);
int bench_rwlock_create(const struct bench_store_opts *o, struct evs_store **out);
int bench_mutex_create(const struct bench_store_opts *o, struct evs_store **out);

#endif /* EVS_BENCH_SMAP_H */
