/* MJPEG decoding of camera frames (hw/mjpeg.c): JPEGs made by FFmpeg's encoder decode; truncated, damaged,
 * garbage or wrong-size ones are reported as corrupt (the source counts and skips them), never a crash, and
 * the decoder takes good frames again afterwards. */
#include <errno.h>
#include <libavcodec/avcodec.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "mjpeg.h"

/* A real JPEG of a gradient, from libavcodec's MJPEG encoder (what a camera's MJPEG is: baseline JPEG). */
static AVPacket *make_jpeg(int w, int h)
{
	const AVCodec *c = avcodec_find_encoder(AV_CODEC_ID_MJPEG);
	AVCodecContext *ctx = c ? avcodec_alloc_context3(c) : NULL;
	AVFrame *f = av_frame_alloc();
	AVPacket *pkt = av_packet_alloc();
	if (!ctx || !f || !pkt)
		return NULL;
	ctx->width = w, ctx->height = h, ctx->pix_fmt = AV_PIX_FMT_YUVJ422P, ctx->time_base = (AVRational){ 1, 30 };
	f->width = w, f->height = h, f->format = ctx->pix_fmt;
	if (avcodec_open2(ctx, c, NULL) < 0 || av_frame_get_buffer(f, 0) < 0)
		return NULL;
	for (int y = 0; y < h; y++) {
		for (int x = 0; x < w; x++)
			f->data[0][y * f->linesize[0] + x] = (uint8_t)(16 + (x * 200) / w);
		memset(f->data[1] + y * f->linesize[1], 100, (size_t)w / 2);
		memset(f->data[2] + y * f->linesize[2], 150, (size_t)w / 2);
	}
	if (avcodec_send_frame(ctx, f) < 0 || avcodec_receive_packet(ctx, pkt) < 0)
		return NULL;
	avcodec_free_context(&ctx);
	av_frame_free(&f);
	return pkt;
}

static void test_decode(void)
{
	AVPacket *jpeg = make_jpeg(64, 48);
	CHECK(jpeg != NULL);
	struct mc_mjpeg *d = mc_mjpeg_create();
	CHECK(d != NULL);
	if (!jpeg || !d)
		return;
	AVFrame *out = NULL;
	CHECK_EQ(mc_mjpeg_decode(d, jpeg->data, (size_t)jpeg->size, 64, 48, &out), 0);
	if (out) {
		CHECK_EQ(out->width, 64);
		CHECK_EQ(out->height, 48);
		/* the gradient survived: left dark, right bright */
		CHECK(out->data[0][24 * out->linesize[0] + 2] < 40);
		CHECK(out->data[0][24 * out->linesize[0] + 61] > 190);
		av_frame_free(&out);
	}
	/* the wrong size (the camera changed mode under us): corrupt, skipped */
	CHECK_EQ(mc_mjpeg_decode(d, jpeg->data, (size_t)jpeg->size, 640, 480, &out), MC_MJPEG_CORRUPT);
	/* truncated, as a USB transfer cut short */
	CHECK_EQ(mc_mjpeg_decode(d, jpeg->data, (size_t)jpeg->size / 2, 64, 48, &out), MC_MJPEG_CORRUPT);
	/* nothing but garbage, and too short */
	uint8_t junk[4096];
	for (size_t i = 0; i < sizeof(junk); i++)
		junk[i] = (uint8_t)(i * 131 + 7);
	CHECK_EQ(mc_mjpeg_decode(d, junk, sizeof(junk), 64, 48, &out), MC_MJPEG_CORRUPT);
	CHECK_EQ(mc_mjpeg_decode(d, junk, 3, 64, 48, &out), MC_MJPEG_CORRUPT);
	/* damaged bytes anywhere: corrupt or a picture of the right size, never a crash */
	uint8_t *copy = malloc((size_t)jpeg->size);
	int corrupt = 0;
	for (int pos = 2; pos < jpeg->size; pos += 7) {
		memcpy(copy, jpeg->data, (size_t)jpeg->size);
		copy[pos] ^= 0x5a;
		int rc = mc_mjpeg_decode(d, copy, (size_t)jpeg->size, 64, 48, &out);
		CHECK(rc == 0 || rc == MC_MJPEG_CORRUPT);
		corrupt += rc == MC_MJPEG_CORRUPT;
		if (rc == 0) {
			CHECK(out->width == 64 && out->height == 48);
			av_frame_free(&out);
		}
	}
	CHECK(corrupt > 0);
	free(copy);
	/* and good frames decode again */
	CHECK_EQ(mc_mjpeg_decode(d, jpeg->data, (size_t)jpeg->size, 64, 48, &out), 0);
	av_frame_free(&out);
	mc_mjpeg_destroy(d);
	mc_mjpeg_destroy(NULL);
	av_packet_free(&jpeg);
}

int main(void)
{
	RUN(test_decode);
	return check_done();
}
