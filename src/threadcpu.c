#include "threadcpu.h"

static double read_clock(clockid_t clock)
{
	struct timespec ts;
	if (clock_gettime(clock, &ts))
		return 0;
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void mc_thread_cpu_begin(struct mc_thread_cpu *c)
{
	pthread_getcpuclockid(pthread_self(), &c->clock);
	__atomic_store_n(&c->running, true, __ATOMIC_RELEASE);
}

void mc_thread_cpu_end(struct mc_thread_cpu *c)
{
	c->final_s = read_clock(CLOCK_THREAD_CPUTIME_ID);
	__atomic_store_n(&c->running, false, __ATOMIC_RELEASE);
}

double mc_thread_cpu_seconds(const struct mc_thread_cpu *c)
{
	/* A read can race with the thread's exit; then the clock read fails and the final value is used. */
	if (__atomic_load_n(&c->running, __ATOMIC_ACQUIRE)) {
		double v = read_clock(c->clock);
		if (v > 0)
			return v;
	}
	return c->final_s;
}
