/* A fixed-size log-linear histogram of microsecond values (about 6% resolution from 64 us up, exact below),
 * for latency percentiles without storing samples. Written by one thread; read by the stats thread with
 * relaxed atomics (a percentile read during an update may be off by one sample, which is fine). */
#ifndef MC_HISTOGRAM_H
#define MC_HISTOGRAM_H

#include <stdint.h>

#define MC_HIST_LINEAR 64
#define MC_HIST_SUB 16
#define MC_HIST_OCTAVES 22 /* up to 2^28 us, about 4.5 minutes */
#define MC_HIST_BUCKETS (MC_HIST_LINEAR + MC_HIST_SUB * MC_HIST_OCTAVES)

struct mc_histogram {
	uint64_t count;
	uint64_t sum;
	uint64_t max;
	uint32_t buckets[MC_HIST_BUCKETS];
};

struct mc_hist_summary {
	uint64_t count;
	double mean, p50, p99, max;
};

void mc_hist_add(struct mc_histogram *h, int64_t value_us);
void mc_hist_summarize(const struct mc_histogram *h, struct mc_hist_summary *out);

/* Cumulative counts for Prometheus buckets: counts[i] = values below edges_us[i], each edge the lower bound of
 * one of our buckets (any value below MC_HIST_LINEAR, or a power of two: exact, not interpolated). Also the
 * total count and the sum (us). Returns -EINVAL when an edge is not a bucket bound. */
int mc_hist_cumulative(const struct mc_histogram *h, const uint64_t *edges_us, int n, uint64_t *counts,
		       uint64_t *total, uint64_t *sum_us);

#endif
