/*
 * bench/prims_lgpl.c: liburcu-bp's read side with _LGPL_SOURCE, i.e. the
 * fast paths inlined into the caller instead of called in liburcu-bp.so.
 * Compared with prim_urcu_bp_read() (the library calls src/memory.c makes
 * today) it shows what inlining would save per append and per replay.
 */
#define _LGPL_SOURCE 1
#include <urcu-bp.h>

#include "prims.h"

double
prim_urcu_bp_read_inline(uint64_t iters, size_t payload)
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
