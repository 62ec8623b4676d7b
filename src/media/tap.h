/* A snapshot tap: another thread (the HTTP server's /snapshot.jpg) asks a media thread for a reference to
 * the next frame it handles. The media thread never waits: per frame it reads one atomic flag, and only when
 * asked takes a reference (no copy) under a lock that the asking thread holds just to swap a pointer. The
 * asker keeps the frame (a camera buffer, perhaps) only as long as it takes to convert it. */
#ifndef MC_TAP_H
#define MC_TAP_H

#include <libavutil/frame.h>
#include <pthread.h>
#include <stdbool.h>

struct mc_tap {
	pthread_mutex_t lock;
	pthread_cond_t cond; /* CLOCK_MONOTONIC */
	bool wanted;         /* __atomic: an asker waits */
	AVFrame *frame;      /* handed over, not yet taken */
};

void mc_tap_init(struct mc_tap *t);
void mc_tap_finish(struct mc_tap *t);
/* The producer's side, for every frame: cheap unless someone asks. */
void mc_tap_offer(struct mc_tap *t, const AVFrame *f);
/* A reference to the next frame offered within timeout_ms (the caller frees it), NULL if none came. One asker
 * at a time (the caller serializes). */
AVFrame *mc_tap_grab(struct mc_tap *t, int timeout_ms);

#endif
