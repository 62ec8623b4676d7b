#include "tap.h"

#include <errno.h>
#include <time.h>

void mc_tap_init(struct mc_tap *t)
{
	pthread_mutex_init(&t->lock, NULL);
	pthread_condattr_t a;
	pthread_condattr_init(&a);
	pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
	pthread_cond_init(&t->cond, &a);
	pthread_condattr_destroy(&a);
	t->wanted = false;
	t->frame = NULL;
}

void mc_tap_finish(struct mc_tap *t)
{
	av_frame_free(&t->frame);
	pthread_cond_destroy(&t->cond);
	pthread_mutex_destroy(&t->lock);
}

void mc_tap_offer(struct mc_tap *t, const AVFrame *f)
{
	if (!__atomic_load_n(&t->wanted, __ATOMIC_ACQUIRE))
		return;
	AVFrame *ref = av_frame_clone(f); /* a reference: no pixels are copied */
	if (!ref)
		return;
	pthread_mutex_lock(&t->lock);
	if (t->wanted && !t->frame) {
		t->frame = ref;
		ref = NULL;
		__atomic_store_n(&t->wanted, false, __ATOMIC_RELEASE);
		pthread_cond_broadcast(&t->cond);
	}
	pthread_mutex_unlock(&t->lock);
	av_frame_free(&ref);
}

AVFrame *mc_tap_grab(struct mc_tap *t, int timeout_ms)
{
	struct timespec until;
	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_sec += timeout_ms / 1000;
	until.tv_nsec += (long)(timeout_ms % 1000) * 1000000;
	if (until.tv_nsec >= 1000000000) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000;
	}
	pthread_mutex_lock(&t->lock);
	av_frame_free(&t->frame); /* left by an asker that gave up */
	__atomic_store_n(&t->wanted, true, __ATOMIC_RELEASE);
	while (!t->frame && pthread_cond_timedwait(&t->cond, &t->lock, &until) != ETIMEDOUT)
		;
	AVFrame *f = t->frame;
	t->frame = NULL;
	__atomic_store_n(&t->wanted, false, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&t->lock);
	return f;
}
