/* A track: one video stream as the SFU sees it, with 1..3 simulcast layers. The media thread takes the
 * newest frame of its input (a source or a mix) and scales it into a pyramid (each layer from the next larger picture, which
 * is cheaper than every layer from the source); each layer has its own encoder thread behind a latest-frame
 * mailbox, so a slow layer drops its own frames and never delays another. Encoded frames go to the outputs. */
#ifndef MC_TRACK_H
#define MC_TRACK_H

#include <pthread.h>
#include <stdbool.h>

#include "cadence.h"
#include "config.h"
#include "counter.h"
#include "encoder.h"
#include "histogram.h"
#include "layer_ctl.h"
#include "mailbox.h"
#include "producer.h"
#include "scaler.h"
#include "threadcpu.h"
#include "unchanged.h"

struct mc_output;

#define MC_TRACK_MAX_OUTPUTS MC_MAX_OUTPUTS

struct mc_layer_stats {
	mc_counter frames_in, frames_encoded, keyframes, bytes;
	mc_counter copies;        /* pictures the scaler made on the CPU (a conversion or scale) rather than passed through */
	mc_counter device_scaled; /* pictures a device scaler made (no CPU pass; not a copy) */
	mc_counter device_frames; /* frames handed to the encoder that are a device's buffer (frame.h): no copy */
	struct mc_histogram queue_age; /* track → layer mailbox */
	struct mc_histogram scale;
	struct mc_histogram encode;
	mc_counter keyframes_requested; /* mc_layer_request_keyframe() calls: a request is pending while
					 * this differs from what the layer (or the track) last served */
	mc_counter frames_dropped_net;  /* encoded, then dropped on an output's full network queue */
	mc_counter encode_errors;       /* frames the encoder refused */
	mc_counter last_encoded_us;     /* CLOCK_MONOTONIC of the last encoded frame, 0 before the first: /healthz */
};

struct mc_layer {
	struct mc_track *track;
	int index;
	const struct mc_layer_config *cfg;
	struct mc_scaler *scaler;
	struct mc_encoder *encoder;
	struct mc_mailbox mailbox;
	pthread_t thread;
	bool thread_started;
	struct mc_thread_cpu cpu;
	int fps;                     /* atomic: the layer's rate, at most the source's (a reload sets it) */
	int gop_frames;              /* keyframe distance in frames: the encoder's own safety net */
	/* track thread */
	int64_t slot_interval;       /* the layer's last frame interval on the source's frame clock */
	int fps_used;                /* the rate slot_interval counts in (a reload changes fps) */
	bool dirty;                  /* a changed frame came since the layer's last frame */
	bool owes_key;               /* a keyframe slot came since the layer's last frame */
	uint64_t requests_handed;    /* stats.keyframes_requested when the track last handed a frame over */
	/* shared: the track writes, the layer thread reads */
	int64_t key_from_pts;        /* atomic: a keyframe is owed from this capture time on */
	struct mc_layer_ctl ctl;     /* bitrate and pause from the outputs' congestion control */
	int ceiling_bps;             /* atomic: the configured bitrate; a reload sets it, nothing goes above */
	/* layer thread */
	int64_t last_key_pts;        /* capture time of the last keyframe */
	uint64_t requests_done;      /* stats.keyframes_requested when the layer last made a keyframe */
	int bitrate;                 /* what the encoder was set to, bit/s */
	int ceiling_seen;            /* the ceiling_bps it last acted on (a reload's is said once if refused) */
	bool paused;
	mc_counter bitrate_now, paused_now, frames_paused, bitrate_changes; /* for the stats */
	mc_counter resumed_us;        /* CLOCK_MONOTONIC of the last resume, 0: never paused: /healthz */
	int64_t created_us;           /* a layer a reload made: /healthz counts its first deadline from then */
	struct mc_layer_stats stats;
};

struct mc_track {
	const struct mc_track_config *cfg; /* &cfg_own: the track's copy, so a reload can free the file's */
	struct mc_track_config cfg_own;
	struct mc_producer *producer; /* its input: a source or a mix */
	struct mc_mailbox input;
	int src_fps; /* the input's nominal rate, rounded: layers are decimated from it */
	int64_t keyframe_interval_us; /* atomic (a reload sets it) */
	struct mc_frame_clock clock; /* track thread: each source frame's slot */
	int64_t key_slots;           /* atomic: keyframe distance on the frame clock (a reload sets it) */
	int64_t key_epoch;           /* track thread: the current keyframe period */
	int64_t key_slots_used;      /* track thread: the key_slots key_epoch counts in */
	int src_fps_num, src_fps_den; /* the source's rate at start: key_slots is counted on it */
	int n_layers; /* atomic: a reload adds or removes the last layer */
	struct mc_layer layers[MC_MAX_LAYERS];
	bool busy;           /* atomic: the track thread is handling a frame */
	uint64_t frames_done; /* atomic: frames it has handled */
	int n_outputs;
	struct mc_output *outputs[MC_TRACK_MAX_OUTPUTS];
	pthread_mutex_t outputs_lock; /* the layers' threads deliver to `outputs` while a reload changes it */
	pthread_t thread;
	bool thread_started;
	struct mc_thread_cpu cpu;
	struct mc_tap tap;               /* the track's picture for /snapshot.jpg?track= */
	struct mc_histogram mailbox_age; /* source → track */
	mc_counter frames_in;
	mc_counter frames_unchanged; /* equal to the previous frame */
	AVFrame *prev;               /* the last changed frame, to find unchanged ones */
	struct mc_unchanged unchanged;
	struct mc_histogram compare;
};

/* Creates the layers' encoders; attaches to `input` (adds the track's mailbox as a sink). */
int mc_track_create(struct mc_track **out, const struct mc_track_config *cfg, struct mc_producer *input);
int mc_track_add_output(struct mc_track *t, struct mc_output *o);
int mc_track_start(struct mc_track *t);
/* Waits for the threads (after the source stopped or ended). */
void mc_track_join(struct mc_track *t);
void mc_track_destroy(struct mc_track *t);
uint64_t mc_layer_dropped(struct mc_layer *l);
/* Live reload, from the daemon's thread (src/ops/reload.c); the media threads pick the values up at their
 * next frame. The configured bitrate (the ceiling of congestion control) and frame rate of a layer: */
void mc_layer_set_config(struct mc_layer *l, int bitrate, int fps);
void mc_track_set_keyframe_interval(struct mc_track *t, double seconds);
/* A layer more at the end (smaller than the others): encoder, scaler and thread, started when the track
 * runs; the track thread takes it once mc_track_publish_layers() (after the outputs have its stream). */
int mc_track_add_layer(struct mc_track *t, const struct mc_layer_config *lc);
void mc_track_publish_layers(struct mc_track *t, int n);
/* The last layer goes: the track thread stops feeding it, its encoder is flushed to the outputs, its
 * thread joined. The outputs remove their stream after this (mc_output_remove_layer). */
void mc_track_remove_last_layer(struct mc_track *t);
/* Removes an output the layers deliver to (it gets no frame after this returns). */
void mc_track_remove_output(struct mc_track *t, struct mc_output *o);
/* Any thread (the network thread on a PLI/FIR, an encoder thread whose frame an output dropped): the
 * layer's next frame is a keyframe, even on a static screen whose unchanged frames are skipped. It does
 * not move the keyframe schedule of the capture clock. */
void mc_layer_request_keyframe(struct mc_layer *l);
/* The same by index; `layer` < 0: every layer (a FIR, or a receiver that cannot say which). */
void mc_track_request_keyframe(struct mc_track *t, int layer);

#endif
