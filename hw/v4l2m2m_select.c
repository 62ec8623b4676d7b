#include "v4l2m2m_select.h"

#include <errno.h>
#include <linux/videodev2.h>
#include <string.h>

int mc_m2m_pick_input(const uint32_t *offered, int n, enum AVPixelFormat source_format, uint32_t *fourcc,
		      enum AVPixelFormat *fmt)
{
	static const struct { uint32_t fourcc; enum AVPixelFormat fmt; } known[] = {
		{ V4L2_PIX_FMT_YUV420, AV_PIX_FMT_YUV420P },
		{ V4L2_PIX_FMT_NV12, AV_PIX_FMT_NV12 },
	};
	int best = -1;
	for (int k = 0; k < 2; k++) {
		bool have = false;
		for (int i = 0; i < n; i++)
			have |= offered[i] == known[k].fourcc;
		if (!have)
			continue;
		if (known[k].fmt == source_format) {
			best = k;
			break;
		}
		if (best < 0)
			best = k;
	}
	if (best < 0)
		return -ENOTSUP;
	*fourcc = known[best].fourcc;
	*fmt = known[best].fmt;
	return 0;
}

int mc_m2m_h264_level(int width, int height, int fps)
{
	/* Table A-1: MaxMBPS (macroblocks/s) and MaxFS (macroblocks per frame) */
	static const struct { int level; long mbps; long fs; } table[] = {
		{ V4L2_MPEG_VIDEO_H264_LEVEL_1_0, 1485, 99 },       { V4L2_MPEG_VIDEO_H264_LEVEL_1_1, 3000, 396 },
		{ V4L2_MPEG_VIDEO_H264_LEVEL_1_2, 6000, 396 },      { V4L2_MPEG_VIDEO_H264_LEVEL_1_3, 11880, 396 },
		{ V4L2_MPEG_VIDEO_H264_LEVEL_2_0, 11880, 396 },     { V4L2_MPEG_VIDEO_H264_LEVEL_2_1, 19800, 792 },
		{ V4L2_MPEG_VIDEO_H264_LEVEL_2_2, 20250, 1620 },    { V4L2_MPEG_VIDEO_H264_LEVEL_3_0, 40500, 1620 },
		{ V4L2_MPEG_VIDEO_H264_LEVEL_3_1, 108000, 3600 },   { V4L2_MPEG_VIDEO_H264_LEVEL_3_2, 216000, 5120 },
		{ V4L2_MPEG_VIDEO_H264_LEVEL_4_0, 245760, 8192 },   { V4L2_MPEG_VIDEO_H264_LEVEL_4_1, 245760, 8192 },
		{ V4L2_MPEG_VIDEO_H264_LEVEL_4_2, 522240, 8704 },   { V4L2_MPEG_VIDEO_H264_LEVEL_5_0, 589824, 22080 },
		{ V4L2_MPEG_VIDEO_H264_LEVEL_5_1, 983040, 36864 },  { V4L2_MPEG_VIDEO_H264_LEVEL_5_2, 2073600, 36864 },
	};
	long fs = (long)((width + 15) / 16) * ((height + 15) / 16);
	long mbps = fs * (fps > 0 ? fps : 30);
	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
		if (fs <= table[i].fs && mbps <= table[i].mbps)
			return table[i].level;
	return -1;
}

int mc_m2m_fwht_qp(int bitrate, int width, int height, int fps)
{
	double px = (double)width * height * (fps > 0 ? fps : 30);
	double bpp = px > 0 ? bitrate / px : 0;
	/* FWHT at its default quantiser 20 gives about 0.5..1 bit per pixel on camera pictures, and at 1 about
	 * 4; between them the size goes roughly with 1/qp. Clamped to the control's range. */
	int qp = bpp > 0 ? (int)(20 * 0.6 / bpp + 0.5) : 31;
	return qp < 1 ? 1 : qp > 31 ? 31 : qp;
}

bool mc_m2m_dmabuf_fits(const AVDRMFrameDescriptor *d, uint32_t fourcc, int bytesperline, int height,
			size_t sizeimage)
{
	if (!d || d->nb_objects != 1 || d->nb_layers != 1 || d->objects[0].fd < 0)
		return false;
	const AVDRMLayerDescriptor *l = &d->layers[0];
	if (l->format != fourcc || d->objects[0].format_modifier != 0 /* LINEAR */ || l->planes[0].offset != 0 ||
	    l->planes[0].pitch != bytesperline || d->objects[0].size < sizeimage)
		return false;
	if (fourcc == V4L2_PIX_FMT_NV12)
		return l->nb_planes == 2 && l->planes[1].offset == (ptrdiff_t)bytesperline * height &&
		       l->planes[1].pitch == bytesperline;
	if (fourcc == V4L2_PIX_FMT_YUV420)
		return l->nb_planes == 3 && l->planes[1].offset == (ptrdiff_t)bytesperline * height &&
		       l->planes[2].offset == l->planes[1].offset + (ptrdiff_t)(bytesperline / 2) * (height / 2);
	return false;
}

static void copy_plane(uint8_t *dst, int dst_stride, const uint8_t *src, int src_stride, int bytes, int rows)
{
	for (int y = 0; y < rows; y++)
		memcpy(dst + (size_t)y * dst_stride, src + (size_t)y * src_stride, (size_t)bytes);
}

size_t mc_m2m_write_frame(uint8_t *dst, int bytesperline, int height, const uint8_t *const src[3],
			  const int stride[3], int width, int visible_height, enum AVPixelFormat fmt)
{
	size_t luma = (size_t)bytesperline * height;
	int ch = (visible_height + 1) / 2;
	copy_plane(dst, bytesperline, src[0], stride[0], width, visible_height);
	if (fmt == AV_PIX_FMT_NV12) {
		copy_plane(dst + luma, bytesperline, src[1], stride[1], (width + 1) & ~1, ch);
		return luma + (size_t)bytesperline * ((height + 1) / 2);
	}
	int cb = bytesperline / 2;
	size_t chroma = (size_t)cb * ((height + 1) / 2);
	copy_plane(dst + luma, cb, src[1], stride[1], (width + 1) / 2, ch);
	copy_plane(dst + luma + chroma, cb, src[2], stride[2], (width + 1) / 2, ch);
	return luma + 2 * chroma;
}
