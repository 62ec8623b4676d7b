/* The network thread: one epoll loop over the outputs' sockets, a wake-up eventfd (frames queued by the
 * encoders), a 1 s timer (RTCP) and the pacers' timer. It owns the outputs' sockets and SRTP sessions. */
#ifndef MC_NETLOOP_H
#define MC_NETLOOP_H

#include <pthread.h>
#include <stdbool.h>
#include <time.h>

#include "counter.h"
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
	bool exited;            /* atomic: the thread has ended (a stop, or a fatal error) */
	mc_counter heartbeat_us; /* CLOCK_MONOTONIC of the loop's last turn: /healthz */
	struct mc_thread_cpu cpu;
	/* mc_netloop_call: one function at a time runs on the network thread between its turns */
	pthread_mutex_t call_lock;
	pthread_cond_t call_done;
	void (*call_fn)(struct mc_netloop *nl, void *arg);
	void *call_arg;
	bool call_pending; /* atomic */
};

/* What a netloop is before init, or after a failed one: finish() may be called on it. A zeroed struct is
 * not: fd 0 would look like its epoll fd. */
#define MC_NETLOOP_EMPTY                                                                                  \
	{ .epfd = -1, .wake_fd = -1, .timer_fd = -1, .pacer_fd = -1, .pacer_armed_us = INT64_MAX,          \
	  .call_lock = PTHREAD_MUTEX_INITIALIZER, .call_done = PTHREAD_COND_INITIALIZER }

int mc_netloop_init(struct mc_netloop *nl);
int mc_netloop_add_output(struct mc_netloop *nl, struct mc_output *o);
int mc_netloop_start(struct mc_netloop *nl);
/* Runs fn(nl, arg) on the network thread between two turns of its loop and waits for it (the thread that
 * owns the outputs applies a reload's changes to them); before the thread starts or after it ended, here. */
void mc_netloop_call(struct mc_netloop *nl, void (*fn)(struct mc_netloop *nl, void *arg), void *arg);
/* Network thread (through mc_netloop_call): sends what `o` has queued, RTCP BYE for its layers, and drops
 * it from the loop. The caller destroys it. */
void mc_netloop_remove_output(struct mc_netloop *nl, struct mc_output *o);
/* Sends what is queued, then RTCP BYE on every output, and joins the thread. */
void mc_netloop_stop(struct mc_netloop *nl);
void mc_netloop_finish(struct mc_netloop *nl);

#endif
