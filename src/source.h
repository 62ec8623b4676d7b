/* Sources: a backend in hw/ (one ops table each) plus the capture thread that runs it and hands frames to
 * the mailboxes of the tracks that use the source. */
#ifndef MC_SOURCE_H
#define MC_SOURCE_H

#include <libavutil/frame.h>
#include <pthread.h>
#include <stdbool.h>

#include "config.h"
#include "counter.h"
#include "histogram.h"
#include "mailbox.h"
#include "threadcpu.h"

#define MC_SOURCE_EOF 1 /* read_frame: the source has ended (a non-looping file) */
#define MC_SOURCE_MAX_SINKS 4

/* What a source delivers, filled by its open(). */
struct mc_source_info {
	int width, height;
	int fps_num, fps_den; /* nominal rate */
};

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
	mc_counter frames;
	struct mc_histogram capture_wait; /* time read_frame() took: pacing wait plus reading */
};

struct mc_source {
	const struct mc_source_config *cfg;
	const struct mc_source_ops *ops;
	void *priv;
	struct mc_source_info info;
	pthread_t thread;
	bool thread_started;
	/* read by other threads: only through __atomic loads and stores */
	bool stop;
	bool ended;     /* EOF or a fatal error */
	bool failed;    /* ended by an error, not by EOF */
	int ended_fd;   /* eventfd written when the thread ends; -1: none */
	int n_sinks;
	struct mc_mailbox *sinks[MC_SOURCE_MAX_SINKS];
	struct mc_source_stats stats;
	struct mc_thread_cpu cpu;
};

int mc_source_create(struct mc_source **out, const struct mc_source_config *cfg);
/* Before start: frames go to this mailbox too. */
int mc_source_add_sink(struct mc_source *s, struct mc_mailbox *mb);
bool mc_source_lossless(struct mc_source *s);
int mc_source_start(struct mc_source *s);
/* Ask the thread to stop and wait for it; closes the sinks. */
void mc_source_stop(struct mc_source *s);
void mc_source_destroy(struct mc_source *s);

#endif
