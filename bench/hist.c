/*
 * bench/hist.c: log-linear latency histogram (see hist.h).
 *
 * Bucket layout: index v for v < 128.  For v >= 128 with highest set bit
 * m (7..63), shift = m - 6 puts v >> shift in [64, 128); the bucket is
 * 128 + (shift - 1) * 64 + ((v >> shift) - 64).
 */
#include <string.h>

#include "hist.h"

unsigned
bench_hist_index(uint64_t v)
{
	unsigned msb, shift;

	if (v < BENCH_HIST_LINEAR)
		return (unsigned)v;
	msb = 63u - (unsigned)__builtin_clzll(v);
	shift = msb - 6u;
	return BENCH_HIST_LINEAR + (shift - 1u) * BENCH_HIST_SUB +
	    (unsigned)((v >> shift) - BENCH_HIST_SUB);
}

uint64_t
bench_hist_bucket_high(unsigned idx)
{
	unsigned shift, sub;

	if (idx < BENCH_HIST_LINEAR)
		return idx;
	shift = (idx - BENCH_HIST_LINEAR) / BENCH_HIST_SUB + 1u;
	sub = (idx - BENCH_HIST_LINEAR) % BENCH_HIST_SUB + BENCH_HIST_SUB;
	if (shift >= 57u && sub == 2u * BENCH_HIST_SUB - 1u)
		return UINT64_MAX;
	return (((uint64_t)sub + 1u) << shift) - 1u;
}

void
bench_hist_reset(struct bench_hist *h)
{
	memset(h, 0, sizeof(*h));
	h->min = UINT64_MAX;
}

void
bench_hist_record(struct bench_hist *h, uint64_t v)
{
	h->b[bench_hist_index(v)]++;
	h->count++;
	h->sum += (double)v;
	if (v < h->min)
		h->min = v;
	if (v > h->max)
		h->max = v;
}

void
bench_hist_merge(struct bench_hist *dst, const struct bench_hist *src)
{
	for (unsigned i = 0; i < BENCH_HIST_BUCKETS; i++)
		dst->b[i] += src->b[i];
	dst->count += src->count;
	dst->sum += src->sum;
	if (src->min < dst->min)
		dst->min = src->min;
	if (src->max > dst->max)
		dst->max = src->max;
}

uint64_t
bench_hist_quantile(const struct bench_hist *h, double q)
{
	uint64_t rank, seen = 0, v;

	if (h->count == 0)
		return 0;
	if (q >= 1.0)
		return h->max;
	rank = (uint64_t)(q * (double)h->count);
	if ((double)rank < q * (double)h->count)
		rank++;
	if (rank == 0)
		rank = 1;
	for (unsigned i = 0; i < BENCH_HIST_BUCKETS; i++) {
		seen += h->b[i];
		if (seen >= rank) {
			v = bench_hist_bucket_high(i);
			if (v > h->max)
				v = h->max;
			if (v < h->min)
				v = h->min;
			return v;
		}
	}
	return h->max;
}

double
bench_hist_mean(const struct bench_hist *h)
{
	return h->count == 0 ? 0.0 : h->sum / (double)h->count;
}
