/* The latency histogram: exact below 64 us, about 6% resolution above, exact max, count and mean. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "histogram.h"

#define RESOLUTION 0.06 /* documented in histogram.h */

static struct mc_histogram g_h;

static void reset(void) { memset(&g_h, 0, sizeof(g_h)); }

static void test_empty(void)
{
	reset();
	struct mc_hist_summary s;
	memset(&s, 0xff, sizeof(s));
	mc_hist_summarize(&g_h, &s);
	CHECK_EQ(s.count, 0);
	CHECK(s.mean == 0 && s.p50 == 0 && s.p99 == 0 && s.max == 0);
}

static void test_exact_small_values(void)
{
	struct mc_hist_summary s;
	reset();
	for (int i = 0; i < 10; i++)
		mc_hist_add(&g_h, 37);
	mc_hist_summarize(&g_h, &s);
	CHECK_EQ(s.count, 10);
	CHECK(s.p50 == 37);
	CHECK(s.p99 == 37);
	CHECK(s.max == 37);
	CHECK(s.mean == 37);

	/* 0..63 are their own buckets: 1..50 uniformly gives p50 = 25, p99 = 50 exactly (rank = q * n, rounded) */
	reset();
	for (int v = 1; v <= 50; v++)
		mc_hist_add(&g_h, v);
	mc_hist_summarize(&g_h, &s);
	CHECK_EQ(s.count, 50);
	CHECK(s.p50 == 25);
	CHECK(s.p99 == 50);
	CHECK(s.max == 50);
	CHECK_NEAR(s.mean, 25.5, 1e-12);

	/* a negative value (a clock step) counts as 0 */
	reset();
	mc_hist_add(&g_h, -5);
	mc_hist_add(&g_h, -1000000);
	mc_hist_summarize(&g_h, &s);
	CHECK_EQ(s.count, 2);
	CHECK(s.p50 == 0 && s.max == 0 && s.mean == 0);
}

static void test_uniform(void)
{
	struct mc_hist_summary s;
	reset();
	uint64_t sum = 0;
	for (int v = 1; v <= 10000; v++) {
		mc_hist_add(&g_h, v);
		sum += (uint64_t)v;
	}
	mc_hist_summarize(&g_h, &s);
	CHECK_EQ(s.count, 10000);
	CHECK(s.max == 10000); /* exact */
	CHECK_NEAR(s.mean, (double)sum / 10000, 1e-9);
	CHECK_NEAR(s.p50, 5000, 5000 * RESOLUTION);
	CHECK_NEAR(s.p99, 9900, 9900 * RESOLUTION);
	CHECK(s.p99 <= s.max);
	CHECK(s.p50 <= s.p99);
}

static void test_bimodal(void)
{
	/* 97% fast frames at 2 ms, 3% slow ones at 150 ms: p50 is fast, p99 slow */
	struct mc_hist_summary s;
	reset();
	for (int i = 0; i < 9700; i++)
		mc_hist_add(&g_h, 2000);
	for (int i = 0; i < 300; i++)
		mc_hist_add(&g_h, 150000);
	mc_hist_add(&g_h, 987654); /* one outlier: the max is exact */
	mc_hist_summarize(&g_h, &s);
	CHECK_EQ(s.count, 10001);
	CHECK_NEAR(s.p50, 2000, 2000 * RESOLUTION);
	CHECK_NEAR(s.p99, 150000, 150000 * RESOLUTION);
	CHECK(s.max == 987654);
	CHECK_NEAR(s.mean, (9700.0 * 2000 + 300.0 * 150000 + 987654) / 10001, 1e-6);
}

static void test_resolution_sweep(void)
{
	/* For a value v and a much larger one, p50 is v's bucket: within the resolution of v for every v up
	 * to 2^28 us, exact below 64. */
	struct mc_hist_summary s;
	double worst = 0;
	int64_t worst_v = 0;
	int exact_below_64 = 1;
	for (int64_t v = 0; v < (1ll << 28); v += 1 + v / 211) {
		reset();
		mc_hist_add(&g_h, v);
		mc_hist_add(&g_h, 1ll << 29);
		mc_hist_summarize(&g_h, &s);
		if (v < 64) {
			exact_below_64 &= s.p50 == (double)v;
			continue;
		}
		double err = (s.p50 - (double)v) / (double)v;
		if (err < 0)
			err = -err;
		if (err > worst) {
			worst = err;
			worst_v = v;
		}
	}
	CHECK(exact_below_64);
	if (worst > RESOLUTION)
		fprintf(stderr, "worst relative error %.4f at %lld us\n", worst, (long long)worst_v);
	CHECK(worst <= RESOLUTION);
	CHECK(worst > 0); /* a real histogram, not a sample store */
}

static void test_huge_values(void)
{
	/* past the last octave: counted in the last bucket, p50 never above the exact max */
	struct mc_hist_summary s;
	reset();
	mc_hist_add(&g_h, 1ll << 40);
	mc_hist_summarize(&g_h, &s);
	CHECK_EQ(s.count, 1);
	CHECK(s.max == (double)(1ll << 40));
	CHECK(s.p50 <= s.max);
	CHECK(s.p50 >= (double)(1ll << 27));
	/* one value: p50 and p99 are clamped to max, so a lone 1000 us sample reads 1000 */
	reset();
	mc_hist_add(&g_h, 1000);
	mc_hist_summarize(&g_h, &s);
	CHECK(s.p50 == 1000);
	CHECK(s.p99 == 1000);
	CHECK(s.max == 1000);
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return (x > y) - (x < y);
}

static void test_random_distribution(void)
{
	/* an exponential-ish distribution: compare with the exact percentiles of the sorted samples */
	enum { N = 20000 };
	static int64_t samples[N];
	srand(42);
	reset();
	for (int i = 0; i < N; i++) {
		int64_t v = 500 + (int64_t)(rand() % 1000) * (int64_t)(rand() % 1000) / 10;
		samples[i] = v;
		mc_hist_add(&g_h, v);
	}
	qsort(samples, N, sizeof(samples[0]), cmp_i64);
	struct mc_hist_summary s;
	mc_hist_summarize(&g_h, &s);
	double p50 = (double)samples[N / 2 - 1], p99 = (double)samples[N * 99 / 100 - 1];
	CHECK_EQ(s.count, N);
	CHECK(s.max == (double)samples[N - 1]);
	CHECK_NEAR(s.p50, p50, p50 * RESOLUTION);
	CHECK_NEAR(s.p99, p99, p99 * RESOLUTION);
}

/* Prometheus buckets: counts of values below each power-of-two edge, exact (not interpolated). */
static void test_cumulative(void)
{
	reset();
	static const int64_t values[] = { 0, 5, 63, 64, 127, 128, 1000, 1023, 1024, 1025, 50000, 1 << 30 };
	uint64_t want_sum = 0;
	for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
		mc_hist_add(&g_h, values[i]);
		want_sum += (uint64_t)values[i];
	}
	static const uint64_t edges[] = { 10, 64, 128, 1024, 65536, 1u << 24 };
	uint64_t counts[6], total, sum;
	CHECK_EQ(mc_hist_cumulative(&g_h, edges, 6, counts, &total, &sum), 0);
	CHECK_EQ_U64(counts[0], 2);  /* 0, 5 */
	CHECK_EQ_U64(counts[1], 3);  /* and 63 */
	CHECK_EQ_U64(counts[2], 5);  /* and 64, 127 */
	CHECK_EQ_U64(counts[3], 8);  /* and 128, 1000, 1023 (1024 is the next bucket's) */
	CHECK_EQ_U64(counts[4], 11); /* and 1024, 1025, 50000 */
	CHECK_EQ_U64(counts[5], 11);
	CHECK_EQ_U64(total, 12);
	CHECK_EQ_U64(sum, want_sum);
	static const uint64_t not_bounds[] = { 64, 1000 };
	CHECK_EQ(mc_hist_cumulative(&g_h, not_bounds, 2, counts, &total, &sum), -EINVAL);
}

int main(void)
{
	RUN(test_empty);
	RUN(test_exact_small_values);
	RUN(test_uniform);
	RUN(test_bimodal);
	RUN(test_resolution_sweep);
	RUN(test_huge_values);
	RUN(test_random_distribution);
	RUN(test_cumulative);
	return check_done();
}
