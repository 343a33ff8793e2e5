/*
 * src/fault.c: allocation fault injection, built only with
 * -DEVSTORE_FAULT_INJECTION=ON (tests only; see docs/TESTING.md).
 *
 * evs__malloc and evs__calloc stand in for malloc and calloc in the library
 * (src/internal.h).  Whether call number n fails is a pure function of the
 * seed and n, so a single-threaded test replays exactly from its seed; with
 * several threads the set of failing call numbers is the same, only which
 * thread draws them changes.  Memory is still released with free().
 *
 * Ordering: all state is accessed with relaxed atomics.  Nothing is
 * published through it: a call that races evs__fault_set() may decide with
 * the old or the new setting, and either is a valid outcome for a test.
 */
#include <stdatomic.h>
#include <stdlib.h>

#include "internal.h"
#include "fault.h"

static atomic_uint_least64_t fault_seed;
static atomic_uint fault_permille;
static atomic_uint_least64_t fault_ncalls;
static atomic_uint_least64_t fault_nfail;

void
evs__fault_set(uint64_t seed, unsigned permille)
{
	if (permille > 1000)
		permille = 1000;
	/* Relaxed: settings and counters only; see the file comment. */
	atomic_store_explicit(&fault_permille, 0, memory_order_relaxed);
	atomic_store_explicit(&fault_ncalls, 0, memory_order_relaxed);
	atomic_store_explicit(&fault_nfail, 0, memory_order_relaxed);
	atomic_store_explicit(&fault_seed, seed, memory_order_relaxed);
	atomic_store_explicit(&fault_permille, permille, memory_order_relaxed);
}

uint64_t
evs__fault_calls(void)
{
	/* Relaxed: a counter, read by the test after its threads joined. */
	return atomic_load_explicit(&fault_ncalls, memory_order_relaxed);
}

uint64_t
evs__fault_failures(void)
{
	/* Relaxed: as in evs__fault_calls(). */
	return atomic_load_explicit(&fault_nfail, memory_order_relaxed);
}

/* Should this allocation fail? */
static int
should_fail(void)
{
	/* Relaxed: see the file comment; the fetch-add only numbers calls. */
	unsigned pm = atomic_load_explicit(&fault_permille, memory_order_relaxed);
	uint64_t n = atomic_fetch_add_explicit(&fault_ncalls, 1,
	    memory_order_relaxed);
	uint64_t seed = atomic_load_explicit(&fault_seed, memory_order_relaxed);

	if (pm == 0 || evs__mix64(seed ^ evs__mix64(n + 1)) % 1000 >= pm)
		return 0;
	/* Relaxed: a counter. */
	atomic_fetch_add_explicit(&fault_nfail, 1, memory_order_relaxed);
	return 1;
}

void *
evs__malloc(size_t n)
{
	return should_fail() ? NULL : malloc(n);
}

void *
evs__calloc(size_t n, size_t m)
{
	return should_fail() ? NULL : calloc(n, m);
}
