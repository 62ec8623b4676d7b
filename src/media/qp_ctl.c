#include "qp_ctl.h"

#include <math.h>

void mc_qp_ctl_init(struct mc_qp_ctl *c, int bitrate, int fps, int qp, int qp_min, int qp_max, double step_ratio)
{
	*c = (struct mc_qp_ctl){ .step_ratio = step_ratio > 1.0 ? step_ratio : 1.12, .qp = qp, .qp_min = qp_min,
				 .qp_max = qp_max };
	mc_qp_ctl_set_bitrate(c, bitrate, fps);
}

void mc_qp_ctl_set_bitrate(struct mc_qp_ctl *c, int bitrate, int fps)
{
	c->budget = bitrate > 0 ? bitrate / 8.0 / (fps > 0 ? fps : 30) : 0;
}

int mc_qp_ctl_frame(struct mc_qp_ctl *c, size_t bytes, bool keyframe)
{
	if (keyframe || c->budget <= 0 || bytes == 0)
		return c->qp;
	/* a quarter of each new frame: a scene change moves the QP within a few frames, noise does not */
	c->avg = c->avg > 0 ? 0.75 * c->avg + 0.25 * (double)bytes : (double)bytes;
	/* the steps that would bring the average to the budget; half of them now (the average lags), at most 2.
	 * Within 10 % of the budget nothing moves: each move costs a little quality oscillation. */
	double err = log(c->avg / c->budget);
	if (fabs(err) < log(1.10))
		return c->qp;
	double steps = 0.5 * err / log(c->step_ratio);
	int s = (int)lround(steps);
	if (s == 0)
		s = err > 0 ? 1 : -1;
	s = s > 2 ? 2 : s < -2 ? -2 : s;
	c->qp += s;
	c->qp = c->qp < c->qp_min ? c->qp_min : c->qp > c->qp_max ? c->qp_max : c->qp;
	return c->qp;
}
