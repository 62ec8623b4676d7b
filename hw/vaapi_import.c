/* The import rules (see vaapi_import.h). They follow what FFmpeg 5.1's vaapi_map_from_drm
 * (libavutil/hwcontext_vaapi.c) accepts, one DRM object and a layer layout of its format table, narrowed to
 * what the drivers are known to read right:
 * - LINEAR and Intel's uncompressed tilings (X, Y, Yf, 4) import on iHD and i965;
 * - Intel's compressed ones (I915_FORMAT_MOD_*_CCS*) carry an auxiliary CCS plane that the media engine
 *   reads wrong or not at all through this path (HARDWARE.md): the copy path;
 * - DRM_FORMAT_MOD_INVALID (a buffer exported without a modifier) leaves the layout to the driver's guess;
 * - other vendors' modifiers (AMD's, Broadcom's) are refused until someone verifies them on that hardware.
 * A refusal is not an error: the frame is uploaded from its CPU mapping (one copy, counted).
 * The import itself (below) is shared by the vaapi encoder and the VA scaler. */
#include "vaapi_import.h"

#include <drm_fourcc.h>
#include <errno.h>
#include <libavutil/hwcontext.h>
#include <stddef.h>
#include <stdio.h>

#include "frame.h"

static const struct {
	uint64_t mod;
	const char *name;
	bool compressed;
} modifiers[] = {
	{ DRM_FORMAT_MOD_LINEAR, "LINEAR", false },
	{ I915_FORMAT_MOD_X_TILED, "I915_FORMAT_MOD_X_TILED", false },
	{ I915_FORMAT_MOD_Y_TILED, "I915_FORMAT_MOD_Y_TILED", false },
	{ I915_FORMAT_MOD_Yf_TILED, "I915_FORMAT_MOD_Yf_TILED", false },
#ifdef I915_FORMAT_MOD_4_TILED
	{ I915_FORMAT_MOD_4_TILED, "I915_FORMAT_MOD_4_TILED", false },
#endif
	{ I915_FORMAT_MOD_Y_TILED_CCS, "I915_FORMAT_MOD_Y_TILED_CCS", true },
	{ I915_FORMAT_MOD_Yf_TILED_CCS, "I915_FORMAT_MOD_Yf_TILED_CCS", true },
	{ I915_FORMAT_MOD_Y_TILED_GEN12_RC_CCS, "I915_FORMAT_MOD_Y_TILED_GEN12_RC_CCS", true },
	{ I915_FORMAT_MOD_Y_TILED_GEN12_MC_CCS, "I915_FORMAT_MOD_Y_TILED_GEN12_MC_CCS", true },
	{ I915_FORMAT_MOD_Y_TILED_GEN12_RC_CCS_CC, "I915_FORMAT_MOD_Y_TILED_GEN12_RC_CCS_CC", true },
#ifdef I915_FORMAT_MOD_4_TILED_DG2_RC_CCS
	{ I915_FORMAT_MOD_4_TILED_DG2_RC_CCS, "I915_FORMAT_MOD_4_TILED_DG2_RC_CCS", true },
	{ I915_FORMAT_MOD_4_TILED_DG2_MC_CCS, "I915_FORMAT_MOD_4_TILED_DG2_MC_CCS", true },
	{ I915_FORMAT_MOD_4_TILED_DG2_RC_CCS_CC, "I915_FORMAT_MOD_4_TILED_DG2_RC_CCS_CC", true },
#endif
#ifdef I915_FORMAT_MOD_4_TILED_MTL_RC_CCS
	{ I915_FORMAT_MOD_4_TILED_MTL_RC_CCS, "I915_FORMAT_MOD_4_TILED_MTL_RC_CCS", true },
	{ I915_FORMAT_MOD_4_TILED_MTL_MC_CCS, "I915_FORMAT_MOD_4_TILED_MTL_MC_CCS", true },
	{ I915_FORMAT_MOD_4_TILED_MTL_RC_CCS_CC, "I915_FORMAT_MOD_4_TILED_MTL_RC_CCS_CC", true },
#endif
};

#define N(a) (sizeof(a) / sizeof((a)[0]))

const char *mc_vaapi_modifier_name(uint64_t modifier)
{
	for (size_t i = 0; i < N(modifiers); i++)
		if (modifiers[i].mod == modifier)
			return modifiers[i].name;
	return NULL;
}

/* The layer layouts of FFmpeg 5.1's vaapi_drm_format_map that we use: NV12 as one layer or as R8 + RG88/GR88
 * (what V4L2 exporters and vaExportSurfaceHandle with separate layers give), and the 32-bit RGBs of a
 * framebuffer. */
static bool layout_ok(const AVDRMFrameDescriptor *d, enum mc_vaapi_import_for use)
{
	if (d->nb_layers == 1 && d->layers[0].format == DRM_FORMAT_NV12)
		return d->layers[0].nb_planes == 2;
	if (d->nb_layers == 2 && d->layers[0].format == DRM_FORMAT_R8 &&
	    (d->layers[1].format == DRM_FORMAT_RG88 || d->layers[1].format == DRM_FORMAT_GR88))
		return d->layers[0].nb_planes == 1 && d->layers[1].nb_planes == 1;
	if (use != MC_VAAPI_IMPORT_VPP || d->nb_layers != 1 || d->layers[0].nb_planes != 1)
		return false;
	switch (d->layers[0].format) {
	case DRM_FORMAT_XRGB8888: case DRM_FORMAT_ARGB8888: case DRM_FORMAT_XBGR8888: case DRM_FORMAT_ABGR8888:
	case DRM_FORMAT_BGRX8888: case DRM_FORMAT_BGRA8888:
		return true;
	default:
		return false;
	}
}

const char *mc_vaapi_import_refusal(const AVDRMFrameDescriptor *d, int w, int h, enum mc_vaapi_import_for use)
{
	static _Thread_local char why[160];
	if (!d || d->nb_objects < 1 || d->nb_layers < 1 || w <= 0 || h <= 0)
		return "no buffer description";
	if (d->nb_objects != 1)
		return "more than one DRM object (VA-API maps a single-object buffer only)";
	if (d->objects[0].fd < 0)
		return "no DMABUF fd";
	if (!layout_ok(d, use)) {
		uint32_t f = d->layers[0].format;
		snprintf(why, sizeof(why), "DRM format %c%c%c%c in %d layer(s) is not imported for %s (NV12%s)", f & 0xff,
			 f >> 8 & 0xff, f >> 16 & 0xff, f >> 24 & 0xff, d->nb_layers,
			 use == MC_VAAPI_IMPORT_ENCODE ? "encoding" : "video processing",
			 use == MC_VAAPI_IMPORT_ENCODE ? " only" : ", XRGB/ARGB/XBGR/ABGR/BGRX/BGRA 8888");
		return why;
	}
	for (int l = 0; l < d->nb_layers; l++)
		for (int p = 0; p < d->layers[l].nb_planes; p++) {
			const AVDRMPlaneDescriptor *pl = &d->layers[l].planes[p];
			if (pl->object_index != 0 || pl->pitch <= 0 || pl->offset < 0)
				return "a plane outside the buffer or without a pitch";
			/* a plane must hold its rows: a wrong description would have the GPU read past the buffer */
			int rows = l || p ? (h + 1) / 2 : h;
			if (d->objects[0].size && (size_t)pl->offset + (size_t)pl->pitch * (size_t)rows > d->objects[0].size)
				return "a plane's rows end past the buffer";
		}
	uint64_t mod = d->objects[0].format_modifier;
	if (mod == DRM_FORMAT_MOD_INVALID)
		return "no modifier (DRM_FORMAT_MOD_INVALID): the layout would be the driver's guess";
	for (size_t i = 0; i < N(modifiers); i++)
		if (modifiers[i].mod == mod) {
			if (!modifiers[i].compressed)
				return NULL;
			snprintf(why, sizeof(why), "modifier %s: compressed (CCS) buffers do not import correctly",
				 modifiers[i].name);
			return why;
		}
	snprintf(why, sizeof(why), "modifier 0x%016llx (vendor 0x%02x) is not known to import", (unsigned long long)mod,
		 (unsigned)(mod >> 56));
	return why;
}

/* ---- the import itself (libavutil only) ---- */

static void free_kept(void *opaque, uint8_t *data)
{
	AVFrame *f = (AVFrame *)data;
	av_frame_free(&f);
}

/* `frame` as a bare AV_PIX_FMT_DRM_PRIME frame: data[0] its descriptor, buf[0] a reference to the whole
 * frame (the camera's buffer goes back to its queue only when the VA surface made of it is released; the
 * mapping keeps this frame, av_frame_ref needs a buf[0] not to copy it). */
AVFrame *mc_vaapi_drm_frame(const AVFrame *frame, const AVDRMFrameDescriptor *d)
{
	AVFrame *drm = av_frame_alloc(), *keep = av_frame_clone(frame);
	if (!drm || !keep || !(drm->buf[0] = av_buffer_create((uint8_t *)keep, sizeof(*keep), free_kept, NULL,
							       AV_BUFFER_FLAG_READONLY))) {
		av_frame_free(&keep);
		av_frame_free(&drm);
		return NULL;
	}
	drm->format = AV_PIX_FMT_DRM_PRIME;
	drm->width = frame->width;
	drm->height = frame->height;
	drm->data[0] = (uint8_t *)d;
	return drm;
}

const AVDRMFrameDescriptor *mc_vaapi_frame_descriptor(const AVFrame *frame)
{
	if (frame->format == AV_PIX_FMT_DRM_PRIME)
		return (const AVDRMFrameDescriptor *)frame->data[0];
	const struct mc_frame_dmabuf *db = mc_frame_get_dmabuf(frame);
	return db ? &db->drm : NULL;
}

/* A DMABUF mapped onto a VA surface of `frames` (whose size must be the frame's: vaapi_map_from_drm describes
 * the buffer with the frames context's size) into `dst`. 0, or -errno with dst blank. */
int mc_vaapi_map_dmabuf(AVBufferRef *frames, AVFrame *dst, const AVFrame *frame, const AVDRMFrameDescriptor *d)
{
	AVFrame *drm = mc_vaapi_drm_frame(frame, d);
	if (!drm)
		return -ENOMEM;
	av_frame_unref(dst);
	dst->format = AV_PIX_FMT_VAAPI;
	int rc = (dst->hw_frames_ctx = av_buffer_ref(frames)) ? av_hwframe_map(dst, drm, AV_HWFRAME_MAP_READ) : AVERROR(ENOMEM);
	av_frame_free(&drm); /* the mapping holds its own reference */
	if (rc < 0) {
		av_frame_unref(dst);
		return rc == AVERROR(ENOMEM) ? -ENOMEM : -EIO;
	}
	return 0;
}
