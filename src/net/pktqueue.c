#include "pktqueue.h"

#include <errno.h>
#include <stdint.h>
#include <unistd.h>

#include "log.h"

void mc_pktqueue_init(struct mc_pktqueue *q, int wake_fd)
{
	pthread_mutex_init(&q->lock, NULL);
	q->head = q->count = 0;
	mc_count_set(&q->dropped, 0);
	q->wake_fd = wake_fd;
}

void mc_pktqueue_finish(struct mc_pktqueue *q)
{
	struct mc_enc_frame item;
	while (mc_pktqueue_pop(q, &item))
		av_packet_free(&item.pkt);
	pthread_mutex_destroy(&q->lock);
}

int mc_pktqueue_push(struct mc_pktqueue *q, const AVPacket *pkt, int layer, bool keyframe, int64_t capture_us)
{
	AVPacket *ref = av_packet_clone(pkt);
	if (!ref)
		return -ENOMEM;
	pthread_mutex_lock(&q->lock);
	if (q->count == MC_PKTQUEUE_CAP) {
		mc_count_inc(&q->dropped);
		pthread_mutex_unlock(&q->lock);
		av_packet_free(&ref);
		return -ENOSPC;
	}
	struct mc_enc_frame *it = &q->items[(q->head + q->count++) % MC_PKTQUEUE_CAP];
	*it = (struct mc_enc_frame){ .pkt = ref, .layer = layer, .keyframe = keyframe, .capture_us = capture_us,
				     .queued_us = mc_now_us() };
	pthread_mutex_unlock(&q->lock);
	if (q->wake_fd >= 0) {
		uint64_t one = 1;
		/* an eventfd write only fails when the counter would overflow: the loop is awake anyway */
		ssize_t w = write(q->wake_fd, &one, sizeof(one));
		(void)w;
	}
	return 0;
}

bool mc_pktqueue_pop(struct mc_pktqueue *q, struct mc_enc_frame *item)
{
	pthread_mutex_lock(&q->lock);
	bool ok = q->count > 0;
	if (ok) {
		*item = q->items[q->head];
		q->head = (q->head + 1) % MC_PKTQUEUE_CAP;
		q->count--;
	}
	pthread_mutex_unlock(&q->lock);
	return ok;
}
