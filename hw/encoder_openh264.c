/* openh264: Cisco's BSD-licensed H.264 encoder through its own API (Debian's libavcodec is built without
 * it), for boards without a hardware encoder whose users need its licence. Real-time settings: camera
 * content type, one spatial and one temporal layer, no B-frames (OpenH264 has none), bitrate rate control
 * without frame skipping, constrained baseline, IDR on request (ForceIntraFrame), SPS/PPS in band before
 * every IDR (OpenH264 writes them into each IDR access unit), Annex B output with 4-byte start codes.
 *
 * Test-only fault switch (never set it in production): MIXCAST_TEST_OPENH264_FAULT=error:N makes
 * EncodeFrame's result an error from the N+1th frame on, stall:N makes it return no output from then on;
 * the fallback tests use it to fail a real encoder mid-stream. */
#include <errno.h>
#include <libavutil/mem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wels/codec_api.h>

#include "encoder.h"
#include "log.h"

#define MOD "openh264"

struct oh264 {
	ISVCEncoder *enc;
	const char *name;
	int fps;
	uint8_t *out;        /* the frame's Annex B access unit, until receive takes it */
	int out_size, out_cap;
	int64_t out_pts;
	bool out_key, have_out, flushed;
	long frames;
	long fault_after;    /* -1: no fault */
	bool fault_stall;
};

static bool oh264_probe(const struct mc_encoder_params *p, char *why, size_t n)
{
	if (p->codec != MC_CODEC_H264) {
		snprintf(why, n, "H.264 only");
		return false;
	}
	return true;
}

static void read_fault(struct oh264 *e)
{
	e->fault_after = -1;
	const char *f = getenv("MIXCAST_TEST_OPENH264_FAULT");
	if (!f || !*f)
		return;
	char kind[8];
	long n;
	if (sscanf(f, "%7[a-z]:%ld", kind, &n) == 2 && n >= 0 && (!strcmp(kind, "error") || !strcmp(kind, "stall"))) {
		e->fault_after = n;
		e->fault_stall = kind[0] == 's';
		mc_warn(MOD, "%s: test fault switch set: %s after %ld frames", e->name, kind, n);
	} else {
		mc_warn(MOD, "%s: MIXCAST_TEST_OPENH264_FAULT='%s' ignored (error:N or stall:N)", e->name, f);
	}
}

static int oh264_open(void *priv, const struct mc_encoder_params *p, enum AVPixelFormat *input_format)
{
	struct oh264 *e = priv;
	e->name = p->name;
	e->fps = p->fps;
	read_fault(e);
	if (WelsCreateSVCEncoder(&e->enc) || !e->enc)
		return -ENOMEM;
	ISVCEncoder *enc = e->enc;
	int quiet = WELS_LOG_QUIET;
	(*enc)->SetOption(enc, ENCODER_OPTION_TRACE_LEVEL, &quiet);
	SEncParamExt par;
	(*enc)->GetDefaultParams(enc, &par);
	/* Camera mode for every source, screens too: OpenH264 2.3.1's SCREEN_CONTENT_REAL_TIME runs its own
	 * scene-change detection whatever bEnableSceneChangeDetect says, and codes each large change as an IDR
	 * (long-term references on or off). p->screen is the track's skip_unchanged, true by default, so every
	 * layer got that mode: on testsrc's scrolling bars every frame of a 15 fps layer was an IDR (twice the
	 * motion of 30 fps; 720p30 lost to dropped frames 37 of 92), measured on the same frames fed to the
	 * library directly in both modes. Keyframes are the core's decision (tests/integration/openh264_idr.py). */
	par.iUsageType = CAMERA_VIDEO_REAL_TIME;
	par.iPicWidth = p->width;
	par.iPicHeight = p->height;
	par.iTargetBitrate = p->bitrate;
	par.iMaxBitrate = p->bitrate;
	par.iRCMode = RC_BITRATE_MODE;
	par.fMaxFrameRate = (float)p->fps;
	par.iTemporalLayerNum = 1;
	par.iSpatialLayerNum = 1;
	/* A skipped frame is a frame without output: the stream would stutter, and the core's no-output
	 * deadline would take it for a failure. The VBV is honoured by QP instead. */
	par.bEnableFrameSkip = false;
	par.uiIntraPeriod = (unsigned)p->gop; /* a safety net: the core forces IDRs */
	par.eSpsPpsIdStrategy = CONSTANT_ID;  /* the same SPS/PPS ids every IDR: a late joiner needs nothing else */
	par.bPrefixNalAddingCtrl = false;     /* no SVC prefix NALs (type 14): plain AVC for browsers */
	par.iEntropyCodingModeFlag = 0;       /* CAVLC: baseline */
	par.iMultipleThreadIdc = p->threads > 0 ? p->threads : 1; /* one layer, one thread, as the track plans */
	par.iComplexityMode = LOW_COMPLEXITY;
	par.bEnableDenoise = false;
	par.bEnableBackgroundDetection = p->screen;
	par.bEnableSceneChangeDetect = false; /* keyframes are the core's decision */
	par.iNumRefFrame = 1;
	SSpatialLayerConfig *sl = &par.sSpatialLayers[0];
	sl->iVideoWidth = p->width;
	sl->iVideoHeight = p->height;
	sl->fFrameRate = (float)p->fps;
	sl->iSpatialBitrate = p->bitrate;
	sl->iMaxSpatialBitrate = p->bitrate;
	sl->uiProfileIdc = PRO_BASELINE; /* OpenH264's baseline sets constraint_set1: constrained baseline */
	sl->sSliceArgument.uiSliceMode = SM_SINGLE_SLICE;
	int rc = (*enc)->InitializeExt(enc, &par);
	if (rc) {
		mc_err(MOD, "%s: InitializeExt failed (%d) for %dx%d@%d %d bit/s", p->name, rc, p->width, p->height,
		       p->fps, p->bitrate);
		return -EINVAL;
	}
	int fmt = videoFormatI420;
	(*enc)->SetOption(enc, ENCODER_OPTION_DATAFORMAT, &fmt);
	*input_format = AV_PIX_FMT_YUV420P;
	return 0;
}

static int append(struct oh264 *e, const uint8_t *data, int len)
{
	if (e->out_size + len > e->out_cap) {
		int cap = (e->out_size + len) * 2;
		uint8_t *n = av_realloc(e->out, (size_t)cap);
		if (!n)
			return -ENOMEM;
		e->out = n;
		e->out_cap = cap;
	}
	memcpy(e->out + e->out_size, data, (size_t)len);
	e->out_size += len;
	return 0;
}

static int oh264_send(void *priv, const AVFrame *frame, bool keyframe)
{
	struct oh264 *e = priv;
	if (!frame) { /* synchronous: nothing held back */
		e->flushed = true;
		return 0;
	}
	if (e->have_out)
		return -EAGAIN;
	ISVCEncoder *enc = e->enc;
	if (keyframe)
		(*enc)->ForceIntraFrame(enc, true);
	SSourcePicture pic = { 0 };
	pic.iColorFormat = videoFormatI420;
	pic.iPicWidth = frame->width;
	pic.iPicHeight = frame->height;
	for (int i = 0; i < 3; i++) {
		pic.pData[i] = frame->data[i];
		pic.iStride[i] = frame->linesize[i];
	}
	pic.uiTimeStamp = frame->pts / 1000; /* ms; rate control sees real time */
	SFrameBSInfo info;
	memset(&info, 0, sizeof(info));
	int rc = (*enc)->EncodeFrame(enc, &pic, &info);
	bool faulty = e->fault_after >= 0 && e->frames >= e->fault_after;
	e->frames++;
	if (faulty && !e->fault_stall)
		rc = cmUnknownReason; /* as if the encoder had failed */
	if (rc != cmResultSuccess) {
		mc_err(MOD, "%s: EncodeFrame failed (%d)", e->name, rc);
		return -EIO;
	}
	if (faulty || info.eFrameType == videoFrameTypeSkip || info.eFrameType == videoFrameTypeInvalid)
		return 0;
	e->out_size = 0;
	for (int l = 0; l < info.iLayerNum; l++) {
		const SLayerBSInfo *li = &info.sLayerInfo[l];
		int len = 0;
		for (int k = 0; k < li->iNalCount; k++)
			len += li->pNalLengthInByte[k];
		if ((rc = append(e, li->pBsBuf, len)))
			return rc;
	}
	if (!e->out_size)
		return 0;
	e->have_out = true;
	e->out_pts = frame->pts;
	e->out_key = info.eFrameType == videoFrameTypeIDR;
	return 0;
}

static int oh264_receive(void *priv, AVPacket *pkt)
{
	struct oh264 *e = priv;
	if (!e->have_out)
		return e->flushed ? -EPIPE : -EAGAIN;
	int rc = av_new_packet(pkt, e->out_size);
	if (rc < 0)
		return -ENOMEM;
	memcpy(pkt->data, e->out, (size_t)e->out_size);
	pkt->pts = pkt->dts = e->out_pts;
	if (e->out_key)
		pkt->flags |= AV_PKT_FLAG_KEY;
	e->have_out = false;
	return 0;
}

/* SetOption takes effect with the next frame (OpenH264's rate control reads the new target then). */
static int oh264_set_bitrate(void *priv, int bitrate)
{
	struct oh264 *e = priv;
	ISVCEncoder *enc = e->enc;
	SBitrateInfo b = { .iLayer = SPATIAL_LAYER_ALL, .iBitrate = bitrate };
	/* OpenH264 refuses a target above the current maximum: when rising, the target is set again after
	 * the maximum */
	int rc = (*enc)->SetOption(enc, ENCODER_OPTION_BITRATE, &b);
	int rc_max = (*enc)->SetOption(enc, ENCODER_OPTION_MAX_BITRATE, &b);
	if (rc)
		rc = (*enc)->SetOption(enc, ENCODER_OPTION_BITRATE, &b);
	return rc || rc_max ? -EINVAL : 0;
}

static void oh264_close(void *priv)
{
	struct oh264 *e = priv;
	if (e->enc) {
		(*e->enc)->Uninitialize(e->enc);
		WelsDestroySVCEncoder(e->enc);
	}
	av_freep(&e->out);
}

const struct mc_encoder_ops mc_encoder_openh264 = {
	.name = "openh264",
	.priv_size = sizeof(struct oh264),
	.inputs = MC_FRAME_CPU,
	.probe = oh264_probe,
	.open = oh264_open,
	.send_frame = oh264_send,
	.receive_packet = oh264_receive,
	.set_bitrate = oh264_set_bitrate,
	.close = oh264_close,
};
