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
};

static const char *lib_name(enum mc_codec c) { return c == MC_CODEC_VP8 ? "libvpx" : "libx264"; }

static bool swenc_probe(enum mc_codec codec)
{
	return avcodec_find_encoder_by_name(lib_name(codec)) != NULL;
}

static void set_opt(AVCodecContext *ctx, const char *key, const char *value, const char *who)
{
	int rc = av_opt_set(ctx->priv_data, key, value, 0);
	if (rc < 0)
		mc_warn("encoder", "%s: option %s=%s not taken: %s", who, key, value, av_err2str(rc));
}

static int swenc_open(void *priv, const struct mc_encoder_params *p, enum AVPixelFormat *input_format)
{
	struct swenc *e = priv;
	e->name = p->name;
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
	c->bit_rate = p->bitrate;
	c->rc_max_rate = p->bitrate;
	c->rc_buffer_size = p->bitrate / p->fps; /* one frame of VBV: a frame never waits behind a big one */
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
		c->rc_min_rate = p->bitrate; /* min == max: libvpx runs CBR */
		set_opt(c, "deadline", "realtime", p->name);
		snprintf(buf, sizeof(buf), "%d", 8);
		set_opt(c, "cpu-used", buf, p->name);
		set_opt(c, "lag-in-frames", "0", p->name);
		set_opt(c, "error-resilient", "1", p->name);
		set_opt(c, "auto-alt-ref", "0", p->name);
		c->qmin = 4;
		c->qmax = 56;
		c->rc_buffer_size = p->bitrate / 2; /* libvpx measures its buffer in ms: 500 ms */
		c->rc_initial_buffer_occupancy = c->rc_buffer_size * 4 / 5;
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

static void swenc_close(void *priv)
{
	struct swenc *e = priv;
	avcodec_free_context(&e->ctx);
	av_frame_free(&e->frame);
}

const struct mc_encoder_ops mc_encoder_software = {
	.name = "software",
	.priv_size = sizeof(struct swenc),
	.probe = swenc_probe,
	.open = swenc_open,
	.send_frame = swenc_send,
	.receive_packet = swenc_receive,
	.close = swenc_close,
};
