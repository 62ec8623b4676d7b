// kms_draw: put a known picture on a DRM/KMS display, for the kernel lane's screen-capture tests (bochs on
// QEMU's -vga std). For each size it creates a dumb buffer, draws the pattern, adds it as an XRGB8888
// framebuffer and sets it on the CRTC of the first connected connector (a mode of that size from the
// connector's list, else one made up: bochs takes any size that fits its memory). With --check it reads the
// scanout back the way a screen grabber does (drmModeGetCrtc, drmModeGetFB2, a PRIME fd, mmap) and compares.
//   kms_draw [-c CARD | -d DRIVER] [-p PATTERN] [-t SEC] [-w] [--check] WxH [WxH...]
//   kms_draw [-c CARD | -d DRIVER] [-w] --off
//     -c CARD     /dev/dri/cardN (default: the first card, or the first with -d's driver name)
//     -d DRIVER   pick the card by its driver name (drmGetVersion: "bochs-drm")
//     -p PATTERN  bars | quad | gradient | solid:RRGGBB (default bars); see pattern_pixel()
//     -t SEC      how long each size stays on screen (default 1; fractions allowed)
//     -w          after the last size, keep it on screen until SIGTERM/SIGINT (closing the card removes the
//                 framebuffers and turns the CRTC off)
//     --check     verify the scanout after each mode set; exit 1 on a mismatch
//     --off       turn the connector's CRTC off (no mode, no framebuffer) and, with -w, keep the card open so
//                 that nothing (fbcon) lights it again: a card without an active CRTC
// Prints one line per mode set: card, driver, connector, CRTC, framebuffer id, size, format, pattern.
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <drm_fourcc.h>
#include <xf86drm.h>
#include <xf86drmMode.h>

static volatile sig_atomic_t stop;
static void on_signal(int sig) { stop = 1; }

struct pattern {
	enum { PAT_BARS, PAT_QUAD, PAT_GRADIENT, PAT_SOLID } kind;
	uint32_t solid;
	const char *name;
};

// The picture, one XRGB8888 pixel at a time, so a test can compute what a capture must contain:
//   bars      8 vertical bars of equal width (bar = x * 8 / w), 100 % white, yellow, cyan, green, magenta,
//             red, blue, black
//   quad      quadrants: top-left red, top-right green, bottom-left blue, bottom-right white
//   gradient  R = x * 255 / (w - 1), G = y * 255 / (h - 1), B = 0x80
//   solid     one colour
static uint32_t pattern_pixel(const struct pattern *p, unsigned x, unsigned y, unsigned w, unsigned h)
{
	static const uint32_t bars[8] = {0xffffff, 0xffff00, 0x00ffff, 0x00ff00, 0xff00ff, 0xff0000, 0x0000ff, 0x000000};
	switch (p->kind) {
	case PAT_BARS:
		return bars[x * 8 / w];
	case PAT_QUAD:
		return (y < h / 2) ? (x < w / 2 ? 0xff0000 : 0x00ff00) : (x < w / 2 ? 0x0000ff : 0xffffff);
	case PAT_GRADIENT:
		return (x * 255 / (w > 1 ? w - 1 : 1)) << 16 | (y * 255 / (h > 1 ? h - 1 : 1)) << 8 | 0x80;
	case PAT_SOLID:
		return p->solid;
	}
	return 0;
}

static int parse_pattern(const char *s, struct pattern *p)
{
	p->name = s;
	if (!strcmp(s, "bars"))
		p->kind = PAT_BARS;
	else if (!strcmp(s, "quad"))
		p->kind = PAT_QUAD;
	else if (!strcmp(s, "gradient"))
		p->kind = PAT_GRADIENT;
	else if (!strncmp(s, "solid:", 6) && strlen(s) == 12 && strspn(s + 6, "0123456789abcdefABCDEF") == 6) {
		p->kind = PAT_SOLID;
		p->solid = (uint32_t)strtoul(s + 6, NULL, 16);
	} else
		return -1;
	return 0;
}

static int open_card(const char *path, const char *driver, char *name, size_t len)
{
	for (int i = 0; i < 16; i++) {
		char buf[64];
		if (path)
			snprintf(buf, sizeof buf, "%s", path);
		else
			snprintf(buf, sizeof buf, "/dev/dri/card%d", i);
		int fd = open(buf, O_RDWR | O_CLOEXEC);
		if (fd >= 0) {
			drmVersionPtr v = drmGetVersion(fd);
			bool ok = v && (!driver || !strcmp(v->name, driver));
			if (ok) {
				snprintf(name, len, "%s (%s)", buf, v->name);
				drmFreeVersion(v);
				return fd;
			}
			if (v)
				drmFreeVersion(v);
			close(fd);
		} else if (path) {
			fprintf(stderr, "kms_draw: %s: %s\n", buf, strerror(errno));
			return -1;
		}
		if (path)
			break;
	}
	fprintf(stderr, "kms_draw: no DRM card%s%s%s\n", driver ? " with driver " : "", driver ? driver : "",
		path ? " at that path" : "");
	return -1;
}

// A mode of w x h: the connector's own if it has one, else simple timings at 60 Hz.
static drmModeModeInfo find_mode(const drmModeConnector *c, unsigned w, unsigned h)
{
	for (int i = 0; i < c->count_modes; i++)
		if (c->modes[i].hdisplay == w && c->modes[i].vdisplay == h)
			return c->modes[i];
	drmModeModeInfo m = {0};
	m.hdisplay = (uint16_t)w;
	m.hsync_start = (uint16_t)(w + 48);
	m.hsync_end = (uint16_t)(w + 80);
	m.htotal = (uint16_t)(w + 160);
	m.vdisplay = (uint16_t)h;
	m.vsync_start = (uint16_t)(h + 3);
	m.vsync_end = (uint16_t)(h + 8);
	m.vtotal = (uint16_t)(h + 30);
	m.vrefresh = 60;
	m.clock = (uint32_t)((uint64_t)m.htotal * m.vtotal * 60 / 1000);
	m.flags = DRM_MODE_FLAG_NHSYNC | DRM_MODE_FLAG_PVSYNC;
	m.type = DRM_MODE_TYPE_USERDEF;
	snprintf(m.name, sizeof m.name, "%ux%u", w, h);
	return m;
}

struct dumb {
	uint32_t handle, pitch, fb;
	uint64_t size;
	void *map;
};

static int create_fb(int fd, unsigned w, unsigned h, struct dumb *d)
{
	struct drm_mode_create_dumb c = {.width = w, .height = h, .bpp = 32};
	if (drmIoctl(fd, DRM_IOCTL_MODE_CREATE_DUMB, &c)) {
		fprintf(stderr, "kms_draw: CREATE_DUMB %ux%u: %s\n", w, h, strerror(errno));
		return -1;
	}
	d->handle = c.handle;
	d->pitch = c.pitch;
	d->size = c.size;
	struct drm_mode_map_dumb m = {.handle = c.handle};
	if (drmIoctl(fd, DRM_IOCTL_MODE_MAP_DUMB, &m)) {
		fprintf(stderr, "kms_draw: MAP_DUMB: %s\n", strerror(errno));
		return -1;
	}
	d->map = mmap(NULL, d->size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, (off_t)m.offset);
	if (d->map == MAP_FAILED) {
		fprintf(stderr, "kms_draw: mmap of the dumb buffer: %s\n", strerror(errno));
		return -1;
	}
	uint32_t handles[4] = {d->handle}, pitches[4] = {d->pitch}, offsets[4] = {0};
	if (drmModeAddFB2(fd, w, h, DRM_FORMAT_XRGB8888, handles, pitches, offsets, &d->fb, 0)) {
		fprintf(stderr, "kms_draw: AddFB2 %ux%u XRGB8888: %s\n", w, h, strerror(errno));
		return -1;
	}
	return 0;
}

static void draw(const struct dumb *d, const struct pattern *p, unsigned w, unsigned h)
{
	for (unsigned y = 0; y < h; y++) {
		uint32_t *row = (uint32_t *)((uint8_t *)d->map + (size_t)y * d->pitch);
		for (unsigned x = 0; x < w; x++)
			row[x] = pattern_pixel(p, x, y, w, h);
	}
}

// Read the scanout back as a screen grabber would, and compare it with the pattern.
static int check(int fd, uint32_t crtc_id, const struct pattern *p, unsigned w, unsigned h)
{
	drmModeCrtcPtr crtc = drmModeGetCrtc(fd, crtc_id);
	if (!crtc || !crtc->buffer_id) {
		fprintf(stderr, "kms_draw: check: CRTC %u has no framebuffer\n", crtc_id);
		return -1;
	}
	uint32_t fb_id = crtc->buffer_id;
	drmModeFreeCrtc(crtc);
	drmModeFB2Ptr fb = drmModeGetFB2(fd, fb_id);
	if (!fb) {
		fprintf(stderr, "kms_draw: check: GetFB2 %u: %s\n", fb_id, strerror(errno));
		return -1;
	}
	int rc = -1;
	if (fb->width != w || fb->height != h || fb->pixel_format != DRM_FORMAT_XRGB8888 || !fb->handles[0]) {
		fprintf(stderr, "kms_draw: check: fb %u is %ux%u format %.4s handle %u, expected %ux%u XR24 (a handle "
			"of 0 means no CAP_SYS_ADMIN)\n", fb_id, fb->width, fb->height, (const char *)&fb->pixel_format,
			fb->handles[0], w, h);
		goto out;
	}
	size_t len = (size_t)fb->pitches[0] * h;
	const char *how = "PRIME fd";
	int pfd = -1;
	void *map = MAP_FAILED;
	if (drmPrimeHandleToFD(fd, fb->handles[0], O_RDONLY | O_CLOEXEC, &pfd) == 0)
		map = mmap(NULL, len, PROT_READ, MAP_SHARED, pfd, 0);
	if (map == MAP_FAILED) {
		// the grabber's fallback: map the handle as a dumb buffer
		fprintf(stderr, "kms_draw: check: PRIME %s: %s; trying MAP_DUMB\n", pfd < 0 ? "export" : "mmap",
			strerror(errno));
		how = "MAP_DUMB";
		struct drm_mode_map_dumb m = {.handle = fb->handles[0]};
		if (drmIoctl(fd, DRM_IOCTL_MODE_MAP_DUMB, &m) == 0)
			map = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, (off_t)m.offset);
		if (map == MAP_FAILED) {
			fprintf(stderr, "kms_draw: check: cannot map fb %u: %s\n", fb_id, strerror(errno));
			goto out_fd;
		}
	}
	for (unsigned y = 0; y < h; y++) {
		const uint32_t *row = (const uint32_t *)((const uint8_t *)map + (size_t)y * fb->pitches[0]);
		for (unsigned x = 0; x < w; x++) {
			uint32_t want = pattern_pixel(p, x, y, w, h), got = row[x] & 0xffffff;
			if (got != want) {
				fprintf(stderr, "kms_draw: check: fb %u pixel (%u,%u) is %06x, expected %06x\n", fb_id, x, y,
					got, want);
				goto out_map;
			}
		}
	}
	printf("kms_draw: check: scanout fb %u %ux%u XR24 modifier 0x%llx read back through a %s: matches\n", fb_id,
		w, h, (unsigned long long)((fb->flags & DRM_MODE_FB_MODIFIERS) ? fb->modifier : 0), how);
	rc = 0;
out_map:
	munmap(map, len);
out_fd:
	if (pfd >= 0)
		close(pfd);
	if (fb->handles[0])
		drmCloseBufferHandle(fd, fb->handles[0]);
out:
	drmModeFreeFB2(fb);
	return rc;
}

static void sleep_s(double s)
{
	struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
	while (!stop && nanosleep(&ts, &ts) && errno == EINTR)
		;
}

static void usage(void)
{
	fprintf(stderr, "usage: kms_draw [-c CARD | -d DRIVER] [-p bars|quad|gradient|solid:RRGGBB] [-t SEC] [-w] "
			"[--check] WxH [WxH...] | [-w] --off\n");
	exit(2);
}

int main(int argc, char **argv)
{
	const char *card = NULL, *driver = NULL;
	struct pattern pat;
	double secs = 1;
	bool wait = false, do_check = false, off = false;
	parse_pattern("bars", &pat);
	static const struct option longopts[] = {{"check", no_argument, NULL, 'k'}, {"off", no_argument, NULL, 'o'}, {0}};
	int o;
	while ((o = getopt_long(argc, argv, "c:d:p:t:w", longopts, NULL)) != -1) {
		switch (o) {
		case 'c': card = optarg; break;
		case 'd': driver = optarg; break;
		case 'p':
			if (parse_pattern(optarg, &pat)) {
				fprintf(stderr, "kms_draw: unknown pattern '%s'\n", optarg);
				usage();
			}
			break;
		case 't': secs = atof(optarg); break;
		case 'w': wait = true; break;
		case 'k': do_check = true; break;
		case 'o': off = true; break;
		default: usage();
		}
	}
	if (optind >= argc && !off)
		usage();
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);

	char name[96];
	int fd = open_card(card, driver, name, sizeof name);
	if (fd < 0)
		return 1;
	drmModeResPtr res = drmModeGetResources(fd);
	if (!res) {
		fprintf(stderr, "kms_draw: %s: not a KMS device: %s\n", name, strerror(errno));
		return 1;
	}
	drmModeConnectorPtr conn = NULL;
	for (int i = 0; i < res->count_connectors && !conn; i++) {
		conn = drmModeGetConnector(fd, res->connectors[i]);
		if (conn && (conn->connection != DRM_MODE_CONNECTED || !conn->count_encoders)) {
			drmModeFreeConnector(conn);
			conn = NULL;
		}
	}
	if (!conn) {
		fprintf(stderr, "kms_draw: %s: no connected connector\n", name);
		return 1;
	}
	drmModeEncoderPtr enc = drmModeGetEncoder(fd, conn->encoder_id ? conn->encoder_id : conn->encoders[0]);
	uint32_t crtc_id = enc ? enc->crtc_id : 0;
	for (int i = 0; enc && !crtc_id && i < res->count_crtcs; i++)
		if (enc->possible_crtcs & (1u << i))
			crtc_id = res->crtcs[i];
	if (!crtc_id) {
		fprintf(stderr, "kms_draw: %s: no CRTC for the connector\n", name);
		return 1;
	}
	char conn_name[32];
	snprintf(conn_name, sizeof conn_name, "%s-%u", drmModeGetConnectorTypeName(conn->connector_type)
		? drmModeGetConnectorTypeName(conn->connector_type) : "unknown", conn->connector_type_id);

	int rc = 0;
	if (off) {
		if (drmModeSetCrtc(fd, crtc_id, 0, 0, 0, NULL, 0, NULL)) {
			fprintf(stderr, "kms_draw: SetCrtc %u off: %s\n", crtc_id, strerror(errno));
			rc = 1;
		} else {
			printf("kms_draw: %s %s crtc %u off\n", name, conn_name, crtc_id);
			fflush(stdout);
		}
		optind = argc; // no sizes
	}
	struct dumb prev = {0};
	for (int a = optind; a < argc && !stop; a++) {
		unsigned w, h;
		char end;
		if (sscanf(argv[a], "%ux%u%c", &w, &h, &end) != 2 || !w || !h || w > 8192 || h > 8192) {
			fprintf(stderr, "kms_draw: bad size '%s' (WxH)\n", argv[a]);
			rc = 2;
			break;
		}
		struct dumb d = {0};
		if (create_fb(fd, w, h, &d)) {
			rc = 1;
			break;
		}
		draw(&d, &pat, w, h);
		drmModeModeInfo mode = find_mode(conn, w, h);
		if (drmModeSetCrtc(fd, crtc_id, d.fb, 0, 0, &conn->connector_id, 1, &mode)) {
			fprintf(stderr, "kms_draw: SetCrtc %u %ux%u on %s: %s\n", crtc_id, w, h, conn_name, strerror(errno));
			rc = 1;
			break;
		}
		// again once scanned out: bochs (GEM VRAM helper) loses what was drawn into a larger buffer before it
		// was pinned to video memory by the mode set (seen from 1280x1080 up on 6.1)
		draw(&d, &pat, w, h);
		printf("kms_draw: %s %s crtc %u fb %u %ux%u XR24 pattern %s\n", name, conn_name, crtc_id, d.fb, w, h,
			pat.name);
		fflush(stdout);
		if (prev.fb) { // the previous picture is off screen now
			drmModeRmFB(fd, prev.fb);
			munmap(prev.map, prev.size);
			drmCloseBufferHandle(fd, prev.handle);
		}
		prev = d;
		if (do_check && check(fd, crtc_id, &pat, w, h)) {
			rc = 1;
			break;
		}
		fflush(stdout);
		sleep_s(secs);
	}
	while (wait && !stop && rc == 0)
		sleep_s(0.2);
	drmModeFreeEncoder(enc);
	drmModeFreeConnector(conn);
	drmModeFreeResources(res);
	close(fd);
	return rc;
}
