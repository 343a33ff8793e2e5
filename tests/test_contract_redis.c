/*
 * The store contract against real redis-server processes: the Redis store
 * over TCP, over a unix socket, sharded over both (node_count = 2), and the
 * caching composer (memory cache over Redis) when it is built.
 */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <evstore/caching.h>
#include <evstore/memory.h>
#include <evstore/redis.h>

#include "redis_harness.h"
#include "store_contract.h"

struct redis_ctx {
	const char *const *nodes;
	size_t node_count;
};

static unsigned long store_counter;

/* Every store gets a key prefix of its own, so each test starts empty. */
static int
make_redis_store(const struct redis_ctx *rc, size_t cap, size_t max_bytes,
                 struct evs_store **out)
{
	char prefix[64];
	struct evs_redis_opts o = {
		.nodes = rc->nodes,
		.node_count = rc->node_count,
		.key_prefix = prefix,
		.max_events_per_session = cap,
		.max_event_bytes = max_bytes,
		.timeout_ms = 5000,
	};

	snprintf(prefix, sizeof(prefix), "evs-test:%ld:%lu:", (long)getpid(),
	    ++store_counter);
	return evs_redis_store_create(&o, out);
}

static int
make_redis(void *ctx, size_t cap, size_t max_bytes, struct evs_store **out)
{
	return make_redis_store(ctx, cap, max_bytes, out);
}

static void
destroy_plain(void *ctx, struct evs_store *s)
{
	(void)ctx;
	evs_store_destroy(s);
}

#if EVS_TEST_HAVE_CACHING
/* The composer borrows its two stores; remember them to destroy them. */
#define MAX_LIVE 8
static struct {
	struct evs_store *top, *cache, *backend;
} live[MAX_LIVE];

static int
make_caching(void *ctx, size_t cap, size_t max_bytes, struct evs_store **out)
{
	/* The cache needs room for the composer's per-event header. */
	struct evs_memory_opts mo = {
		.max_events_per_session = cap,
		.max_event_bytes = (max_bytes != 0 ? max_bytes : (size_t)1 << 20) +
		    EVS_CACHING_OVERHEAD,
	};
	struct evs_store *cache = NULL, *backend = NULL, *top = NULL;
	int rc;

	rc = evs_memory_store_create(&mo, &cache);
	if (rc == 0)
		rc = make_redis_store(ctx, cap, max_bytes, &backend);
	if (rc == 0)
		rc = evs_caching_store_create(cache, backend, &top);
	for (int i = 0; rc == 0 && i < MAX_LIVE; i++) {
		if (live[i].top == NULL) {
			live[i].top = top;
			live[i].cache = cache;
			live[i].backend = backend;
			*out = top;
			return 0;
		}
	}
	evs_store_destroy(top);
	evs_store_destroy(backend);
	evs_store_destroy(cache);
	return rc != 0 ? rc : EVS_ENOMEM;
}

static void
destroy_caching(void *ctx, struct evs_store *s)
{
	(void)ctx;
	for (int i = 0; i < MAX_LIVE; i++) {
		if (live[i].top == s) {
			evs_store_destroy(live[i].top);
			evs_store_destroy(live[i].backend);
			evs_store_destroy(live[i].cache);
			live[i].top = NULL;
			return;
		}
	}
}
#endif

int
main(void)
{
	struct redis_server tcp, unx;
	const char *one_tcp[1], *one_unix[1], *both[2];
	struct redis_ctx c_tcp, c_unix, c_both;
	int failed = 0;

	redis_harness_require("test_contract_redis");
	if (redis_server_start(&tcp, false) != 0 ||
	    redis_server_start(&unx, true) != 0) {
		fprintf(stderr, "test_contract_redis: FAILED: cannot start "
		    "redis-server\n");
		return 1;
	}
	one_tcp[0] = tcp.node;
	one_unix[0] = unx.node;
	both[0] = tcp.node;
	both[1] = unx.node;
	c_tcp = (struct redis_ctx){ one_tcp, 1 };
	c_unix = (struct redis_ctx){ one_unix, 1 };
	c_both = (struct redis_ctx){ both, 2 };

	{
		struct contract_backend b1 = { "contract/redis-tcp", make_redis,
		    destroy_plain, &c_tcp };
		struct contract_backend b2 = { "contract/redis-unix",
		    make_redis, destroy_plain, &c_unix };
		struct contract_backend b3 = { "contract/redis-2-nodes",
		    make_redis, destroy_plain, &c_both };

		failed += contract_run(&b1);
		failed += contract_run(&b2);
		failed += contract_run(&b3);
	}
#if EVS_TEST_HAVE_CACHING
	{
		struct contract_backend b4 = { "contract/caching-memory-over-redis",
		    make_caching, destroy_caching, &c_tcp };

		failed += contract_run(&b4);
	}
#else
	printf("test_contract_redis: the caching composer is not built yet; "
	    "its run over Redis is left out\n");
#endif
	redis_server_stop(&tcp);
	redis_server_stop(&unx);
	return failed == 0 ? 0 : 1;
}
