/* vaapi: libavcodec's h264_vaapi on a VA-API render node (Intel, AMD). The device is the first render node
 * whose driver offers H.264 constrained-baseline encode (hw/probe_vaapi.c, shared with mixcast-probe), held
 * in the process-wide cache (hw/vaapi_device.c) so the VA scaler's surfaces are this encoder's; the
 * low-power (VDEnc) entrypoint where offered; rate control probed: CBR, else CQP, else not used. CQP is
 * steered per frame toward the layer's bitrate by mixcast (src/media/qp_ctl.h) through a whole-frame ROI QP
 * delta where the driver has ROI; congestion control's bitrate changes then apply while streaming.
 * What a frame costs, by kind:
 * - a VA surface of the same device (the VA scaler's): encoded as it is, no copy;
 * - a DMABUF (a camera's buffer, a DRM PRIME frame) that vaapi_import.c accepts: imported, no copy: wrapped
 *   as an AV_PIX_FMT_DRM_PRIME frame and mapped (av_hwframe_map) to a VA surface on our frames context, the
 *   way FFmpeg's kmsgrab -> hwmap path does;
 * - a CPU frame, a refused DMABUF (CCS-compressed, not NV12), a surface of another device: one copy into a
 *   VA surface (av_hwframe_transfer_data), counted in copies().
 * Not verified on silicon here (no GPU, and no software VA-API encoder exists): only the probe's "no device"
 * and "no H.264 encode" paths, the import rules and the fallback run on this machine. */
#include <errno.h>
#include <math.h>
#include <libavcodec/avcodec.h>
#include <libavutil/hwcontext.h>
#include <libavutil/hwcontext_drm.h>
#include <libavutil/opt.h>
#include <stdio.h>
#include <string.h>
#include <va/va.h>

#include "encoder.h"
#include "log.h"
#include "qp_ctl.h"
#include "probe.h"
#include "vaapi_device.h"
#include "vaapi_import.h"

#define MOD "vaapi"

struct vaenc {
	AVBufferRef *device, *frames;
	AVCodecContext *ctx;
	AVFrame *hw, *sw;       /* the frame sent (mapped or uploaded); a foreign surface brought down */
	const char *name;
	uint64_t copies;
	char refusal[160];      /* why the last DMABUF was not imported ("": imported), logged when it changes */
	bool told;              /* the import state was logged */
	bool map_failed;        /* av_hwframe_map failed once: the driver does not import, upload from then on */
	bool steer;             /* CQP with ROI: the QP steered toward the bitrate (qpc), a whole-frame ROI delta */
	int base_qp;
	struct mc_qp_ctl qpc;
	int width, height;
};

/* The first render node that can encode; `path` gets it. */
static bool find_device(char *path, size_t n, struct mc_vaapi_h264 *caps, char *why, size_t wn)
{
	bool any = false;
	for (int i = 128; i < 144; i++) {
		snprintf(path, n, "/dev/dri/renderD%d", i);
		char w[160];
		int rc = mc_vaapi_h264_encode(path, caps, w, sizeof(w));
		if (rc == 0)
			return true;
		if (rc != -ENOENT) {
			any = true;
			snprintf(why, wn, "%s", w);
		}
	}
	if (!any)
		snprintf(why, wn, "no VA-API device (no /dev/dri/renderD*)");
	return false;
}

static bool vaenc_probe(const struct mc_encoder_params *p, char *why, size_t n)
{
	if (p->codec != MC_CODEC_H264) {
		snprintf(why, n, "H.264 only here (VP8 layers use libvpx: no current GPU encodes VP8)");
		return false;
	}
	if (!avcodec_find_encoder_by_name("h264_vaapi")) {
		snprintf(why, n, "this libavcodec has no h264_vaapi");
		return false;
	}
	char path[32];
	struct mc_vaapi_h264 caps;
	if (!find_device(path, sizeof(path), &caps, why, n))
		return false;
	if (!(caps.rc & (VA_RC_CBR | VA_RC_CQP))) {
		snprintf(why, n, "%s: neither CBR nor CQP rate control", path);
		return false;
	}
	return true;
}

static int vaenc_open(void *priv, const struct mc_encoder_params *p, enum AVPixelFormat *input_format)
{
	struct vaenc *e = priv;
	e->name = p->name;
	char path[32], why[160];
	struct mc_vaapi_h264 caps;
	if (!find_device(path, sizeof(path), &caps, why, sizeof(why))) {
		mc_err(MOD, "%s: %s", p->name, why);
		return -ENODEV;
	}
	int rc = mc_vaapi_device_get(path, &e->device, why, sizeof(why));
	if (rc) {
		mc_err(MOD, "%s: %s", p->name, why);
		return -ENODEV;
	}
	if (!(e->frames = av_hwframe_ctx_alloc(e->device)) || !(e->hw = av_frame_alloc()) || !(e->sw = av_frame_alloc()))
		return -ENOMEM;
	AVHWFramesContext *fc = (AVHWFramesContext *)e->frames->data;
	fc->format = AV_PIX_FMT_VAAPI;
	fc->sw_format = AV_PIX_FMT_NV12;
	fc->width = p->width;
	fc->height = p->height;
	fc->initial_pool_size = 4;
	if ((rc = av_hwframe_ctx_init(e->frames)) < 0) {
		mc_err(MOD, "%s: surfaces %dx%d: %s", p->name, p->width, p->height, av_err2str(rc));
		return -EINVAL;
	}
	const AVCodec *codec = avcodec_find_encoder_by_name("h264_vaapi");
	AVCodecContext *c = e->ctx = codec ? avcodec_alloc_context3(codec) : NULL;
	if (!c)
		return -ENOMEM;
	c->width = p->width;
	c->height = p->height;
	c->pix_fmt = AV_PIX_FMT_VAAPI;
	c->hw_frames_ctx = av_buffer_ref(e->frames);
	c->time_base = (AVRational){ 1, 1000000 };
	c->framerate = (AVRational){ p->fps, 1 };
	c->gop_size = p->gop;
	c->max_b_frames = 0;
	c->profile = FF_PROFILE_H264_CONSTRAINED_BASELINE;
	c->bit_rate = p->bitrate;
	c->rc_max_rate = p->bitrate;
	c->rc_buffer_size = p->bitrate / p->fps;
	c->flags |= AV_CODEC_FLAG_LOW_DELAY;
	/* CBR where the driver has it; CQP otherwise (low power without HuC firmware: HARDWARE.md), steered by
	 * mixcast toward the bitrate frame by frame (src/media/qp_ctl.h) through a whole-frame region of
	 * interest, whose QP offset libavcodec passes on as a QP delta in CQP mode; without ROI the QP stays fixed
	 * and the bitrate follows the content. */
	const char *mode = caps.rc & VA_RC_CBR ? "CBR" : "CQP";
	av_opt_set(c->priv_data, "rc_mode", mode, 0);
	e->width = p->width, e->height = p->height;
	if (!(caps.rc & VA_RC_CBR)) {
		e->base_qp = 26; /* the middle of H.264's range: deltas of +-25 reach both ends */
		av_opt_set_int(c->priv_data, "qp", e->base_qp, 0);
		e->steer = caps.roi_regions > 0;
		mc_qp_ctl_init(&e->qpc, p->bitrate, p->fps, e->base_qp, 10, 51, pow(2.0, 1 / 6.0));
	}
	if (caps.low_power)
		av_opt_set_int(c->priv_data, "low_power", 1, 0);
	av_opt_set_int(c->priv_data, "aud", 0, 0);
	if ((rc = avcodec_open2(c, codec, NULL)) < 0) {
		mc_err(MOD, "%s: h264_vaapi on %s: %s", p->name, path, av_err2str(rc));
		return -EINVAL;
	}
	mc_info(MOD, "%s: %s, %s entrypoint, rate control %s%s", p->name, path, caps.low_power ? "low-power" : "full",
		mode, caps.rc & VA_RC_CBR ? "" : e->steer ? " steered per frame by mixcast (ROI QP delta)"
							  : " at a fixed QP (no ROI: the bitrate follows the content)");
	/* NV12: the surfaces' format, what an imported camera buffer and the VA scaler give, and what the
	 * fallback (libx264) takes too */
	*input_format = AV_PIX_FMT_NV12;
	return 0;
}

static int map_err(int rc)
{
	if (rc == AVERROR(EAGAIN))
		return -EAGAIN;
	if (rc == AVERROR_EOF)
		return -EPIPE;
	return rc < 0 ? -EIO : 0;
}

/* Logged once per change of reason: a camera's every frame would repeat it. */
static void note_refusal(struct vaenc *e, const char *why)
{
	if (e->told && strcmp(e->refusal, why) == 0)
		return;
	e->told = true;
	snprintf(e->refusal, sizeof(e->refusal), "%s", why);
	if (*why)
		mc_info(MOD, "%s: the camera's buffer is copied, not imported: %s", e->name, why);
	else
		mc_info(MOD, "%s: DMABUF frames imported (DRM PRIME -> VA surface, no copy)", e->name);
}

/* The frame to encode in e->hw, with the fewest copies (see the top of the file): 0, 1 when e->hw is a
 * reference to `frame` (its properties included), or -errno. */
static int to_surface(struct vaenc *e, const AVFrame *frame)
{
	unsigned kind = mc_frame_kind_of(frame);
	AVHWFramesContext *fc = (AVHWFramesContext *)e->frames->data;
	av_frame_unref(e->hw);
	if (kind & MC_FRAME_VAAPI) {
		AVHWFramesContext *in = frame->hw_frames_ctx ? (AVHWFramesContext *)frame->hw_frames_ctx->data : NULL;
		if (in && mc_vaapi_same_device(in->device_ref, e->device))
			return av_frame_ref(e->hw, frame) < 0 ? -ENOMEM : 1; /* 1: with its properties */
		/* another device's surface: down and up again, two copies, counted as one picture copied */
		av_frame_unref(e->sw);
		if (!in || av_hwframe_transfer_data(e->sw, frame, 0) < 0)
			return -EIO;
		frame = e->sw;
	} else if (kind & MC_FRAME_DMABUF) {
		const AVDRMFrameDescriptor *d = mc_vaapi_frame_descriptor(frame);
		const char *why = mc_vaapi_import_refusal(d, frame->width, frame->height, MC_VAAPI_IMPORT_ENCODE);
		if (!why && (frame->width != fc->width || frame->height != fc->height))
			why = "the buffer is not the layer's size";
		if (!why && e->map_failed)
			why = "the driver refused an import before (av_hwframe_map)";
		if (!why) {
			int rc = mc_vaapi_map_dmabuf(e->frames, e->hw, frame, d);
			if (rc == 0) {
				note_refusal(e, "");
				return 0;
			}
			e->map_failed = true;
			why = "av_hwframe_map failed (the driver does not import this buffer)";
		}
		note_refusal(e, why);
		if (!(kind & MC_FRAME_CPU)) {
			/* a bare DRM PRIME frame: through its device's CPU mapping, if it has one */
			av_frame_unref(e->sw);
			if (!frame->hw_frames_ctx || av_hwframe_transfer_data(e->sw, frame, 0) < 0)
				return -EIO;
			frame = e->sw;
		}
	}
	int rc = av_hwframe_get_buffer(e->frames, e->hw, 0);
	if (rc >= 0)
		rc = av_hwframe_transfer_data(e->hw, frame, 0); /* the one copy: CPU frame -> VA surface */
	if (rc < 0)
		return -EIO;
	e->copies++;
	return 0;
}

/* CQP: the frame's QP as a whole-frame region of interest, offset from the base QP (libavcodec's ROI
 * qoffset, scaled by H.264's 51-step range, is the QP delta) */
static int steer(struct vaenc *e)
{
	AVFrameSideData *sd = av_frame_new_side_data(e->hw, AV_FRAME_DATA_REGIONS_OF_INTEREST, sizeof(AVRegionOfInterest));
	if (!sd)
		return -1;
	*(AVRegionOfInterest *)sd->data = (AVRegionOfInterest){ .self_size = sizeof(AVRegionOfInterest), .top = 0,
								 .bottom = e->height, .left = 0, .right = e->width,
								 .qoffset = av_make_q(e->qpc.qp - e->base_qp, 51) };
	return 0;
}

static int vaenc_send(void *priv, const AVFrame *frame, bool keyframe)
{
	struct vaenc *e = priv;
	if (!frame)
		return map_err(avcodec_send_frame(e->ctx, NULL));
	int rc = to_surface(e, frame);
	if (rc == 0 && av_frame_copy_props(e->hw, frame) < 0) /* the wrapper and the upload carry none */
		rc = -ENOMEM;
	if (rc < 0) {
		av_frame_unref(e->hw);
		return rc;
	}
	e->hw->pict_type = keyframe ? AV_PICTURE_TYPE_I : AV_PICTURE_TYPE_NONE; /* I: an IDR in vaapi_encode */
	if (e->steer && steer(e) < 0) {
		av_frame_unref(e->hw);
		return -ENOMEM;
	}
	rc = avcodec_send_frame(e->ctx, e->hw);
	av_frame_unref(e->hw);
	return map_err(rc);
}

static int vaenc_receive(void *priv, AVPacket *pkt)
{
	struct vaenc *e = priv;
	int rc = map_err(avcodec_receive_packet(e->ctx, pkt));
	if (rc == 0 && e->steer)
		mc_qp_ctl_frame(&e->qpc, (size_t)pkt->size, pkt->flags & AV_PKT_FLAG_KEY);
	return rc;
}

/* CQP steered by mixcast: a new target for the controller. CBR: libavcodec 5.1's vaapi_encode sets its rate
 * control up at init only, so not while streaming. */
static int vaenc_set_bitrate(void *priv, int bitrate)
{
	struct vaenc *e = priv;
	if (!e->steer)
		return -ENOTSUP;
	mc_qp_ctl_set_bitrate(&e->qpc, bitrate, (int)(e->ctx->framerate.num / (e->ctx->framerate.den ? e->ctx->framerate.den : 1)));
	return 0;
}

static void vaenc_close(void *priv)
{
	struct vaenc *e = priv;
	avcodec_free_context(&e->ctx);
	av_frame_free(&e->hw);
	av_frame_free(&e->sw);
	av_buffer_unref(&e->frames);
	mc_vaapi_device_put(&e->device);
}

static uint64_t vaenc_copies(void *priv) { return ((struct vaenc *)priv)->copies; }

const struct mc_encoder_ops mc_encoder_vaapi = {
	.name = "vaapi",
	.priv_size = sizeof(struct vaenc),
	.inputs = MC_FRAME_CPU | MC_FRAME_DMABUF | MC_FRAME_VAAPI,
	.probe = vaenc_probe,
	.open = vaenc_open,
	.send_frame = vaenc_send,
	.receive_packet = vaenc_receive,
	.set_bitrate = vaenc_set_bitrate,
	.copies = vaenc_copies,
	.close = vaenc_close,
};
