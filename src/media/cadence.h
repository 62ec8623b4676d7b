/* The track's frame clock: which source frames each layer encodes and which become keyframes. Small pure
 * functions with their state, driven by the track thread (and one by the layer threads), so that the rules
 * are unit-tested on their own (tests/unit/test_timing.c).
 *
 * Every source frame gets a slot on the source's frame clock. A layer takes the frames whose slot starts a
 * new frame interval of the layer (decimation); an unchanged frame is skipped only after that, so a change
 * that falls between a small layer's slots is encoded at the layer's next slot, never lost. Keyframes are
 * scheduled on the same clock: every `key_slots` slots the track owes every layer a keyframe, which a layer
 * due on that slot encodes from that very source frame (all layers' keyframes come from one picture where
 * their rates allow it) and a layer not due encodes on its next frame. */
#ifndef MC_CADENCE_H
#define MC_CADENCE_H

#include <stdbool.h>
#include <stdint.h>

struct mc_frame_clock {
	int fps_num, fps_den;
	bool count_frames; /* a lossless source (a file read as fast as possible): its capture times are
			    * compressed, but no frame is ever dropped, so the n-th frame is slot n */
	bool started;
	int64_t first_pts;
	int64_t last_slot;
};

void mc_frame_clock_init(struct mc_frame_clock *c, int fps_num, int fps_den, bool count_frames);
/* The slot of the next frame, captured at `pts` (us): from its capture time (the source's frame clock,
 * rounded; frames dropped before the track leave gaps), or its number for a counted clock. Strictly
 * increasing: a frame that would land on the slot of the previous one gets the next slot. */
int64_t mc_frame_clock_slot(struct mc_frame_clock *c, int64_t pts);

/* Decimation of a `layer_fps` layer from a `src_fps` source: true when `slot` starts a new frame interval
 * of the layer (the first frame of the interval that arrives, if its first slot was dropped). `*last`:
 * the layer's last interval, -1 at the start. */
bool mc_layer_slot_due(int64_t *last, int64_t slot, int layer_fps, int src_fps);

/* The keyframe distance in slots: `interval_s` of the source's nominal rate, at least 1. */
int64_t mc_key_slots(double interval_s, int fps_num, int fps_den);
/* Whether `slot` opens a new keyframe period; `*epoch`: the current period, -1 at the start. */
bool mc_key_slot(int64_t *epoch, int64_t slot, int64_t key_slots);

/* Layer thread: is the frame captured at `pts` the one owed a keyframe? The track owes one from the
 * capture time `key_from_pts` on (the frame it handed over on a keyframe slot); the owed keyframe is paid
 * when the layer's last keyframe is older. A frame the layer's mailbox dropped passes the debt on to the
 * next one. */
static inline bool mc_key_owed(int64_t pts, int64_t key_from_pts, int64_t last_key_pts)
{
	return key_from_pts > last_key_pts && pts >= key_from_pts;
}

#endif
