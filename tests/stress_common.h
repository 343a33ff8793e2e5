/*
 * tests/stress_common.h: what the stress tests share -- the check counters
 * and CHECK macro, the payload checksum and a small PRNG.  Each stress test
 * is its own executable, so these statics are per test.  Define STRESS_NAME
 * (the test's name, for failure messages) before including it.
 */
#ifndef EVS_TEST_STRESS_COMMON_H
#define EVS_TEST_STRESS_COMMON_H

#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>

#ifndef STRESS_NAME
#error "define STRESS_NAME before including stress_common.h"
#endif

static atomic_ulong checks_passed, checks_failed;

/* Count a check; print a failed one with its place and a message. */
#define CHECK(cond, ...) do {                                          \
	if (cond) {                                                    \
		/* Relaxed: counters, read after the threads are joined. */ \
		atomic_fetch_add_explicit(&checks_passed, 1,           \
		    memory_order_relaxed);                             \
	} else {                                                       \
		atomic_fetch_add_explicit(&checks_failed, 1,           \
		    memory_order_relaxed);                             \
		fprintf(stderr, STRESS_NAME ": check failed at %s:%d: ", \
		    __FILE__, __LINE__);                               \
		fprintf(stderr, __VA_ARGS__);                          \
		fputc('\n', stderr);                                   \
	}                                                              \
} while (0)

/* Binds a payload to its session, writer and sequence number: a torn,
 * foreign or misplaced payload fails it. */
static inline uint64_t
stress_checksum(uint32_t session, uint32_t writer, uint64_t seq)
{
	uint64_t x = ((uint64_t)session << 32 | writer) ^
	    (seq * UINT64_C(0x9e3779b97f4a7c15));

	x ^= x >> 29;
	return x * UINT64_C(0xbf58476d1ce4e5b9);
}

/* xorshift64: a per-thread PRNG for choosing sessions and operations. */
static inline uint64_t
xorshift(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

#endif
