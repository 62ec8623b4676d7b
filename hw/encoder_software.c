/* software: libavcodec's libx264 (H.264) and libvpx (VP8), set up for real time: no B-frames, no lookahead,
 * constrained baseline, CBR with a VBV of about one frame, keyframes when the core asks. */
#include <errno.h>
#include <libavcodec/avcodec.h>
#include <libavutil/opt.h>
#include <stdio.h>

#include "encoder.h"
#include "log.h"

struct swenc {
	AVCodecContext *ctx;
	AVFrame *frame; /* a reference to the caller's frame, with pict_type set */
	const char *name;
	struct mc_encoder_params params; /* as opened (libvpx reopens with a new bitrate) */
	int64_t reopened_us;
};

static const char *lib_name(enum mc_codec c) { return c == MC_CODEC_VP8 ? "libvpx" : "libx264"; }

static bool swenc_probe(const struct mc_encoder_params *p, char *why, size_t n)
{
	if (avcodec_find_encoder_by_name(lib_name(p->codec)))
		return true;
	snprintf(why, n, "this libavcodec has no %s", lib_name(p->codec));
	return false;
}

static void set_opt(AVCodecContext *ctx, const char *key, const char *value, const char *who)
{
	int rc = av_opt_set(ctx->priv_data, key, value, 0);
	if (rc < 0)
		mc_warn("encoder", "%s: option %s=%s not taken: %s", who, key, value, av_err2str(rc));
}

/* The rate control fields for `bitrate`: CBR with a VBV of one frame (libx264), 500 ms (libvpx). */
static void set_rate(AVCodecContext *c, enum mc_codec codec, int bitrate, int fps)
{
	c->bit_rate = bitrate;
	c->rc_max_rate = bitrate;
	c->rc_buffer_size = bitrate / fps; /* one frame of VBV: a frame never waits behind a big one */
	if (codec == MC_CODEC_VP8) {
		c->rc_min_rate = bitrate;          /* min == max: libvpx runs CBR */
		c->rc_buffer_size = bitrate / 2;   /* libvpx measures its buffer in ms: 500 ms */
		c->rc_initial_buffer_occupancy = c->rc_buffer_size * 4 / 5;
	}
}

static int swenc_open(void *priv, const struct mc_encoder_params *p, enum AVPixelFormat *input_format)
{
	struct swenc *e = priv;
	e->name = p->name;
	e->params = *p;
	const AVCodec *codec = avcodec_find_encoder_by_name(lib_name(p->codec));
	if (!codec)
		return -ENOENT;
	AVCodecContext *c = e->ctx = avcodec_alloc_context3(codec);
	e->frame = av_frame_alloc();
	if (!c || !e->frame)
		return -ENOMEM;
	c->width = p->width;
	c->height = p->height;
	/* libx264 takes NV12 as it is (its own pictures are NV12 inside): a camera's NV12 frame then goes to
	 * the encoder without a conversion. libvpx takes I420 only. */
	c->pix_fmt = p->codec == MC_CODEC_H264 && p->source_format == AV_PIX_FMT_NV12 ? AV_PIX_FMT_NV12 : AV_PIX_FMT_YUV420P;
	/* pts in microseconds of capture time: the packets carry it back, and rate control sees real time */
	c->time_base = (AVRational){ 1, 1000000 };
	c->framerate = (AVRational){ p->fps, 1 };
	c->gop_size = p->gop;
	c->max_b_frames = 0;
	set_rate(c, p->codec, p->bitrate, p->fps);
	/* threads = 0: libx264 picks (sliced threads under zerolatency shorten a frame's encode time);
	 * libvpx gets one thread: its worker threads spin, and three layers' encoders with a thread per core
	 * each starve one another on a 2-core device (frames dropped, encodes of a second seen) */
	c->thread_count = p->threads ? p->threads : p->codec == MC_CODEC_VP8 ? 1 : 0;
	c->flags |= AV_CODEC_FLAG_LOW_DELAY;

	char buf[32];
	if (p->codec == MC_CODEC_H264) {
		set_opt(c, "preset", p->preset, p->name);
		set_opt(c, "tune", "zerolatency", p->name);
		set_opt(c, "profile", "baseline", p->name);
		/* a forced keyframe is an IDR, and SPS/PPS come in band before it (no global header): Janus and
		 * a browser that joins late need both */
		set_opt(c, "forced-idr", "1", p->name);
		set_opt(c, "x264-params", "repeat-headers=1:aud=0", p->name);
	} else {
		set_opt(c, "deadline", "realtime", p->name);
		snprintf(buf, sizeof(buf), "%d", 8);
		set_opt(c, "cpu-used", buf, p->name);
		set_opt(c, "lag-in-frames", "0", p->name);
		set_opt(c, "error-resilient", "1", p->name);
		set_opt(c, "auto-alt-ref", "0", p->name);
		c->qmin = 4;
		c->qmax = 56;
	}
	int rc = avcodec_open2(c, codec, NULL);
	if (rc < 0) {
		mc_err("encoder", "%s: %s failed to open: %s", p->name, codec->name, av_err2str(rc));
		return rc == AVERROR(ENOMEM) ? -ENOMEM : -EINVAL;
	}
	*input_format = c->pix_fmt;
	return 0;
}

static int swenc_send(void *priv, const AVFrame *frame, bool keyframe)
{
	struct swenc *e = priv;
	int rc;
	if (!frame) {
		rc = avcodec_send_frame(e->ctx, NULL);
	} else {
		av_frame_unref(e->frame);
		if ((rc = av_frame_ref(e->frame, frame)) < 0)
			return rc;
		e->frame->pict_type = keyframe ? AV_PICTURE_TYPE_I : AV_PICTURE_TYPE_NONE;
		rc = avcodec_send_frame(e->ctx, e->frame);
		av_frame_unref(e->frame);
	}
	if (rc == AVERROR(EAGAIN))
		return -EAGAIN;
	if (rc == AVERROR_EOF)
		return -EPIPE;
	return rc < 0 ? -EIO : 0;
}

static int swenc_receive(void *priv, AVPacket *pkt)
{
	struct swenc *e = priv;
	int rc = avcodec_receive_packet(e->ctx, pkt);
	if (rc == AVERROR(EAGAIN))
		return -EAGAIN;
	if (rc == AVERROR_EOF)
		return -EPIPE;
	return rc < 0 ? -EIO : 0;
}

/* libavcodec 5.1's libx264 wrapper compares bit_rate, rc_max_rate and rc_buffer_size with x264's before
 * every frame and calls x264_encoder_reconfig() when they changed (reconfig_encoder() in libx264.c):
 * setting the fields is enough, measured (1 Mbit/s -> 200 kbit/s takes effect within a few frames).
 * Its libvpx wrapper reads them only at open (measured: the rate stays): libvpx is reopened, which
 * makes the next frame a keyframe, so small changes are not worth it. */
static int swenc_set_bitrate(void *priv, int bitrate)
{
	struct swenc *e = priv;
	struct mc_encoder_params *p = &e->params;
	if (p->codec == MC_CODEC_H264) {
		set_rate(e->ctx, p->codec, bitrate, p->fps);
		p->bitrate = bitrate;
		return 0;
	}
	int diff = bitrate > p->bitrate ? bitrate - p->bitrate : p->bitrate - bitrate;
	if (diff * 5 < p->bitrate) /* within 20 %: not worth a keyframe */
		return 0;
	/* a reopen's keyframe is a burst that congestion control may answer with another change: at most one
	 * every 3 s, or the two feed each other */
	int64_t now = mc_now_us();
	if (e->reopened_us && now - e->reopened_us < 3000000)
		return -EAGAIN;
	e->reopened_us = now;
	struct mc_encoder_params saved = *p, np = *p;
	np.bitrate = bitrate;
	AVCodecContext *old = e->ctx;
	AVFrame *frame = e->frame;
	e->ctx = NULL;
	e->frame = NULL;
	enum AVPixelFormat fmt;
	int rc = swenc_open(e, &np, &fmt);
	if (rc) { /* keep the encoder that worked */
		avcodec_free_context(&e->ctx);
		av_frame_free(&e->frame);
		e->ctx = old;
		e->frame = frame;
		e->params = saved;
		return rc;
	}
	avcodec_free_context(&old);
	av_frame_free(&frame);
	return 0;
}

static void swenc_close(void *priv)
{
	struct swenc *e = priv;
	avcodec_free_context(&e->ctx);
	av_frame_free(&e->frame);
}

const struct mc_encoder_ops mc_encoder_software = {
	.name = "software",
	.priv_size = sizeof(struct swenc),
	.inputs = MC_FRAME_CPU,
	.probe = swenc_probe,
	.open = swenc_open,
	.send_frame = swenc_send,
	.receive_packet = swenc_receive,
	.set_bitrate = swenc_set_bitrate,
	.close = swenc_close,
};
