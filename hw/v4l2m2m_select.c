#include "v4l2m2m_select.h"

#include <errno.h>
#include <linux/videodev2.h>
#include <string.h>

/* The V4L2 pixel formats mixcast hands to mem2mem devices, with FFmpeg's name and DRM's fourcc (what a
 * DMABUF descriptor carries): NV12 and YUV420 are the same fourcc in both, V4L2's RGB24 (bytes R, G, B) is
 * DRM's BGR888 (a little-endian word B:G:R). */
static const struct mc_m2m_format formats[] = {
	{ V4L2_PIX_FMT_YUV420, AV_PIX_FMT_YUV420P, DRM_FOURCC('Y', 'U', '1', '2'), 3, 1 },
	{ V4L2_PIX_FMT_NV12, AV_PIX_FMT_NV12, DRM_FOURCC('N', 'V', '1', '2'), 2, 1 },
	{ V4L2_PIX_FMT_YUYV, AV_PIX_FMT_YUYV422, DRM_FOURCC('Y', 'U', 'Y', 'V'), 1, 2 },
	{ V4L2_PIX_FMT_RGB24, AV_PIX_FMT_RGB24, DRM_FOURCC('B', 'G', '2', '4'), 1, 3 },
	{ V4L2_PIX_FMT_BGR24, AV_PIX_FMT_BGR24, DRM_FOURCC('R', 'G', '2', '4'), 1, 3 },
};

const struct mc_m2m_format *mc_m2m_format_v4l2(uint32_t fourcc)
{
	for (size_t i = 0; i < sizeof(formats) / sizeof(formats[0]); i++)
		if (formats[i].v4l2 == fourcc)
			return &formats[i];
	return NULL;
}

const struct mc_m2m_format *mc_m2m_format_av(enum AVPixelFormat fmt)
{
	for (size_t i = 0; i < sizeof(formats) / sizeof(formats[0]); i++)
		if (formats[i].av == fmt)
			return &formats[i];
	return NULL;
}

int mc_m2m_pick_input(const uint32_t *offered, int n, enum AVPixelFormat source_format, uint32_t *fourcc,
		      enum AVPixelFormat *fmt)
{
	/* the source's own format first, in any format of the table */
	const struct mc_m2m_format *src = mc_m2m_format_av(source_format);
	for (int i = 0; src && i < n; i++)
		if (offered[i] == src->v4l2) {
			*fourcc = src->v4l2, *fmt = src->av;
			return 0;
		}
	/* else I420, then NV12: what the software fallback also takes */
	for (int k = 0; k < 2; k++)
		for (int i = 0; i < n; i++)
			if (offered[i] == formats[k].v4l2) {
				*fourcc = formats[k].v4l2, *fmt = formats[k].av;
				return 0;
			}
	return -ENOTSUP;
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
	const struct mc_m2m_format *f = mc_m2m_format_v4l2(fourcc);
	if (!f || !d || d->nb_objects != 1 || d->nb_layers != 1 || d->objects[0].fd < 0)
		return false;
	const AVDRMLayerDescriptor *l = &d->layers[0];
	if (l->format != f->drm || d->objects[0].format_modifier != 0 /* LINEAR */ || l->planes[0].offset != 0 ||
	    l->planes[0].pitch != bytesperline || d->objects[0].size < sizeimage || l->nb_planes != f->planes)
		return false;
	if (f->planes == 1)
		return true;
	/* single-planar V4L2: the chroma right after bytesperline x height of luma */
	if (l->planes[1].offset != (ptrdiff_t)bytesperline * height)
		return false;
	if (f->planes == 2)
		return l->planes[1].pitch == bytesperline;
	return l->planes[2].offset == l->planes[1].offset + (ptrdiff_t)(bytesperline / 2) * (height / 2);
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
	const struct mc_m2m_format *f = mc_m2m_format_av(fmt);
	if (f && f->planes == 1) { /* packed: one plane of width x bytes per pixel */
		copy_plane(dst, bytesperline, src[0], stride[0], width * f->bytes, visible_height);
		return luma;
	}
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
