/* Sources: a backend in hw/ (one ops table each) plus the capture thread that runs it and hands frames to
 * the mailboxes of the tracks and mixes that use the source (through its producer, src/producer.h). */
#ifndef MC_SOURCE_H
#define MC_SOURCE_H

#include <libavutil/frame.h>
#include <pthread.h>
#include <stdbool.h>

#include "config.h"
#include "histogram.h"
#include "mailbox.h"
#include "producer.h"
#include "threadcpu.h"

#define MC_SOURCE_EOF 1 /* read_frame: the source has ended (a non-looping file) */
struct mc_source_ops {
	const char *name;
	enum mc_source_type type;
	size_t priv_size; /* the core allocates (zeroed) and frees the backend's state */
	int (*open)(void *priv, const struct mc_source_config *cfg, struct mc_source_info *info);
	/* Waits for the next frame: it is paced by the source (a camera's rate, a timer, or none for a file read
	 * as fast as possible). 0 with *frame (pts = capture time, us, CLOCK_MONOTONIC), MC_SOURCE_EOF, or -errno.
	 * `stop` is polled so that a wait ends soon after a stop request. */
	int (*read_frame)(void *priv, AVFrame **frame, const bool *stop);
	/* Whether frames must not be dropped (a file read as fast as possible). */
	bool (*lossless)(void *priv);
	void (*close)(void *priv); /* also after a failed open */
};

struct mc_source_stats {
	uint64_t frames;
	struct mc_histogram capture_wait; /* time read_frame() took: pacing wait plus reading */
};

struct mc_source {
	const struct mc_source_config *cfg;
	const struct mc_source_ops *ops;
	void *priv;
	struct mc_producer out; /* info (filled by open), sinks, ended/no-signal state */
	pthread_t thread;
	bool thread_started;
	bool stop;
	struct mc_source_stats stats;
	struct mc_thread_cpu cpu;
};

int mc_source_create(struct mc_source **out, const struct mc_source_config *cfg);
int mc_source_start(struct mc_source *s);
/* Ask the thread to stop and wait for it; closes the sinks. */
void mc_source_stop(struct mc_source *s);
void mc_source_destroy(struct mc_source *s);

#endif
