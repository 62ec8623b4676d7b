/* A producer: what a track or a mix takes its pictures from, a source or a mix. It owns the sink list (one
 * latest-frame mailbox per consumer; a frame is shared by reference, never copied), says what it delivers
 * and whether it has ended. Consumers see only this, so a track's `input` can name either kind. */
#ifndef MC_PRODUCER_H
#define MC_PRODUCER_H

#include <libavutil/frame.h>
#include <libavutil/pixfmt.h>
#include <pthread.h>
#include <stdbool.h>

#include "mailbox.h"
#include "tap.h"

#define MC_PRODUCER_MAX_SINKS 4

/* What a producer delivers: a source's open() fills it, a mix's is its configured size and rate. */
struct mc_source_info {
	int width, height;
	int fps_num, fps_den; /* nominal rate */
	const char *path;     /* how frames are made, for the stats: e.g. "nv12 mmap", "yuyv swscale", "mix" */
	enum AVPixelFormat format; /* of the frames; AV_PIX_FMT_NONE (-1): not known before the first */
};

struct mc_producer {
	const char *name;
	const char *kind; /* "source" or "mix", for messages */
	struct mc_source_info info;
	bool lossless;  /* frames must not be dropped (a file read as fast as possible) */
	bool ended;     /* atomic: EOF, a fatal error, or stopped */
	bool failed;    /* ended by an error, not by EOF */
	bool no_signal; /* atomic: running, but what it delivers is a placeholder */
	int ended_fd;   /* eventfd written when it ends; -1: none */
	int n_sinks;
	struct mc_mailbox *sinks[MC_PRODUCER_MAX_SINKS];
	pthread_mutex_t sinks_lock; /* a reload adds and removes sinks while the thread delivers */
	struct mc_tap tap; /* /snapshot.jpg?source=: sources and mixes alike */
};

void mc_producer_init(struct mc_producer *p, const char *name, const char *kind);
/* After its thread is gone: frees what init made. */
void mc_producer_finish(struct mc_producer *p);
/* Frames go to this mailbox too (before start, or while running: a track added by a reload). -ENOSPC when
 * the list is full. */
int mc_producer_add_sink(struct mc_producer *p, struct mc_mailbox *mb);
/* The mailbox gets no frame after this returns (a track removed by a reload); it is not closed. Close it
 * first: a lossless put() to it may be waiting, holding the sink lock. */
void mc_producer_remove_sink(struct mc_producer *p, struct mc_mailbox *mb);
/* Hands `frame` (owned) to every sink: one reference each (and to the snapshot tap when it asks). */
void mc_producer_deliver(struct mc_producer *p, AVFrame *frame);
/* No more frames: closes the sinks (a lossless put waiting for a consumer that is gone returns). Without the
 * sink lock, which that put holds: the sinks change only on the daemon's thread, the one that calls this. */
void mc_producer_close_sinks(struct mc_producer *p);
/* The producer's thread is done: marks it ended, closes the sinks and tells ended_fd. */
void mc_producer_end(struct mc_producer *p, bool failed);
bool mc_producer_ended(const struct mc_producer *p);
bool mc_producer_no_signal(const struct mc_producer *p);
int mc_producer_fps(const struct mc_producer *p); /* the nominal rate, rounded, at least 1 */

#endif
