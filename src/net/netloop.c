#include "netloop.h"

#include <errno.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "log.h"

#define MOD "net"
#define TAG_WAKE (-1)
#define TAG_TIMER (-2)
#define TAG_PACER (-3)

int mc_netloop_init(struct mc_netloop *nl)
{
	*nl = (struct mc_netloop)MC_NETLOOP_EMPTY;
	if ((nl->epfd = epoll_create1(EPOLL_CLOEXEC)) < 0 ||
	    (nl->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) < 0 ||
	    (nl->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC)) < 0 ||
	    (nl->pacer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC)) < 0) {
		int e = errno;
		mc_netloop_finish(nl);
		return -e;
	}
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = (uint64_t)(int64_t)TAG_WAKE };
	epoll_ctl(nl->epfd, EPOLL_CTL_ADD, nl->wake_fd, &ev);
	ev.data.u64 = (uint64_t)(int64_t)TAG_TIMER;
	epoll_ctl(nl->epfd, EPOLL_CTL_ADD, nl->timer_fd, &ev);
	ev.data.u64 = (uint64_t)(int64_t)TAG_PACER;
	epoll_ctl(nl->epfd, EPOLL_CTL_ADD, nl->pacer_fd, &ev);
	/* RTCP SRs every second (RFC 3550's minimum interval is 5 s; receivers that map RTP to wall time
	 * and SFUs that estimate bandwidth want them sooner; browsers send theirs about every second) */
	struct itimerspec its = { .it_interval = { 1, 0 }, .it_value = { 0, 200 * 1000 * 1000 } };
	timerfd_settime(nl->timer_fd, 0, &its, NULL);
	return 0;
}

/* tag: output index * 2, + 1 for its RTCP socket */
static int watch_output(struct mc_netloop *nl, struct mc_output *o, int index, int op)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = (uint64_t)index * 2 };
	if (epoll_ctl(nl->epfd, op, o->fd, &ev) < 0)
		return -errno;
	ev.data.u64++;
	if (o->rtcp_fd >= 0 && epoll_ctl(nl->epfd, op, o->rtcp_fd, &ev) < 0)
		return -errno;
	return 0;
}

int mc_netloop_add_output(struct mc_netloop *nl, struct mc_output *o)
{
	if (nl->n_outputs == MC_NETLOOP_MAX_OUTPUTS)
		return -ENOSPC;
	int rc = watch_output(nl, o, nl->n_outputs, EPOLL_CTL_ADD);
	if (rc) {
		epoll_ctl(nl->epfd, EPOLL_CTL_DEL, o->fd, NULL);
		return rc;
	}
	nl->outputs[nl->n_outputs++] = o;
	return 0;
}

void mc_netloop_remove_output(struct mc_netloop *nl, struct mc_output *o)
{
	int k = 0;
	while (k < nl->n_outputs && nl->outputs[k] != o)
		k++;
	if (k == nl->n_outputs)
		return;
	mc_output_flush(o);
	mc_output_pace(o, mc_now_us()); /* what may leave now: the output is going */
	mc_output_send_rtcp(o, true);
	epoll_ctl(nl->epfd, EPOLL_CTL_DEL, o->fd, NULL);
	if (o->rtcp_fd >= 0)
		epoll_ctl(nl->epfd, EPOLL_CTL_DEL, o->rtcp_fd, NULL);
	for (int i = k; i + 1 < nl->n_outputs; i++) {
		nl->outputs[i] = nl->outputs[i + 1];
		watch_output(nl, nl->outputs[i], i, EPOLL_CTL_MOD); /* the tags name the index */
	}
	nl->n_outputs--;
}

static void run_call(struct mc_netloop *nl)
{
	if (!__atomic_load_n(&nl->call_pending, __ATOMIC_ACQUIRE))
		return;
	pthread_mutex_lock(&nl->call_lock);
	if (nl->call_fn)
		nl->call_fn(nl, nl->call_arg);
	nl->call_fn = NULL;
	__atomic_store_n(&nl->call_pending, false, __ATOMIC_RELEASE);
	pthread_cond_broadcast(&nl->call_done);
	pthread_mutex_unlock(&nl->call_lock);
}

void mc_netloop_call(struct mc_netloop *nl, void (*fn)(struct mc_netloop *nl, void *arg), void *arg)
{
	pthread_mutex_lock(&nl->call_lock);
	if (!__atomic_load_n(&nl->started, __ATOMIC_ACQUIRE) || __atomic_load_n(&nl->exited, __ATOMIC_ACQUIRE)) {
		fn(nl, arg);
		pthread_mutex_unlock(&nl->call_lock);
		return;
	}
	nl->call_fn = fn;
	nl->call_arg = arg;
	__atomic_store_n(&nl->call_pending, true, __ATOMIC_RELEASE);
	uint64_t one = 1;
	ssize_t w = write(nl->wake_fd, &one, sizeof(one));
	(void)w;
	/* the thread runs it at its next turn; one that ended meanwhile ran it on its way out */
	while (nl->call_fn)
		pthread_cond_wait(&nl->call_done, &nl->call_lock);
	pthread_mutex_unlock(&nl->call_lock);
}

static void drain_fd(int fd)
{
	uint64_t v;
	while (read(fd, &v, sizeof(v)) == sizeof(v))
		;
}

static void socket_event(struct mc_output *o, int fd, uint32_t events)
{
	if (events & EPOLLERR)
		mc_output_read_errors(o);
	if (events & EPOLLIN)
		mc_feedback_read(o, fd); /* RTCP: muxed on the RTP socket, or on the RTCP socket */
}

/* Let every pacer send what it may now, and arm the pacer timer for the earliest next packet. */
static int64_t pace(struct mc_netloop *nl)
{
	int64_t now = mc_now_us(), next = INT64_MAX;
	for (int k = 0; k < nl->n_outputs; k++) {
		int64_t t = mc_output_pace(nl->outputs[k], now);
		next = t < next ? t : next;
	}
	if (next != nl->pacer_armed_us) {
		/* CLOCK_MONOTONIC absolute, as mc_now_us(); a zero it_value would disarm, so at least 1 ns */
		struct itimerspec its = { 0 };
		if (next != INT64_MAX) {
			its.it_value.tv_sec = next / 1000000;
			its.it_value.tv_nsec = (next % 1000000) * 1000 + 1;
		}
		timerfd_settime(nl->pacer_fd, TFD_TIMER_ABSTIME, &its, NULL);
		nl->pacer_armed_us = next;
	}
	return next;
}

static void *net_thread(void *arg)
{
	struct mc_netloop *nl = arg;
	pthread_setname_np(pthread_self(), "net");
	mc_thread_cpu_begin(&nl->cpu);
	/* packets of a finished frame should leave at once, not after an encoder's time slice */
	mc_thread_sched(200, 0);
	while (!__atomic_load_n(&nl->stop, __ATOMIC_ACQUIRE)) {
		struct epoll_event evs[16];
		run_call(nl);
		mc_count_set(&nl->heartbeat_us, (uint64_t)mc_now_us());
		int timeout_ms = 500;
		int64_t now = mc_now_us();
		for (int k = 0; k < nl->n_outputs; k++) {
			int64_t due = mc_feedback_tick(nl->outputs[k], now);
			if (due >= 0 && due / 1000 + 1 < timeout_ms)
				timeout_ms = (int)(due / 1000 + 1);
		}
		int n = epoll_wait(nl->epfd, evs, 16, timeout_ms);
		if (n < 0 && errno != EINTR) {
			mc_err(MOD, "epoll_wait: %s", strerror(errno));
			break;
		}
		for (int i = 0; i < n; i++) {
			int64_t tag = (int64_t)evs[i].data.u64;
			if (tag == TAG_WAKE) {
				drain_fd(nl->wake_fd);
				for (int k = 0; k < nl->n_outputs; k++)
					mc_output_flush(nl->outputs[k]);
				pace(nl);
			} else if (tag == TAG_PACER) {
				drain_fd(nl->pacer_fd);
				nl->pacer_armed_us = INT64_MAX; /* fired: a one-shot timer is disarmed now */
				pace(nl);
			} else if (tag == TAG_TIMER) {
				drain_fd(nl->timer_fd);
				for (int k = 0; k < nl->n_outputs; k++)
					mc_output_send_rtcp(nl->outputs[k], false);
			} else if (tag >= 0 && tag < nl->n_outputs * 2) {
				struct mc_output *o = nl->outputs[tag / 2];
				socket_event(o, tag % 2 ? o->rtcp_fd : o->fd, evs[i].events);
				pace(nl); /* retransmissions that feedback queued leave now */
			}
		}
	}
	for (int k = 0; k < nl->n_outputs; k++)
		mc_output_flush(nl->outputs[k]);
	/* what the pacers hold leaves at their pace, within a bound (their queues are bounded in time anyway) */
	for (int64_t end = mc_now_us() + 1000000, next; (next = pace(nl)) != INT64_MAX && next < end;) {
		struct timespec ts = { .tv_sec = next / 1000000, .tv_nsec = (next % 1000000) * 1000 };
		clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
	}
	/* A receiver reads RTP and RTCP from two sockets and may act on the BYE first: FFmpeg ends the stream
	 * and drops what is still queued on the RTP socket, i.e. the end of the last frame. Give the last
	 * packets a head start. */
	struct timespec linger = { 0, 30 * 1000 * 1000 };
	nanosleep(&linger, NULL);
	for (int k = 0; k < nl->n_outputs; k++)
		mc_output_send_rtcp(nl->outputs[k], true);
	mc_thread_cpu_end(&nl->cpu);
	pthread_mutex_lock(&nl->call_lock);
	__atomic_store_n(&nl->exited, true, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&nl->call_lock);
	run_call(nl); /* one that came while it ended */
	return NULL;
}

int mc_netloop_start(struct mc_netloop *nl)
{
	int rc = pthread_create(&nl->thread, NULL, net_thread, nl);
	if (rc)
		return -rc;
	__atomic_store_n(&nl->started, true, __ATOMIC_RELEASE);
	return 0;
}

void mc_netloop_stop(struct mc_netloop *nl)
{
	if (!__atomic_load_n(&nl->started, __ATOMIC_ACQUIRE))
		return;
	__atomic_store_n(&nl->stop, true, __ATOMIC_RELEASE);
	uint64_t one = 1;
	ssize_t w = write(nl->wake_fd, &one, sizeof(one));
	(void)w;
	pthread_join(nl->thread, NULL);
	__atomic_store_n(&nl->started, false, __ATOMIC_RELEASE);
}

void mc_netloop_finish(struct mc_netloop *nl)
{
	mc_netloop_stop(nl);
	if (nl->epfd >= 0)
		close(nl->epfd);
	if (nl->wake_fd >= 0)
		close(nl->wake_fd);
	if (nl->timer_fd >= 0)
		close(nl->timer_fd);
	if (nl->pacer_fd >= 0)
		close(nl->pacer_fd);
	nl->epfd = nl->wake_fd = nl->timer_fd = nl->pacer_fd = -1;
}
