/*
 * <evstore/caching.h>: a fast store stacked over a slower one.
 * (Placeholder declaration; the composer is specified by its own issue.)
 */
#ifndef EVSTORE_CACHING_H
#define EVSTORE_CACHING_H

#include <evstore/store.h>

#ifdef __cplusplus
extern "C" {
#endif

struct evs_caching_stats {
	uint64_t hits;        /* replays answered by the cache alone */
	uint64_t misses;      /* replays answered by the backend */
	uint64_t warmups;     /* times the cache was (re)filled from the backend */
	uint64_t cache_errors;/* cache operations that failed after the backend
	                         succeeded */
};

int evs_caching_store_create(struct evs_store *cache, struct evs_store *backend,
                             struct evs_store **out);
int evs_caching_store_stats(struct evs_store *s, struct evs_caching_stats *out);

#ifdef __cplusplus
}
#endif

#endif /* EVSTORE_CACHING_H */
