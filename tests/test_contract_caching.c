/*
 * The store contract, run against the caching composer over two memory
 * stores, and against composers stacked two deep (a composer whose backend
 * is another composer, and one whose cache is another composer).
 */
#include <stdio.h>
#include <stdlib.h>

#include <evstore/caching.h>
#include <evstore/memory.h>

#include "store_contract.h"

/* The composer borrows its stores; remember them to destroy them after. */
#define MAX_LIVE 16
#define MAX_PARTS 6

struct live {
	struct evs_store *top;
	struct evs_store *part[MAX_PARTS];   /* destroyed in this order */
	int n;
};

static struct live live[MAX_LIVE];

static int
mem(size_t cap, size_t max_bytes, size_t extra, struct evs_store **out)
{
	struct evs_memory_opts o = {
		.max_events_per_session = cap,
		.max_event_bytes = (max_bytes == 0 ?
		    EVS_MEMORY_DEFAULT_EVENT_BYTES : max_bytes) + extra,
	};

	return evs_memory_store_create(&o, out);
}

enum shape { FLAT, STACK_BACKEND, STACK_CACHE };

static int
make(void *ctx, size_t cap, size_t max_bytes, struct evs_store **out)
{
	enum shape shape = *(const enum shape *)ctx;
	struct live *l = NULL;
	struct evs_store *a = NULL, *b = NULL, *c = NULL, *d = NULL;
	int rc;

	for (int i = 0; i < MAX_LIVE && l == NULL; i++)
		if (live[i].top == NULL)
			l = &live[i];
	if (l == NULL)
		return EVS_ENOMEM;
	l->n = 0;
	if ((rc = mem(cap, max_bytes, 0, &b)) != 0)
		return rc;
	l->part[l->n++] = b;
	if (shape == FLAT) {
		if ((rc = mem(cap, max_bytes, EVS_CACHING_OVERHEAD, &a)) != 0)
			goto fail;
		l->part[l->n++] = a;
		rc = evs_caching_store_create(a, b, &l->top);
	} else if (shape == STACK_BACKEND) {
		/* top = caching(a, caching(c, b)) */
		if ((rc = mem(cap, max_bytes, EVS_CACHING_OVERHEAD, &c)) != 0)
			goto fail;
		l->part[l->n++] = c;
		if ((rc = mem(cap, max_bytes, EVS_CACHING_OVERHEAD, &a)) != 0)
			goto fail;
		l->part[l->n++] = a;
		if ((rc = evs_caching_store_create(c, b, &d)) != 0)
			goto fail;
		l->part[0] = d;            /* destroy the inner composer first */
		l->part[l->n++] = b;
		rc = evs_caching_store_create(a, d, &l->top);
	} else {
		/* top = caching(caching(a, c), b): the cache is a composer */
		if ((rc = mem(cap, max_bytes, 2 * EVS_CACHING_OVERHEAD, &a)) != 0)
			goto fail;
		l->part[l->n++] = a;
		if ((rc = mem(cap, max_bytes, EVS_CACHING_OVERHEAD, &c)) != 0)
			goto fail;
		l->part[l->n++] = c;
		if ((rc = evs_caching_store_create(a, c, &d)) != 0)
			goto fail;
		l->part[l->n++] = b;
		l->part[0] = d;
		rc = evs_caching_store_create(d, b, &l->top);
	}
	if (rc != 0)
		goto fail;
	*out = l->top;
	return 0;
fail:
	for (int i = 0; i < l->n; i++)
		evs_store_destroy(l->part[i]);
	l->top = NULL;
	return rc;
}

static void
destroy(void *ctx, struct evs_store *s)
{
	(void)ctx;
	for (int i = 0; i < MAX_LIVE; i++) {
		if (live[i].top == s && s != NULL) {
			evs_store_destroy(s);
			for (int k = 0; k < live[i].n; k++)
				evs_store_destroy(live[i].part[k]);
			live[i].top = NULL;
			return;
		}
	}
}

int
main(void)
{
	enum shape flat = FLAT, sb = STACK_BACKEND, sc = STACK_CACHE;
	struct contract_backend b1 = { "contract/caching-memory-over-memory",
	    make, destroy, &flat };
	struct contract_backend b2 = { "contract/caching-over-caching",
	    make, destroy, &sb };
	struct contract_backend b3 = { "contract/caching-with-caching-cache",
	    make, destroy, &sc };
	int failed = contract_run(&b1);

	failed += contract_run(&b2);
	failed += contract_run(&b3);
	return failed == 0 ? 0 : 1;
}
