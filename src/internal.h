/*
 * src/internal.h: helpers shared between the library's files (evs__ names).
 * Not installed.
 */
#ifndef EVS_INTERNAL_H
#define EVS_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <evstore/backend.h>

#define evs__container_of(ptr, type, member) \
	((type *)(void *)((char *)(ptr) - offsetof(type, member)))

#if defined(__GNUC__)
#define evs__likely(x)   __builtin_expect(!!(x), 1)
#define evs__unlikely(x) __builtin_expect(!!(x), 0)
#else
#define evs__likely(x)   (x)
#define evs__unlikely(x) (x)
#endif

/* ---- sanitizer annotations ------------------------------------------- */
#if defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define EVS__TSAN 1
#endif
#endif
#if defined(__SANITIZE_THREAD__)
#define EVS__TSAN 1
#endif

#ifdef EVS__TSAN
#include <sanitizer/tsan_interface.h>
/* Tell TSan about a happens-before edge that passes through code it cannot
 * see (liburcu, libck): release on the sending side, acquire on the
 * receiving side of the same address. */
#define evs__tsan_release(p) __tsan_release((void *)(p))
#define evs__tsan_acquire(p) __tsan_acquire((void *)(p))
#else
#define evs__tsan_release(p) ((void)(p))
#define evs__tsan_acquire(p) ((void)(p))
#endif

/* ---- fault injection (test builds only) -------------------------------- */
#ifdef EVS_FAULT_INJECTION
/* src/fault.c: malloc/calloc that fail on demand; controlled by the
 * evs__fault_* functions of src/fault.h (tests only). */
void *evs__malloc(size_t n);
void *evs__calloc(size_t n, size_t m);
#else
#include <stdlib.h>
#define evs__malloc(n)    malloc(n)
#define evs__calloc(n, m) calloc((n), (m))
#endif

/* ---- stress points (test builds only) ---------------------------------- */
/*
 * EVS__STRESS_POINT() marks a place where a preemption widens a race window
 * (between publishing a slot and advancing tail, between loading a record
 * pointer and reading the record, ...).  With -DEVSTORE_STRESS_POINTS=ON it
 * sometimes yields the CPU, spins or sleeps a few microseconds (src/stress.c);
 * otherwise it compiles to nothing.  It never synchronizes anything: it only
 * perturbs the schedule so the stress tests see rare interleavings often.
 */
#ifdef EVS_STRESS_POINTS
void evs__stress_point(void);
#define EVS__STRESS_POINT() evs__stress_point()
#else
#define EVS__STRESS_POINT() ((void)0)
#endif

/* ---- hashing ------------------------------------------------------------ */
/* A seeded 64-bit hash for session ids (multiply-fold; not cryptographic,
 * but keyed per store so an outsider cannot aim many ids at one bucket
 * without learning the seed).  Shared by the memory store and the bench's
 * baselines so every contender hashes the same way. */
uint64_t evs__hash(const void *key, size_t len, uint64_t seed);

/* 64 random bits from the kernel (getrandom), falling back to time and
 * address entropy if that fails.  Never blocks for long. */
uint64_t evs__random64(void);

/* splitmix64's finaliser: a bijection on 64-bit values. */
static inline uint64_t
evs__mix64(uint64_t x)
{
	x ^= x >> 30;
	x *= UINT64_C(0xbf58476d1ce4e5b9);
	x ^= x >> 27;
	x *= UINT64_C(0x94d049bb133111eb);
	x ^= x >> 31;
	return x;
}

/* CLOCK_REALTIME in nanoseconds. */
int64_t evs__now_ns(void);

/* Length of a session id if it is valid (1..EVS_SESSION_ID_MAX bytes),
 * else 0.  Reads at most EVS_SESSION_ID_MAX + 1 bytes. */
size_t evs__session_len(const char *session);

#endif /* EVS_INTERNAL_H */
