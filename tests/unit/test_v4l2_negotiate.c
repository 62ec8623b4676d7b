/* V4L2 format negotiation (hw/v4l2_negotiate.c): offers shaped like vivid's and like a USB webcam's, the
 * choice of format (auto: NV12 > YUYV > MJPEG at the size), size and rate, and the errors that list the
 * offer. */
#include <errno.h>
#include <linux/videodev2.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "v4l2_negotiate.h"

static void add(struct mc_v4l2_offer *o, uint32_t fourcc, int w, int h, const int *fps, int n_fps)
{
	struct mc_v4l2_mode *m = &o->modes[o->n_modes++];
	memset(m, 0, sizeof(*m));
	m->fourcc = fourcc;
	m->width = w;
	m->height = h;
	for (int i = 0; i < n_fps; i++)
		m->intervals[m->n_intervals++] = (struct mc_v4l2_fract){ 1, (uint32_t)fps[i] };
}

static const int rates[] = { 30, 25, 15 };

/* NV12, YUYV and MJPEG at three sizes each, and an RGB format mixcast does not take */
static void vivid_like(struct mc_v4l2_offer *o)
{
	memset(o, 0, sizeof(*o));
	const uint32_t f[] = { V4L2_PIX_FMT_YUYV, V4L2_PIX_FMT_NV12, V4L2_PIX_FMT_MJPEG };
	for (int i = 0; i < 3; i++) {
		add(o, f[i], 320, 180, rates, 3);
		add(o, f[i], 640, 360, rates, 3);
		add(o, f[i], 1280, 720, rates, 3);
	}
	o->other[o->n_other++] = V4L2_PIX_FMT_BGR32;
}

static int negotiate(const struct mc_v4l2_offer *o, enum mc_v4l2_format f, int w, int h, int fps,
		     struct mc_v4l2_choice *c, char *err)
{
	struct mc_v4l2_request r = { f, w, h, fps };
	err[0] = '\0';
	return mc_v4l2_negotiate(o, &r, c, err, 900);
}

static void test_auto_order(void)
{
	struct mc_v4l2_offer *o = malloc(sizeof(*o));
	struct mc_v4l2_choice c;
	char err[900];
	vivid_like(o);
	/* NV12 first, though YUYV is listed first */
	CHECK_EQ(negotiate(o, MC_V4L2_AUTO, 1280, 720, 30, &c, err), 0);
	CHECK_EQ(c.fourcc, V4L2_PIX_FMT_NV12);
	CHECK_EQ(c.width, 1280);
	CHECK_EQ(c.height, 720);
	CHECK_EQ(c.interval.num, 1);
	CHECK_EQ(c.interval.den, 30);
	CHECK(c.rate_offered);
	/* without NV12 at that size: YUYV; without both: MJPEG */
	memset(o, 0, sizeof(*o));
	add(o, V4L2_PIX_FMT_NV12, 640, 360, rates, 3);
	add(o, V4L2_PIX_FMT_MJPEG, 1280, 720, rates, 3);
	add(o, V4L2_PIX_FMT_YUYV, 1280, 720, rates, 1);
	CHECK_EQ(negotiate(o, MC_V4L2_AUTO, 1280, 720, 30, &c, err), 0);
	CHECK_EQ(c.fourcc, V4L2_PIX_FMT_YUYV);
	o->modes[2].fourcc = V4L2_PIX_FMT_RGB565;
	CHECK_EQ(negotiate(o, MC_V4L2_AUTO, 1280, 720, 30, &c, err), 0);
	CHECK_EQ(c.fourcc, V4L2_PIX_FMT_MJPEG);
	CHECK_EQ(negotiate(o, MC_V4L2_AUTO, 640, 360, 30, &c, err), 0);
	CHECK_EQ(c.fourcc, V4L2_PIX_FMT_NV12);
	/* "JPEG" is what some cameras call their MJPEG */
	memset(o, 0, sizeof(*o));
	add(o, V4L2_PIX_FMT_JPEG, 640, 480, rates, 3);
	CHECK_EQ(negotiate(o, MC_V4L2_AUTO, 640, 480, 15, &c, err), 0);
	CHECK_EQ(c.fourcc, V4L2_PIX_FMT_JPEG);
	CHECK_EQ(mc_v4l2_format_of(V4L2_PIX_FMT_JPEG), MC_V4L2_MJPEG);
	free(o);
}

static void test_explicit_format(void)
{
	struct mc_v4l2_offer *o = malloc(sizeof(*o));
	struct mc_v4l2_choice c;
	char err[900];
	vivid_like(o);
	CHECK_EQ(negotiate(o, MC_V4L2_YUYV, 640, 360, 25, &c, err), 0);
	CHECK_EQ(c.fourcc, V4L2_PIX_FMT_YUYV);
	CHECK_EQ(c.interval.den, 25);
	CHECK_EQ(negotiate(o, MC_V4L2_MJPEG, 320, 180, 15, &c, err), 0);
	CHECK_EQ(c.fourcc, V4L2_PIX_FMT_MJPEG);
	/* a format the device does not have: the error says so and lists the offer */
	memset(o, 0, sizeof(*o));
	add(o, V4L2_PIX_FMT_YUYV, 640, 360, rates, 3);
	add(o, V4L2_PIX_FMT_YUYV, 1280, 720, rates, 3);
	CHECK_EQ(negotiate(o, MC_V4L2_NV12, 640, 360, 30, &c, err), -EINVAL);
	CHECK(strstr(err, "the device does not offer NV12; it offers: YUYV 640x360 1280x720") != NULL);
	/* a format it has, but not at that size */
	CHECK_EQ(negotiate(o, MC_V4L2_YUYV, 320, 240, 30, &c, err), -EINVAL);
	CHECK(strstr(err, "320x240 is not offered in YUYV; the device offers: YUYV 640x360 1280x720") != NULL);
	free(o);
}

static void test_size_errors(void)
{
	struct mc_v4l2_offer *o = malloc(sizeof(*o));
	struct mc_v4l2_choice c;
	char err[900];
	vivid_like(o);
	CHECK_EQ(negotiate(o, MC_V4L2_AUTO, 1000, 500, 30, &c, err), -EINVAL);
	CHECK(strstr(err, "1000x500 is not offered; the device offers: ") != NULL);
	CHECK(strstr(err, "NV12 320x180 640x360 1280x720") != NULL);
	CHECK(strstr(err, "YUYV 320x180 640x360 1280x720") != NULL);
	CHECK(strstr(err, "MJPG 320x180 640x360 1280x720") != NULL);
	CHECK(strstr(err, "also BGR4 (not supported)") != NULL);
	/* nothing mixcast takes */
	memset(o, 0, sizeof(*o));
	o->other[o->n_other++] = V4L2_PIX_FMT_BGR32;
	o->other[o->n_other++] = V4L2_PIX_FMT_GREY;
	CHECK_EQ(negotiate(o, MC_V4L2_AUTO, 640, 360, 30, &c, err), -EINVAL);
	CHECK(strstr(err, "offers none of NV12, YUYV, MJPEG, RGB24; it offers: BGR4, GREY (not supported)") != NULL);
	/* a device with no format at all (a capture node without inputs) */
	memset(o, 0, sizeof(*o));
	CHECK_EQ(negotiate(o, MC_V4L2_AUTO, 640, 360, 30, &c, err), -EINVAL);
	CHECK(strstr(err, "no pixel format at all") != NULL);
	/* a long offer is cut with "..." and stays a string */
	memset(o, 0, sizeof(*o));
	for (int i = 0; i < MC_V4L2_MAX_MODES; i++)
		add(o, V4L2_PIX_FMT_YUYV, 16 + 2 * i, 16 + 2 * i, rates, 1);
	CHECK_EQ(negotiate(o, MC_V4L2_AUTO, 4000, 4000, 30, &c, err), -EINVAL);
	CHECK(strlen(err) < 900);
	char small[64];
	mc_v4l2_describe_offer(o, small, sizeof(small));
	CHECK_EQ(strlen(small), sizeof(small) - 1);
	CHECK(strcmp(small + sizeof(small) - 4, "...") == 0);
	free(o);
}

static void test_stepwise(void)
{
	struct mc_v4l2_offer *o = calloc(1, sizeof(*o));
	struct mc_v4l2_choice c;
	char err[900];
	struct mc_v4l2_mode *m = &o->modes[o->n_modes++];
	*m = (struct mc_v4l2_mode){ .fourcc = V4L2_PIX_FMT_NV12, .stepwise = true, .min_w = 16, .max_w = 1920, .step_w = 4,
				    .min_h = 16, .max_h = 1080, .step_h = 2, .interval_range = true,
				    .min_iv = { 1, 60 }, .max_iv = { 1, 1 } };
	CHECK_EQ(negotiate(o, MC_V4L2_AUTO, 1000, 500, 30, &c, err), 0);
	CHECK_EQ(c.fourcc, V4L2_PIX_FMT_NV12);
	CHECK_EQ(c.interval.den, 30);
	CHECK(c.rate_offered);
	CHECK_EQ(negotiate(o, MC_V4L2_AUTO, 1002, 500, 30, &c, err), -EINVAL); /* off the width step */
	CHECK(strstr(err, "NV12 16x16 to 1920x1080 (steps 4x2)") != NULL);
	CHECK_EQ(negotiate(o, MC_V4L2_AUTO, 2000, 1000, 30, &c, err), -EINVAL);
	/* a rate beyond the range: its end */
	m->min_iv = (struct mc_v4l2_fract){ 1, 20 };
	CHECK_EQ(negotiate(o, MC_V4L2_AUTO, 640, 360, 30, &c, err), 0);
	CHECK_EQ(c.interval.den, 20);
	CHECK(!c.rate_offered);
	free(o);
}

static void test_rates(void)
{
	struct mc_v4l2_offer *o = calloc(1, sizeof(*o));
	struct mc_v4l2_choice c;
	char err[900];
	add(o, V4L2_PIX_FMT_NV12, 640, 360, rates, 3);
	/* not offered: the lowest rate above (layers are decimated), else the highest below */
	CHECK_EQ(negotiate(o, MC_V4L2_AUTO, 640, 360, 20, &c, err), 0);
	CHECK_EQ(c.interval.den, 25);
	CHECK(!c.rate_offered);
	CHECK_EQ(negotiate(o, MC_V4L2_AUTO, 640, 360, 60, &c, err), 0);
	CHECK_EQ(c.interval.den, 30);
	CHECK(!c.rate_offered);
	CHECK_EQ(negotiate(o, MC_V4L2_AUTO, 640, 360, 15, &c, err), 0);
	CHECK_EQ(c.interval.den, 15);
	CHECK(c.rate_offered);
	/* NTSC-style 1001 intervals count as the rate they round to only when exact */
	o->modes[0].intervals[0] = (struct mc_v4l2_fract){ 1001, 30000 };
	CHECK_EQ(negotiate(o, MC_V4L2_AUTO, 640, 360, 30, &c, err), 0);
	CHECK_EQ(c.interval.num, 1001); /* 29.97 is the nearest, below 30; 25 is farther */
	CHECK(!c.rate_offered);
	/* no rates enumerated: ask for the configured one */
	o->modes[0].n_intervals = 0;
	CHECK_EQ(negotiate(o, MC_V4L2_AUTO, 640, 360, 24, &c, err), 0);
	CHECK_EQ(c.interval.num, 1);
	CHECK_EQ(c.interval.den, 24);
	free(o);
}

static void test_fourcc_str(void)
{
	char b[5];
	CHECK_STR_EQ(mc_v4l2_fourcc_str(V4L2_PIX_FMT_NV12, b), "NV12");
	CHECK_STR_EQ(mc_v4l2_fourcc_str(v4l2_fourcc('Y', '8', ' ', ' '), b), "Y8");
	CHECK_STR_EQ(mc_v4l2_fourcc_str(0x01020304, b), "????");
}

int main(void)
{
	RUN(test_auto_order);
	RUN(test_explicit_format);
	RUN(test_size_errors);
	RUN(test_stepwise);
	RUN(test_rates);
	RUN(test_fourcc_str);
	return check_done();
}
