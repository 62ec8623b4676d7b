/* The scaler core and its CPU backends: the exact 2:1 step is each 2x2 block's rounded mean; other
 * ratios go to libswscale; equal size and format is a new reference, not a copy. */
#include <stdlib.h>

#include "check.h"
#include "frame.h"
#include "scaler.h"

static AVFrame *random_frame(struct mc_frame_pool *pool, unsigned seed)
{
	AVFrame *f = mc_frame_pool_get(pool);
	srand(seed);
	for (int p = 0; p < 3; p++) {
		int w = p ? f->width / 2 : f->width, h = p ? f->height / 2 : f->height;
		for (int y = 0; y < h; y++)
			for (int x = 0; x < w; x++)
				f->data[p][y * f->linesize[p] + x] = (uint8_t)rand();
	}
	f->pts = 123456;
	return f;
}

static void test_half(void)
{
	struct mc_frame_pool *pool = mc_frame_pool_create(72, 40, AV_PIX_FMT_YUV420P);
	AVFrame *in = random_frame(pool, 7);
	struct mc_scaler *s = mc_scaler_create(36, 20, AV_PIX_FMT_YUV420P);
	AVFrame *out = mc_scaler_run(s, in);
	CHECK(out != NULL);
	if (out) {
		CHECK_EQ(out->width, 36);
		CHECK_EQ(out->height, 20);
		CHECK_EQ(out->pts, 123456); /* properties travel with the picture */
		int wrong = 0;
		for (int p = 0; p < 3; p++) {
			int w = p ? 18 : 36, h = p ? 10 : 20;
			for (int y = 0; y < h; y++)
				for (int x = 0; x < w; x++) {
					const uint8_t *a = in->data[p] + 2 * y * in->linesize[p] + 2 * x;
					const uint8_t *b = a + in->linesize[p];
					int want = (a[0] + a[1] + b[0] + b[1] + 2) >> 2;
					wrong += out->data[p][y * out->linesize[p] + x] != want;
				}
		}
		CHECK_EQ(wrong, 0);
	}
	av_frame_free(&out);
	av_frame_free(&in);
	mc_scaler_destroy(s);
	mc_frame_pool_destroy(pool);
}

static void test_other_ratio_and_passthrough(void)
{
	struct mc_frame_pool *pool = mc_frame_pool_create(64, 48, AV_PIX_FMT_YUV420P);
	AVFrame *in = random_frame(pool, 9);
	/* 64x48 -> 40x30 is not 2:1: libswscale does it */
	struct mc_scaler *s = mc_scaler_create(40, 30, AV_PIX_FMT_YUV420P);
	AVFrame *out = mc_scaler_run(s, in);
	CHECK(out != NULL);
	if (out) {
		CHECK_EQ(out->width, 40);
		CHECK_EQ(out->height, 30);
		CHECK(out->data[0] != in->data[0]);
	}
	av_frame_free(&out);
	mc_scaler_destroy(s);
	/* same size and format: the same pixels, no copy */
	s = mc_scaler_create(64, 48, AV_PIX_FMT_YUV420P);
	out = mc_scaler_run(s, in);
	CHECK(out != NULL && out->data[0] == in->data[0]);
	av_frame_free(&out);
	mc_scaler_destroy(s);
	av_frame_free(&in);
	mc_frame_pool_destroy(pool);
}

/* NV12 halves too (the v4l2m2m encoder's format, kept down the pyramid): chroma pairs averaged per component */
static void test_half_nv12(void)
{
	struct mc_frame_pool *pool = mc_frame_pool_create(40, 24, AV_PIX_FMT_NV12);
	AVFrame *in = mc_frame_pool_get(pool);
	srand(3);
	for (int p = 0; p < 2; p++)
		for (int y = 0; y < (p ? 12 : 24); y++)
			for (int x = 0; x < 40; x++)
				in->data[p][y * in->linesize[p] + x] = (uint8_t)rand();
	struct mc_scaler *s = mc_scaler_create(20, 12, AV_PIX_FMT_NV12);
	AVFrame *out = mc_scaler_run(s, in);
	CHECK(out != NULL);
	CHECK_STR_EQ(mc_scaler_backend_name(s), "half");
	CHECK(!mc_scaler_on_device(s));
	int wrong = 0;
	for (int p = 0; out && p < 2; p++)
		for (int y = 0; y < (p ? 6 : 12); y++)
			for (int x = 0; x < 20; x++) {
				int step = p ? 2 : 1, xx = p ? (x / 2) * 4 + (x & 1) : 2 * x; /* p: x counts bytes, U V U V */
				const uint8_t *a = in->data[p] + 2 * y * in->linesize[p] + xx, *b = a + in->linesize[p];
				int want = (a[0] + a[step] + b[0] + b[step] + 2) >> 2;
				wrong += out->data[p][y * out->linesize[p] + x] != want;
			}
	CHECK_EQ(wrong, 0);
	av_frame_free(&out);
	av_frame_free(&in);
	mc_scaler_destroy(s);
	mc_frame_pool_destroy(pool);
}

int main(void)
{
	RUN(test_half);
	RUN(test_half_nv12);
	RUN(test_other_ratio_and_passthrough);
	return check_done();
}
