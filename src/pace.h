/* Frame pacing for sources that run on a timer: absolute deadlines on CLOCK_MONOTONIC. */
#ifndef MC_PACE_H
#define MC_PACE_H

#include <stdbool.h>
#include <stdint.h>

struct mc_pace {
	int64_t period_us;
	int64_t next_us; /* deadline of the next frame; 0 before the first */
	uint64_t skipped; /* deadlines missed by more than a frame and skipped */
};

void mc_pace_init(struct mc_pace *p, int fps_num, int fps_den);
/* Sleeps until the next frame is due, in slices so that `stop` is seen within 100 ms. Returns the
 * deadline (the frame's nominal capture time), or -1 when stopped. */
int64_t mc_pace_wait(struct mc_pace *p, const bool *stop);

#endif
