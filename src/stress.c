/*
 * src/stress.c: the schedule perturbation behind EVS__STRESS_POINT(), built
 * only with -DEVSTORE_STRESS_POINTS=ON (tests only; see src/internal.h and
 * docs/TESTING.md).
 *
 * At each stress point a thread draws from its own generator: about 1 in 8
 * points yields the CPU, 1 in 16 spins a few hundred iterations, 1 in 256
 * sleeps 1-20 microseconds.  With more threads than cores, a thread
 * preempted at a stress point keeps a race window open while others run.
 * Nothing waits for anything: correctness never depends on these delays.
 * EVS_STRESS_POINTS=0 in the environment turns them off at run time.
 */
#include <sched.h>
#include <stdlib.h>
#include <time.h>

#include "internal.h"

static _Thread_local uint64_t stress_rng;
static _Thread_local int stress_off;   /* -1 off, 1 on, 0 not decided yet */

void
evs__stress_point(void)
{
	uint64_t x;

	if (evs__unlikely(stress_off == 0)) {
		const char *e = getenv("EVS_STRESS_POINTS");

		stress_off = e != NULL && e[0] == '0' ? -1 : 1;
		stress_rng = evs__random64() | 1;
	}
	if (stress_off < 0)
		return;
	x = stress_rng = evs__mix64(stress_rng);
	switch (x & 255) {
	case 0: {
		struct timespec ts = { 0, 1000 + (long)((x >> 8) % 20000) };

		(void)nanosleep(&ts, NULL);
		break;
	}
	default:
		if ((x & 7) == 1) {
			(void)sched_yield();
		} else if ((x & 15) == 2) {
			/* A compiler barrier only, so the delay loop is
			 * not optimized away; it orders nothing. */
			for (unsigned i = (unsigned)((x >> 8) & 511); i > 0; i--)
				__asm__ __volatile__("" ::: "memory");
		}
		break;
	}
}
