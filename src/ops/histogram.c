#include "histogram.h"

#include <errno.h>
#include <string.h>

static int bucket_of(uint64_t v)
{
	if (v < MC_HIST_LINEAR)
		return (int)v;
	int msb = 63 - __builtin_clzll(v); /* >= 6 */
	int octave = msb - 6;
	if (octave >= MC_HIST_OCTAVES)
		return MC_HIST_BUCKETS - 1;
	int sub = (int)((v >> (msb - 4)) & (MC_HIST_SUB - 1));
	return MC_HIST_LINEAR + octave * MC_HIST_SUB + sub;
}

/* The middle of a bucket's range, in us. */
static double bucket_value(int b)
{
	if (b < MC_HIST_LINEAR)
		return b;
	int octave = (b - MC_HIST_LINEAR) / MC_HIST_SUB, sub = (b - MC_HIST_LINEAR) % MC_HIST_SUB;
	double base = (double)(1ull << (octave + 6)), step = base / MC_HIST_SUB;
	return base + step * (sub + 0.5);
}

void mc_hist_add(struct mc_histogram *h, int64_t value_us)
{
	uint64_t v = value_us < 0 ? 0 : (uint64_t)value_us;
	__atomic_add_fetch(&h->buckets[bucket_of(v)], 1, __ATOMIC_RELAXED);
	__atomic_add_fetch(&h->sum, v, __ATOMIC_RELAXED);
	if (v > __atomic_load_n(&h->max, __ATOMIC_RELAXED))
		__atomic_store_n(&h->max, v, __ATOMIC_RELAXED);
	__atomic_add_fetch(&h->count, 1, __ATOMIC_RELEASE);
}

static double percentile(const uint32_t *b, uint64_t total, double q, double max)
{
	uint64_t rank = (uint64_t)(q * (double)total + 0.5), seen = 0;
	if (rank < 1)
		rank = 1;
	for (int i = 0; i < MC_HIST_BUCKETS; i++) {
		seen += b[i];
		if (seen >= rank) {
			double v = bucket_value(i);
			return v > max ? max : v;
		}
	}
	return max;
}

void mc_hist_summarize(const struct mc_histogram *h, struct mc_hist_summary *out)
{
	uint32_t b[MC_HIST_BUCKETS];
	uint64_t total = 0;
	for (int i = 0; i < MC_HIST_BUCKETS; i++) {
		b[i] = __atomic_load_n(&h->buckets[i], __ATOMIC_RELAXED);
		total += b[i];
	}
	memset(out, 0, sizeof(*out));
	if (total == 0)
		return;
	out->count = total;
	out->max = (double)__atomic_load_n(&h->max, __ATOMIC_RELAXED);
	out->mean = (double)__atomic_load_n(&h->sum, __ATOMIC_RELAXED) / (double)total;
	out->p50 = percentile(b, total, 0.50, out->max);
	out->p99 = percentile(b, total, 0.99, out->max);
}

int mc_hist_cumulative(const struct mc_histogram *h, const uint64_t *edges_us, int n, uint64_t *counts,
		       uint64_t *total, uint64_t *sum_us)
{
	uint64_t seen = 0;
	int next = 0;
	for (int k = 0; k < n; k++)
		if (edges_us[k] >= MC_HIST_LINEAR && (edges_us[k] & (edges_us[k] - 1)))
			return -EINVAL;
	for (int i = 0; i < MC_HIST_BUCKETS; i++) {
		while (next < n && bucket_of(edges_us[next]) <= i)
			counts[next++] = seen;
		seen += __atomic_load_n(&h->buckets[i], __ATOMIC_RELAXED);
	}
	while (next < n)
		counts[next++] = seen;
	*total = seen;
	*sum_us = __atomic_load_n(&h->sum, __ATOMIC_RELAXED);
	return 0;
}
