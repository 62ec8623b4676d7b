/* The pacer: packets of an output leave at a multiple of the current target bitrate (libwebrtc uses 2.5x),
 * so that a keyframe does not leave as one burst that a Wi-Fi link or an SFU's socket buffer drops. Pure:
 * the clock is passed in, nothing is sent here; the network thread owns it (no locks).
 *
 * Budget: a leaky bucket of "debt" in bytes that drains at the pacing rate; a packet may leave while the
 * debt is at most `burst_us` worth of the rate, so in any window T at most rate*(T + burst) + one packet
 * leaves. Priority: class 0 (retransmissions) first, then class 1, 2, ... (the output puts layer
 * index i in class 3 - i, so the smallest layer comes first: a small layer's keyframe is not stuck behind a
 * large one). Queue: bounded in time; a
 * packet older than `max_queue_us` is dropped with the rest of its frame and counted, and the rate rises
 * to drain a queue that holds more than half of that time. */
#ifndef MC_PACER_H
#define MC_PACER_H

#include <stdbool.h>
#include <stdint.h>

#include "counter.h"
#include "rtp.h"

#define MC_PACER_CLASSES 5

struct mc_paced {
	struct mc_rtp_packet pkt;
	int64_t enqueued_us;
	int64_t capture_us;
	uint32_t ts; /* RTP timestamp: a frame's packets are dropped together */
	int8_t layer, cls;
	int32_t next; /* the next slot in its class's queue (or the free list), -1 */
};

struct mc_pacer {
	struct mc_paced *slots;
	int cap, free_head, queued;
	int32_t head[MC_PACER_CLASSES], tail[MC_PACER_CLASSES];
	uint64_t queued_bytes;
	bool enabled;
	int64_t rate_bps;     /* pacing rate (already the multiple of the target) */
	int64_t max_queue_us; /* older packets are dropped */
	int64_t burst_us;
	double debt;          /* bytes */
	int64_t last_us;
	/* a frame dropped whole or in part: the output asks for a keyframe on these layers */
	unsigned damaged_layers;
	mc_counter sent, dropped_old, dropped_full; /* read by the stats thread */
	mc_counter queued_now, queue_age_us;        /* set by mc_pacer_next_us() */
};

int mc_pacer_init(struct mc_pacer *p, int capacity, int64_t rate_bps, int64_t max_queue_us, bool enabled);
void mc_pacer_finish(struct mc_pacer *p);
void mc_pacer_set_rate(struct mc_pacer *p, int64_t rate_bps, int64_t now_us);
/* Copies `pkt` into the queue of class `cls`. -ENOSPC when the queue is full (counted in dropped_full). */
int mc_pacer_push(struct mc_pacer *p, int cls, const struct mc_rtp_packet *pkt, int layer, uint32_t ts,
		  int64_t capture_us, int64_t now_us);
/* The next packet that may leave now (its bytes are charged to the budget), or NULL. The packet stays
 * valid, and may be modified (SRTP in place), until the next mc_pacer_push(). */
struct mc_paced *mc_pacer_pop(struct mc_pacer *p, int64_t now_us);
/* What mc_pacer_pop() let go at `popped_us` was handed to the kernel only at `sent_us`: a thread that was
 * preempted in between must not make up for the lost time with a burst, so the budget does not drain for
 * that stretch (spacing then counts from the real send). */
void mc_pacer_sent(struct mc_pacer *p, int64_t popped_us, int64_t sent_us);
/* When a packet may leave next: now_us or later; INT64_MAX when the queue is empty. */
int64_t mc_pacer_next_us(struct mc_pacer *p, int64_t now_us);
/* The rate in use now: the set rate, or more while draining a long queue. */
int64_t mc_pacer_effective_rate(const struct mc_pacer *p);
/* How long the oldest queued packet has waited (0 when empty). */
int64_t mc_pacer_queue_age_us(const struct mc_pacer *p, int64_t now_us);

#endif
