/* V4L2 discovery: capture devices and mem2mem nodes, their formats (per queue), sizes, rates and controls. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/videodev2.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "probe.h"

static int xioctl(int fd, unsigned long req, void *arg)
{
	int rc;
	do
		rc = ioctl(fd, req, arg);
	while (rc < 0 && errno == EINTR);
	return rc;
}

static void fourcc(unsigned f, char out[5])
{
	for (int i = 0; i < 4; i++)
		out[i] = (char)((f >> (8 * i)) & 0xff);
	out[4] = 0;
}

static void add_sizes(int fd, unsigned pixfmt, char *s, size_t n)
{
	struct v4l2_frmsizeenum fs = { .pixel_format = pixfmt };
	for (fs.index = 0; fs.index < 8 && xioctl(fd, VIDIOC_ENUM_FRAMESIZES, &fs) == 0; fs.index++) {
		size_t l = strlen(s);
		if (fs.type != V4L2_FRMSIZE_TYPE_DISCRETE) {
			snprintf(s + l, n - l, " %ux%u..%ux%u", fs.stepwise.min_width, fs.stepwise.min_height,
				 fs.stepwise.max_width, fs.stepwise.max_height);
			return;
		}
		struct v4l2_frmivalenum fi = { .pixel_format = pixfmt, .width = fs.discrete.width,
					       .height = fs.discrete.height };
		int fps = 0;
		if (xioctl(fd, VIDIOC_ENUM_FRAMEINTERVALS, &fi) == 0 && fi.type == V4L2_FRMIVAL_TYPE_DISCRETE &&
		    fi.discrete.numerator)
			fps = (int)(fi.discrete.denominator / fi.discrete.numerator);
		snprintf(s + l, n - l, " %ux%u@%d", fs.discrete.width, fs.discrete.height, fps);
	}
}

static void enum_formats(int fd, struct mc_probe_v4l2 *d, enum v4l2_buf_type type, const char *queue)
{
	struct v4l2_fmtdesc f = { .type = type };
	for (f.index = 0; d->n_formats < MC_PROBE_MAX_ITEMS && xioctl(fd, VIDIOC_ENUM_FMT, &f) == 0; f.index++) {
		char cc[5];
		fourcc(f.pixelformat, cc);
		char *s = d->formats[d->n_formats++];
		snprintf(s, sizeof(d->formats[0]), "%s %s (%s)%s:", queue, cc, (const char *)f.description,
			 f.flags & V4L2_FMT_FLAG_COMPRESSED ? " compressed" : "");
		add_sizes(fd, f.pixelformat, s, sizeof(d->formats[0]));
		bool out = type == V4L2_BUF_TYPE_VIDEO_OUTPUT || type == V4L2_BUF_TYPE_VIDEO_OUTPUT_MPLANE;
		if (d->m2m && (f.flags & V4L2_FMT_FLAG_COMPRESSED))
			*(out ? &d->decoder : &d->encoder) = true;
	}
}

static void enum_controls(int fd, struct mc_probe_v4l2 *d)
{
	struct v4l2_queryctrl q = { .id = V4L2_CTRL_FLAG_NEXT_CTRL };
	while (d->n_controls < MC_PROBE_MAX_ITEMS && xioctl(fd, VIDIOC_QUERYCTRL, &q) == 0) {
		if (!(q.flags & V4L2_CTRL_FLAG_DISABLED) && q.type != V4L2_CTRL_TYPE_CTRL_CLASS) {
			struct v4l2_control c = { .id = q.id };
			char val[24] = "";
			if (xioctl(fd, VIDIOC_G_CTRL, &c) == 0)
				snprintf(val, sizeof(val), " = %d", c.value);
			snprintf(d->controls[d->n_controls++], sizeof(d->controls[0]), "%s [%d..%d]%s",
				 (const char *)q.name, q.minimum, q.maximum, val);
		}
		q.id |= V4L2_CTRL_FLAG_NEXT_CTRL;
	}
}

int mc_probe_v4l2(struct mc_probe_v4l2 *out, int max)
{
	int n = 0;
	for (int i = 0; i < 64 && n < max; i++) {
		char path[32];
		snprintf(path, sizeof(path), "/dev/video%d", i);
		int fd = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
		if (fd < 0)
			continue;
		struct v4l2_capability cap;
		if (xioctl(fd, VIDIOC_QUERYCAP, &cap) < 0) {
			close(fd);
			continue;
		}
		struct mc_probe_v4l2 *d = &out[n++];
		memset(d, 0, sizeof(*d));
		unsigned caps = cap.capabilities & V4L2_CAP_DEVICE_CAPS ? cap.device_caps : cap.capabilities;
		snprintf(d->path, sizeof(d->path), "%s", path);
		snprintf(d->driver, sizeof(d->driver), "%s", (const char *)cap.driver);
		snprintf(d->card, sizeof(d->card), "%s", (const char *)cap.card);
		snprintf(d->bus, sizeof(d->bus), "%s", (const char *)cap.bus_info);
		d->m2m = caps & (V4L2_CAP_VIDEO_M2M | V4L2_CAP_VIDEO_M2M_MPLANE);
		d->capture = !d->m2m && (caps & (V4L2_CAP_VIDEO_CAPTURE | V4L2_CAP_VIDEO_CAPTURE_MPLANE));
		bool mp = caps & (V4L2_CAP_VIDEO_M2M_MPLANE | V4L2_CAP_VIDEO_CAPTURE_MPLANE);
		if (d->m2m)
			enum_formats(fd, d, mp ? V4L2_BUF_TYPE_VIDEO_OUTPUT_MPLANE : V4L2_BUF_TYPE_VIDEO_OUTPUT, "OUTPUT");
		enum_formats(fd, d, mp ? V4L2_BUF_TYPE_VIDEO_CAPTURE_MPLANE : V4L2_BUF_TYPE_VIDEO_CAPTURE, "CAPTURE");
		d->scaler = d->m2m && !d->encoder && !d->decoder;
		enum_controls(fd, d);
		close(fd);
	}
	return n;
}
