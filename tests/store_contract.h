/*
 * tests/store_contract.h: the semantics every store must have, as one cmocka
 * suite run once per backend (the memory store, the caching composer, ...).
 */
#ifndef EVS_TEST_STORE_CONTRACT_H
#define EVS_TEST_STORE_CONTRACT_H

#include <stddef.h>

#include <evstore/store.h>

struct contract_backend {
	const char *name;
	/* Make a fresh, empty store keeping `cap` events per session and
	 * accepting payloads of up to `max_bytes` (0: the store's defaults). */
	int  (*make)(void *ctx, size_t cap, size_t max_bytes,
	             struct evs_store **out);
	/* Destroy what make() made (the store and anything under it). */
	void (*destroy)(void *ctx, struct evs_store *s);
	void *ctx;
};

/* Runs the suite; returns the number of failed tests. */
int contract_run(const struct contract_backend *backend);

#endif
