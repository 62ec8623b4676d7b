/* m2m_enc: drives the v4l2m2m encoder backend (hw/encoder_v4l2m2m.c) on a real kernel encoder (vicodec in the
 * kernel lane, in the backend's FWHT test mode) through its ops table, as the core does, with CPU frames
 * (the MMAP path) of a moving pattern:
 *   m2m_enc WxH FRAMES DIR
 * - keyframes on request: frames 7 and 13 are asked for as keyframes and must come out as keyframes; the frames
 *   between them must not all be keyframes (vicodec's own GOP is set to the safety net, 16 at most);
 * - a bitrate change while streaming: after frame FRAMES/2 the bitrate drops 16x and the P frames must shrink
 *   (FWHT: the backend steers vicodec's quantiser toward the bitrate frame by frame);
 * - drain and restart: FLUSH (ENC_CMD_STOP) gives every frame's packet and then -EPIPE; 5 frames sent after
 *   it come out, the first a keyframe;
 * - copies: one per CPU frame, as ops->copies says.
 * The bitstream and the input pictures go to DIR (the backend's test mode) for the caller to decode with
 * vicodec's decoder and compare (m2m_ops.sh). Exit 0 when every check passed. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libavcodec/packet.h>
#include <libavutil/frame.h>

#include "encoder.h"

static int failures;
#define EXPECT(c, ...)                                              \
	do {                                                        \
		if (!(c)) {                                         \
			failures++;                                 \
			printf("FAIL %s: ", #c);                    \
			printf(__VA_ARGS__);                        \
			printf("\n");                               \
		}                                                   \
	} while (0)

struct out {
	int n;
	long long pts[512];
	int size[512];
	bool key[512];
};

static void take(const struct mc_encoder_ops *ops, void *e, AVPacket *pkt, struct out *o, int *rc_out)
{
	int rc;
	while ((rc = ops->receive_packet(e, pkt)) == 0) {
		if (o->n < 512) {
			o->pts[o->n] = pkt->pts;
			o->size[o->n] = pkt->size;
			o->key[o->n] = pkt->flags & AV_PKT_FLAG_KEY;
			o->n++;
		}
		av_packet_unref(pkt);
	}
	*rc_out = rc;
}

/* camera-like content: smooth shapes that move, so that the quantiser (the bitrate) matters. Separable (one
 * sine per row and column), so that it costs little in the TCG guest. */
static void pattern(AVFrame *f, int i)
{
	static double sx[4096], cy[4096];
	for (int x = 0; x < f->width; x++)
		sx[x] = 60 * sin((x + 6 * i) / 11.0);
	for (int y = 0; y < f->height; y++)
		cy[y] = cos((y + 3 * i) / 7.0);
	for (int y = 0; y < f->height; y++)
		for (int x = 0; x < f->width; x++)
			f->data[0][y * f->linesize[0] + x] = (uint8_t)(128 + sx[x] * cy[y] + ((x + y) & 63) / 2);
	for (int p = 1; p < 3; p++)
		for (int y = 0; y < f->height / 2; y++)
			for (int x = 0; x < f->width / 2; x++)
				f->data[p][y * f->linesize[p] + x] = (uint8_t)(128 + (p == 1 ? (x + i) & 63 : (y - i) & 63) - 32);
}

static int find(const struct out *o, long long pts)
{
	for (int k = 0; k < o->n; k++)
		if (o->pts[k] == pts)
			return k;
	return -1;
}

int main(int argc, char **argv)
{
	int w, h, n;
	if (argc != 4 || sscanf(argv[1], "%dx%d", &w, &h) != 2 || (n = atoi(argv[2])) < 20 || n > 400) {
		fprintf(stderr, "usage: m2m_enc WxH FRAMES(20..400) DIR\n");
		return 2;
	}
	char mode[600];
	snprintf(mode, sizeof(mode), "fwht:%s", argv[3]);
	setenv("MIXCAST_TEST_V4L2M2M", mode, 1);
	char raw[16];
	snprintf(raw, sizeof(raw), "%d", n + 5);
	setenv("MIXCAST_TEST_V4L2M2M_RAW", raw, 1);
	const struct mc_encoder_ops *ops = mc_encoder_find("v4l2m2m");
	if (!ops) {
		printf("no v4l2m2m backend in this build\n");
		return 1;
	}
	/* 8 Mbit/s at 640x360, as much per pixel at other sizes: a rate FWHT can reach, so that the backend's QP
	 * control is not already at its coarsest quantiser before the cut */
	int fps = 10, bitrate = (int)(8000000.0 * w * h / (640 * 360));
	struct mc_encoder_params p = { .codec = MC_CODEC_H264, .width = w, .height = h, .fps = fps, .bitrate = bitrate,
				       .gop = 16, .source_format = AV_PIX_FMT_YUV420P, .name = "m2m" };
	char why[200] = "";
	if (!ops->probe(&p, why, sizeof(why))) {
		printf("probe refused %dx%d: %s\n", w, h, why);
		return 1;
	}
	void *e = calloc(1, ops->priv_size);
	enum AVPixelFormat fmt = AV_PIX_FMT_NONE;
	int rc = ops->open(e, &p, &fmt);
	if (rc) {
		printf("open: %s\n", strerror(-rc));
		ops->close(e);
		return 1;
	}
	EXPECT(fmt == AV_PIX_FMT_YUV420P, "input format %d", fmt);
	AVFrame *f = av_frame_alloc();
	f->width = w, f->height = h, f->format = fmt;
	av_frame_get_buffer(f, 64);
	AVPacket *pkt = av_packet_alloc();
	struct out o = { 0 };
	int half = n / 2;
	for (int i = 0; i < n; i++) {
		if (i == half) {
			rc = ops->set_bitrate(e, bitrate / 16);
			EXPECT(rc == 0, "set_bitrate: %s", strerror(-rc));
		}
		pattern(f, i);
		f->pts = 1000000LL + i * 100000LL;
		bool key = i == 7 || i == 13;
		rc = ops->send_frame(e, f, key);
		for (int t = 0; rc == -EAGAIN && t < 20; t++) { /* as the core: read the packets, send again */
			take(ops, e, pkt, &o, &(int){ 0 });
			rc = ops->send_frame(e, f, key);
		}
		EXPECT(rc == 0, "send frame %d: %s", i, strerror(-rc));
		int r;
		take(ops, e, pkt, &o, &r);
		EXPECT(r == -EAGAIN, "receive after frame %d: %s", i, strerror(-r));
	}
	/* drain: every frame's packet, then -EPIPE */
	rc = ops->send_frame(e, NULL, false);
	EXPECT(rc == 0, "flush: %s", strerror(-rc));
	int r = -EAGAIN;
	for (int t = 0; r == -EAGAIN && t < 50; t++)
		take(ops, e, pkt, &o, &r);
	EXPECT(r == -EPIPE, "after the drain: %s", strerror(-r));
	EXPECT(o.n == n, "%d packets for %d frames after the drain", o.n, n);
	/* restart after the drain */
	int before = o.n;
	for (int i = n; i < n + 5; i++) {
		pattern(f, i);
		f->pts = 1000000LL + i * 100000LL;
		rc = ops->send_frame(e, f, false);
		for (int t = 0; rc == -EAGAIN && t < 20; t++) {
			take(ops, e, pkt, &o, &(int){ 0 });
			rc = ops->send_frame(e, f, false);
		}
		EXPECT(rc == 0, "send frame %d after the drain: %s", i, strerror(-rc));
		take(ops, e, pkt, &o, &r);
	}
	ops->send_frame(e, NULL, false);
	r = -EAGAIN;
	for (int t = 0; r == -EAGAIN && t < 50; t++)
		take(ops, e, pkt, &o, &r);
	EXPECT(o.n == before + 5, "%d packets after the restart, expected 5", o.n - before);
	EXPECT(o.n > before && o.key[before], "the first frame after the restart is a keyframe");
	for (int i = 0; i < n; i++)
		EXPECT(find(&o, 1000000LL + i * 100000LL) == i, "frame %d's packet out of order", i);
	int k7 = find(&o, 1000000LL + 7 * 100000LL), k13 = find(&o, 1000000LL + 13 * 100000LL);
	EXPECT(k7 >= 0 && o.key[k7], "frame 7 asked for as a keyframe");
	EXPECT(k13 >= 0 && o.key[k13], "frame 13 asked for as a keyframe");
	int p_between = 0, keys = 0;
	for (int k = 8; k < 13 && k < o.n; k++)
		p_between += !o.key[k];
	for (int k = 0; k < n && k < o.n; k++)
		keys += o.key[k];
	EXPECT(p_between >= 4, "only %d of frames 8..12 are P frames", p_between);
	/* P frames before and after the bitrate change (the pattern moves evenly) */
	long long hi = 0, lo = 0;
	int nh = 0, nl = 0;
	for (int k = 1; k < n && k < o.n; k++) {
		if (o.key[k])
			continue;
		if (k < half)
			hi += o.size[k], nh++;
		else if (k > half)
			lo += o.size[k], nl++;
	}
	double avg_hi = nh ? (double)hi / nh : 0, avg_lo = nl ? (double)lo / nl : 0;
	EXPECT(nh > 2 && nl > 2 && avg_lo < 0.8 * avg_hi, "P frames %.0f bytes before the bitrate change, %.0f after", avg_hi,
	       avg_lo);
	uint64_t copies = ops->copies ? ops->copies(e) : 0;
	EXPECT(copies == (uint64_t)(n + 5), "%llu copies for %d CPU frames", (unsigned long long)copies, n + 5);
	printf("m2m_enc %dx%d: %d frames + 5 after a drain; %d keyframes; P frames %.0f bytes at %d kbit/s, %.0f at %d "
	       "kbit/s; %llu copies; %s\n",
	       w, h, n, keys, avg_hi, bitrate / 1000, avg_lo, bitrate / 16000, (unsigned long long)copies,
	       failures ? "FAILED" : "ok");
	ops->close(e);
	free(e);
	av_frame_free(&f);
	av_packet_free(&pkt);
	return failures ? 1 : 0;
}
