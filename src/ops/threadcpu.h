/* CPU time of one thread, readable from another thread while it runs and after it ended (a thread's CPU
 * clock is gone once it exits, so the thread records its total on the way out). */
#ifndef MC_THREADCPU_H
#define MC_THREADCPU_H

#include <pthread.h>
#include <stdbool.h>
#include <time.h>

#include "counter.h"

struct mc_thread_cpu {
	clockid_t clock; /* written before `running` is set (release), read after it is seen (acquire) */
	bool running;
	mc_counter final_ns; /* the total, set on the way out */
};

/* Called by the thread itself, first and last. */
void mc_thread_cpu_begin(struct mc_thread_cpu *c);
void mc_thread_cpu_end(struct mc_thread_cpu *c);
double mc_thread_cpu_seconds(const struct mc_thread_cpu *c);

/* Scheduling of the calling thread for short, latency-bound work: a time slice of `slice_us` (Linux 6.12+
 * EEVDF: a waking thread with a shorter slice preempts a running one instead of waiting up to the default
 * 3 ms slice), and `nice_delta` added to its nice value. Best effort: returns 0 or -errno, changes nothing
 * that the kernel refuses. */
int mc_thread_sched(int slice_us, int nice_delta);

#endif
