/* The store contract, run against the memory store in both producer modes. */
#include <stdio.h>

#include <evstore/memory.h>

#include "store_contract.h"

static int
make_memory(void *ctx, size_t cap, size_t max_bytes, struct evs_store **out)
{
	struct evs_memory_opts o = {
		.max_events_per_session = cap,
		.max_event_bytes = max_bytes,
		.producers = *(const enum evs_producers *)ctx,
	};

	return evs_memory_store_create(&o, out);
}

static void
destroy_memory(void *ctx, struct evs_store *s)
{
	(void)ctx;
	evs_store_destroy(s);
}

int
main(void)
{
	enum evs_producers multi = EVS_MULTI_PRODUCER, single = EVS_SINGLE_PRODUCER;
	struct contract_backend mp = { "contract/memory-multi", make_memory,
	    destroy_memory, &multi };
	struct contract_backend sp = { "contract/memory-single", make_memory,
	    destroy_memory, &single };
	int failed = contract_run(&mp);

	failed += contract_run(&sp);
	return failed == 0 ? 0 : 1;
}
