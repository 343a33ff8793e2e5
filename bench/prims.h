/*
 * bench/prims.h: the machine's raw primitives, timed one at a time on one
 * thread ("limits"), so every result can be read against them.
 */
#ifndef EVS_BENCH_PRIMS_H
#define EVS_BENCH_PRIMS_H

#include <stddef.h>
#include <stdint.h>

struct bench_prim {
	const char *name;
	/* Runs iters operations; returns the elapsed nanoseconds. */
	double (*run)(uint64_t iters, size_t payload);
	int uses_payload;   /* the cost depends on the payload size */
};

extern const struct bench_prim bench_prims[];
extern const size_t bench_nprims;

/* Nanoseconds on CLOCK_MONOTONIC. */
uint64_t bench_now_ns(void);
/* Keep the compiler from dropping a computation. */
#define bench_sink(x) __asm__ __volatile__("" : : "r"(x) : "memory")

/* In prims_bp.c / prims_memb.c (one RCU flavour per file). */
double prim_urcu_bp_read(uint64_t iters, size_t payload);
double prim_urcu_memb_read(uint64_t iters, size_t payload);
/* In prims_lgpl.c: the bp read side inlined (_LGPL_SOURCE). */
double prim_urcu_bp_read_inline(uint64_t iters, size_t payload);
/* Wait until every call_rcu callback queued so far (the memory store's
 * deferred frees) has run: liburcu-bp's rcu_barrier(). */
void bench_urcu_bp_barrier(void);

#endif /* EVS_BENCH_PRIMS_H */
