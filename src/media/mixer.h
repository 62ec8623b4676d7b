/* A mix: N inputs (sources or other mixes) composed into one picture by a layout (mixer_layout.h). The
 * mixer is a stage of its own: one thread that ticks at the mix's frame rate, takes each input's newest
 * frame from its latest-frame mailbox (inputs at other rates and sizes are fine: a slow input's last
 * picture stays) and hands the picture to its consumers through its producer, like a source. */
#ifndef MC_MIXER_H
#define MC_MIXER_H

#include <pthread.h>
#include <stdbool.h>

#include "config.h"
#include "counter.h"
#include "frame.h"
#include "histogram.h"
#include "mailbox.h"
#include "mixer_layout.h"
#include "pace.h"
#include "producer.h"
#include "scaler.h"
#include "threadcpu.h"

struct mc_mix_input {
	struct mc_producer *from;
	struct mc_mailbox mailbox;
	AVFrame *frame;  /* the newest frame taken; stays while no newer one comes */
	bool closed;     /* the input has ended: its last picture stays */
	struct mc_scaler *scaler;
	int scaled_w, scaled_h;
	AVFrame *scaled; /* `frame` at its place's size, kept while `frame` does not change */
};

struct mc_mixer {
	const struct mc_mix_config *cfg;
	struct mc_producer out;
	int n_inputs;
	struct mc_mix_input inputs[MC_MIX_MAX_INPUTS];
	struct mc_layout_params layout;
	struct mc_frame_pool *pool;
	AVFrame *last; /* the last picture composed: sent again while no input changes */
	int64_t last_pts;
	struct mc_pace pace;
	pthread_t thread;
	bool thread_started;
	bool stop;
	struct mc_thread_cpu cpu;
	mc_counter frames, frames_repeated; /* repeated: no input changed, the last picture went out again */
	struct mc_histogram compose;
};

/* Attaches to each input (adds a mailbox as its sink). */
int mc_mixer_create(struct mc_mixer **out, const struct mc_mix_config *cfg, struct mc_producer *const *inputs);
int mc_mixer_start(struct mc_mixer *m);
/* Asks the thread to stop and waits for it; closes the sinks. */
void mc_mixer_stop(struct mc_mixer *m);
void mc_mixer_destroy(struct mc_mixer *m);

/* Composes the inputs' current frames (inputs[i].frame; NULL: none yet, its place stays black) into
 * `canvas` (YUV420P at the mix's size). The mixer thread's step, exposed for tests. */
int mc_mixer_compose(struct mc_mixer *m, AVFrame *canvas);

#endif
