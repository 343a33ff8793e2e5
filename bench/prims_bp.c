/*
 * bench/prims_bp.c: liburcu-bp ("bulletproof", the flavour the memory store
 * uses: no thread registration).  Its own file: each flavour's header maps
 * rcu_read_lock() to that flavour.
 */
#include <urcu-bp.h>

#include "prims.h"

double
prim_urcu_bp_read(uint64_t iters, size_t payload)
{
	uint64_t t0, t1;

	rcu_read_lock();   /* first use registers the thread: not timed */
	rcu_read_unlock();
	t0 = bench_now_ns();
	for (uint64_t i = 0; i < iters; i++) {
		rcu_read_lock();
		rcu_read_unlock();
	}
	t1 = bench_now_ns();
	return (double)(t1 - t0);
}

void
bench_urcu_bp_barrier(void)
{
	rcu_barrier();
}
