/*
 * src/tsan/ck_pr.h: what evstore uses of Concurrency Kit's <ck_pr.h>,
 * re-expressed with compiler __atomic builtins, for ThreadSanitizer builds
 * only.  CMake puts src/tsan ahead of the system include directory when
 * EVSTORE_SANITIZE=thread.
 *
 * Why: on x86-64, ck_pr loads and stores are inline assembly, which TSan
 * cannot see, so it reports races on correctly published data.  Here loads
 * are acquire loads and stores are release stores -- on x86-64 the very same
 * plain `mov` instructions ck_pr emits -- and read-modify-writes are seq_cst,
 * as `lock`-prefixed instructions are.  Fences become compiler barriers, as
 * the TSO fences of ck_pr are (TSan does not model fences; the acquire and
 * release on the accesses themselves carry every edge).
 *
 * Only the operations evstore calls are provided; using another one fails to
 * compile in TSan builds, which is the signal to add it here.
 */
#ifndef EVS_TSAN_CK_PR_H
#define EVS_TSAN_CK_PR_H

#include <stdbool.h>
#include <stdint.h>

#define ck_pr_load_ptr(src)  __atomic_load_n((src), __ATOMIC_ACQUIRE)
#define ck_pr_load_64(src)   __atomic_load_n((src), __ATOMIC_ACQUIRE)
#define ck_pr_load_32(src)   __atomic_load_n((src), __ATOMIC_ACQUIRE)
#define ck_pr_load_uint(src) __atomic_load_n((src), __ATOMIC_ACQUIRE)
#define ck_pr_load_int(src)  __atomic_load_n((src), __ATOMIC_ACQUIRE)

#define ck_pr_store_ptr(dst, v)  __atomic_store_n((dst), (v), __ATOMIC_RELEASE)
#define ck_pr_store_64(dst, v)   __atomic_store_n((dst), (v), __ATOMIC_RELEASE)
#define ck_pr_store_32(dst, v)   __atomic_store_n((dst), (v), __ATOMIC_RELEASE)
#define ck_pr_store_uint(dst, v) __atomic_store_n((dst), (v), __ATOMIC_RELEASE)
#define ck_pr_store_int(dst, v)  __atomic_store_n((dst), (v), __ATOMIC_RELEASE)

static inline bool
ck_pr_cas_ptr(void *target, void *compare, void *set)
{
	return __atomic_compare_exchange_n((void **)target, &compare, set, false,
	    __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
}

static inline bool
ck_pr_cas_64(uint64_t *target, uint64_t compare, uint64_t set)
{
	return __atomic_compare_exchange_n(target, &compare, set, false,
	    __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
}

static inline uint64_t
ck_pr_faa_64(uint64_t *target, uint64_t delta)
{
	return __atomic_fetch_add(target, delta, __ATOMIC_SEQ_CST);
}

static inline void
ck_pr_inc_64(uint64_t *target)
{
	(void)__atomic_fetch_add(target, 1, __ATOMIC_SEQ_CST);
}

static inline void
ck_pr_dec_64(uint64_t *target)
{
	(void)__atomic_fetch_sub(target, 1, __ATOMIC_SEQ_CST);
}

static inline void *
ck_pr_fas_ptr(void *target, void *v)
{
	return __atomic_exchange_n((void **)target, v, __ATOMIC_SEQ_CST);
}

#define EVS_TSAN_CK_FENCE(name) \
	static inline void ck_pr_fence_##name(void) \
	{ __atomic_signal_fence(__ATOMIC_SEQ_CST); }
EVS_TSAN_CK_FENCE(acquire)
EVS_TSAN_CK_FENCE(release)
EVS_TSAN_CK_FENCE(load)
EVS_TSAN_CK_FENCE(store)
EVS_TSAN_CK_FENCE(store_atomic)
EVS_TSAN_CK_FENCE(atomic_load)
EVS_TSAN_CK_FENCE(load_atomic)
EVS_TSAN_CK_FENCE(atomic_store)
EVS_TSAN_CK_FENCE(atomic)
#undef EVS_TSAN_CK_FENCE

static inline void
ck_pr_stall(void)
{
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
}

#endif /* EVS_TSAN_CK_PR_H */
