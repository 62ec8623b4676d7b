/* The latest-frame mailbox between a producer and a consumer thread. By default a new frame replaces one
 * the consumer has not taken yet (the old one is dropped and counted): latency never grows when the
 * consumer falls behind. In lossless mode (a file read as fast as possible) put() waits instead. */
#ifndef MC_MAILBOX_H
#define MC_MAILBOX_H

#include <libavutil/frame.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "counter.h"

struct mc_mailbox {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	AVFrame *frame;
	int64_t put_us; /* when `frame` was put */
	bool closed;
	bool lossless;
	uint64_t dropped;
	/* CLOCK_MONOTONIC us since when a frame has been waiting for the consumer (set when one arrives in the
	 * empty mailbox, kept when a newer one replaces it, 0 once taken): how long the consumer has had work
	 * and taken none, the daemon's watchdog check (src/ops/watchdog.h). An idle consumer has 0. */
	mc_counter waiting_since_us;
};

void mc_mailbox_init(struct mc_mailbox *mb, bool lossless);
void mc_mailbox_finish(struct mc_mailbox *mb);
/* Takes ownership of `frame`. Returns 0, or -EPIPE once the mailbox is closed (the frame is freed). */
int mc_mailbox_put(struct mc_mailbox *mb, AVFrame *frame);
/* Waits for a frame: 0 with *frame (caller owns it) and its put time, or -EPIPE when closed and empty. */
int mc_mailbox_take(struct mc_mailbox *mb, AVFrame **frame, int64_t *put_us);
/* Does not wait: 0 with *frame (caller owns it), -EAGAIN when there is none, -EPIPE when closed and empty. */
int mc_mailbox_poll(struct mc_mailbox *mb, AVFrame **frame);
/* No more frames: a waiting take() returns what is left, then -EPIPE. */
void mc_mailbox_close(struct mc_mailbox *mb);
uint64_t mc_mailbox_dropped(struct mc_mailbox *mb);
bool mc_mailbox_is_closed(struct mc_mailbox *mb);

#endif
