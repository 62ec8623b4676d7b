/* v4l2: a camera through Video4Linux2, MMAP streaming. Size, rate and pixel format are negotiated from the
 * configuration (v4l2_negotiate.c). NV12 and RGB24 frames are the driver's buffers themselves (no copy), each also
 * exported as a DMABUF (VIDIOC_EXPBUF) and carried with the frame (frame.h); YUYV is converted once
 * (libswscale) and MJPEG decoded (libavcodec), and their buffers go back to the driver at once. A camera
 * that goes away (ENODEV, EIO) is a lost signal: the core shows the placeholder and reopens. */
#include <errno.h>
#include <fcntl.h>
#include <libswscale/swscale.h>
#include <linux/videodev2.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "frame.h"
#include "log.h"
#include "mjpeg.h"
#include "source.h"
#include "v4l2_negotiate.h"
#include "v4l2m2m_select.h"

#define MOD "v4l2"
#define MAX_BUFFERS 32
#define STALL_US 3000000 /* no frame for this long: the camera is treated as lost and reopened */

struct v4l2_opts {
	char device[MC_PATH_MAX];
	int format; /* enum mc_v4l2_format */
};

static const struct mc_option_choice format_choices[] = {
	{ "auto", MC_V4L2_AUTO }, { "nv12", MC_V4L2_NV12 }, { "yuyv", MC_V4L2_YUYV }, { "mjpeg", MC_V4L2_MJPEG }, { "rgb24", MC_V4L2_RGB24 }, { NULL, 0 },
};

static const struct mc_option v4l2_options[] = {
	{ "device", mc_opt_string, offsetof(struct v4l2_opts, device), 0, MC_OPT_FIELD_SIZE(struct v4l2_opts, device),
	  .required = true },
	{ "format", mc_opt_choice, offsetof(struct v4l2_opts, format), .choices = format_choices },
	{ NULL },
};

struct buffers;

struct slot {
	struct buffers *set;
	int index;
	uint8_t *map;
	size_t len;
	struct mc_frame_dmabuf dmabuf; /* drm.objects[0].fd < 0: not exported */
};

/* The buffers of one streaming session. They outlive the source's open(): frames still held downstream
 * point into them after a close (a camera unplugged mid-stream), so the set is reference-counted (one for
 * the open device, one per frame out) and unmapped, with the fd closed, when the last one goes. */
struct buffers {
	int refs; /* atomic */
	pthread_mutex_t lock; /* `streaming` and QBUF from frame releases against STREAMOFF */
	bool streaming;
	int fd;
	int n;
	struct slot slot[MAX_BUFFERS];
};

struct v4l2src {
	const struct mc_source_config *cfg;
	const struct v4l2_opts *opts;
	struct mc_source_report *report;
	char path[MC_PATH_MAX + 32];
	int fd;
	struct buffers *bufs;
	struct mc_v4l2_choice mode;
	int bytesperline;
	enum mc_v4l2_format format;
	struct SwsContext *sws;       /* YUYV -> YUV420P */
	struct mc_frame_pool *pool;   /* YUYV's converted frames */
	struct mc_mjpeg *jpeg;        /* MJPEG decoder */
	bool dmabuf_warned;
};

/* "FILE:LINE: [source.NAME] KEY: ..." into the report the core logs. */
__attribute__((format(printf, 3, 4))) static void why(struct v4l2src *s, const char *key, const char *fmt, ...)
{
	int line = 0;
	if (strcmp(key, "size") == 0)
		line = s->cfg->size_line;
	else if (strcmp(key, "fps") == 0)
		line = s->cfg->fps_line;
	else
		mc_source_opt(s->cfg, key, &line);
	char msg[600];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(s->report->why, sizeof(s->report->why), "%s:%d: [source.%s] %s: %s", s->cfg->file ? s->cfg->file : "?",
		 line ? line : s->cfg->line, s->cfg->name, key, msg);
}

/* Formats whose frames are the driver's buffers themselves, exported as DMABUF (no copy) */
static bool direct(const struct v4l2src *s) { return s->format == MC_V4L2_NV12 || s->format == MC_V4L2_RGB24; }

static int xioctl(int fd, unsigned long req, void *arg)
{
	int r;
	do
		r = ioctl(fd, req, arg);
	while (r < 0 && errno == EINTR);
	return r < 0 ? -errno : 0;
}

static void buffers_unref(struct buffers *b)
{
	if (!b || __atomic_sub_fetch(&b->refs, 1, __ATOMIC_ACQ_REL))
		return;
	for (int i = 0; i < b->n; i++) {
		if (b->slot[i].map)
			munmap(b->slot[i].map, b->slot[i].len);
		if (b->slot[i].dmabuf.drm.objects[0].fd >= 0)
			close(b->slot[i].dmabuf.drm.objects[0].fd);
	}
	if (b->fd >= 0)
		close(b->fd);
	pthread_mutex_destroy(&b->lock);
	free(b);
}

static int queue(struct buffers *b, int index)
{
	struct v4l2_buffer vb = { .type = V4L2_BUF_TYPE_VIDEO_CAPTURE, .memory = V4L2_MEMORY_MMAP, .index = (uint32_t)index };
	return xioctl(b->fd, VIDIOC_QBUF, &vb);
}

/* The last reference to a frame went: its buffer goes back to the driver. This runs on whichever thread
 * drops that reference, also inside a mailbox's lock (a newer frame replacing an untaken one). That is
 * fine because VIDIOC_QBUF does not block: videobuf2 only takes the queue's lock and hands the buffer to
 * the driver (no wait for the hardware), and nobody holds that lock for long, since our DQBUF never waits
 * inside the kernel (the fd is O_NONBLOCK and the capture thread waits in poll(), outside the lock). */
static void release_buffer(void *opaque, uint8_t *data)
{
	struct slot *sl = opaque;
	struct buffers *b = sl->set;
	pthread_mutex_lock(&b->lock);
	if (b->streaming)
		queue(b, sl->index); /* an error (device gone) shows up at the next DQBUF */
	pthread_mutex_unlock(&b->lock);
	buffers_unref(b);
}

static void release_descriptor(void *opaque, uint8_t *data) { buffers_unref(opaque); }

/* a bare name is one of /dev/v4l/by-id (stable across replugs and boots, unlike /dev/videoN) */
static int device_path(const struct mc_source_config *cfg, char *buf, size_t len)
{
	const char *dev = ((const struct v4l2_opts *)cfg->opts)->device;
	int n = snprintf(buf, len, "%s%s", strchr(dev, '/') ? "" : "/dev/v4l/by-id/", dev);
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

static int open_device(struct v4l2src *s)
{
	device_path(s->cfg, s->path, sizeof(s->path));
	s->fd = open(s->path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (s->fd < 0) {
		int e = errno;
		why(s, "device", "cannot open '%s': %s", s->path, strerror(e));
		return e == ENOENT || e == ENXIO || e == ENODEV ? -ENODEV : -e;
	}
	struct v4l2_capability cap = { 0 };
	int rc = xioctl(s->fd, VIDIOC_QUERYCAP, &cap);
	if (rc) {
		why(s, "device", "'%s' is not a V4L2 device (VIDIOC_QUERYCAP: %s)", s->path, strerror(-rc));
		return rc == -ENODEV ? rc : -ENOTTY;
	}
	uint32_t caps = cap.capabilities & V4L2_CAP_DEVICE_CAPS ? cap.device_caps : cap.capabilities;
	if (!(caps & V4L2_CAP_VIDEO_CAPTURE)) {
		why(s, "device", "'%s' (%s, driver %s) is not a video capture device%s (capabilities 0x%08x)", s->path,
		    (const char *)cap.card, (const char *)cap.driver,
		    caps & (V4L2_CAP_VIDEO_M2M | V4L2_CAP_VIDEO_M2M_MPLANE) ? ": it is a memory-to-memory device (a codec)"
		    : caps & V4L2_CAP_VIDEO_CAPTURE_MPLANE ? ": it has only the multi-planar API, which mixcast does not use"
											 : "",
		    caps);
		return -ENOTTY;
	}
	if (!(caps & V4L2_CAP_STREAMING)) {
		why(s, "device", "'%s' (%s) cannot stream (no V4L2_CAP_STREAMING): read() devices are not supported", s->path,
		    (const char *)cap.card);
		return -ENOTTY;
	}
	mc_debug(MOD, "%s: %s is '%s' (driver %s, bus %s)", s->cfg->name, s->path, (const char *)cap.card,
		 (const char *)cap.driver, (const char *)cap.bus_info);
	return 0;
}

static void enum_intervals(int fd, struct mc_v4l2_mode *m)
{
	for (uint32_t k = 0; k < MC_V4L2_MAX_RATES; k++) {
		struct v4l2_frmivalenum iv = { .index = k, .pixel_format = m->fourcc, .width = (uint32_t)m->width,
					       .height = (uint32_t)m->height };
		if (xioctl(fd, VIDIOC_ENUM_FRAMEINTERVALS, &iv))
			return;
		if (iv.type == V4L2_FRMIVAL_TYPE_DISCRETE) {
			m->intervals[m->n_intervals++] = (struct mc_v4l2_fract){ iv.discrete.numerator, iv.discrete.denominator };
		} else {
			m->interval_range = true;
			m->min_iv = (struct mc_v4l2_fract){ iv.stepwise.min.numerator, iv.stepwise.min.denominator };
			m->max_iv = (struct mc_v4l2_fract){ iv.stepwise.max.numerator, iv.stepwise.max.denominator };
			return;
		}
	}
}

/* What the device offers, as the negotiation takes it. */
static int enum_offer(int fd, struct mc_v4l2_offer *o)
{
	memset(o, 0, sizeof(*o));
	for (uint32_t i = 0;; i++) {
		struct v4l2_fmtdesc fd_ = { .index = i, .type = V4L2_BUF_TYPE_VIDEO_CAPTURE };
		int rc = xioctl(fd, VIDIOC_ENUM_FMT, &fd_);
		if (rc == -EINVAL)
			break;
		if (rc)
			return rc;
		if (mc_v4l2_format_of(fd_.pixelformat) == MC_V4L2_AUTO) {
			if (o->n_other < (int)(sizeof(o->other) / sizeof(o->other[0])))
				o->other[o->n_other++] = fd_.pixelformat;
			continue;
		}
		for (uint32_t j = 0; o->n_modes < MC_V4L2_MAX_MODES; j++) {
			struct v4l2_frmsizeenum fs = { .index = j, .pixel_format = fd_.pixelformat };
			struct mc_v4l2_mode *m = &o->modes[o->n_modes];
			memset(m, 0, sizeof(*m));
			m->fourcc = fd_.pixelformat;
			if (xioctl(fd, VIDIOC_ENUM_FRAMESIZES, &fs)) {
				if (j == 0) { /* no list: any size, and S_FMT will tell */
					*m = (struct mc_v4l2_mode){ .fourcc = fd_.pixelformat, .stepwise = true, .min_w = 16,
								    .max_w = 4096, .step_w = 1, .min_h = 16, .max_h = 4096,
								    .step_h = 1 };
					o->n_modes++;
				}
				break;
			}
			if (fs.type == V4L2_FRMSIZE_TYPE_DISCRETE) {
				m->width = (int)fs.discrete.width;
				m->height = (int)fs.discrete.height;
				enum_intervals(fd, m);
				o->n_modes++;
				continue;
			}
			m->stepwise = true;
			m->min_w = (int)fs.stepwise.min_width, m->max_w = (int)fs.stepwise.max_width;
			m->step_w = (int)fs.stepwise.step_width, m->min_h = (int)fs.stepwise.min_height;
			m->max_h = (int)fs.stepwise.max_height, m->step_h = (int)fs.stepwise.step_height;
			o->n_modes++;
			break;
		}
	}
	return 0;
}

static int set_format(struct v4l2src *s, struct mc_source_info *info)
{
	struct mc_v4l2_offer *offer = calloc(1, sizeof(*offer));
	if (!offer)
		return -ENOMEM;
	int rc = enum_offer(s->fd, offer);
	if (rc) {
		why(s, "device", "'%s': VIDIOC_ENUM_FMT: %s", s->path, strerror(-rc));
		free(offer);
		return rc;
	}
	struct mc_v4l2_request req = { s->opts->format, s->cfg->width, s->cfg->height, s->cfg->fps };
	char err[700];
	rc = mc_v4l2_negotiate(offer, &req, &s->mode, err, sizeof(err));
	free(offer);
	if (rc) {
		/* the format was asked for explicitly and is missing: that key; else the size */
		bool fmt = req.format != MC_V4L2_AUTO && strstr(err, "does not offer");
		why(s, fmt ? "format" : "size", "'%s': %s", s->path, err);
		return rc;
	}
	struct v4l2_format f = { .type = V4L2_BUF_TYPE_VIDEO_CAPTURE };
	f.fmt.pix.width = (uint32_t)s->mode.width;
	f.fmt.pix.height = (uint32_t)s->mode.height;
	f.fmt.pix.pixelformat = s->mode.fourcc;
	f.fmt.pix.field = V4L2_FIELD_NONE;
	char fc[5];
	mc_v4l2_fourcc_str(s->mode.fourcc, fc);
	if ((rc = xioctl(s->fd, VIDIOC_S_FMT, &f))) {
		why(s, "device", "'%s': VIDIOC_S_FMT %s %dx%d: %s", s->path, mc_v4l2_fourcc_str(s->mode.fourcc, fc),
		    s->mode.width, s->mode.height, strerror(-rc));
		return rc;
	}
	if ((int)f.fmt.pix.width != s->mode.width || (int)f.fmt.pix.height != s->mode.height ||
	    f.fmt.pix.pixelformat != s->mode.fourcc) {
		char got[5];
		why(s, "size", "'%s': asked for %s %dx%d, the driver set %s %ux%u", s->path,
		    mc_v4l2_fourcc_str(s->mode.fourcc, fc), s->mode.width, s->mode.height,
		    mc_v4l2_fourcc_str(f.fmt.pix.pixelformat, got), f.fmt.pix.width, f.fmt.pix.height);
		return -EINVAL;
	}
	s->format = mc_v4l2_format_of(s->mode.fourcc);
	s->bytesperline = (int)f.fmt.pix.bytesperline;
	if (s->format == MC_V4L2_NV12 && s->bytesperline < s->mode.width)
		s->bytesperline = s->mode.width;
	if (s->format == MC_V4L2_YUYV && s->bytesperline < 2 * s->mode.width)
		s->bytesperline = 2 * s->mode.width;
	if (s->format == MC_V4L2_RGB24 && s->bytesperline < 3 * s->mode.width)
		s->bytesperline = 3 * s->mode.width;

	/* the rate: what the driver took (S_PARM writes it back) */
	struct v4l2_streamparm parm = { .type = V4L2_BUF_TYPE_VIDEO_CAPTURE };
	parm.parm.capture.timeperframe.numerator = s->mode.interval.num;
	parm.parm.capture.timeperframe.denominator = s->mode.interval.den;
	info->fps_num = s->cfg->fps, info->fps_den = 1;
	if (xioctl(s->fd, VIDIOC_S_PARM, &parm) == 0 && parm.parm.capture.timeperframe.numerator &&
	    parm.parm.capture.timeperframe.denominator) {
		info->fps_num = (int)parm.parm.capture.timeperframe.denominator;
		info->fps_den = (int)parm.parm.capture.timeperframe.numerator;
	}
	if (!s->mode.rate_offered || info->fps_num != s->cfg->fps * info->fps_den)
		mc_warn(MOD, "%s: %d fps asked, the camera gives %.2f at %dx%d %s", s->cfg->name, s->cfg->fps,
			(double)info->fps_num / info->fps_den, s->mode.width, s->mode.height, fc);
	info->width = s->mode.width;
	info->height = s->mode.height;
	return 0;
}

/* NV12 frames are the buffers: the pool must cover what the consumers pin (source.h), plus what the
 * driver needs queued to keep capturing (2) and the one being dequeued. YUYV and MJPEG buffers go back
 * as soon as they are converted, so a few are enough. */
static int buffer_count(const struct v4l2src *s)
{
	int consumers = s->cfg->consumers > 0 ? s->cfg->consumers : 1;
	int n = direct(s) ? 3 + MC_SOURCE_PINNED_PER_CONSUMER * consumers : 4;
	return n > MAX_BUFFERS ? MAX_BUFFERS : n;
}

static int start_streaming(struct v4l2src *s)
{
	struct buffers *b = calloc(1, sizeof(*b));
	if (!b)
		return -ENOMEM;
	pthread_mutex_init(&b->lock, NULL);
	b->refs = 1;
	b->fd = s->fd; /* the set owns the fd from here on */
	s->fd = -1;
	s->bufs = b;
	for (int i = 0; i < MAX_BUFFERS; i++)
		b->slot[i].dmabuf.drm.objects[0].fd = -1;
	int want = buffer_count(s);
	struct v4l2_requestbuffers rb = { .count = (uint32_t)want, .type = V4L2_BUF_TYPE_VIDEO_CAPTURE,
					  .memory = V4L2_MEMORY_MMAP };
	int rc = xioctl(b->fd, VIDIOC_REQBUFS, &rb);
	if (rc || rb.count < 2) {
		why(s, "device", "'%s': VIDIOC_REQBUFS (%d MMAP buffers): %s", s->path, want,
		    rc ? strerror(-rc) : "fewer than 2 buffers");
		return rc ? rc : -ENOMEM;
	}
	if ((int)rb.count < want)
		mc_warn(MOD, "%s: %d buffers asked, the driver gives %u: frames held downstream may stall the camera",
			s->cfg->name, want, rb.count);
	b->n = rb.count > MAX_BUFFERS ? MAX_BUFFERS : (int)rb.count;
	int exported = 0;
	for (int i = 0; i < b->n; i++) {
		struct slot *sl = &b->slot[i];
		struct v4l2_buffer vb = { .index = (uint32_t)i, .type = V4L2_BUF_TYPE_VIDEO_CAPTURE, .memory = V4L2_MEMORY_MMAP };
		if ((rc = xioctl(b->fd, VIDIOC_QUERYBUF, &vb))) {
			why(s, "device", "'%s': VIDIOC_QUERYBUF: %s", s->path, strerror(-rc));
			return rc;
		}
		sl->set = b;
		sl->index = i;
		sl->len = vb.length;
		void *map = mmap(NULL, vb.length, PROT_READ, MAP_SHARED, b->fd, vb.m.offset);
		if (map == MAP_FAILED) {
			rc = -errno;
			why(s, "device", "'%s': mmap of buffer %d: %s", s->path, i, strerror(-rc));
			return rc;
		}
		sl->map = map;
		struct v4l2_exportbuffer eb = { .type = V4L2_BUF_TYPE_VIDEO_CAPTURE, .index = (uint32_t)i,
						.flags = O_RDONLY | O_CLOEXEC };
		if (direct(s) && xioctl(b->fd, VIDIOC_EXPBUF, &eb) == 0) {
			AVDRMFrameDescriptor *d = &sl->dmabuf.drm;
			d->nb_objects = 1;
			d->objects[0] = (AVDRMObjectDescriptor){ .fd = eb.fd, .size = vb.length, .format_modifier = 0 /* LINEAR */ };
			d->nb_layers = 1;
			d->layers[0].planes[0] = (AVDRMPlaneDescriptor){ 0, 0, s->bytesperline };
			if (s->format == MC_V4L2_NV12) {
				/* one layer of two planes: Y, then UV right after it (single-planar NV12) */
				d->layers[0].format = DRM_FOURCC('N', 'V', '1', '2'); /* V4L2's NV12 has the same fourcc */
				d->layers[0].nb_planes = 2;
				d->layers[0].planes[1] =
					(AVDRMPlaneDescriptor){ 0, (ptrdiff_t)s->bytesperline * s->mode.height, s->bytesperline };
			} else {
				d->layers[0].format = DRM_FOURCC('B', 'G', '2', '4'); /* V4L2's RGB3: bytes R, G, B */
				d->layers[0].nb_planes = 1;
			}
			sl->dmabuf.map = map;
			exported++;
		}
		if ((rc = queue(b, i))) {
			why(s, "device", "'%s': VIDIOC_QBUF: %s", s->path, strerror(-rc));
			return rc;
		}
	}
	if (direct(s) && exported < b->n)
		mc_warn(MOD, "%s: VIDIOC_EXPBUF failed for %d of %d buffers: those frames carry no DMABUF", s->cfg->name,
			b->n - exported, b->n);
	int type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
	if ((rc = xioctl(b->fd, VIDIOC_STREAMON, &type))) {
		why(s, "device", "'%s': VIDIOC_STREAMON: %s", s->path, strerror(-rc));
		return rc;
	}
	b->streaming = true;
	return 0;
}

static int setup_conversion(struct v4l2src *s)
{
	int w = s->mode.width, h = s->mode.height;
	if (s->format == MC_V4L2_YUYV) {
		/* I420: what the software encoders take, so this is the only conversion on the path */
		s->sws = sws_getContext(w, h, AV_PIX_FMT_YUYV422, w, h, AV_PIX_FMT_YUV420P, SWS_BILINEAR, NULL, NULL, NULL);
		s->pool = mc_frame_pool_create(w, h, AV_PIX_FMT_YUV420P);
		return s->sws && s->pool ? 0 : -ENOMEM;
	}
	if (s->format == MC_V4L2_MJPEG) {
		if (!(s->jpeg = mc_mjpeg_create())) {
			why(s, "format", "cannot open FFmpeg's MJPEG decoder");
			return -ENOTSUP;
		}
	}
	return 0;
}

static const char *path_name(enum mc_v4l2_format f)
{
	switch (f) {
	case MC_V4L2_NV12: return "nv12 mmap (zero copy, dmabuf)";
	case MC_V4L2_RGB24: return "rgb24 mmap (zero copy, dmabuf)";
	case MC_V4L2_YUYV: return "yuyv mmap, swscale to yuv420p";
	default: return "mjpeg mmap, libavcodec decode";
	}
}

static int v4l2_open(void *priv, const struct mc_source_config *cfg, struct mc_source_info *info,
		     struct mc_source_report *report)
{
	struct v4l2src *s = priv;
	s->cfg = cfg;
	s->opts = cfg->opts;
	s->report = report;
	s->fd = -1;
	int rc;
	if ((rc = open_device(s)) || (rc = set_format(s, info)) || (rc = setup_conversion(s)) ||
	    (rc = start_streaming(s)))
		return rc;
	info->path = path_name(s->format);
	info->format = s->format == MC_V4L2_NV12    ? AV_PIX_FMT_NV12
		       : s->format == MC_V4L2_RGB24 ? AV_PIX_FMT_RGB24
		       : s->format == MC_V4L2_YUYV  ? AV_PIX_FMT_YUV420P
						    : AV_PIX_FMT_NONE;
	char fc[5];
	mc_info(MOD, "%s: %s: %s %dx%d at %.2f fps, %d buffers, %s", cfg->name, s->path,
		mc_v4l2_fourcc_str(s->mode.fourcc, fc), info->width, info->height, (double)info->fps_num / info->fps_den,
		s->bufs->n, info->path);
	return 0;
}

/* The capture time: the driver's timestamp when it is CLOCK_MONOTONIC (the end of exposure or of the
 * frame's reception, so latency figures start at the sensor), else now. */
static int64_t capture_time(const struct v4l2_buffer *vb)
{
	if ((vb->flags & V4L2_BUF_FLAG_TIMESTAMP_MASK) == V4L2_BUF_FLAG_TIMESTAMP_MONOTONIC &&
	    (vb->timestamp.tv_sec || vb->timestamp.tv_usec))
		return (int64_t)vb->timestamp.tv_sec * 1000000 + vb->timestamp.tv_usec;
	return mc_now_us();
}

/* NV12 and RGB24: the frame is the driver's buffer itself */
static int wrap_buffer(struct v4l2src *s, const struct v4l2_buffer *vb, AVFrame **out)
{
	struct buffers *b = s->bufs;
	struct slot *sl = &b->slot[vb->index];
	AVFrame *f = av_frame_alloc();
	if (!f)
		return -ENOMEM;
	/* read-only: the driver writes this memory again once the buffer is queued back */
	f->buf[0] = av_buffer_create(sl->map, sl->len, release_buffer, sl, AV_BUFFER_FLAG_READONLY);
	if (!f->buf[0]) {
		av_frame_free(&f);
		return -ENOMEM;
	}
	__atomic_add_fetch(&b->refs, 1, __ATOMIC_ACQ_REL);
	if (sl->dmabuf.drm.objects[0].fd >= 0) {
		f->opaque_ref = av_buffer_create((uint8_t *)&sl->dmabuf, sizeof(sl->dmabuf), release_descriptor, b,
						 AV_BUFFER_FLAG_READONLY);
		if (f->opaque_ref)
			__atomic_add_fetch(&b->refs, 1, __ATOMIC_ACQ_REL);
	}
	f->width = s->mode.width;
	f->height = s->mode.height;
	f->data[0] = sl->map;
	f->linesize[0] = s->bytesperline;
	if (s->format == MC_V4L2_RGB24) {
		f->format = AV_PIX_FMT_RGB24;
	} else {
		f->format = AV_PIX_FMT_NV12;
		f->data[1] = sl->map + (size_t)s->bytesperline * s->mode.height;
		f->linesize[1] = s->bytesperline;
	}
	f->pts = capture_time(vb);
	*out = f;
	return 0;
}

static int convert_yuyv(struct v4l2src *s, const struct v4l2_buffer *vb, AVFrame **out)
{
	AVFrame *f = mc_frame_pool_get(s->pool);
	if (!f)
		return -ENOMEM;
	const uint8_t *src[4] = { s->bufs->slot[vb->index].map };
	int stride[4] = { s->bytesperline };
	sws_scale(s->sws, src, stride, 0, s->mode.height, f->data, f->linesize);
	mc_count_inc(&s->report->copies);
	f->pts = capture_time(vb);
	*out = f;
	return 0;
}

/* MC_MJPEG_CORRUPT: skip it */
static int decode_mjpeg(struct v4l2src *s, const struct v4l2_buffer *vb, AVFrame **out)
{
	int rc = mc_mjpeg_decode(s->jpeg, s->bufs->slot[vb->index].map, vb->bytesused, s->mode.width, s->mode.height, out);
	queue(s->bufs, (int)vb->index); /* the decoder copied the compressed bytes */
	if (rc)
		return rc;
	mc_count_inc(&s->report->copies); /* the decode writes the picture */
	(*out)->pts = capture_time(vb);
	return 0;
}

static int v4l2_read(void *priv, AVFrame **out, const bool *stop)
{
	struct v4l2src *s = priv;
	struct buffers *b = s->bufs;
	int64_t waited_since = mc_now_us();
	while (!__atomic_load_n(stop, __ATOMIC_ACQUIRE)) {
		struct pollfd p = { .fd = b->fd, .events = POLLIN };
		int r = poll(&p, 1, 100);
		if (r < 0 && errno != EINTR)
			return -errno;
		if (r <= 0) {
			if (mc_now_us() - waited_since > STALL_US) {
				why(s, "device", "'%s': no frame for %d s", s->path, STALL_US / 1000000);
				return -ETIMEDOUT;
			}
			continue;
		}
		struct v4l2_buffer vb = { .type = V4L2_BUF_TYPE_VIDEO_CAPTURE, .memory = V4L2_MEMORY_MMAP };
		int rc = xioctl(b->fd, VIDIOC_DQBUF, &vb);
		if (rc == -EAGAIN)
			continue;
		if (rc) { /* ENODEV: unplugged; EIO: a driver or USB error; either way the core reopens */
			why(s, "device", "'%s': VIDIOC_DQBUF: %s", s->path, strerror(-rc));
			return rc;
		}
		if (vb.index >= (uint32_t)b->n || (vb.flags & V4L2_BUF_FLAG_ERROR) || vb.bytesused == 0) {
			mc_count_inc(&s->report->corrupt);
			if (vb.index < (uint32_t)b->n)
				queue(b, (int)vb.index);
			continue;
		}
		switch (s->format) {
		case MC_V4L2_NV12:
		case MC_V4L2_RGB24:
			if ((rc = wrap_buffer(s, &vb, out)))
				queue(b, (int)vb.index);
			return rc;
		case MC_V4L2_YUYV:
			rc = convert_yuyv(s, &vb, out);
			queue(b, (int)vb.index);
			return rc;
		default:
			rc = decode_mjpeg(s, &vb, out);
			if (rc != MC_MJPEG_CORRUPT)
				return rc;
			mc_count_inc(&s->report->corrupt); /* a corrupt JPEG: counted and skipped */
			continue;
		}
	}
	return -EINTR;
}

static void v4l2_close(void *priv)
{
	struct v4l2src *s = priv;
	if (s->bufs) {
		pthread_mutex_lock(&s->bufs->lock);
		if (s->bufs->streaming) {
			int type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
			xioctl(s->bufs->fd, VIDIOC_STREAMOFF, &type); /* fails with ENODEV when unplugged: nothing to do */
		}
		s->bufs->streaming = false;
		pthread_mutex_unlock(&s->bufs->lock);
		buffers_unref(s->bufs); /* frames still out keep the buffers, and the fd, until they go */
		s->bufs = NULL;
	}
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
	sws_freeContext(s->sws);
	mc_frame_pool_destroy(s->pool);
	mc_mjpeg_destroy(s->jpeg);
}

static const struct v4l2_opts v4l2_defaults = { .format = MC_V4L2_AUTO };

const struct mc_source_ops mc_source_v4l2 = {
	.name = "v4l2",
	.priv_size = sizeof(struct v4l2src),
	.options = v4l2_options,
	.options_size = sizeof(struct v4l2_opts),
	.options_defaults = &v4l2_defaults,
	.generic_keys = MC_SOURCE_TAKES_SIZE | MC_SOURCE_TAKES_FPS,
	.reconnects = true,
	.watch_path = device_path, /* a camera plugged in again: reopened when its node or link appears */
	.open = v4l2_open,
	.read_frame = v4l2_read,
	.close = v4l2_close,
};
