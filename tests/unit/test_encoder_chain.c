/* The encoder chain and the layer's pixel format (src/media/encoder.c): libx264 takes a camera's NV12 as it is;
 * a backend that takes YUV420P only (OpenH264) gets YUV420P from the scaler, and when it fails while
 * streaming, libx264 behind it must take that YUV420P too (the scaler is not swapped under the track's
 * thread), not the camera's NV12. OpenH264's test-only fault switch makes the real encoder fail. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <libavcodec/avcodec.h>
#include <libavutil/frame.h>

#include "check.h"
#include "encoder.h"

#define W 160
#define H 96

static struct mc_encoder_params params(enum AVPixelFormat source_format)
{
	return (struct mc_encoder_params){ .codec = MC_CODEC_H264, .width = W, .height = H, .fps = 30,
					   .bitrate = 300000, .gop = 120, .preset = "ultrafast", .threads = 1,
					   .source_format = source_format, .name = "chain/0" };
}

/* Sends n grey frames of `fmt`; returns the packets that came out. */
static int encode(struct mc_encoder *e, enum AVPixelFormat fmt, int from, int n)
{
	AVFrame *f = av_frame_alloc();
	AVPacket *pkt = av_packet_alloc();
	f->format = fmt;
	f->width = W;
	f->height = H;
	CHECK_EQ(av_frame_get_buffer(f, 0), 0);
	for (int p = 0; p < 3 && f->data[p]; p++)
		memset(f->data[p], 128, (size_t)f->linesize[p] * (p ? H / 2 : H));
	int packets = 0;
	for (int i = from; i < from + n; i++) {
		f->pts = i * 33333;
		int rc = mc_encoder_send(e, f, i == 0);
		if (rc && rc != -EAGAIN)
			break;
		while (mc_encoder_receive(e, pkt) == 0) {
			packets++;
			av_packet_unref(pkt);
		}
	}
	av_packet_free(&pkt);
	av_frame_free(&f);
	return packets;
}

static void test_software_takes_nv12(void)
{
	struct mc_encoder_params p = params(AV_PIX_FMT_NV12);
	struct mc_encoder *e;
	CHECK_EQ(mc_encoder_create(&e, MC_ENCODER_SOFTWARE, &p), 0);
	CHECK_EQ(mc_encoder_input_format(e), AV_PIX_FMT_NV12);
	CHECK(encode(e, AV_PIX_FMT_NV12, 0, 10) > 0);
	mc_encoder_destroy(e);
	p = params(AV_PIX_FMT_NONE);
	CHECK_EQ(mc_encoder_create(&e, MC_ENCODER_SOFTWARE, &p), 0);
	CHECK_EQ(mc_encoder_input_format(e), AV_PIX_FMT_YUV420P);
	mc_encoder_destroy(e);
}

static void test_fallback_keeps_the_format(void)
{
	if (!mc_encoder_find("openh264")) {
		CHECK(mc_encoder_find("software") != NULL);
		printf("   openh264 not in this build: the fallback part is not run\n");
		return;
	}
	setenv("MIXCAST_TEST_OPENH264_FAULT", "error:20", 1);
	struct mc_encoder_params p = params(AV_PIX_FMT_NV12);
	struct mc_encoder *e;
	CHECK_EQ(mc_encoder_create(&e, MC_ENCODER_OPENH264, &p), 0);
	unsetenv("MIXCAST_TEST_OPENH264_FAULT");
	CHECK_STR_EQ(mc_encoder_backend_name(e), "openh264");
	CHECK_EQ(mc_encoder_input_format(e), AV_PIX_FMT_YUV420P); /* the scaler converts the NV12 (a copy) */
	int before = encode(e, AV_PIX_FMT_YUV420P, 0, 20);
	CHECK(before > 0);
	int after = encode(e, AV_PIX_FMT_YUV420P, 20, 40);
	CHECK_EQ_U64(mc_encoder_fallbacks(e), 1);
	CHECK_STR_EQ(mc_encoder_backend_name(e), "software");
	CHECK_EQ(mc_encoder_input_format(e), AV_PIX_FMT_YUV420P);
	CHECK(after >= 20); /* libx264 encodes on (its lookahead holds a few) */
	mc_encoder_destroy(e);
}

int main(void)
{
	RUN(test_software_takes_nv12);
	RUN(test_fallback_keeps_the_format);
	return check_done();
}
