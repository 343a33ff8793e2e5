/*
 * bench/hist.h: a latency histogram with log-linear buckets.
 *
 * Values (nanoseconds) below 128 get a bucket each; above, every power of
 * two is cut into 64 equal buckets, so a reported percentile is within
 * 1/64 (1.6%) of the true value.  Written for evstore's harness (the idea is
 * HdrHistogram's: constant relative precision in a fixed array).
 * Not thread-safe: one histogram per thread, merged afterwards.
 */
#ifndef EVS_BENCH_HIST_H
#define EVS_BENCH_HIST_H

#include <stdint.h>

#define BENCH_HIST_LINEAR  128u
#define BENCH_HIST_SUB     64u
#define BENCH_HIST_BUCKETS (BENCH_HIST_LINEAR + 57u * BENCH_HIST_SUB)

struct bench_hist {
	uint64_t count;
	uint64_t min;
	uint64_t max;
	double   sum;
	uint64_t b[BENCH_HIST_BUCKETS];
};

/* Empty the histogram. */
void bench_hist_reset(struct bench_hist *h);
/* Record one value. */
void bench_hist_record(struct bench_hist *h, uint64_t v);
/* Add src's counts to dst. */
void bench_hist_merge(struct bench_hist *dst, const struct bench_hist *src);
/* The value at quantile q (0 < q <= 1): the highest value of the bucket that
 * holds the ceil(q * count)-th smallest value, clamped to [min, max].
 * 0 when the histogram is empty. */
uint64_t bench_hist_quantile(const struct bench_hist *h, double q);
/* Mean of the recorded values (exact), 0 when empty. */
double bench_hist_mean(const struct bench_hist *h);
/* Bucket index of v, and the highest value a bucket holds (for tests). */
unsigned bench_hist_index(uint64_t v);
uint64_t bench_hist_bucket_high(unsigned idx);

#endif /* EVS_BENCH_HIST_H */
