#include "cadence.h"

void mc_frame_clock_init(struct mc_frame_clock *c, int fps_num, int fps_den, bool count_frames)
{
	*c = (struct mc_frame_clock){ .fps_num = fps_num > 0 ? fps_num : 30, .fps_den = fps_den > 0 ? fps_den : 1,
				      .count_frames = count_frames, .last_slot = -1 };
}

int64_t mc_frame_clock_slot(struct mc_frame_clock *c, int64_t pts)
{
	int64_t slot;
	if (!c->started) {
		c->started = true;
		c->first_pts = pts;
		slot = 0;
	} else if (c->count_frames) {
		slot = c->last_slot + 1;
	} else {
		/* round((pts - first) * num / (den * 1e6)): a camera's timestamps jitter around its slots */
		int64_t d = pts - c->first_pts, unit = (int64_t)c->fps_den * 1000000;
		slot = d < 0 ? 0 : (d * c->fps_num + unit / 2) / unit;
	}
	if (slot <= c->last_slot)
		slot = c->last_slot + 1;
	c->last_slot = slot;
	return slot;
}

bool mc_layer_slot_due(int64_t *last, int64_t slot, int layer_fps, int src_fps)
{
	if (src_fps < 1)
		src_fps = 1;
	if (layer_fps > src_fps || layer_fps < 1)
		layer_fps = src_fps;
	int64_t interval = slot * layer_fps / src_fps;
	if (interval <= *last)
		return false;
	*last = interval;
	return true;
}

int64_t mc_key_slots(double interval_s, int fps_num, int fps_den)
{
	double fps = fps_num > 0 && fps_den > 0 ? (double)fps_num / fps_den : 30.0;
	int64_t n = (int64_t)(interval_s * fps + 0.5);
	return n < 1 ? 1 : n;
}

bool mc_key_slot(int64_t *epoch, int64_t slot, int64_t key_slots)
{
	int64_t e = slot / (key_slots > 0 ? key_slots : 1);
	if (e <= *epoch)
		return false;
	*epoch = e;
	return true;
}
