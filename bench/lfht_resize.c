/*
 * bench/lfht_resize.c: evs-lfht-resize, a reproducer for one finding of the
 * harness (docs/PERFORMANCE.md, "Findings"): a cds_lfht created the way
 * src/memory.c creates its session table (1024 buckets, AUTO_RESIZE |
 * ACCOUNTING), filled one cds_lfht_add_unique() per read-side section as
 * session_get() does, is often left far too small, so lookups walk long
 * chains.  For each round it prints the lookup cost on the auto-resized
 * table and again after an explicit cds_lfht_resize() to 2^17 buckets.
 *
 *   evs-lfht-resize [NODES [ROUNDS]]      (default 100000 nodes, 6 rounds)
 *
 * Ordering guarantees: single-threaded apart from liburcu's own call_rcu
 * worker, which runs the lazy resize; nothing of ours is shared.
 * Progress guarantees: not applicable (a test program); loops are bounded.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <urcu-bp.h>
#include <urcu/rculfhash.h>

#include "prims.h"

struct node {
	struct cds_lfht_node node;
	unsigned long key;
	char session_body[200];   /* a session is about this big */
};

static int
match(struct cds_lfht_node *n, const void *key)
{
	return caa_container_of(n, struct node, node)->key ==
	    *(const unsigned long *)key;
}

static unsigned long
mix(unsigned long x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ul;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebul;
	x ^= x >> 31;
	return x;
}

/* Mean ns per lookup of a random present key, over ~100 ms. */
static double
probe(struct cds_lfht *ht, size_t n)
{
	uint64_t x = 88172645463325252ull, t0 = bench_now_ns(), ops = 0;

	for (int round = 0; round < 100000 &&
	     bench_now_ns() - t0 < 100000000u; round++) {
		for (int j = 0; j < 1000; j++) {
			struct cds_lfht_iter it;
			unsigned long k;

			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			k = (unsigned long)(x % n);
			rcu_read_lock();
			cds_lfht_lookup(ht, mix(k), match, &k, &it);
			if (cds_lfht_iter_get_node(&it) == NULL)
				abort();
			rcu_read_unlock();
		}
		ops += 1000;
	}
	return (double)(bench_now_ns() - t0) / (double)ops;
}

int
main(int argc, char **argv)
{
	size_t n = argc > 1 ? strtoul(argv[1], NULL, 10) : 100000;
	int rounds = argc > 2 ? atoi(argv[2]) : 6;

	if (n == 0 || n > 10000000 || rounds < 1 || rounds > 100) {
		fprintf(stderr, "usage: evs-lfht-resize [NODES<=1e7 [ROUNDS<=100]]\n");
		return 2;
	}
	for (int r = 0; r < rounds; r++) {
		struct cds_lfht *ht = cds_lfht_new(1024, 1024, 0,
		    CDS_LFHT_AUTO_RESIZE | CDS_LFHT_ACCOUNTING, NULL);
		struct node *ns = calloc(n, sizeof(*ns));
		struct timespec pause = { 0, 300000000 };
		double before, after;

		if (ht == NULL || ns == NULL)
			return 1;
		for (size_t i = 0; i < n; i++) {
			ns[i].key = i;
			rcu_read_lock();
			(void)cds_lfht_add_unique(ht, mix(i), match, &ns[i].key,
			    &ns[i].node);
			rcu_read_unlock();
		}
		rcu_barrier();   /* lazy resizes run from call_rcu */
		nanosleep(&pause, NULL);
		rcu_barrier();
		before = probe(ht, n);
		cds_lfht_resize(ht, 1ul << 17);
		rcu_barrier();
		after = probe(ht, n);
		printf("%zu nodes, round %d: %.0f ns per lookup as auto-resized; "
		    "%.0f ns after cds_lfht_resize(2^17)\n", n, r, before, after);
		fflush(stdout);
		(void)cds_lfht_destroy(ht, NULL);
		free(ns);
	}
	return 0;
}
