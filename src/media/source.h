/* Sources: a backend in hw/ (one ops table each) plus the capture thread that runs it and hands frames to
 * the mailboxes of the tracks and mixes that use the source (through its producer, producer.h). A source
 * that can lose its signal (a camera unplugged, a display gone) does not end: it is in the state "no signal", its consumers get a placeholder picture at
 * a low rate, and the core reopens the backend with a backoff until the signal is back. */
#ifndef MC_SOURCE_H
#define MC_SOURCE_H

#include <libavutil/frame.h>
#include <pthread.h>
#include <stdbool.h>

#include "config.h"
#include "counter.h"
#include "histogram.h"
#include "mailbox.h"
#include "option.h"
#include "producer.h"
#include "threadcpu.h"

#define MC_SOURCE_EOF 1 /* read_frame: the source has ended (a non-looping file) */

/* The frames of a source one consumer (a track) can hold at once, for a backend whose frames are the
 * device's own buffers (a camera's pool must be larger by this much per consumer, or it stalls):
 * the consumer's input mailbox (1), the frame its thread works on (1), the previous frame kept for the
 * unchanged-frame check (1), and for a layer of the source's size and format, which gets the frame itself
 * (the scaler passes it through), that layer's mailbox (1) and the frame its encoder works on (1). The
 * software encoders copy their input before send returns; a hardware encoder that keeps DMABUFs queued
 * adds its queue depth. */
#define MC_SOURCE_PINNED_PER_CONSUMER 5

/* The generic keys a backend takes besides `type` (its own keys are in its option table). */
#define MC_SOURCE_TAKES_SIZE 1u
#define MC_SOURCE_TAKES_FPS 2u

enum mc_source_state {
	MC_SOURCE_LIVE = 0,
	MC_SOURCE_NO_SIGNAL, /* lost or absent; the placeholder is sent; reopening */
	MC_SOURCE_ENDED,     /* EOF, stopped, or a fatal error */
};

/* What a backend reports beyond return codes (the core owns it; it survives a reopen). */
struct mc_source_report {
	mc_counter copies;  /* picture copies/conversions/decodes made from the device's data to the frame */
	mc_counter corrupt; /* frames the device delivered that were skipped (a corrupt JPEG, an error flag) */
	/* Why open() or read_frame() failed, as "FILE:LINE: [source.NAME] KEY: what": the core logs it
	 * (once per change while reconnecting). Written and read by the source's thread only. */
	char why[768];
};

struct mc_source_ops {
	const char *name; /* the `type` in the configuration */
	size_t priv_size; /* the core allocates (zeroed) and frees the backend's state */
	/* The backend's own configuration keys: parsed into a struct of options_size bytes (initialised from
	 * options_defaults, if not NULL) that cfg->opts points to. */
	const struct mc_option *options;
	size_t options_size;
	const void *options_defaults;
	unsigned generic_keys; /* MC_SOURCE_TAKES_* */
	/* At load, after every section: what a value's syntax does not tell (a file that must exist). Returns
	 * nonzero with the offending key (or NULL for the section) and the message. Optional. */
	int (*check)(const struct mc_source_config *cfg, const char **key, char *err, size_t errlen);
	/* The source can lose its signal and get it back: errors from read_frame(), and from open() after
	 * a loss, mean "no signal", and the core reopens. At start, open() returning -ENODEV or -ENOENT (the
	 * device is not there) is "no signal" too; any other error at start is fatal (the device is there
	 * but not what the configuration asks for). */
	bool reconnects;
	/* Optional, with `reconnects`: the path whose appearance (a device node or link created, or its
	 * permissions changed, in its folder) is worth a reopen at once rather than at the next try of the
	 * backoff (inotify on the folder; a folder that is not there is polled as before). Writes it into buf. */
	int (*watch_path)(const struct mc_source_config *cfg, char *buf, size_t len);
	/* Errors are logged by the backend with the section and the key they concern. */
	int (*open)(void *priv, const struct mc_source_config *cfg, struct mc_source_info *info,
		    struct mc_source_report *report);
	/* Waits for the next frame: it is paced by the source (a camera's rate, a timer, or none for a file read
	 * as fast as possible). 0 with *frame (pts = capture time, us, CLOCK_MONOTONIC), MC_SOURCE_EOF, or -errno.
	 * `stop` is polled so that a wait ends soon after a stop request. */
	int (*read_frame)(void *priv, AVFrame **frame, const bool *stop);
	/* Whether frames must not be dropped (a file read as fast as possible). */
	bool (*lossless)(void *priv);
	/* Also after a failed open. Frames still out keep what they point into alive. */
	void (*close)(void *priv);
};

/* Read by other threads (stats) while the source thread writes them. */
struct mc_source_stats {
	mc_counter frames;             /* frames from the backend */
	mc_counter placeholder_frames; /* placeholder pictures sent while without signal */
	mc_counter state;              /* enum mc_source_state */
	mc_counter signal_losses;      /* times the signal went away (or was absent at start) */
	mc_counter last_error;         /* errno of the last loss or failed reopen, 0: none */
	mc_counter no_signal_since_us; /* CLOCK_MONOTONIC us, while without signal */
	mc_counter last_restore_us;    /* the last loss-to-first-frame time, us */
	/* s->info as the stats show it: a reopen rewrites s->info on the source's thread */
	mc_counter width, height, fps_num, fps_den;
	const char *path; /* __atomic; a string literal of the backend's */
	struct mc_source_report backend;
	struct mc_histogram capture_wait; /* time read_frame() took: pacing wait plus reading */
};

struct mc_source {
	const struct mc_source_config *cfg; /* &cfg_own: the source's copy (a reload frees the file's config) */
	struct mc_source_config cfg_own;
	char cfg_file[MC_PATH_MAX];
	const struct mc_source_ops *ops;
	void *priv;
	bool open;      /* the backend is open (priv valid) */
	struct mc_producer out; /* info (filled by open), sinks, ended/no-signal state */
	pthread_t thread;
	bool thread_started;
	/* read by other threads: only through __atomic loads and stores */
	bool stop;
	struct mc_source_stats stats;
	struct mc_thread_cpu cpu;
	struct mc_frame_pool *slate; /* placeholder frames, made when first needed */
	int64_t last_pts;            /* of the last frame delivered (the source thread's) */
};

int mc_source_create(struct mc_source **out, const struct mc_source_config *cfg);
int mc_source_start(struct mc_source *s);
/* Ask the thread to stop and wait for it; closes the sinks. */
void mc_source_stop(struct mc_source *s);
void mc_source_destroy(struct mc_source *s);
const char *mc_source_state_name(enum mc_source_state st);

#endif
