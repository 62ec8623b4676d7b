/* Which DMABUFs the VA-API backends import (DRM PRIME -> VA surface, av_hwframe_map) rather than copy. A pure
 * function of the buffer's description, so that the rules are unit-tested on a machine without a GPU. */
#ifndef MC_VAAPI_IMPORT_H
#define MC_VAAPI_IMPORT_H

#include <libavutil/frame.h>
#include <libavutil/hwcontext_drm.h>
#include <stdbool.h>

/* What the importer needs the buffer to be. */
enum mc_vaapi_import_for {
	MC_VAAPI_IMPORT_ENCODE, /* an encoder's input: NV12 only (what h264_vaapi encodes) */
	MC_VAAPI_IMPORT_VPP,    /* a video-processing input: NV12 or 32-bit RGB (a KMS framebuffer) */
};

/* NULL when `d` (a picture of w x h) can be imported; else why not, for the log ("modifier
 * I915_FORMAT_MOD_Y_TILED_GEN12_RC_CCS: compressed (CCS) buffers do not import correctly"). */
const char *mc_vaapi_import_refusal(const AVDRMFrameDescriptor *d, int w, int h, enum mc_vaapi_import_for use);

/* The name of a DRM format modifier this module knows ("LINEAR", "I915_FORMAT_MOD_X_TILED"), or NULL. */
const char *mc_vaapi_modifier_name(uint64_t modifier);

/* The DMABUF a frame carries: a DRM PRIME frame's data[0], a CPU frame's mc_frame_dmabuf; NULL: none. */
const AVDRMFrameDescriptor *mc_vaapi_frame_descriptor(const AVFrame *frame);
/* `frame` as a bare AV_PIX_FMT_DRM_PRIME frame (data[0] = d, buf[0] keeps `frame` referenced); NULL: no memory. */
AVFrame *mc_vaapi_drm_frame(const AVFrame *frame, const AVDRMFrameDescriptor *d);
/* Maps `frame`'s DMABUF `d` onto a VA surface of `frames` (a VAAPI frames context of the frame's size) into
 * `dst` (av_hwframe_map). 0, or -errno with dst blank. */
int mc_vaapi_map_dmabuf(AVBufferRef *frames, AVFrame *dst, const AVFrame *frame, const AVDRMFrameDescriptor *d);

#endif
