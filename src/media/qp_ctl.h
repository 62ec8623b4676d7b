/* A per-frame quantiser controller toward a bitrate, for encoders that take a QP but have no rate control
 * of their own we can use: VA-API in CQP mode (the low-power entrypoint without its firmware,
 * HARDWARE.md), applied through a whole-frame ROI QP delta; vicodec's FWHT quantiser. Each frame's size is
 * measured against the layer's per-frame budget; the QP moves in the log domain of the error (a frame twice
 * the budget asks for as many steps as halve the size), at most two steps a frame and with a moving
 * average, so that a single large frame does not swing it. Keyframes are left out of the average (they are
 * large by nature: I-frame size is not what the P-frame QP controls). Pure: unit-tested on the host. */
#ifndef MC_QP_CTL_H
#define MC_QP_CTL_H

#include <stdbool.h>
#include <stddef.h>

struct mc_qp_ctl {
	double budget;     /* bytes per frame */
	double avg;        /* moving average of P-frame sizes, bytes; 0 until the first */
	double step_ratio; /* how much one QP step up shrinks a frame (H.264: 2^(1/6), about 1.12) */
	int qp, qp_min, qp_max;
};

void mc_qp_ctl_init(struct mc_qp_ctl *c, int bitrate, int fps, int qp, int qp_min, int qp_max, double step_ratio);
/* A new target (congestion control, a reload): the average is kept, the QP moves from the next frame. */
void mc_qp_ctl_set_bitrate(struct mc_qp_ctl *c, int bitrate, int fps);
/* One encoded frame of `bytes`; returns the QP for the next frame. */
int mc_qp_ctl_frame(struct mc_qp_ctl *c, size_t bytes, bool keyframe);

#endif
