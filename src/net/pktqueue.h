/* A bounded queue of encoded frames from the encoder threads to the network thread (many producers, one
 * consumer). Pushing wakes the network loop through an eventfd. Full means the network thread is far behind:
 * the frame is dropped and counted rather than blocking an encoder. */
#ifndef MC_PKTQUEUE_H
#define MC_PKTQUEUE_H

#include <libavcodec/packet.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "counter.h"

struct mc_enc_frame {
	AVPacket *pkt; /* owned by the entry */
	int layer;
	bool keyframe;
	int64_t capture_us; /* CLOCK_MONOTONIC */
	int64_t queued_us;
};

#define MC_PKTQUEUE_CAP 128

struct mc_pktqueue {
	pthread_mutex_t lock;
	struct mc_enc_frame items[MC_PKTQUEUE_CAP];
	unsigned head, count;
	mc_counter dropped; /* read without the lock by the stats */
	int wake_fd; /* eventfd of the consumer's loop, not owned */
};

void mc_pktqueue_init(struct mc_pktqueue *q, int wake_fd);
void mc_pktqueue_finish(struct mc_pktqueue *q);
/* Takes a new reference to `pkt`. -ENOSPC when full (counted), -ENOMEM. */
int mc_pktqueue_push(struct mc_pktqueue *q, const AVPacket *pkt, int layer, bool keyframe, int64_t capture_us);
/* false when empty; the caller owns item->pkt afterwards. */
bool mc_pktqueue_pop(struct mc_pktqueue *q, struct mc_enc_frame *item);

#endif
