/* Device discovery shared by mixcast-probe and the backends: V4L2 nodes (cameras, m2m encoders/scalers),
 * DRM cards, VA-API render nodes. Each function asks the device itself (VIDIOC_ENUM_FMT, drmModeGetResources,
 * vaQueryConfigEntrypoints), never a table. Results are plain structs; the caller prints them. */
#ifndef MC_PROBE_H
#define MC_PROBE_H

#include <stdbool.h>
#include <stddef.h>

#define MC_PROBE_MAX_DEVICES 16
#define MC_PROBE_MAX_ITEMS 32

struct mc_probe_v4l2 {
	char path[32], driver[32], card[64], bus[64];
	/* m2m: an encoder when the CAPTURE queue has a compressed format, a decoder when the OUTPUT queue has one,
	 * a scaler (or converter) when neither has */
	bool capture, m2m, encoder, decoder, scaler;
	int n_formats;
	char formats[MC_PROBE_MAX_ITEMS][96];   /* "OUTPUT NV12 (Y/UV 4:2:0): 640x360@30 1280x720@30" */
	int n_controls;
	char controls[MC_PROBE_MAX_ITEMS][80];  /* "Video Bitrate [25000..25000000] = 10000000" */
};

struct mc_probe_drm {
	char path[32], driver[32];
	int n_connectors, n_crtcs;
	char connectors[MC_PROBE_MAX_ITEMS][64]; /* "HDMI-A-1 connected" */
	char crtcs[MC_PROBE_MAX_ITEMS][128];     /* "crtc 41: fb 52 1024x768 XR24 modifier 0x0" or "no framebuffer" */
};

struct mc_probe_vaapi {
	char path[32], vendor[128];
	bool h264_encode;
	bool vpp;                               /* VAProfileNone offers VAEntrypointVideoProc: the VA scaler */
	int n_profiles;
	char profiles[MC_PROBE_MAX_ITEMS][160]; /* "H264ConstrainedBaseline: EncSliceLP (rc CBR VBR CQP), VLD" */
	char error[96];                         /* why the node gave nothing: "vaInitialize: unknown libva error" */
};

/* Fill up to `max` entries; return how many (0: no such devices). */
int mc_probe_v4l2(struct mc_probe_v4l2 *out, int max);
int mc_probe_drm(struct mc_probe_drm *out, int max);
int mc_probe_vaapi(struct mc_probe_vaapi *out, int max);

/* For the vaapi encoder: can the VA-API device at `path` encode H.264 constrained baseline? 0 and what it
 * offers, or -errno with the reason in `why` (no device, no driver, no H.264 encode). */
struct mc_vaapi_h264 {
	bool low_power, full; /* EncSliceLP (VDEnc), EncSlice */
	unsigned rc;          /* VA_RC_* of the entrypoint used (low power first) */
	int roi_regions;      /* VAConfigAttribEncROI's region count there (0: no ROI) */
};
int mc_vaapi_h264_encode(const char *path, struct mc_vaapi_h264 *out, char *why, size_t n);
/* Does render node `path` have a VA-API driver (0), or -errno with the reason (-ENOENT: no node)? */
int mc_vaapi_node_usable(const char *path, char *why, size_t n);
/* 0 when the VA-API device at `path` offers video processing (VAProfileNone, VAEntrypointVideoProc: scaling
 * and colour conversion), or -errno with the reason in `why`. */
int mc_vaapi_vpp(const char *path, char *why, size_t n);
/* VA_RC_* bits an entrypoint offers (VAConfigAttribRateControl); 0 when not reported. */
#ifdef VA_RC_CBR
unsigned mc_vaapi_rc_modes(VADisplay dpy, VAProfile p, VAEntrypoint e);
bool mc_vaapi_display_has_vpp(VADisplay dpy);
#endif

#endif
