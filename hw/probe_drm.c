/* DRM discovery: each card's driver (pick vc4 by name, not index), connectors, CRTCs and the framebuffer
 * scanned out now (GETFB2: format and modifier; handles need DRM master or CAP_SYS_ADMIN, the format not). */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <xf86drm.h>
#include <xf86drmMode.h>

#include "probe.h"

int mc_probe_drm(struct mc_probe_drm *out, int max)
{
	int n = 0;
	for (int i = 0; i < 16 && n < max; i++) {
		char path[32];
		snprintf(path, sizeof(path), "/dev/dri/card%d", i);
		int fd = open(path, O_RDWR | O_CLOEXEC);
		if (fd < 0)
			continue;
		struct mc_probe_drm *d = &out[n++];
		memset(d, 0, sizeof(*d));
		snprintf(d->path, sizeof(d->path), "%s", path);
		drmVersionPtr v = drmGetVersion(fd);
		snprintf(d->driver, sizeof(d->driver), "%s", v && v->name ? v->name : "?");
		drmFreeVersion(v);
		drmModeResPtr res = drmModeGetResources(fd);
		for (int c = 0; res && c < res->count_connectors && d->n_connectors < MC_PROBE_MAX_ITEMS; c++) {
			drmModeConnectorPtr con = drmModeGetConnector(fd, res->connectors[c]);
			if (!con)
				continue;
			const char *type = drmModeGetConnectorTypeName(con->connector_type);
			snprintf(d->connectors[d->n_connectors++], sizeof(d->connectors[0]), "%s-%u %s", type ? type : "?",
				 con->connector_type_id,
				 con->connection == DRM_MODE_CONNECTED ? "connected" : "disconnected");
			drmModeFreeConnector(con);
		}
		for (int c = 0; res && c < res->count_crtcs && d->n_crtcs < MC_PROBE_MAX_ITEMS; c++) {
			drmModeCrtcPtr crtc = drmModeGetCrtc(fd, res->crtcs[c]);
			char *s = d->crtcs[d->n_crtcs++];
			size_t sz = sizeof(d->crtcs[0]);
			if (!crtc || !crtc->buffer_id) {
				snprintf(s, sz, "crtc %u: no framebuffer", res->crtcs[c]);
			} else {
				drmModeFB2Ptr fb = drmModeGetFB2(fd, crtc->buffer_id);
				if (fb) {
					char cc[5];
					for (int k = 0; k < 4; k++)
						cc[k] = (char)((fb->pixel_format >> (8 * k)) & 0xff);
					cc[4] = 0;
					snprintf(s, sz, "crtc %u: fb %u %ux%u %s modifier 0x%llx%s", res->crtcs[c],
						 crtc->buffer_id, fb->width, fb->height, cc, (unsigned long long)fb->modifier,
						 fb->handles[0] ? "" : " (no handles: needs DRM master or CAP_SYS_ADMIN)");
					drmModeFreeFB2(fb);
				} else {
					snprintf(s, sz, "crtc %u: fb %u (GETFB2 failed)", res->crtcs[c], crtc->buffer_id);
				}
			}
			drmModeFreeCrtc(crtc);
		}
		drmModeFreeResources(res);
		close(fd);
	}
	return n;
}
