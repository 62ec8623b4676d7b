/* vaapi: the layers scaled (and converted to NV12) by VA-API video processing (VAProfileNone,
 * VAEntrypointVideoProc: the GPU's fixed-function scaler on Intel and AMD), on the process-wide device of
 * the vaapi encoders (hw/vaapi_device.c), so its NV12 surfaces go to the encoder without a copy.
 * Used only for a layer whose encoder takes VA surfaces (the core's rule for on_device backends).
 * The input, by kind: a VA surface of the same device as it is; a DMABUF that vaapi_import.c accepts (a
 * camera's NV12, a KMS framebuffer's XRGB) imported; anything else uploaded once at the input size.
 * libva is used directly (the pipeline of libavfilter's scale_vaapi, whose library is not a dependency):
 * one VPP config and context per open, one VAProcPipelineParameterBuffer per frame.
 * Not verified on silicon here (no GPU): on this machine open() fails with -ENODEV and the CPU scalers run. */
#include <errno.h>
#include <libavutil/hwcontext.h>
#include <libavutil/hwcontext_vaapi.h>
#include <libavutil/pixdesc.h>
#include <stdio.h>
#include <string.h>
#include <va/va.h>
#include <va/va_vpp.h>

#include "log.h"
#include "probe.h"
#include "scaler.h"
#include "vaapi_device.h"
#include "vaapi_import.h"

#define MOD "scaler"
#define OUT_SURFACES 12 /* in the mailbox, in the encoder's queue (async depth) and in flight */

struct vascale {
	struct mc_scaler_target t;
	AVBufferRef *device, *in_frames, *out_frames;
	VADisplay dpy;
	VAConfigID config;
	VAContextID context;
	unsigned in_kind;
	bool import_failed;
	bool import_only;   /* the driver has no surfaces of the input's format: DMABUF imports, no uploads */
	bool failed_logged;
	VAProcColorStandardType in_std;
};

/* The device: the one the encoders opened (the surfaces must be theirs), else the configured node, else the
 * first render node with video processing. */
static int pick_device(struct vascale *s, char *why, size_t n)
{
	const char *want = s->t.device && strncmp(s->t.device, "/dev/dri/", 9) == 0 ? s->t.device : NULL;
	if (!want && (s->device = mc_vaapi_device_any())) {
		AVVAAPIDeviceContext *va = ((AVHWDeviceContext *)s->device->data)->hwctx;
		if (mc_vaapi_display_has_vpp(va->display))
			return 0;
		snprintf(why, n, "%s: no video processing (no VAEntrypointVideoProc)", mc_vaapi_device_path(s->device));
		mc_vaapi_device_put(&s->device);
		return -ENODEV;
	}
	bool any = false;
	for (int i = 128; i < 144; i++) {
		char path[32], w[160];
		snprintf(path, sizeof(path), "/dev/dri/renderD%d", i);
		if (want && strcmp(want, path))
			continue;
		int rc = mc_vaapi_vpp(path, w, sizeof(w));
		if (rc == 0)
			return mc_vaapi_device_get(path, &s->device, why, n);
		if (rc != -ENOENT || want) {
			any = true;
			snprintf(why, n, "%s", w);
		}
	}
	if (!any)
		snprintf(why, n, "no VA-API device (no /dev/dri/renderD*)");
	return -ENODEV;
}

static AVBufferRef *frames_ctx(AVBufferRef *device, int w, int h, enum AVPixelFormat sw, int pool)
{
	AVBufferRef *r = av_hwframe_ctx_alloc(device);
	if (!r)
		return NULL;
	AVHWFramesContext *fc = (AVHWFramesContext *)r->data;
	fc->format = AV_PIX_FMT_VAAPI;
	fc->sw_format = sw;
	fc->width = w;
	fc->height = h;
	fc->initial_pool_size = pool; /* 0: surfaces made as needed (imports make their own) */
	if (av_hwframe_ctx_init(r) < 0)
		av_buffer_unref(&r);
	return r;
}

static int vas_open(void *priv, int in_w, int in_h, enum AVPixelFormat in_fmt, unsigned in_kind,
		    const struct mc_scaler_target *t)
{
	struct vascale *s = priv;
	s->t = *t;
	s->in_kind = in_kind;
	s->config = VA_INVALID_ID;
	s->context = VA_INVALID_ID;
	if (t->format != AV_PIX_FMT_NV12)
		return -ENOTSUP; /* the encoders' surfaces are NV12 */
	char why[192];
	if (pick_device(s, why, sizeof(why))) {
		/* said once per input change (the core re-opens only then), not per frame */
		mc_info(MOD, "%s: VA-API scaling not used: %s", t->name, why);
		return -ENODEV;
	}
	s->dpy = ((AVVAAPIDeviceContext *)((AVHWDeviceContext *)s->device->data)->hwctx)->display;
	/* YUV in: BT.601 in and out, what libswscale's conversions use, so a layer looks the same whichever
	 * scaler made it; RGB in (a framebuffer): no matrix on that side */
	const AVPixFmtDescriptor *fd = av_pix_fmt_desc_get(in_fmt);
	s->in_std = fd && fd->flags & AV_PIX_FMT_FLAG_RGB ? VAProcColorStandardNone : VAProcColorStandardBT601;
	/* the input's surfaces: imports need a context of the input's size (vaapi_map_from_drm describes the
	 * buffer with it); uploads a pool in the input's format, which the driver may not have */
	if (!(in_kind & MC_FRAME_VAAPI)) {
		/* in the input's format, for the upload of a CPU frame (or of a DMABUF that does not import); an
		 * import makes its own surface and needs only the size, so a DMABUF input may do with NV12 */
		s->in_frames = frames_ctx(s->device, in_w, in_h, in_fmt, 4);
		if (!s->in_frames && in_kind & MC_FRAME_DMABUF && (s->in_frames = frames_ctx(s->device, in_w, in_h, AV_PIX_FMT_NV12, 0)))
			s->import_only = true;
		if (!s->in_frames) {
			mc_info(MOD, "%s: VA-API scaling not used: no %dx%d %s surfaces on %s", t->name, in_w, in_h,
				av_get_pix_fmt_name(in_fmt), mc_vaapi_device_path(s->device));
			return -ENOTSUP;
		}
	}
	if (!(s->out_frames = frames_ctx(s->device, t->width, t->height, AV_PIX_FMT_NV12, OUT_SURFACES)))
		return -ENOTSUP;
	AVVAAPIFramesContext *out = ((AVHWFramesContext *)s->out_frames->data)->hwctx;
	VAStatus st = vaCreateConfig(s->dpy, VAProfileNone, VAEntrypointVideoProc, NULL, 0, &s->config);
	if (st == VA_STATUS_SUCCESS)
		st = vaCreateContext(s->dpy, s->config, t->width, t->height, VA_PROGRESSIVE, out->surface_ids,
				     out->nb_surfaces, &s->context);
	if (st != VA_STATUS_SUCCESS) {
		mc_info(MOD, "%s: VA-API scaling not used: video processing context: %s", t->name, vaErrorStr(st));
		return -ENODEV;
	}
	return 0;
}

static void free_kept(void *opaque, uint8_t *data)
{
	AVFrame *f = (AVFrame *)data;
	av_frame_free(&f);
}

/* The input as a VA surface of our device, in `src` (a new reference, an import or an upload). */
static int input_surface(struct vascale *s, const AVFrame *in, AVFrame *src)
{
	unsigned kind = mc_frame_kind_of(in);
	if (kind & MC_FRAME_VAAPI) {
		AVHWFramesContext *fc = in->hw_frames_ctx ? (AVHWFramesContext *)in->hw_frames_ctx->data : NULL;
		if (fc && mc_vaapi_same_device(fc->device_ref, s->device))
			return av_frame_ref(src, in) < 0 ? -ENOMEM : 0;
		return -EXDEV; /* another GPU's surface: the core's CPU path is cheaper than two copies here */
	}
	if (kind & MC_FRAME_DMABUF && !s->import_failed) {
		const AVDRMFrameDescriptor *d = mc_vaapi_frame_descriptor(in);
		const char *why = mc_vaapi_import_refusal(d, in->width, in->height, MC_VAAPI_IMPORT_VPP);
		if (!why && mc_vaapi_map_dmabuf(s->in_frames, src, in, d) == 0)
			return 0;
		s->import_failed = true; /* the rules are per buffer layout, which stays until the core re-opens */
		mc_info(MOD, "%s: the input's DMABUF is uploaded, not imported: %s", s->t.name,
			why ? why : "av_hwframe_map failed (the driver does not import this buffer)");
	}
	if (!(kind & MC_FRAME_CPU) || !s->in_frames || s->import_only)
		return -EIO;
	if (av_hwframe_get_buffer(s->in_frames, src, 0) < 0 || av_hwframe_transfer_data(src, in, 0) < 0)
		return -EIO; /* the one copy of a CPU input (counted by the track as a picture the scaler made) */
	return 0;
}

static AVFrame *vas_scale(void *priv, const AVFrame *in)
{
	struct vascale *s = priv;
	AVFrame *src = av_frame_alloc(), *out = av_frame_alloc();
	VABufferID buf = VA_INVALID_ID;
	int rc = src && out ? input_surface(s, in, src) : -ENOMEM;
	if (rc || av_hwframe_get_buffer(s->out_frames, out, 0) < 0) {
		if (!s->failed_logged) /* once: the next frames would say the same */
			mc_err(MOD, "%s: no VA surface for the %dx%d %s input: %s", s->t.name, in->width, in->height,
			       av_get_pix_fmt_name(in->format), rc ? strerror(-rc) : "the output pool is exhausted");
		s->failed_logged = true;
		goto fail;
	}
	VAProcPipelineParameterBuffer pp = {
		.surface = (VASurfaceID)(uintptr_t)src->data[3],
		.surface_color_standard = s->in_std,
		.output_color_standard = VAProcColorStandardBT601,
		.output_background_color = 0xff000000,
		.filter_flags = VA_FRAME_PICTURE | VA_FILTER_SCALING_HQ,
	};
	VASurfaceID target = (VASurfaceID)(uintptr_t)out->data[3];
	VAStatus st = vaCreateBuffer(s->dpy, s->context, VAProcPipelineParameterBufferType, sizeof(pp), 1, &pp, &buf);
	if (st == VA_STATUS_SUCCESS && (st = vaBeginPicture(s->dpy, s->context, target)) == VA_STATUS_SUCCESS) {
		st = vaRenderPicture(s->dpy, s->context, &buf, 1);
		VAStatus end = vaEndPicture(s->dpy, s->context); /* also after a failed render: the picture is closed */
		if (st == VA_STATUS_SUCCESS)
			st = end;
	}
	if (buf != VA_INVALID_ID)
		vaDestroyBuffer(s->dpy, buf); /* libva 2.x no longer frees it in vaRenderPicture */
	if (st != VA_STATUS_SUCCESS) {
		if (!s->failed_logged)
			mc_err(MOD, "%s: VA-API video processing: %s", s->t.name, vaErrorStr(st));
		s->failed_logged = true;
		goto fail;
	}
	/* The GPU reads the input after vaEndPicture returns: the output holds the input (an imported camera
	 * buffer, an upload surface) until the encoder has finished with it, instead of waiting here. */
	if (out->buf[1] || !(out->buf[1] = av_buffer_create((uint8_t *)src, sizeof(*src), free_kept, NULL,
							      AV_BUFFER_FLAG_READONLY))) {
		vaSyncSurface(s->dpy, target); /* cannot keep it: wait for the GPU instead */
		av_frame_free(&src);
	}
	return out;
fail:
	av_frame_free(&src);
	av_frame_free(&out);
	return NULL;
}

static void vas_close(void *priv)
{
	struct vascale *s = priv;
	if (s->dpy && s->context != VA_INVALID_ID)
		vaDestroyContext(s->dpy, s->context);
	if (s->dpy && s->config != VA_INVALID_ID)
		vaDestroyConfig(s->dpy, s->config);
	av_buffer_unref(&s->in_frames);
	av_buffer_unref(&s->out_frames); /* surfaces still out keep the context alive */
	mc_vaapi_device_put(&s->device);
}

const struct mc_scaler_ops mc_scaler_vaapi = {
	.name = "vaapi",
	.priv_size = sizeof(struct vascale),
	.makes = MC_FRAME_VAAPI,
	.on_device = true,
	.open = vas_open,
	.scale = vas_scale,
	.close = vas_close,
};
