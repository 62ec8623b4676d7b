/* V4L2 format negotiation as a pure function: what a device offers (as VIDIOC_ENUM_FMT,
 * VIDIOC_ENUM_FRAMESIZES and VIDIOC_ENUM_FRAMEINTERVALS list it) and what the configuration asks for in,
 * the mode to set out, or an error that lists what the device offers. No ioctl here: unit-tested on the
 * host. */
#ifndef MC_V4L2_NEGOTIATE_H
#define MC_V4L2_NEGOTIATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MC_V4L2_MAX_MODES 96
#define MC_V4L2_MAX_RATES 16

/* `format =`: auto takes the best the device offers at the size. */
enum mc_v4l2_format { MC_V4L2_AUTO = 0, MC_V4L2_NV12, MC_V4L2_YUYV, MC_V4L2_MJPEG, MC_V4L2_RGB24 };

struct mc_v4l2_fract {
	uint32_t num, den; /* a frame interval: num/den seconds per frame */
};

/* One frame size of one pixel format, with its frame intervals. */
struct mc_v4l2_mode {
	uint32_t fourcc;
	bool stepwise;                 /* STEPWISE or CONTINUOUS: any size in the range below */
	int width, height;             /* DISCRETE */
	int min_w, max_w, step_w, min_h, max_h, step_h;
	int n_intervals;               /* DISCRETE intervals; 0 and !interval_range: the driver did not say */
	struct mc_v4l2_fract intervals[MC_V4L2_MAX_RATES];
	bool interval_range;           /* STEPWISE/CONTINUOUS intervals from min_iv to max_iv */
	struct mc_v4l2_fract min_iv, max_iv;
};

struct mc_v4l2_offer {
	int n_modes;
	struct mc_v4l2_mode modes[MC_V4L2_MAX_MODES];
	int n_other;                   /* pixel formats listed by ENUM_FMT that mixcast does not take */
	uint32_t other[16];
};

struct mc_v4l2_request {
	enum mc_v4l2_format format;
	int width, height, fps;
};

struct mc_v4l2_choice {
	uint32_t fourcc;
	int width, height;
	struct mc_v4l2_fract interval; /* what to ask with VIDIOC_S_PARM */
	bool rate_offered;             /* false: the requested rate is not among the offered ones (the nearest is) */
};

/* 0 with *out, or -EINVAL with `err` naming the problem and listing the offer. */
int mc_v4l2_negotiate(const struct mc_v4l2_offer *offer, const struct mc_v4l2_request *req,
		      struct mc_v4l2_choice *out, char *err, size_t errlen);
/* "NV12 320x180 640x360; YUYV 640x360; also RGB3 (not supported)". */
void mc_v4l2_describe_offer(const struct mc_v4l2_offer *offer, char *buf, size_t len);
/* The fourcc as text ("NV12"); buf has room for 5 bytes. */
const char *mc_v4l2_fourcc_str(uint32_t fourcc, char buf[5]);
/* NV12, YUYV, MJPEG (and JPEG, which some cameras call their MJPEG), RGB24 map to a format; others to AUTO. */
enum mc_v4l2_format mc_v4l2_format_of(uint32_t fourcc);

#endif
