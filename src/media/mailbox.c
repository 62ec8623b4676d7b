#include "mailbox.h"

#include <errno.h>

#include "log.h"

void mc_mailbox_init(struct mc_mailbox *mb, bool lossless)
{
	pthread_mutex_init(&mb->lock, NULL);
	pthread_cond_init(&mb->cond, NULL);
	mb->frame = NULL;
	mb->put_us = 0;
	mb->closed = false;
	mb->lossless = lossless;
	mb->dropped = 0;
	mc_count_set(&mb->waiting_since_us, 0);
}

void mc_mailbox_finish(struct mc_mailbox *mb)
{
	av_frame_free(&mb->frame);
	pthread_cond_destroy(&mb->cond);
	pthread_mutex_destroy(&mb->lock);
}

int mc_mailbox_put(struct mc_mailbox *mb, AVFrame *frame)
{
	pthread_mutex_lock(&mb->lock);
	while (mb->lossless && mb->frame && !mb->closed)
		pthread_cond_wait(&mb->cond, &mb->lock);
	if (mb->closed) {
		pthread_mutex_unlock(&mb->lock);
		av_frame_free(&frame);
		return -EPIPE;
	}
	if (mb->frame) {
		av_frame_free(&mb->frame);
		mb->dropped++;
	}
	mb->frame = frame;
	mb->put_us = mc_now_us();
	if (!mc_count_get(&mb->waiting_since_us))
		mc_count_set(&mb->waiting_since_us, (uint64_t)mb->put_us);
	pthread_cond_broadcast(&mb->cond);
	pthread_mutex_unlock(&mb->lock);
	return 0;
}

int mc_mailbox_take(struct mc_mailbox *mb, AVFrame **frame, int64_t *put_us)
{
	pthread_mutex_lock(&mb->lock);
	while (!mb->frame && !mb->closed)
		pthread_cond_wait(&mb->cond, &mb->lock);
	int rc = -EPIPE;
	if (mb->frame) {
		*frame = mb->frame;
		if (put_us)
			*put_us = mb->put_us;
		mb->frame = NULL;
		mc_count_set(&mb->waiting_since_us, 0);
		rc = 0;
		pthread_cond_broadcast(&mb->cond); /* a lossless put may be waiting for room */
	}
	pthread_mutex_unlock(&mb->lock);
	return rc;
}

int mc_mailbox_poll(struct mc_mailbox *mb, AVFrame **frame)
{
	pthread_mutex_lock(&mb->lock);
	int rc = mb->frame ? 0 : mb->closed ? -EPIPE : -EAGAIN;
	if (mb->frame) {
		*frame = mb->frame;
		mb->frame = NULL;
		mc_count_set(&mb->waiting_since_us, 0); /* taken: as in take(), or the watchdog sees a stall */
		pthread_cond_broadcast(&mb->cond);
	}
	pthread_mutex_unlock(&mb->lock);
	return rc;
}

void mc_mailbox_close(struct mc_mailbox *mb)
{
	pthread_mutex_lock(&mb->lock);
	mb->closed = true;
	pthread_cond_broadcast(&mb->cond);
	pthread_mutex_unlock(&mb->lock);
}

uint64_t mc_mailbox_dropped(struct mc_mailbox *mb)
{
	pthread_mutex_lock(&mb->lock);
	uint64_t d = mb->dropped;
	pthread_mutex_unlock(&mb->lock);
	return d;
}

bool mc_mailbox_is_closed(struct mc_mailbox *mb)
{
	pthread_mutex_lock(&mb->lock);
	bool closed = mb->closed;
	pthread_mutex_unlock(&mb->lock);
	return closed;
}
