/* MJPEG frames from a camera decoded with libavcodec, one in, one out. A JPEG that does not decode cleanly
 * (truncated, damaged in transfer, the wrong size) is reported as corrupt so the caller counts and skips it;
 * it is never an error that stops the source. */
#ifndef MC_MJPEG_H
#define MC_MJPEG_H

#include <libavutil/frame.h>
#include <stddef.h>
#include <stdint.h>

#define MC_MJPEG_CORRUPT 1

struct mc_mjpeg;

struct mc_mjpeg *mc_mjpeg_create(void);
void mc_mjpeg_destroy(struct mc_mjpeg *d);
/* 0 with *out (the decoded picture, of width x height), MC_MJPEG_CORRUPT, or -ENOMEM. `data` is copied. */
int mc_mjpeg_decode(struct mc_mjpeg *d, const uint8_t *data, size_t len, int width, int height, AVFrame **out);

#endif
