/* Counters that one thread writes and others read (the HTTP thread's /stats, the daemon at exit).
 * A plain uint64_t there is a data race, and on a 32-bit board a torn read. A wrapper type rather than
 * __atomic calls at each use: a plain `c.v++` is visible in review, and the compiler refuses `c++`.
 * Relaxed ordering: each counter is a statistic on its own, nothing is published through it. */
#ifndef MC_COUNTER_H
#define MC_COUNTER_H

#include <stdint.h>

typedef struct {
	uint64_t v;
} mc_counter;

static inline void mc_count_add(mc_counter *c, uint64_t n) { __atomic_fetch_add(&c->v, n, __ATOMIC_RELAXED); }
static inline void mc_count_inc(mc_counter *c) { mc_count_add(c, 1); }
static inline uint64_t mc_count_get(const mc_counter *c) { return __atomic_load_n(&c->v, __ATOMIC_RELAXED); }
/* For values that are set rather than added to (a current state, a gauge). */
static inline void mc_count_set(mc_counter *c, uint64_t v) { __atomic_store_n(&c->v, v, __ATOMIC_RELAXED); }

#endif
