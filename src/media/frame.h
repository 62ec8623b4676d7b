/* Frames are AVFrames (refcounted). A frame pool hands out frames of one size and format whose buffers
 * return to the pool when the last reference goes, so the steady state does not allocate. The frame's pts
 * is its capture time in microseconds of CLOCK_MONOTONIC. */
#ifndef MC_FRAME_H
#define MC_FRAME_H

#include <libavutil/frame.h>
#include <libavutil/hwcontext_drm.h>
#include <libavutil/pixfmt.h>
#include <stdbool.h>

struct mc_frame_pool;

struct mc_frame_pool *mc_frame_pool_create(int width, int height, enum AVPixelFormat format);
void mc_frame_pool_destroy(struct mc_frame_pool *pool);
/* A new frame from the pool (NULL when out of memory); unref it as usual. */
AVFrame *mc_frame_pool_get(struct mc_frame_pool *pool);

/* A CPU frame whose pixels are a device's buffer (a camera's V4L2 buffer, a KMS framebuffer) carries that
 * buffer as a DMABUF in frame->opaque_ref: FFmpeg's AVDRMFrameDescriptor (what AV_PIX_FMT_DRM_PRIME frames
 * carry in data[0]), so a hardware encoder can import the buffer without a copy, while data[] stays the
 * CPU mapping for the software path. The fds stay open while the reference lives. */
struct mc_frame_dmabuf {
	AVDRMFrameDescriptor drm;
	const uint8_t *map; /* the CPU address of the buffer's start (object 0, offset 0) */
};
/* The descriptor, if f carries one and f's pixels are that buffer (not a copy that inherited the
 * properties); NULL otherwise. */
const struct mc_frame_dmabuf *mc_frame_get_dmabuf(const AVFrame *f);

/* The kinds of memory a frame's pixels can be in, as flags: what a consumer takes, what a producer makes. */
enum mc_frame_kind {
	MC_FRAME_CPU = 1u << 0,    /* data[] is CPU memory (a pool's, or a device buffer mapped) */
	MC_FRAME_DMABUF = 1u << 1, /* the buffer as a DMABUF: a CPU frame that carries it (above), or AV_PIX_FMT_DRM_PRIME */
	MC_FRAME_VAAPI = 1u << 2,  /* AV_PIX_FMT_VAAPI: a VA surface (its hw_frames_ctx says on which device) */
};
/* The kinds f is: CPU, CPU|DMABUF (a camera's or a device scaler's buffer), DMABUF or VAAPI. */
unsigned mc_frame_kind_of(const AVFrame *f);

int mc_frame_pool_width(const struct mc_frame_pool *pool);
int mc_frame_pool_height(const struct mc_frame_pool *pool);
enum AVPixelFormat mc_frame_pool_format(const struct mc_frame_pool *pool);

#endif
