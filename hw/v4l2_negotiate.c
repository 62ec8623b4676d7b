#include "v4l2_negotiate.h"

#include <errno.h>
#include <linux/videodev2.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

const char *mc_v4l2_fourcc_str(uint32_t f, char buf[5])
{
	for (int i = 0; i < 4; i++) {
		char c = (char)((f >> (8 * i)) & 0xff);
		buf[i] = c >= ' ' && c <= '~' ? c : '?';
	}
	buf[4] = '\0';
	for (int i = 3; i > 0 && buf[i] == ' '; i--) /* "RGB3", "Y8  " -> "Y8" */
		buf[i] = '\0';
	return buf;
}

enum mc_v4l2_format mc_v4l2_format_of(uint32_t fourcc)
{
	switch (fourcc) {
	case V4L2_PIX_FMT_NV12: return MC_V4L2_NV12;
	case V4L2_PIX_FMT_YUYV: return MC_V4L2_YUYV;
	case V4L2_PIX_FMT_MJPEG:
	case V4L2_PIX_FMT_JPEG: return MC_V4L2_MJPEG;
	case V4L2_PIX_FMT_RGB24: return MC_V4L2_RGB24;
	default: return MC_V4L2_AUTO;
	}
}

static const char *format_name(enum mc_v4l2_format f)
{
	switch (f) {
	case MC_V4L2_NV12: return "NV12";
	case MC_V4L2_YUYV: return "YUYV";
	case MC_V4L2_MJPEG: return "MJPEG";
	case MC_V4L2_RGB24: return "RGB24";
	default: return "auto";
	}
}

static bool mode_has_size(const struct mc_v4l2_mode *m, int w, int h)
{
	if (!m->stepwise)
		return m->width == w && m->height == h;
	return w >= m->min_w && w <= m->max_w && h >= m->min_h && h <= m->max_h &&
	       (m->step_w <= 1 || (w - m->min_w) % m->step_w == 0) && (m->step_h <= 1 || (h - m->min_h) % m->step_h == 0);
}

static double fps_of(struct mc_v4l2_fract iv) { return iv.num ? (double)iv.den / iv.num : 0; }

/* The offered interval nearest the requested rate: the exact one, else the lowest rate above it (layers
 * are decimated from the source's rate), else the highest below it. */
static void pick_rate(const struct mc_v4l2_mode *m, int fps, struct mc_v4l2_choice *out)
{
	out->interval = (struct mc_v4l2_fract){ 1, (uint32_t)fps };
	out->rate_offered = true;
	if (m->interval_range) {
		double lo = fps_of(m->max_iv), hi = fps_of(m->min_iv); /* the longest interval is the lowest rate */
		if (fps < lo - 1e-6)
			out->interval = m->max_iv, out->rate_offered = false;
		else if (fps > hi + 1e-6)
			out->interval = m->min_iv, out->rate_offered = false;
		return;
	}
	if (m->n_intervals == 0)
		return; /* the driver did not enumerate rates: ask, and S_PARM tells what it took */
	int best = -1;
	double best_cost = 0;
	for (int i = 0; i < m->n_intervals; i++) {
		double f = fps_of(m->intervals[i]);
		double cost = f >= fps - 1e-6 ? f - fps : 1000 + (fps - f);
		if (best < 0 || cost < best_cost)
			best = i, best_cost = cost;
	}
	out->interval = m->intervals[best];
	out->rate_offered = best_cost < 1e-3;
}

__attribute__((format(printf, 4, 5)))
static size_t append(char *buf, size_t len, size_t at, const char *fmt, ...)
{
	if (at >= len)
		return at;
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf + at, len - at, fmt, ap);
	va_end(ap);
	return n < 0 ? at : at + (size_t)n;
}

void mc_v4l2_describe_offer(const struct mc_v4l2_offer *o, char *buf, size_t len)
{
	size_t at = 0;
	char fc[5];
	buf[0] = '\0';
	for (int i = 0; i < o->n_modes; i++) {
		const struct mc_v4l2_mode *m = &o->modes[i];
		bool first = i == 0 || o->modes[i - 1].fourcc != m->fourcc;
		if (first)
			at = append(buf, len, at, "%s%s", i ? "; " : "", mc_v4l2_fourcc_str(m->fourcc, fc));
		if (m->stepwise)
			at = append(buf, len, at, " %dx%d to %dx%d (steps %dx%d)", m->min_w, m->min_h, m->max_w, m->max_h,
				    m->step_w, m->step_h);
		else
			at = append(buf, len, at, " %dx%d", m->width, m->height);
	}
	for (int i = 0; i < o->n_other; i++)
		at = append(buf, len, at, "%s%s%s", i == 0 ? (o->n_modes ? "; also " : "") : ", ",
			    mc_v4l2_fourcc_str(o->other[i], fc), i + 1 == o->n_other ? " (not supported)" : "");
	if (o->n_modes == 0 && o->n_other == 0)
		append(buf, len, at, "no pixel format at all");
	if (len > 4 && at >= len) /* cut: say so */
		memcpy(buf + len - 4, "...", 4);
}

int mc_v4l2_negotiate(const struct mc_v4l2_offer *o, const struct mc_v4l2_request *req,
		      struct mc_v4l2_choice *out, char *err, size_t errlen)
{
	/* RGB24 last: three bytes a pixel, and every software encoder wants it converted */
	static const enum mc_v4l2_format order[] = { MC_V4L2_NV12, MC_V4L2_YUYV, MC_V4L2_MJPEG, MC_V4L2_RGB24 };
	char offer[600];
	bool format_offered = false;
	for (size_t k = 0; k < sizeof(order) / sizeof(order[0]); k++) {
		if (req->format != MC_V4L2_AUTO && req->format != order[k])
			continue;
		for (int i = 0; i < o->n_modes; i++) {
			const struct mc_v4l2_mode *m = &o->modes[i];
			if (mc_v4l2_format_of(m->fourcc) != order[k])
				continue;
			format_offered = true;
			if (!mode_has_size(m, req->width, req->height))
				continue;
			*out = (struct mc_v4l2_choice){ .fourcc = m->fourcc, .width = req->width, .height = req->height };
			pick_rate(m, req->fps, out);
			return 0;
		}
	}
	mc_v4l2_describe_offer(o, offer, sizeof(offer));
	if (req->format != MC_V4L2_AUTO && !format_offered)
		snprintf(err, errlen, "the device does not offer %s; it offers: %s", format_name(req->format), offer);
	else if (!format_offered)
		snprintf(err, errlen, "the device offers none of NV12, YUYV, MJPEG, RGB24; it offers: %s", offer);
	else
		snprintf(err, errlen, "%dx%d is not offered%s%s; the device offers: %s", req->width, req->height,
			 req->format != MC_V4L2_AUTO ? " in " : "", req->format != MC_V4L2_AUTO ? format_name(req->format) : "",
			 offer);
	return -EINVAL;
}
