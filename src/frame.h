/* Frames are AVFrames (refcounted). A frame pool hands out frames of one size and format whose buffers
 * return to the pool when the last reference goes, so the steady state does not allocate. The frame's pts
 * is its capture time in microseconds of CLOCK_MONOTONIC. */
#ifndef MC_FRAME_H
#define MC_FRAME_H

#include <libavutil/frame.h>
#include <libavutil/pixfmt.h>
#include <stdbool.h>

struct mc_frame_pool;

struct mc_frame_pool *mc_frame_pool_create(int width, int height, enum AVPixelFormat format);
void mc_frame_pool_destroy(struct mc_frame_pool *pool);
/* A new frame from the pool (NULL when out of memory); unref it as usual. */
AVFrame *mc_frame_pool_get(struct mc_frame_pool *pool);
/* Same size, format and pixels (CPU frames only; compares row by row, stops at the first difference). */
bool mc_frame_equal(const AVFrame *a, const AVFrame *b);

int mc_frame_pool_width(const struct mc_frame_pool *pool);
int mc_frame_pool_height(const struct mc_frame_pool *pool);
enum AVPixelFormat mc_frame_pool_format(const struct mc_frame_pool *pool);

#endif
