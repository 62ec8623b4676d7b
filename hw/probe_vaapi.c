/* VA-API discovery on the DRM render nodes: vendor, profiles, entrypoints (EncSliceLP is the low-power
 * VDEnc path) and the rate-control modes each encode entrypoint offers (VAConfigAttribRateControl). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <va/va.h>
#include <va/va_drm.h>
#include <va/va_str.h>

#include "probe.h"

static void silent(void *ctx, const char *msg) {}

unsigned mc_vaapi_rc_modes(VADisplay dpy, VAProfile p, VAEntrypoint e)
{
	VAConfigAttrib a = { .type = VAConfigAttribRateControl };
	if (vaGetConfigAttributes(dpy, p, e, &a, 1) != VA_STATUS_SUCCESS || a.value == VA_ATTRIB_NOT_SUPPORTED)
		return 0;
	return a.value;
}

static void rc_modes(VADisplay dpy, VAProfile p, VAEntrypoint e, char *s, size_t n)
{
	VAConfigAttrib a = { .value = mc_vaapi_rc_modes(dpy, p, e) };
	if (!a.value)
		return;
	static const struct { unsigned bit; const char *name; } m[] = {
		{ VA_RC_CBR, "CBR" }, { VA_RC_VBR, "VBR" }, { VA_RC_CQP, "CQP" }, { VA_RC_ICQ, "ICQ" }, { VA_RC_QVBR, "QVBR" },
	};
	size_t l = strlen(s);
	snprintf(s + l, n - l, " (rc");
	for (size_t i = 0; i < sizeof(m) / sizeof(m[0]); i++)
		if (a.value & m[i].bit) {
			l = strlen(s);
			snprintf(s + l, n - l, " %s", m[i].name);
		}
	l = strlen(s);
	snprintf(s + l, n - l, ")");
}

bool mc_vaapi_display_has_vpp(VADisplay dpy)
{
	int n = vaMaxNumEntrypoints(dpy), k = 0;
	if (n <= 0)
		return false;
	VAEntrypoint *eps = calloc((size_t)n, sizeof(*eps));
	bool vpp = false;
	if (eps && vaQueryConfigEntrypoints(dpy, VAProfileNone, eps, &k) == VA_STATUS_SUCCESS)
		for (int i = 0; i < k; i++)
			vpp |= eps[i] == VAEntrypointVideoProc;
	free(eps);
	return vpp;
}

/* Opens `path` and initialises a display on it with libva's messages silenced; NULL with the reason. */
static VADisplay open_display(const char *path, int *fd, int *err, char *why, size_t n)
{
	*fd = open(path, O_RDWR | O_CLOEXEC);
	if (*fd < 0) {
		*err = -errno;
		snprintf(why, n, "%s: %s", path, strerror(errno));
		return NULL;
	}
	*err = -ENODEV;
	VADisplay dpy = vaGetDisplayDRM(*fd);
	if (!dpy) {
		snprintf(why, n, "%s: not a VA-API display", path);
		close(*fd);
		return NULL;
	}
	vaSetErrorCallback(dpy, silent, NULL);
	vaSetInfoCallback(dpy, silent, NULL);
	int maj, min;
	VAStatus st = vaInitialize(dpy, &maj, &min);
	if (st != VA_STATUS_SUCCESS) {
		snprintf(why, n, "%s: vaInitialize: %s (no VA-API driver)", path, vaErrorStr(st));
		vaTerminate(dpy);
		close(*fd);
		return NULL;
	}
	return dpy;
}

int mc_vaapi_node_usable(const char *path, char *why, size_t n)
{
	int fd, err;
	VADisplay dpy = open_display(path, &fd, &err, why, n);
	if (!dpy)
		return err;
	vaTerminate(dpy);
	close(fd);
	return 0;
}

int mc_vaapi_vpp(const char *path, char *why, size_t n)
{
	int fd, err;
	VADisplay dpy = open_display(path, &fd, &err, why, n);
	if (!dpy)
		return err;
	int rc = 0;
	if (!mc_vaapi_display_has_vpp(dpy)) {
		snprintf(why, n, "%s (%s): no video processing (no VAEntrypointVideoProc)", path, vaQueryVendorString(dpy));
		rc = -ENODEV;
	}
	vaTerminate(dpy);
	close(fd);
	return rc;
}

int mc_vaapi_h264_encode(const char *path, struct mc_vaapi_h264 *out, char *why, size_t n)
{
	memset(out, 0, sizeof(*out));
	int fd, rc;
	VADisplay dpy = open_display(path, &fd, &rc, why, n);
	if (!dpy)
		return rc;
	rc = -ENODEV;
	VAEntrypoint eps[32];
	int k = 0;
	/* constrained baseline: what every browser decodes (DESIGN.md) */
	if (vaQueryConfigEntrypoints(dpy, VAProfileH264ConstrainedBaseline, eps, &k) != VA_STATUS_SUCCESS)
		k = 0;
	for (int i = 0; i < k; i++) {
		if (eps[i] == VAEntrypointEncSliceLP)
			out->low_power = true; /* preferred: the VDEnc path, the only one of Debian's free Intel driver */
		if (eps[i] == VAEntrypointEncSlice)
			out->full = true;
	}
	if (!out->low_power && !out->full) {
		snprintf(why, n, "%s (%s): no H.264 encode (no EncSlice/EncSliceLP for constrained baseline)", path,
			 vaQueryVendorString(dpy));
		goto terminate;
	}
	VAEntrypoint ep = out->low_power ? VAEntrypointEncSliceLP : VAEntrypointEncSlice;
	out->rc = mc_vaapi_rc_modes(dpy, VAProfileH264ConstrainedBaseline, ep);
	/* ROI regions: with CQP, libavcodec applies a region's QP offset as a QP delta (vaapi_encode_init_roi),
	 * which is how the vaapi encoder steers a CQP layer toward its bitrate */
	VAConfigAttrib roi = { .type = VAConfigAttribEncROI };
	if (vaGetConfigAttributes(dpy, VAProfileH264ConstrainedBaseline, ep, &roi, 1) == VA_STATUS_SUCCESS &&
	    roi.value != VA_ATTRIB_NOT_SUPPORTED)
		out->roi_regions = (int)((VAConfigAttribValEncROI){ .value = roi.value }.bits.num_roi_regions);
	rc = 0;
terminate:
	vaTerminate(dpy);
	close(fd);
	return rc;
}

int mc_probe_vaapi(struct mc_probe_vaapi *out, int max)
{
	int n = 0;
	for (int i = 128; i < 144 && n < max; i++) {
		char path[32];
		snprintf(path, sizeof(path), "/dev/dri/renderD%d", i);
		int fd = open(path, O_RDWR | O_CLOEXEC);
		if (fd < 0)
			continue;
		struct mc_probe_vaapi *d = &out[n++];
		memset(d, 0, sizeof(*d));
		snprintf(d->path, sizeof(d->path), "%s", path);
		VADisplay dpy = vaGetDisplayDRM(fd);
		int maj, min;
		VAStatus st = dpy ? (vaSetErrorCallback(dpy, silent, NULL), vaSetInfoCallback(dpy, silent, NULL),
				     vaInitialize(dpy, &maj, &min))
				  : VA_STATUS_ERROR_INVALID_DISPLAY;
		if (st != VA_STATUS_SUCCESS) {
			snprintf(d->error, sizeof(d->error), "vaInitialize: %s (no VA-API driver for this node)",
				 vaErrorStr(st));
			if (dpy)
				vaTerminate(dpy);
			close(fd);
			continue;
		}
		snprintf(d->vendor, sizeof(d->vendor), "%s", vaQueryVendorString(dpy));
		int np = vaMaxNumProfiles(dpy), ne = vaMaxNumEntrypoints(dpy);
		VAProfile *profs = calloc((size_t)np, sizeof(*profs));
		VAEntrypoint *eps = calloc((size_t)ne, sizeof(*eps));
		if (profs && eps && vaQueryConfigProfiles(dpy, profs, &np) == VA_STATUS_SUCCESS) {
			for (int p = 0; p < np && d->n_profiles < MC_PROBE_MAX_ITEMS; p++) {
				int k = 0;
				if (vaQueryConfigEntrypoints(dpy, profs[p], eps, &k) != VA_STATUS_SUCCESS)
					continue;
				char *s = d->profiles[d->n_profiles++];
				size_t sz = sizeof(d->profiles[0]);
				snprintf(s, sz, "%s:", vaProfileStr(profs[p]));
				for (int e = 0; e < k; e++) {
					size_t l = strlen(s);
					snprintf(s + l, sz - l, "%s %s", e ? "," : "", vaEntrypointStr(eps[e]));
					bool enc = eps[e] == VAEntrypointEncSlice || eps[e] == VAEntrypointEncSliceLP;
					if (enc)
						rc_modes(dpy, profs[p], eps[e], s, sz);
					if (enc && (profs[p] == VAProfileH264ConstrainedBaseline || profs[p] == VAProfileH264Main ||
						    profs[p] == VAProfileH264High))
						d->h264_encode = true;
				}
			}
		}
		free(profs);
		free(eps);
		d->vpp = mc_vaapi_display_has_vpp(dpy);
		vaTerminate(dpy);
		close(fd);
	}
	return n;
}
