#include "producer.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

void mc_producer_init(struct mc_producer *p, const char *name, const char *kind)
{
	*p = (struct mc_producer){ .name = name, .kind = kind, .ended_fd = -1 };
	pthread_mutex_init(&p->sinks_lock, NULL);
	mc_tap_init(&p->tap);
}

void mc_producer_finish(struct mc_producer *p)
{
	mc_tap_finish(&p->tap);
	pthread_mutex_destroy(&p->sinks_lock);
}

int mc_producer_add_sink(struct mc_producer *p, struct mc_mailbox *mb)
{
	pthread_mutex_lock(&p->sinks_lock);
	int rc = p->n_sinks == MC_PRODUCER_MAX_SINKS ? -ENOSPC : 0;
	if (!rc)
		p->sinks[p->n_sinks++] = mb;
	pthread_mutex_unlock(&p->sinks_lock);
	return rc;
}

void mc_producer_remove_sink(struct mc_producer *p, struct mc_mailbox *mb)
{
	pthread_mutex_lock(&p->sinks_lock);
	for (int i = 0; i < p->n_sinks; i++)
		if (p->sinks[i] == mb) {
			memmove(&p->sinks[i], &p->sinks[i + 1], sizeof(p->sinks[0]) * (size_t)(p->n_sinks - i - 1));
			p->n_sinks--;
			break;
		}
	pthread_mutex_unlock(&p->sinks_lock);
}

void mc_producer_deliver(struct mc_producer *p, AVFrame *frame)
{
	mc_tap_offer(&p->tap, frame);
	/* held across a lossless put() that waits for its consumer: a reload closes a sink's mailbox (which
	 * ends the wait) before it removes the sink */
	pthread_mutex_lock(&p->sinks_lock);
	int n = p->n_sinks;
	for (int i = 0; i < n; i++) {
		AVFrame *ref = i + 1 < n ? av_frame_clone(frame) : frame;
		if (ref)
			mc_mailbox_put(p->sinks[i], ref);
	}
	pthread_mutex_unlock(&p->sinks_lock);
	if (n == 0)
		av_frame_free(&frame);
}

void mc_producer_close_sinks(struct mc_producer *p)
{
	for (int i = 0; i < p->n_sinks; i++)
		mc_mailbox_close(p->sinks[i]);
}

void mc_producer_end(struct mc_producer *p, bool failed)
{
	__atomic_store_n(&p->failed, failed, __ATOMIC_RELAXED); /* read after `ended` (acquire) */
	__atomic_store_n(&p->ended, true, __ATOMIC_RELEASE);
	pthread_mutex_lock(&p->sinks_lock); /* the producer's own thread: no put() of its is waiting */
	mc_producer_close_sinks(p);
	pthread_mutex_unlock(&p->sinks_lock);
	if (p->ended_fd >= 0) {
		uint64_t one = 1;
		ssize_t w = write(p->ended_fd, &one, sizeof(one));
		(void)w;
	}
}

bool mc_producer_ended(const struct mc_producer *p) { return __atomic_load_n(&p->ended, __ATOMIC_ACQUIRE); }

bool mc_producer_no_signal(const struct mc_producer *p) { return __atomic_load_n(&p->no_signal, __ATOMIC_ACQUIRE); }

int mc_producer_fps(const struct mc_producer *p)
{
	const struct mc_source_info *si = &p->info;
	int fps = si->fps_den ? (si->fps_num + si->fps_den / 2) / si->fps_den : 30;
	return fps < 1 ? 1 : fps;
}
