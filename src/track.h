/* A track: one video stream as the SFU sees it, with 1..3 simulcast layers. The media thread takes the
 * newest frame of its input (a source or a mix) and scales it into a pyramid (each layer from the next larger picture, which
 * is cheaper than every layer from the source); each layer has its own encoder thread behind a latest-frame
 * mailbox, so a slow layer drops its own frames and never delays another. Encoded frames go to the outputs. */
#ifndef MC_TRACK_H
#define MC_TRACK_H

#include <pthread.h>
#include <stdbool.h>

#include "config.h"
#include "counter.h"
#include "encoder.h"
#include "histogram.h"
#include "mailbox.h"
#include "producer.h"
#include "scaler.h"
#include "threadcpu.h"
#include "unchanged.h"

struct mc_output;

#define MC_TRACK_MAX_OUTPUTS MC_MAX_OUTPUTS

struct mc_layer_stats {
	uint64_t frames_in, frames_encoded, keyframes, bytes;
	mc_counter copies;        /* pictures the scaler made (a conversion or scale) rather than passed through */
	mc_counter device_frames; /* frames handed to the encoder that are a device's buffer (frame.h): no copy */
	struct mc_histogram queue_age; /* track → layer mailbox */
	struct mc_histogram scale;
	struct mc_histogram encode;
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
	int fps_acc;                 /* frame-rate decimation from the source's nominal rate */
	int gop_frames;              /* keyframe distance in frames */
	int since_keyframe;
	int64_t last_key_us;         /* capture time of the last keyframe */
	struct mc_layer_stats stats;
};

struct mc_track {
	const struct mc_track_config *cfg;
	struct mc_producer *producer; /* its input: a source or a mix */
	struct mc_mailbox input;
	int src_fps; /* the input's nominal rate, rounded: layers are decimated from it */
	int64_t keyframe_interval_us;
	int n_layers;
	struct mc_layer layers[MC_MAX_LAYERS];
	int n_outputs;
	struct mc_output *outputs[MC_TRACK_MAX_OUTPUTS];
	pthread_t thread;
	bool thread_started;
	struct mc_thread_cpu cpu;
	struct mc_histogram mailbox_age; /* source → track */
	uint64_t frames_in;
	uint64_t frames_unchanged; /* skipped: equal to the previous frame */
	AVFrame *prev;             /* the last frame encoded, to find unchanged ones */
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

#endif
