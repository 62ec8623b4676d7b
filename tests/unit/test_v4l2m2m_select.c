/* The v4l2m2m encoder's device-free choices (hw/v4l2m2m_select.c): the OUTPUT format, the H.264 level per
 * layer, the FWHT quantiser for a bitrate, whether a camera's DMABUF can be the OUTPUT buffer, and the copy
 * of a CPU frame into the driver's (padded) layout. */
#include <errno.h>
#include <linux/videodev2.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "v4l2m2m_select.h"

static void test_pick_input(void)
{
	uint32_t fourcc = 0;
	enum AVPixelFormat fmt = AV_PIX_FMT_NONE;
	/* vicodec's order: YUV420 first, NV12 later; a camera's NV12 is taken as it is */
	const uint32_t vicodec[] = { V4L2_PIX_FMT_YUV420, V4L2_PIX_FMT_YVU420, V4L2_PIX_FMT_NV12, V4L2_PIX_FMT_YUYV };
	CHECK_EQ(mc_m2m_pick_input(vicodec, 4, AV_PIX_FMT_NV12, &fourcc, &fmt), 0);
	CHECK_EQ(fourcc, V4L2_PIX_FMT_NV12);
	CHECK_EQ(fmt, AV_PIX_FMT_NV12);
	/* no preference (a scaled layer): I420, what every fallback takes */
	CHECK_EQ(mc_m2m_pick_input(vicodec, 4, AV_PIX_FMT_NONE, &fourcc, &fmt), 0);
	CHECK_EQ(fourcc, V4L2_PIX_FMT_YUV420);
	CHECK_EQ(fmt, AV_PIX_FMT_YUV420P);
	/* a YUYV camera's frames are converted to I420 by the source: I420 */
	CHECK_EQ(mc_m2m_pick_input(vicodec, 4, AV_PIX_FMT_YUV420P, &fourcc, &fmt), 0);
	CHECK_EQ(fourcc, V4L2_PIX_FMT_YUV420);
	/* only NV12 offered: NV12 even without a preference */
	const uint32_t nv12[] = { V4L2_PIX_FMT_RGB24, V4L2_PIX_FMT_NV12 };
	CHECK_EQ(mc_m2m_pick_input(nv12, 2, AV_PIX_FMT_NONE, &fourcc, &fmt), 0);
	CHECK_EQ(fmt, AV_PIX_FMT_NV12);
	/* neither: refused (a fallback could not take the frames) */
	const uint32_t rgb[] = { V4L2_PIX_FMT_RGB24, V4L2_PIX_FMT_YUYV };
	CHECK_EQ(mc_m2m_pick_input(rgb, 2, AV_PIX_FMT_NV12, &fourcc, &fmt), -ENOTSUP);
	CHECK_EQ(mc_m2m_pick_input(NULL, 0, AV_PIX_FMT_NV12, &fourcc, &fmt), -ENOTSUP);
	/* RGB24 pictures (an RGB camera, or a layer a device scaler made in RGB24) go in as they are */
	CHECK_EQ(mc_m2m_pick_input(rgb, 2, AV_PIX_FMT_RGB24, &fourcc, &fmt), 0);
	CHECK_EQ(fourcc, V4L2_PIX_FMT_RGB24);
	CHECK_EQ(fmt, AV_PIX_FMT_RGB24);
	CHECK(mc_m2m_format_v4l2(V4L2_PIX_FMT_MJPEG) == NULL);
}

static void test_level(void)
{
	/* Table A-1 */
	CHECK_EQ(mc_m2m_h264_level(320, 180, 15), V4L2_MPEG_VIDEO_H264_LEVEL_1_2);  /* 240 MBs, 3600 MB/s */
	CHECK_EQ(mc_m2m_h264_level(640, 360, 30), V4L2_MPEG_VIDEO_H264_LEVEL_3_0);  /* 920 MBs, 27600 MB/s */
	CHECK_EQ(mc_m2m_h264_level(1280, 720, 30), V4L2_MPEG_VIDEO_H264_LEVEL_3_1); /* 3600 MBs, 108000 MB/s */
	CHECK_EQ(mc_m2m_h264_level(1280, 720, 60), V4L2_MPEG_VIDEO_H264_LEVEL_3_2);
	CHECK_EQ(mc_m2m_h264_level(1920, 1080, 30), V4L2_MPEG_VIDEO_H264_LEVEL_4_0); /* 8160 MBs (1088 lines) */
	CHECK_EQ(mc_m2m_h264_level(1920, 1080, 60), V4L2_MPEG_VIDEO_H264_LEVEL_4_2);
	CHECK_EQ(mc_m2m_h264_level(1366, 768, 30), V4L2_MPEG_VIDEO_H264_LEVEL_3_2);  /* 86x48 = 4128 MBs */
	CHECK_EQ(mc_m2m_h264_level(8192, 4320, 60), -1);
}

static void test_fwht_qp(void)
{
	int hi = mc_m2m_fwht_qp(8000000, 640, 360, 10), lo = mc_m2m_fwht_qp(500000, 640, 360, 10);
	CHECK(hi >= 1 && hi < lo && lo <= 31);
	CHECK_EQ(mc_m2m_fwht_qp(500000, 640, 360, 10), 31);
	CHECK_EQ(mc_m2m_fwht_qp(100000000, 640, 360, 10), 1);
	CHECK_EQ(mc_m2m_fwht_qp(0, 640, 360, 10), 31);
	/* more pixels at the same bitrate: a coarser quantiser */
	CHECK(mc_m2m_fwht_qp(4000000, 1280, 720, 30) > mc_m2m_fwht_qp(4000000, 640, 360, 30));
}

static AVDRMFrameDescriptor nv12_desc(int pitch, int height)
{
	AVDRMFrameDescriptor d = { 0 };
	d.nb_objects = 1;
	d.objects[0].fd = 7;
	d.objects[0].size = (size_t)pitch * height * 3 / 2;
	d.nb_layers = 1;
	d.layers[0].format = V4L2_PIX_FMT_NV12;
	d.layers[0].nb_planes = 2;
	d.layers[0].planes[0].pitch = pitch;
	d.layers[0].planes[1].offset = (ptrdiff_t)pitch * height;
	d.layers[0].planes[1].pitch = pitch;
	return d;
}

static void test_dmabuf_fits(void)
{
	AVDRMFrameDescriptor d = nv12_desc(1280, 720);
	CHECK(mc_m2m_dmabuf_fits(&d, V4L2_PIX_FMT_NV12, 1280, 720, 1280 * 720 * 3 / 2));
	/* vicodec pads 640x360 to 368 lines: the camera's chroma plane is not where it reads it */
	AVDRMFrameDescriptor s = nv12_desc(640, 360);
	CHECK(!mc_m2m_dmabuf_fits(&s, V4L2_PIX_FMT_NV12, 640, 368, 640 * 368 * 3 / 2));
	CHECK(mc_m2m_dmabuf_fits(&s, V4L2_PIX_FMT_NV12, 640, 360, 640 * 360 * 3 / 2));
	/* another pitch (the Pi aligns lines to 32 or 64 bytes), another format, a tiled buffer, two objects */
	CHECK(!mc_m2m_dmabuf_fits(&d, V4L2_PIX_FMT_NV12, 1344, 720, 1344 * 720 * 3 / 2));
	CHECK(!mc_m2m_dmabuf_fits(&d, V4L2_PIX_FMT_YUV420, 1280, 720, 1280 * 720 * 3 / 2));
	AVDRMFrameDescriptor t = d;
	t.objects[0].format_modifier = 1;
	CHECK(!mc_m2m_dmabuf_fits(&t, V4L2_PIX_FMT_NV12, 1280, 720, 1280 * 720 * 3 / 2));
	t = d;
	t.nb_objects = 2;
	CHECK(!mc_m2m_dmabuf_fits(&t, V4L2_PIX_FMT_NV12, 1280, 720, 1280 * 720 * 3 / 2));
	t = d;
	t.objects[0].size = 1000;
	CHECK(!mc_m2m_dmabuf_fits(&t, V4L2_PIX_FMT_NV12, 1280, 720, 1280 * 720 * 3 / 2));
	CHECK(!mc_m2m_dmabuf_fits(NULL, V4L2_PIX_FMT_NV12, 1280, 720, 0));
	/* packed RGB24 (vivid -> vim2m -> vicodec in the kernel lane): one plane; the descriptor says DRM's
	 * name for V4L2's RGB3, BG24 */
	AVDRMFrameDescriptor r = { .nb_objects = 1, .nb_layers = 1 };
	r.objects[0].fd = 5, r.objects[0].size = 1920 * 480;
	r.layers[0].format = DRM_FOURCC('B', 'G', '2', '4'), r.layers[0].nb_planes = 1, r.layers[0].planes[0].pitch = 1920;
	CHECK(mc_m2m_dmabuf_fits(&r, V4L2_PIX_FMT_RGB24, 1920, 480, 1920 * 480));
	CHECK(!mc_m2m_dmabuf_fits(&r, V4L2_PIX_FMT_BGR24, 1920, 480, 1920 * 480));
	r.layers[0].format = V4L2_PIX_FMT_RGB24; /* V4L2's fourcc where DRM's belongs: refused */
	CHECK(!mc_m2m_dmabuf_fits(&r, V4L2_PIX_FMT_RGB24, 1920, 480, 1920 * 480));
}

/* 6x3 I420 into a 8-byte pitch, 4-line buffer: rows land at the pitch, chroma after the padded luma */
static void test_write_frame(void)
{
	uint8_t y[6 * 3], u[3 * 2], v[3 * 2];
	for (int i = 0; i < 18; i++)
		y[i] = (uint8_t)(i + 1);
	for (int i = 0; i < 6; i++)
		u[i] = (uint8_t)(100 + i), v[i] = (uint8_t)(200 + i);
	const uint8_t *src[3] = { y, u, v };
	int stride[3] = { 6, 3, 3 };
	uint8_t dst[64];
	memset(dst, 0xee, sizeof(dst));
	size_t n = mc_m2m_write_frame(dst, 8, 4, src, stride, 6, 3, AV_PIX_FMT_YUV420P);
	CHECK_EQ(n, 8 * 4 + 2 * 4 * 2);
	CHECK_EQ(dst[0], 1);
	CHECK_EQ(dst[8], 7);       /* row 1 at the pitch */
	CHECK_EQ(dst[6], 0xee);    /* the padding is not written */
	CHECK_EQ(dst[32], 100);    /* U after 4 lines of luma */
	CHECK_EQ(dst[36], 103);    /* U row 1 at pitch/2 */
	CHECK_EQ(dst[32 + 8], 200); /* V after U's 2 lines */
	uint8_t uv[6 * 2];
	for (int i = 0; i < 12; i++)
		uv[i] = (uint8_t)(50 + i);
	const uint8_t *src2[3] = { y, uv, NULL };
	int stride2[3] = { 6, 6, 0 };
	memset(dst, 0xee, sizeof(dst));
	n = mc_m2m_write_frame(dst, 8, 4, src2, stride2, 6, 3, AV_PIX_FMT_NV12);
	CHECK_EQ(n, 8 * 4 + 8 * 2);
	CHECK_EQ(dst[32], 50);
	CHECK_EQ(dst[40], 56);
}

int main(void)
{
	RUN(test_pick_input);
	RUN(test_level);
	RUN(test_fwht_qp);
	RUN(test_dmabuf_fits);
	RUN(test_write_frame);
	return check_done();
}
