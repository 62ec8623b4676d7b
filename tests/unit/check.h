/* A tiny test harness for the unit tests: no dependency beyond libc.
 *
 *   static void test_something(void) { CHECK(x > 0); CHECK_EQ(f(1), 2); }
 *   int main(void) { RUN(test_something); return check_done(); }
 *
 * A failed check prints "file:line: CHECK(...) failed" (with both values for the _EQ forms) to stderr and
 * counts; the test goes on. RUN() also fails a test function that made no check at all. check_done()
 * prints a summary and returns the process exit status: 0 only when every check passed. */
#ifndef MC_TEST_CHECK_H
#define MC_TEST_CHECK_H

#include <stdio.h>
#include <string.h>

static int check_failures_ __attribute__((unused));
static int check_total_ __attribute__((unused));

#define CHECK_FAIL_(...)                                            \
	do {                                                        \
		check_failures_++;                                  \
		fflush(stdout);                                     \
		fprintf(stderr, "%s:%d: ", __FILE__, __LINE__);     \
		fprintf(stderr, __VA_ARGS__);                       \
		fputc('\n', stderr);                                \
	} while (0)

#define CHECK(cond)                                                         \
	do {                                                                \
		check_total_++;                                             \
		if (!(cond))                                                \
			CHECK_FAIL_("CHECK(%s) failed", #cond);              \
	} while (0)

/* Integers (anything that fits a long long, signed or not). */
#define CHECK_EQ(a, b)                                                                              \
	do {                                                                                        \
		long long ca_ = (long long)(a), cb_ = (long long)(b);                               \
		check_total_++;                                                                     \
		if (ca_ != cb_)                                                                     \
			CHECK_FAIL_("CHECK_EQ(%s, %s) failed: %lld != %lld (0x%llx != 0x%llx)", #a, #b, ca_, \
				    cb_, (unsigned long long)ca_, (unsigned long long)cb_);                  \
	} while (0)

/* Unsigned 64-bit values (NTP timestamps, counters). */
#define CHECK_EQ_U64(a, b)                                                                                  \
	do {                                                                                                \
		unsigned long long ca_ = (unsigned long long)(a), cb_ = (unsigned long long)(b);            \
		check_total_++;                                                                             \
		if (ca_ != cb_)                                                                             \
			CHECK_FAIL_("CHECK_EQ_U64(%s, %s) failed: 0x%llx != 0x%llx", #a, #b, ca_, cb_);     \
	} while (0)

#define CHECK_STR_EQ(a, b)                                                                  \
	do {                                                                                \
		const char *ca_ = (a), *cb_ = (b);                                          \
		check_total_++;                                                             \
		if (strcmp(ca_, cb_) != 0)                                                  \
			CHECK_FAIL_("CHECK_STR_EQ(%s, %s) failed: \"%s\" != \"%s\"", #a, #b, ca_, cb_); \
	} while (0)

#define CHECK_MEM_EQ(a, b, n)                                                                  \
	do {                                                                                   \
		check_total_++;                                                                \
		if (memcmp((a), (b), (n)) != 0)                                                \
			CHECK_FAIL_("CHECK_MEM_EQ(%s, %s, %s) failed", #a, #b, #n);             \
	} while (0)

/* |a - b| <= tol, for doubles. */
#define CHECK_NEAR(a, b, tol)                                                                     \
	do {                                                                                      \
		double ca_ = (double)(a), cb_ = (double)(b), ct_ = (double)(tol);                 \
		check_total_++;                                                                   \
		if (!(ca_ - cb_ <= ct_ && cb_ - ca_ <= ct_))                                      \
			CHECK_FAIL_("CHECK_NEAR(%s, %s, %s) failed: %g vs %g", #a, #b, #tol, ca_, cb_); \
	} while (0)

/* Run one test function; one that checked nothing is a failure (a test must assert behaviour). */
#define RUN(fn)                                                                    \
	do {                                                                       \
		int before_ = check_total_, failed_ = check_failures_;             \
		printf("-- %s\n", #fn);                                            \
		fflush(stdout);                                                    \
		fn();                                                              \
		if (check_total_ == before_)                                       \
			CHECK_FAIL_("%s made no check", #fn);                     \
		printf("   %s: %d checks, %s\n", #fn, check_total_ - before_,      \
		       check_failures_ == failed_ ? "ok" : "FAILED");               \
		fflush(stdout);                                                    \
	} while (0)

static inline int check_done(void)
{
	printf("%d checks, %d failed\n", check_total_, check_failures_);
	fflush(stdout);
	return check_failures_ ? 1 : 0;
}

#endif
