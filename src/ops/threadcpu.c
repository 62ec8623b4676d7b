#include "threadcpu.h"

#include <errno.h>
#include <sched.h>
#include <stdint.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

static uint64_t read_clock_ns(clockid_t clock)
{
	struct timespec ts;
	if (clock_gettime(clock, &ts))
		return 0;
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void mc_thread_cpu_begin(struct mc_thread_cpu *c)
{
	pthread_getcpuclockid(pthread_self(), &c->clock);
	__atomic_store_n(&c->running, true, __ATOMIC_RELEASE);
}

void mc_thread_cpu_end(struct mc_thread_cpu *c)
{
	mc_count_set(&c->final_ns, read_clock_ns(CLOCK_THREAD_CPUTIME_ID));
	__atomic_store_n(&c->running, false, __ATOMIC_RELEASE);
}

/* struct sched_attr of sched_setattr(2); glibc 2.36 has no wrapper, and <linux/sched/types.h> clashes
 * with <sched.h> */
struct mc_sched_attr {
	uint32_t size, sched_policy;
	uint64_t sched_flags;
	int32_t sched_nice;
	uint32_t sched_priority;
	uint64_t sched_runtime, sched_deadline, sched_period;
};

int mc_thread_sched(int slice_us, int nice_delta)
{
	id_t tid = (id_t)gettid();
	errno = 0;
	int nice = getpriority(PRIO_PROCESS, tid) + nice_delta;
	if (errno)
		return -errno;
	if (nice_delta && setpriority(PRIO_PROCESS, tid, nice))
		return -errno;
	if (slice_us <= 0)
		return 0;
	struct mc_sched_attr attr;
	memset(&attr, 0, sizeof(attr));
	attr.size = sizeof(attr);
	attr.sched_policy = SCHED_OTHER;
	attr.sched_nice = nice;
	attr.sched_runtime = (uint64_t)slice_us * 1000; /* the requested slice (sched(7)); older kernels ignore it */
	return syscall(SYS_sched_setattr, 0, &attr, 0) ? -errno : 0;
}

double mc_thread_cpu_seconds(const struct mc_thread_cpu *c)
{
	/* A read can race with the thread's exit; then the clock read fails and the final value is used. */
	if (__atomic_load_n(&c->running, __ATOMIC_ACQUIRE)) {
		uint64_t v = read_clock_ns(c->clock);
		if (v > 0)
			return (double)v / 1e9;
	}
	return (double)mc_count_get(&c->final_ns) / 1e9;
}
