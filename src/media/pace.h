/* Frame pacing for sources that run on a timer: a frame clock of absolute deadlines on CLOCK_MONOTONIC,
 * start + n * period (computed from the rate, so it does not drift by rounding the period). */
#ifndef MC_PACE_H
#define MC_PACE_H

#include <stdbool.h>
#include <stdint.h>

struct mc_pace {
	int fps_num, fps_den;
	int64_t start_us; /* slot 0; 0 before the first frame */
	int64_t n;        /* the next slot */
	uint64_t skipped; /* slots missed by more than a frame and skipped */
};

void mc_pace_init(struct mc_pace *p, int fps_num, int fps_den);
/* The time of slot `n`. */
int64_t mc_pace_slot_us(const struct mc_pace *p, int64_t n);
/* Sleeps until the next slot is due, in slices so that `stop` is seen within 100 ms. Returns the slot's
 * time (the frame's capture time: a late wake-up does not move it), or -1 when stopped. Behind by more
 * than a frame (a stall), it skips to the latest slot that has passed rather than send a burst. */
int64_t mc_pace_wait(struct mc_pace *p, const bool *stop);
/* The slot to wait for after `now` (the skip of mc_pace_wait(), without the sleep). */
int64_t mc_pace_next(struct mc_pace *p, int64_t now);

#endif
