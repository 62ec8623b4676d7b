/* kms: the screen, read from what a DRM/KMS CRTC scans out (the kmsgrab technique). The primary plane's
 * framebuffer is looked up with GETFB2 at every frame, exported as a PRIME (DMABUF) fd and mapped for the
 * CPU; XRGB8888/ARGB8888 and NV12 in the LINEAR layout are converted to YUV420P in one pass. A framebuffer
 * that changes (a page flip, a mode set, a compositor restart) is followed at the next frame: FFmpeg's
 * kmsgrab stops with EIO there. An unchanged screen costs a GETPLANE ioctl and a sampled compare a frame:
 * its last picture goes out again (the same buffer, which the track recognises without comparing).
 *
 * Reading another program's framebuffer needs CAP_SYS_ADMIN or DRM master: without, GETFB2 returns the
 * framebuffer's geometry but no buffer handles (drivers/gpu/drm/drm_framebuffer.c, drm_mode_getfb2_ioctl). */
#include <drm_fourcc.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <linux/dma-buf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>
#include <xf86drm.h>
#include <xf86drmMode.h>

#include "frame.h"
#include "log.h"
#include "pace.h"
#include "scaler.h"
#include "source.h"
#include "unchanged.h"

#define MOD "kms"

struct kms_opts {
	char device[MC_PATH_MAX]; /* /dev/dri/cardN, a driver name (drmGetVersion), or empty: the first lit card */
	char connector[32];       /* e.g. HDMI-A-1, or empty: the first active CRTC */
};

static const struct mc_option kms_options[] = {
	{ "device", mc_opt_string, offsetof(struct kms_opts, device), 0, MC_OPT_FIELD_SIZE(struct kms_opts, device) },
	{ "connector", mc_opt_name, offsetof(struct kms_opts, connector), 0, MC_OPT_FIELD_SIZE(struct kms_opts, connector) },
	{ NULL },
};

/* The framebuffer being read: its geometry and a CPU mapping of each of its buffer objects. */
struct kms_fb {
	uint32_t id;
	int width, height;
	uint32_t fourcc;
	uint64_t modifier;
	enum AVPixelFormat av_format;
	int n_planes;
	uint32_t handles[4], pitches[4], offsets[4];
	int prime_fd[4];    /* per plane: the DMABUF of its buffer object (for zero-copy consumers later) */
	uint8_t *map[4];    /* per plane: the mapping of its buffer object (shared between planes of one BO) */
	size_t map_len[4];
	bool map_owner[4];  /* this plane's entry owns the mapping and the fd */
	bool dumb_map[4];   /* mapped through the card (MODE_MAP_DUMB), not the DMABUF: no DMA_BUF_IOCTL_SYNC */
	const uint8_t *data[4];
	struct mc_planes planes;
};

struct kms {
	const struct mc_source_config *cfg;
	const struct kms_opts *opts;
	struct mc_source_report *report;
	int fd;
	char driver[32];
	char card[MC_PATH_MAX];
	uint32_t crtc_id, plane_id;
	char connector[32];
	struct mc_pace pace;
	struct kms_fb fb;
	/* the last picture read, in ordinary (cached) memory: compared with the live framebuffer, converted */
	uint8_t *shadow;
	size_t shadow_cap;
	struct mc_planes shadow_planes;
	bool shadow_valid;
	struct mc_unchanged unchanged;
	AVFrame *wrap; /* the shadow as an AVFrame, for the scaler */
	struct mc_scaler *conv;
	int conv_w, conv_h;
	AVFrame *last; /* the last picture delivered */
	struct mc_source_info *info;
	uint64_t converted, unchanged_frames;
};

static const char *name_of(const struct kms *k) { return k->cfg->name; }

/* "FILE:LINE: [source.NAME] KEY: ..." into the report the core logs (once per change while reconnecting). */
__attribute__((format(printf, 3, 4))) static void why(struct kms *k, const char *key, const char *fmt, ...)
{
	int line = 0;
	if (strcmp(key, "fps") == 0)
		line = k->cfg->fps_line;
	else
		mc_source_opt(k->cfg, key, &line);
	char msg[600];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(k->report->why, sizeof(k->report->why), "%s:%d: [source.%s] %s: %s", k->cfg->file ? k->cfg->file : "?",
		 line ? line : k->cfg->line, k->cfg->name, key, msg);
}

/* ---- the card, the CRTC and its primary plane ------------------------------------------------------------ */

static int open_card(const char *path, char *driver, size_t cap)
{
	int fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	drmVersionPtr v = drmGetVersion(fd);
	if (!v) {
		close(fd);
		return -ENOTTY; /* not a DRM device */
	}
	snprintf(driver, cap, "%s", v->name);
	drmFreeVersion(v);
	return fd;
}

/* The CRTC that connector `want` (e.g. "HDMI-A-1") drives, or with want == NULL the first CRTC that
 * scans out a framebuffer. 0 when there is none; `names` lists the connectors seen, for the message. */
static uint32_t find_crtc(int fd, const char *want, char *names, size_t cap, char *conn_name, size_t conn_cap)
{
	drmModeResPtr res = drmModeGetResources(fd);
	uint32_t crtc_id = 0;
	names[0] = '\0';
	if (!res)
		return 0;
	for (int i = 0; i < res->count_connectors && !crtc_id; i++) {
		drmModeConnectorPtr c = drmModeGetConnectorCurrent(fd, res->connectors[i]);
		if (!c)
			continue;
		const char *type = drmModeGetConnectorTypeName(c->connector_type);
		char name[32];
		snprintf(name, sizeof(name), "%s-%u", type ? type : "Unknown", c->connector_type_id);
		size_t l = strlen(names);
		snprintf(names + l, cap - l, "%s%s (%s)", l ? ", " : "", name,
			 c->connection == DRM_MODE_CONNECTED ? "connected" : "not connected");
		uint32_t id = 0;
		if (c->encoder_id) {
			drmModeEncoderPtr e = drmModeGetEncoder(fd, c->encoder_id);
			if (e) {
				id = e->crtc_id;
				drmModeFreeEncoder(e);
			}
		}
		if (id) {
			drmModeCrtcPtr crtc = drmModeGetCrtc(fd, id);
			if (!crtc || !crtc->mode_valid || !crtc->buffer_id)
				id = 0; /* driven by nothing: the display is off */
			drmModeFreeCrtc(crtc);
		}
		if (id && (!want || strcmp(want, name) == 0)) {
			crtc_id = id;
			snprintf(conn_name, conn_cap, "%s", name);
		}
		drmModeFreeConnector(c);
	}
	drmModeFreeResources(res);
	return crtc_id;
}

static uint32_t find_primary_plane(int fd, uint32_t crtc_id)
{
	drmModeResPtr res = drmModeGetResources(fd);
	drmModePlaneResPtr pres = drmModeGetPlaneResources(fd);
	uint32_t found = 0;
	int crtc_index = -1;
	for (int i = 0; res && i < res->count_crtcs; i++)
		if (res->crtcs[i] == crtc_id)
			crtc_index = i;
	for (uint32_t i = 0; pres && crtc_index >= 0 && i < pres->count_planes && !found; i++) {
		drmModePlanePtr p = drmModeGetPlane(fd, pres->planes[i]);
		if (!p)
			continue;
		bool on_crtc = p->crtc_id == crtc_id || (!p->crtc_id && (p->possible_crtcs & (1u << crtc_index)));
		drmModeObjectPropertiesPtr props =
			on_crtc ? drmModeObjectGetProperties(fd, p->plane_id, DRM_MODE_OBJECT_PLANE) : NULL;
		for (uint32_t k = 0; props && k < props->count_props; k++) {
			drmModePropertyPtr prop = drmModeGetProperty(fd, props->props[k]);
			if (prop && strcmp(prop->name, "type") == 0 && props->prop_values[k] == DRM_PLANE_TYPE_PRIMARY &&
			    p->crtc_id == crtc_id)
				found = p->plane_id;
			drmModeFreeProperty(prop);
		}
		drmModeFreeObjectProperties(props);
		drmModeFreePlane(p);
	}
	drmModeFreePlaneResources(pres);
	drmModeFreeResources(res);
	return found;
}

/* The card: a path, a driver name (on a Pi card0 and card1 swap between boots), or the first card that
 * shows a picture. */
static int open_device(struct kms *k, char *names, size_t cap)
{
	const char *dev = k->opts->device;
	const char *want = k->opts->connector[0] ? k->opts->connector : NULL;
	if (dev[0] == '/') {
		int fd = open_card(dev, k->driver, sizeof(k->driver));
		if (fd < 0) {
			why(k, "device", "'%s': %s", dev, fd == -ENOTTY ? "not a DRM device" : strerror(-fd));
			return fd == -ENOTTY ? -EINVAL : fd;
		}
		snprintf(k->card, sizeof(k->card), "%s", dev);
		k->fd = fd;
		return 0;
	}
	char seen[256] = "";
	int first_fd = -1; /* with no device given: the first card, when none shows a picture (a clear error then) */
	char first_path[32] = "", first_driver[32] = "";
	for (int i = 0; i < 16; i++) {
		char path[32], driver[32];
		snprintf(path, sizeof(path), "/dev/dri/card%d", i);
		int fd = open_card(path, driver, sizeof(driver));
		if (fd < 0)
			continue;
		size_t l = strlen(seen);
		snprintf(seen + l, sizeof(seen) - l, "%s%s (%s)", l ? ", " : "", path, driver);
		char conn[32];
		bool match = dev[0] ? strcmp(driver, dev) == 0 : find_crtc(fd, want, names, cap, conn, sizeof(conn)) != 0;
		if (match) {
			if (first_fd >= 0)
				close(first_fd);
			snprintf(k->driver, sizeof(k->driver), "%s", driver);
			snprintf(k->card, sizeof(k->card), "%s", path);
			k->fd = fd;
			return 0;
		}
		if (!dev[0] && first_fd < 0) {
			first_fd = fd;
			snprintf(first_path, sizeof(first_path), "%s", path);
			snprintf(first_driver, sizeof(first_driver), "%s", driver);
			continue;
		}
		close(fd);
	}
	if (first_fd >= 0) { /* cards, but none lit: kms_open says what the first one has */
		snprintf(k->driver, sizeof(k->driver), "%s", first_driver);
		snprintf(k->card, sizeof(k->card), "%s", first_path);
		k->fd = first_fd;
		return 0;
	}
	/* No such card (yet: a display driver can load late at boot): "no signal", the core retries. */
	if (dev[0])
		why(k, "device", "no DRM card has the driver '%s' (found: %s)", dev, seen[0] ? seen : "none");
	else
		why(k, "device", "no DRM card shows a picture%s (found: %s)", want ? " on that connector" : "",
		    seen[0] ? seen : "none");
	return -ENODEV;
}

/* ---- the framebuffer ---------------------------------------------------------------------------------------- */

static void release_fb(struct kms *k)
{
	struct kms_fb *fb = &k->fb;
	for (int i = 0; i < 4; i++) {
		if (fb->map_owner[i] && fb->map[i])
			munmap(fb->map[i], fb->map_len[i]);
		if (fb->map_owner[i] && fb->prime_fd[i] >= 0)
			close(fb->prime_fd[i]);
	}
	/* GETFB2 made new GEM handles for us: close each once */
	for (int i = 0; i < 4; i++) {
		bool dup = false;
		for (int j = 0; j < i; j++)
			dup |= fb->handles[j] == fb->handles[i];
		if (fb->handles[i] && !dup)
			drmCloseBufferHandle(k->fd, fb->handles[i]);
	}
	memset(fb, 0, sizeof(*fb));
	for (int i = 0; i < 4; i++)
		fb->prime_fd[i] = -1;
	k->shadow_valid = false;
}

static int plane_rows(const struct kms_fb *fb, int plane) { return plane ? (fb->height + 1) / 2 : fb->height; }

/* Maps plane i's buffer object: through its DMABUF, or (a driver whose DMABUFs cannot be mapped) the card's
 * dumb-buffer mapping of the same handle. */
static int map_plane(struct kms *k, int i)
{
	struct kms_fb *fb = &k->fb;
	for (int j = 0; j < i; j++) {
		if (fb->handles[j] == fb->handles[i]) { /* the same buffer object as an earlier plane */
			fb->map[i] = fb->map[j];
			fb->map_len[i] = fb->map_len[j];
			fb->prime_fd[i] = fb->prime_fd[j];
			fb->dumb_map[i] = fb->dumb_map[j];
			goto check;
		}
	}
	size_t len = 0;
	for (int p = 0; p < fb->n_planes; p++)
		if (fb->handles[p] == fb->handles[i]) {
			size_t end = fb->offsets[p] + (size_t)fb->pitches[p] * plane_rows(fb, p);
			len = end > len ? end : len;
		}
	fb->map_owner[i] = true;
	fb->map_len[i] = len;
	int rc = drmPrimeHandleToFD(k->fd, fb->handles[i], DRM_CLOEXEC, &fb->prime_fd[i]);
	if (rc == 0) {
		void *m = mmap(NULL, len, PROT_READ, MAP_SHARED, fb->prime_fd[i], 0);
		if (m != MAP_FAILED)
			fb->map[i] = m;
	}
	if (!fb->map[i]) {
		struct drm_mode_map_dumb md = { .handle = fb->handles[i] };
		if (drmIoctl(k->fd, DRM_IOCTL_MODE_MAP_DUMB, &md) == 0) {
			void *m = mmap(NULL, len, PROT_READ, MAP_SHARED, k->fd, (off_t)md.offset);
			if (m != MAP_FAILED) {
				fb->map[i] = m;
				fb->dumb_map[i] = true;
			}
		}
	}
	if (!fb->map[i]) {
		int e = errno ? errno : EIO;
		why(k, "device", "%s: framebuffer %u: cannot map its buffer (PRIME export %s; dumb map: %s)", k->card, fb->id,
		    rc == 0 ? "worked, mmap failed" : "failed", strerror(e));
		return -e;
	}
check:
	fb->data[i] = fb->map[i] + fb->offsets[i];
	return 0;
}

static int attach_fb(struct kms *k, uint32_t fb_id)
{
	release_fb(k);
	drmModeFB2Ptr f = drmModeGetFB2(k->fd, fb_id);
	if (!f) {
		int e = errno ? errno : EIO;
		why(k, "device", "%s: framebuffer %u: GETFB2 failed: %s", k->card, fb_id, strerror(e));
		return -e;
	}
	struct kms_fb *fb = &k->fb;
	fb->id = fb_id;
	fb->width = (int)f->width;
	fb->height = (int)f->height;
	fb->fourcc = f->pixel_format;
	fb->modifier = f->flags & DRM_MODE_FB_MODIFIERS ? f->modifier : DRM_FORMAT_MOD_LINEAR;
	memcpy(fb->handles, f->handles, sizeof(fb->handles));
	memcpy(fb->pitches, f->pitches, sizeof(fb->pitches));
	memcpy(fb->offsets, f->offsets, sizeof(fb->offsets));
	drmModeFreeFB2(f);
	char *fmt = drmGetFormatName(fb->fourcc);
	int rc = 0;
	if (!fb->handles[0]) {
		why(k, "device", "%s: the kernel gave framebuffer %u's size but no buffer handle: reading another "
				 "program's framebuffer needs CAP_SYS_ADMIN (or DRM master). Run mixcastd as root, or in its "
				 "systemd unit set AmbientCapabilities=CAP_SYS_ADMIN (and keep CAP_SYS_ADMIN in "
				 "CapabilityBoundingSet=)",
		    k->card, fb_id);
		rc = -EPERM;
		goto out;
	}
	switch (fb->fourcc) {
	case DRM_FORMAT_XRGB8888: fb->av_format = AV_PIX_FMT_BGR0, fb->n_planes = 1; break; /* B, G, R, X in memory */
	case DRM_FORMAT_ARGB8888: fb->av_format = AV_PIX_FMT_BGRA, fb->n_planes = 1; break;
	case DRM_FORMAT_NV12: fb->av_format = AV_PIX_FMT_NV12, fb->n_planes = 2; break;
	default:
		why(k, "device", "%s: framebuffer %u: pixel format %s is not supported (XRGB8888, ARGB8888 or NV12)", k->card,
		    fb_id, fmt ? fmt : "?");
		rc = -ENOTSUP;
		goto out;
	}
	if (fb->modifier != DRM_FORMAT_MOD_LINEAR) {
		char *mod = drmGetFormatModifierName(fb->modifier);
		why(k, "device", "%s: framebuffer %u (%s %dx%d): modifier %s (0x%016llx) is not supported: only LINEAR "
				 "framebuffers can be read by the CPU (a tiled or compressed layout would need detiling)",
		    k->card, fb_id, fmt ? fmt : "?", fb->width, fb->height, mod ? mod : "unknown",
		    (unsigned long long)fb->modifier);
		free(mod);
		rc = -ENOTSUP;
		goto out;
	}
	for (int i = 0; i < fb->n_planes && !rc; i++)
		rc = map_plane(k, i);
	if (rc)
		goto out;
	fb->planes.n = fb->n_planes;
	for (int i = 0; i < fb->n_planes; i++) {
		fb->planes.data[i] = fb->data[i];
		fb->planes.linesize[i] = (int)fb->pitches[i];
		fb->planes.row_bytes[i] = fb->n_planes == 1 ? fb->width * 4 : (fb->width + 1) / 2 * 2;
		fb->planes.rows[i] = plane_rows(fb, i);
	}
	mc_info(MOD, "%s: %s (%s), connector %s: framebuffer %u, %dx%d %s, LINEAR, PRIME fd %s, mapped through %s",
		name_of(k), k->card, k->driver, k->connector, fb_id, fb->width, fb->height, fmt ? fmt : "?",
		fb->prime_fd[0] >= 0 ? "exported" : "not exported",
		fb->dumb_map[0] ? "the card (MODE_MAP_DUMB: the driver cannot mmap its DMABUFs)" : "its DMABUF");
	k->info->path = fb->n_planes == 1 ? "kms rgb swscale" : "kms nv12 swscale";
out:
	free(fmt);
	if (rc)
		release_fb(k);
	return rc;
}

/* CPU access to a DMABUF mapping is bracketed by DMA_BUF_IOCTL_SYNC (caches, a GPU still writing). */
static void sync_fb(struct kms *k, bool start)
{
	struct dma_buf_sync s = { .flags = DMA_BUF_SYNC_READ | (start ? DMA_BUF_SYNC_START : DMA_BUF_SYNC_END) };
	for (int i = 0; i < k->fb.n_planes; i++)
		if (k->fb.map_owner[i] && !k->fb.dumb_map[i])
			ioctl(k->fb.prime_fd[i], DMA_BUF_IOCTL_SYNC, &s);
}

/* ---- reading ---------------------------------------------------------------------------------------------------- */

/* The live framebuffer into the shadow: one sequential read of the scanout memory (which may be uncached:
 * reading it once and converting from cached memory is faster than converting from it). */
static int copy_to_shadow(struct kms *k)
{
	struct kms_fb *fb = &k->fb;
	size_t need = 0;
	for (int i = 0; i < fb->n_planes; i++)
		need += (size_t)fb->planes.row_bytes[i] * fb->planes.rows[i];
	if (need > k->shadow_cap) {
		free(k->shadow);
		k->shadow = aligned_alloc(64, (need + 63) & ~(size_t)63);
		k->shadow_cap = k->shadow ? need : 0;
		if (!k->shadow)
			return -ENOMEM;
	}
	uint8_t *dst = k->shadow;
	struct mc_planes *sp = &k->shadow_planes;
	*sp = fb->planes;
	for (int i = 0; i < fb->n_planes; i++) {
		sp->data[i] = dst;
		sp->linesize[i] = fb->planes.row_bytes[i];
		for (int y = 0; y < fb->planes.rows[i]; y++, dst += sp->linesize[i])
			memcpy(dst, fb->planes.data[i] + (size_t)y * fb->planes.linesize[i], (size_t)sp->row_bytes[i]);
	}
	k->shadow_valid = true;
	return 0;
}

/* The shadow converted to YUV420P at the framebuffer's size (libswscale through the scaler core: one pass). */
static AVFrame *convert(struct kms *k)
{
	struct kms_fb *fb = &k->fb;
	if (!k->conv || k->conv_w != fb->width || k->conv_h != fb->height) {
		mc_scaler_destroy(k->conv);
		k->conv = mc_scaler_create(fb->width, fb->height, AV_PIX_FMT_YUV420P);
		k->conv_w = fb->width;
		k->conv_h = fb->height;
		if (!k->conv)
			return NULL;
	}
	AVFrame *w = k->wrap;
	w->width = fb->width;
	w->height = fb->height;
	w->format = fb->av_format;
	for (int i = 0; i < 4; i++) {
		w->data[i] = i < fb->n_planes ? (uint8_t *)k->shadow_planes.data[i] : NULL;
		w->linesize[i] = i < fb->n_planes ? k->shadow_planes.linesize[i] : 0;
	}
	return mc_scaler_run(k->conv, w);
}

static uint32_t current_fb(struct kms *k)
{
	drmModePlanePtr p = drmModeGetPlane(k->fd, k->plane_id);
	uint32_t id = p && p->crtc_id == k->crtc_id ? p->fb_id : 0;
	drmModeFreePlane(p);
	return id;
}

static int kms_open(void *priv, const struct mc_source_config *cfg, struct mc_source_info *info,
		    struct mc_source_report *report)
{
	struct kms *k = priv;
	k->cfg = cfg;
	k->opts = cfg->opts;
	k->report = report;
	k->info = info;
	k->fd = -1;
	for (int i = 0; i < 4; i++)
		k->fb.prime_fd[i] = -1;
	char names[512];
	int rc = open_device(k, names, sizeof(names));
	if (rc)
		return rc;
	const char *want = k->opts->connector[0] ? k->opts->connector : NULL;
	/* The first to open a card without a master becomes its master: a display server started after us
	 * could then not set a mode. We only read: give it up. */
	if (drmIsMaster(k->fd))
		drmDropMaster(k->fd);
	/* universal planes: the primary plane is a plane like the others, with its own framebuffer */
	drmSetClientCap(k->fd, DRM_CLIENT_CAP_UNIVERSAL_PLANES, 1);
	k->crtc_id = find_crtc(k->fd, want, names, sizeof(names), k->connector, sizeof(k->connector));
	/* The card is there but shows nothing: a clear error at start, "no signal" after a loss (the core). */
	if (!k->crtc_id) {
		if (want)
			why(k, "connector", "'%s' on %s (%s) drives no active CRTC (connectors: %s)", want, k->card, k->driver,
			    names[0] ? names : "none");
		else
			why(k, "device", "%s (%s) has no active CRTC: no display is lit, nothing to capture (connectors: %s)",
			    k->card, k->driver, names[0] ? names : "none");
		return -ENXIO;
	}
	k->plane_id = find_primary_plane(k->fd, k->crtc_id);
	if (!k->plane_id) {
		why(k, "device", "%s (%s): CRTC %u has no primary plane", k->card, k->driver, k->crtc_id);
		return -ENXIO;
	}
	uint32_t fb_id = current_fb(k);
	if (!fb_id) {
		why(k, "device", "%s (%s): CRTC %u shows no framebuffer", k->card, k->driver, k->crtc_id);
		return -ENXIO;
	}
	if ((rc = attach_fb(k, fb_id)))
		return rc;
	if (!(k->wrap = av_frame_alloc()))
		return -ENOMEM;
	mc_pace_init(&k->pace, cfg->fps, 1);
	info->width = k->fb.width;
	info->height = k->fb.height;
	info->fps_num = cfg->fps;
	info->fps_den = 1;
	info->format = AV_PIX_FMT_YUV420P;
	return 0;
}

static int kms_read(void *priv, AVFrame **out, const bool *stop)
{
	struct kms *k = priv;
	if (mc_pace_wait(&k->pace, stop) < 0)
		return -EINTR;
	int64_t capture = mc_now_us();
	uint32_t fb_id = current_fb(k);
	if (!fb_id) {
		/* The display was switched off, or its program closed the card: "no signal" (the core sends
		 * the placeholder and reopens, which finds the CRTC again when a picture is back). */
		why(k, "device", "%s (%s): CRTC %u shows no framebuffer any more (the display is off)", k->card,
		    k->driver, k->crtc_id);
		return -ENODATA;
	}
	if (fb_id != k->fb.id) {
		/* a page flip, a mode set, a new compositor: the new framebuffer (any size, format, modifier) */
		int rc = attach_fb(k, fb_id);
		if (rc)
			return rc;
	}
	sync_fb(k, true);
	bool same = k->last && k->shadow_valid && mc_unchanged_planes(&k->unchanged, &k->fb.planes, &k->shadow_planes);
	int rc = same ? 0 : copy_to_shadow(k);
	sync_fb(k, false);
	if (rc)
		return rc;
	AVFrame *f;
	if (same) {
		/* not copied, not converted: the last picture again (the same buffer, so not compared again) */
		f = av_frame_clone(k->last);
		k->unchanged_frames++;
	} else {
		f = convert(k);
		if (f) {
			av_frame_free(&k->last);
			k->last = av_frame_clone(f);
			k->converted++;
			/* the stats' copies: the framebuffer into the shadow, and the conversion */
			mc_count_add(&k->report->copies, 2);
		}
	}
	if (!f)
		return -ENOMEM;
	f->pts = capture;
	*out = f;
	return 0;
}

static void kms_close(void *priv)
{
	struct kms *k = priv;
	if (k->cfg && (k->converted || k->unchanged_frames))
		mc_info(MOD, "%s: %llu pictures converted, %llu unchanged ones sent again", name_of(k),
			(unsigned long long)k->converted, (unsigned long long)k->unchanged_frames);
	if (k->fd >= 0)
		release_fb(k);
	av_frame_free(&k->last);
	av_frame_free(&k->wrap);
	mc_scaler_destroy(k->conv);
	free(k->shadow);
	if (k->fd >= 0)
		close(k->fd);
	k->fd = -1;
}

const struct mc_source_ops mc_source_kms = {
	.name = "kms",
	.priv_size = sizeof(struct kms),
	.options = kms_options,
	.options_size = sizeof(struct kms_opts),
	.generic_keys = MC_SOURCE_TAKES_FPS, /* the size is the screen's */
	/* a display switched off, a card that goes away: the placeholder until it is back */
	.reconnects = true,
	.open = kms_open,
	.read_frame = kms_read,
	.close = kms_close,
};
