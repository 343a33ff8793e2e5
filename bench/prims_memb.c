/*
 * bench/prims_memb.c: liburcu-memb read-side cost, measured to document why
 * the memory store uses the bp flavour (memb needs every reading thread to
 * register, which a library cannot demand of its callers; the read side
 * costs about the same).
 */
#include <urcu/urcu-memb.h>

#include "prims.h"

double
prim_urcu_memb_read(uint64_t iters, size_t payload)
{
	uint64_t t0, t1;

	urcu_memb_register_thread();
	t0 = bench_now_ns();
	for (uint64_t i = 0; i < iters; i++) {
		urcu_memb_read_lock();
		urcu_memb_read_unlock();
	}
	t1 = bench_now_ns();
	urcu_memb_unregister_thread();
	return (double)(t1 - t0);
}
