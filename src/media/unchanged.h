/* Finding pictures that did not change, cheaply: a static screen must cost next to nothing, and comparing
 * every pixel of every frame costs more than the rest of an unchanged frame's path (1080p is 3 MB of YUV or
 * 8 MB of XRGB a frame; the YUV compare alone was 1 % of a core at 15 fps). So each comparison is a
 * sample: one row in MC_UNCHANGED_STEP of every plane, a different row each call. A change as tall as the
 * step (a line of text, a window) is seen at once, and any change within STEP calls, because every row is
 * compared once per STEP calls: the full compare, spread over frames. */
#ifndef MC_UNCHANGED_H
#define MC_UNCHANGED_H

#include <libavutil/frame.h>
#include <stdbool.h>
#include <stdint.h>

#define MC_UNCHANGED_STEP 8

struct mc_unchanged {
	unsigned phase; /* which rows the next call compares */
};

/* A picture as planes of bytes (any pixel format). */
struct mc_planes {
	int n;
	const uint8_t *data[4];
	int linesize[4];
	int row_bytes[4]; /* bytes of pixels in a row */
	int rows[4];
};

/* Whether the rows this call samples are equal in a and b (same geometry assumed). */
bool mc_unchanged_planes(struct mc_unchanged *u, const struct mc_planes *a, const struct mc_planes *b);
/* Frames: false when size or format differ; true at once when they are the same buffer (a source that
 * delivered its last picture again); else the sampled compare. CPU frames only. */
bool mc_unchanged_frames(struct mc_unchanged *u, const AVFrame *a, const AVFrame *b);
/* The planes of a CPU frame; false for a hardware format. */
bool mc_planes_of_frame(const AVFrame *f, struct mc_planes *p);

#endif
