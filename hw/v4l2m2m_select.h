/* The v4l2m2m encoder's choices that need no device (hw/encoder_v4l2m2m.c), so that they are unit-tested:
 * the OUTPUT queue's pixel format, the H.264 level a layer needs, the FWHT quantiser standing in for a
 * bitrate (vicodec has no bitrate control), and whether a camera's DMABUF can be the OUTPUT buffer itself. */
#ifndef MC_V4L2M2M_SELECT_H
#define MC_V4L2M2M_SELECT_H

#include <libavutil/hwcontext_drm.h>
#include <libavutil/pixfmt.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DRM_FOURCC(a, b, c, d) ((uint32_t)(a) | ((uint32_t)(b) << 8) | ((uint32_t)(c) << 16) | ((uint32_t)(d) << 24))

/* A pixel format as V4L2, FFmpeg and DRM name it, with its plane count in a single-planar V4L2 buffer and
 * its bytes per pixel (of the first plane). */
struct mc_m2m_format {
	uint32_t v4l2;
	enum AVPixelFormat av;
	uint32_t drm;
	int planes, bytes;
};
/* NV12, YUV420, YUYV, RGB24, BGR24; NULL for another. */
const struct mc_m2m_format *mc_m2m_format_v4l2(uint32_t fourcc);
const struct mc_m2m_format *mc_m2m_format_av(enum AVPixelFormat fmt);

/* The input format among the `n` V4L2 fourccs the OUTPUT queue offers (VIDIOC_ENUM_FMT): the format of the
 * layer's pictures when offered and in the table above (a camera's NV12 or RGB24 goes in without a
 * conversion), else YUV420 (I420), else NV12: the two the software fallback also takes as they are.
 * 0 with *fourcc and *fmt set, -ENOTSUP when neither is offered. */
int mc_m2m_pick_input(const uint32_t *offered, int n, enum AVPixelFormat source_format, uint32_t *fourcc,
		      enum AVPixelFormat *fmt);

/* The lowest H.264 level (V4L2_MPEG_VIDEO_H264_LEVEL_*) whose frame size and macroblock rate cover
 * w x h at fps (ITU-T H.264 Table A-1), or -1 when none does. The Pi's firmware refuses to stream when the
 * level does not cover the layer (HARDWARE.md), so it is set per layer. */
int mc_m2m_h264_level(int width, int height, int fps);

/* vicodec's FWHT has quantisers (1..31, V4L2_CID_FWHT_P_FRAME_QP) and no bitrate control: the bitrate is
 * mapped to a quantiser from bits per pixel, so that a lower bitrate gives smaller frames. Not a rate
 * control: the frames' size follows the content. */
int mc_m2m_fwht_qp(int bitrate, int width, int height, int fps);

/* Can the buffer `d` describes be queued as the OUTPUT buffer (V4L2_MEMORY_DMABUF, single-planar) for the
 * format the device was set to: one object, LINEAR, the same format (d's DRM fourcc for `fourcc`, V4L2's), the same line pitch, the chroma plane right where
 * the driver expects it (bytesperline x height after the luma), and at least sizeimage bytes? */
bool mc_m2m_dmabuf_fits(const AVDRMFrameDescriptor *d, uint32_t fourcc, int bytesperline, int height,
			size_t sizeimage);

/* Copies a CPU frame's planes (fmt: NV12, YUV420P, or a packed format of the table) into an OUTPUT buffer of the driver's layout
 * (bytesperline x height luma, chroma after it). Returns the bytes written. */
size_t mc_m2m_write_frame(uint8_t *dst, int bytesperline, int height, const uint8_t *const src[3],
			  const int stride[3], int width, int visible_height, enum AVPixelFormat fmt);

#endif
