/* The network thread: one epoll loop over the outputs' sockets, a wake-up eventfd (frames queued by the
 * encoders), a 1 s timer (RTCP) and the pacers' timer. It owns the outputs' sockets and SRTP sessions. */
#ifndef MC_NETLOOP_H
#define MC_NETLOOP_H

#include <pthread.h>
#include <stdbool.h>
#include <time.h>

#include "output.h"
#include "threadcpu.h"

#define MC_NETLOOP_MAX_OUTPUTS MC_MAX_OUTPUTS

struct mc_netloop {
	int epfd, wake_fd, timer_fd;
	int pacer_fd; /* one-shot timer: when the earliest pacer lets its next packet go */
	int64_t pacer_armed_us;
	int n_outputs;
	struct mc_output *outputs[MC_NETLOOP_MAX_OUTPUTS];
	pthread_t thread;
	bool started, stop;
	struct mc_thread_cpu cpu;
};

int mc_netloop_init(struct mc_netloop *nl);
int mc_netloop_add_output(struct mc_netloop *nl, struct mc_output *o);
int mc_netloop_start(struct mc_netloop *nl);
/* Sends what is queued, then RTCP BYE on every output, and joins the thread. */
void mc_netloop_stop(struct mc_netloop *nl);
void mc_netloop_finish(struct mc_netloop *nl);

#endif
