/* v4l2m2m: the kernel's stateful encoder interface used directly (Documentation/userspace-api/media/v4l/
 * dev-encoder.rst), not libavcodec's h264_v4l2m2m, which copies every frame. This is the Raspberry Pi 4's
 * bcm2835-codec (/dev/video11, multi-planar API) and, in the kernel lane, vicodec (single- or multi-planar).
 *
 * - The node: the first /dev/videoN that is a mem2mem device whose CAPTURE queue offers the coded format and
 *   whose OUTPUT queue takes YUV420 or NV12 at the layer's size (VIDIOC_TRY_FMT), or `device` if set.
 * - OUTPUT: a frame that carries its device buffer as a DMABUF (frame.h: a camera's NV12 buffer) in the layout
 *   the encoder set is queued as V4L2_MEMORY_DMABUF, no copy; any other frame is written once into an MMAP
 *   buffer (a copy, counted: ops->copies). The memory type is chosen by the first frame and changed (the
 *   OUTPUT queue restarted) when the kind of frames changes (a lost camera's placeholder frames are CPU frames).
 * - CAPTURE: MMAP bitstream buffers; each packet is copied out of its buffer (the bitstream, not a picture) so
 *   the buffer goes back to the driver at once.
 * - Controls, each set only where the device has it (VIDIOC_QUERYCTRL): rate-control mode (CBR, else VBR),
 *   or for a device with a quantiser and no bitrate control (vicodec's FWHT) mixcast's own per-frame QP
 *   control toward the bitrate (src/media/qp_ctl.h),
 *   bitrate (changed while streaming by set_bitrate), I-period and GOP size, H.264 profile (constrained
 *   baseline, else baseline) and the level the layer needs, REPEAT_SEQ_HEADER (SPS/PPS before every IDR: Janus
 *   and a late viewer need them), no B-frames. A keyframe on request is FORCE_KEY_FRAME; a device without it
 *   (vicodec) gets its OUTPUT queue restarted, which starts a new GOP.
 * - Sizes that are not whole macroblocks: the driver may pad the OUTPUT format (the Pi: 16 lines); the
 *   visible size is set by VIDIOC_S_SELECTION (crop) on the OUTPUT queue.
 * - Drain: send_frame(NULL) is V4L2_ENC_CMD_STOP; receive_packet returns what is left until the buffer with
 *   V4L2_BUF_FLAG_LAST (or the EOS event), then -EPIPE. A frame sent after that restarts (V4L2_ENC_CMD_START).
 *   A SOURCE_CHANGE event (the spec lets an encoder raise it) is an error: the core falls back.
 * - Failures (an ioctl error, ENODEV when the device goes away) are returned as errors, and the core's
 *   fallback (src/media/encoder.c) opens the next backend; it also catches a device that stops producing.
 *
 * Test-only switches (never in production): MIXCAST_TEST_V4L2M2M=fwht:DIR, FWHT instead of H.264 for vicodec,
 * with the bitstream and the input dumped per layer (hw/v4l2m2m_dump.h); MIXCAST_TEST_V4L2M2M_FAULT=stall:N
 * (as MIXCAST_TEST_OPENH264_FAULT) keeps each CAPTURE buffer after the Nth packet instead of queueing it
 * back, so that the real device runs out of buffers and stops producing: the core's no-output deadline. */
#include <errno.h>
#include <fcntl.h>
#include <linux/videodev2.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "encoder.h"
#include "frame.h"
#include "log.h"
#include "qp_ctl.h"
#include "v4l2m2m_dump.h"
#include "v4l2m2m_node.h"
#include "v4l2m2m_select.h"

#define MOD "v4l2m2m"
#define N_OUT 4
#define N_CAP 4

struct obuf {
	uint8_t *map;
	size_t len;
	AVFrame *held; /* DMABUF: the frame whose buffer the encoder reads, until it gives it back */
	bool queued;
};

struct cbuf {
	uint8_t *map;
	size_t len;
};

struct m2m {
	const char *name;
	struct mc_m2m_node node; /* fd, API, queue types, path */
	uint32_t coded;          /* V4L2_PIX_FMT_H264, or FWHT in the test mode */
	uint32_t in_fourcc;
	enum AVPixelFormat in_fmt;
	int width, height, fps, bitrate;
	int bpl, fmt_h;          /* the OUTPUT layout the driver set (fmt_h >= height: padded) */
	size_t sizeimage;
	enum v4l2_memory out_mem; /* 0 until the first frame */
	bool out_on, cap_on;
	struct obuf out[N_OUT];
	int n_out;
	struct cbuf cap[N_CAP];
	int n_cap;
	int pending;             /* frames queued whose packet has not come out */
	bool fresh;              /* a frame was sent since the last receive: worth a short wait */
	bool want_idle;          /* send waits for the queued frames' packets (an OUTPUT restart) */
	int64_t idle_since_us;
	bool has_force_key, has_bitrate, has_fwht_qp;
	struct mc_qp_ctl qpc;    /* FWHT: the quantiser steered toward the bitrate, frame by frame */
	bool draining, drained, started;
	long frames;
	uint64_t copies;
	struct mc_m2m_dump *dump; /* test mode */
	long packets, stall_after; /* stall_after < 0: no fault */
};

static uint32_t coded_format(enum mc_codec codec) { return mc_m2m_test_dir() ? V4L2_PIX_FMT_FWHT : codec == MC_CODEC_H264 ? V4L2_PIX_FMT_H264 : 0; }

/* Is the node at `path` an encoder for `coded` that takes the layer's size? Leaves e->node.fd open on success. */
static int try_node(struct m2m *e, const char *path, const struct mc_encoder_params *p, char *why, size_t n)
{
	int rc = mc_m2m_node_open(&e->node, path);
	if (rc)
		return rc;
	const char *card = e->node.card;
	uint32_t in[32];
	int n_in = 0;
	char fc[5] = { 0 };
	memcpy(fc, &e->coded, 4);
	if (!mc_m2m_offers(&e->node, e->node.cap_type, e->coded, NULL, NULL, 0, NULL)) {
		mc_m2m_node_close(&e->node);
		snprintf(why, n, "%s (%s): no %s output", path, card, fc);
		return -ENOTSUP;
	}
	mc_m2m_offers(&e->node, e->node.out_type, 0, in, &n_in, 32, NULL);
	if (mc_m2m_pick_input(in, n_in, p->source_format, &e->in_fourcc, &e->in_fmt)) {
		mc_m2m_node_close(&e->node);
		snprintf(why, n, "%s (%s): takes neither YUV420 nor NV12", path, card);
		return -ENOTSUP;
	}
	/* the size: what TRY_FMT makes of it. A driver pads (whole macroblocks) but must not shrink, and one
	 * that raises it to its minimum (vicodec: 640x360) cannot take the layer. */
	struct v4l2_format f;
	mc_m2m_set_layout(&e->node, &f, e->node.out_type, e->in_fourcc, p->width, p->height);
	int w = 0, h = 0, bpl;
	size_t size;
	if (mc_m2m_ioctl(e->node.fd, VIDIOC_TRY_FMT, &f) == 0)
		mc_m2m_get_layout(&e->node, &f, &w, &h, &bpl, &size);
	if (w < p->width || h < p->height || w > ((p->width + 31) & ~31) || h > ((p->height + 15) & ~15)) {
		struct v4l2_frmsizeenum fs = { .pixel_format = e->coded };
		char range[64] = "";
		if (mc_m2m_ioctl(e->node.fd, VIDIOC_ENUM_FRAMESIZES, &fs) == 0 && fs.type != V4L2_FRMSIZE_TYPE_DISCRETE)
			snprintf(range, sizeof(range), " (it takes %ux%u to %ux%u)", fs.stepwise.min_width,
				 fs.stepwise.min_height, fs.stepwise.max_width, fs.stepwise.max_height);
		snprintf(why, n, "%s (%s) refuses %dx%d: TRY_FMT gave %dx%d%s", path, card, p->width,
			 p->height, w, h, range);
		mc_m2m_node_close(&e->node);
		return -ERANGE;
	}
	return 0;
}

static int find_node(struct m2m *e, const struct mc_encoder_params *p, char *why, size_t n)
{
	e->coded = coded_format(p->codec);
	if (!e->coded) {
		snprintf(why, n, "H.264 only (no V4L2 encoder does VP8 here)");
		return -ENOTSUP;
	}
	if (p->device && p->device[0])
		return try_node(e, p->device, p, why, n);
	char w[160] = "";
	int best = 0; /* the most telling refusal: the size (3), the input formats (2), no such output (1) */
	for (int i = 0; i < 64; i++) {
		char path[32];
		snprintf(path, sizeof(path), "/dev/video%d", i);
		w[0] = 0;
		int rc = try_node(e, path, p, w, sizeof(w));
		if (rc == 0)
			return 0;
		int rank = !w[0] ? 0 : rc == -ERANGE ? 3 : strstr(w, "takes neither") ? 2 : 1;
		if (rank > best) {
			snprintf(why, n, "%s", w);
			best = rank;
		}
	}
	bool any = best > 0;
	if (!any)
		snprintf(why, n, "no V4L2 mem2mem encoder in /dev/video*");
	return -ENODEV;
}

static bool query(struct m2m *e, uint32_t id, struct v4l2_queryctrl *q)
{
	memset(q, 0, sizeof(*q));
	q->id = id;
	return mc_m2m_ioctl(e->node.fd, VIDIOC_QUERYCTRL, q) == 0 && !(q->flags & V4L2_CTRL_FLAG_DISABLED);
}

/* Sets control `id` if the device has it, clamped to its range; 0, -ENOENT (no such control) or -errno. */
static int set_ctrl(struct m2m *e, uint32_t id, int value)
{
	struct v4l2_queryctrl q;
	if (!query(e, id, &q))
		return -ENOENT;
	if (q.type != V4L2_CTRL_TYPE_BUTTON) {
		value = value < q.minimum ? q.minimum : value > q.maximum ? q.maximum : value;
		if (q.type == V4L2_CTRL_TYPE_MENU) { /* a value the menu does not have is refused, not clamped */
			struct v4l2_querymenu m = { .id = id, .index = (uint32_t)value };
			if (mc_m2m_ioctl(e->node.fd, VIDIOC_QUERYMENU, &m))
				return -EINVAL;
		}
	}
	struct v4l2_ext_control c = { .id = id, .value = value };
	struct v4l2_ext_controls cs = { .which = V4L2_CTRL_WHICH_CUR_VAL, .count = 1, .controls = &c };
	int rc = mc_m2m_ioctl(e->node.fd, VIDIOC_S_EXT_CTRLS, &cs);
	if (rc)
		mc_warn(MOD, "%s: %s: control '%s' = %d refused: %s", e->name, e->node.path, (const char *)q.name, value,
			strerror(-rc));
	return rc;
}

static int setup_controls(struct m2m *e, const struct mc_encoder_params *p)
{
	struct v4l2_queryctrl q;
	e->has_force_key = query(e, V4L2_CID_MPEG_VIDEO_FORCE_KEY_FRAME, &q);
	e->has_bitrate = query(e, V4L2_CID_MPEG_VIDEO_BITRATE, &q);
	e->has_fwht_qp = query(e, V4L2_CID_FWHT_P_FRAME_QP, &q);
	int gop = p->gop > 0 ? p->gop : 4 * p->fps; /* a safety net: the core forces keyframes */
	set_ctrl(e, V4L2_CID_MPEG_VIDEO_GOP_SIZE, gop);
	if (e->coded == V4L2_PIX_FMT_FWHT) {
		/* a first guess from bits per pixel, then each P frame's size steers it (vicodec has no rate control;
		 * FWHT's size goes roughly with 1/qp, a step of about 10 % around the middle of 1..31) */
		int qp = mc_m2m_fwht_qp(p->bitrate, p->width, p->height, p->fps);
		mc_qp_ctl_init(&e->qpc, p->bitrate, p->fps, qp, 1, 31, 1.1);
		set_ctrl(e, V4L2_CID_FWHT_I_FRAME_QP, qp);
		set_ctrl(e, V4L2_CID_FWHT_P_FRAME_QP, qp);
		return 0;
	}
	/* CBR where offered: a VBV-like bound on a frame's size matters more than quality for real time */
	if (set_ctrl(e, V4L2_CID_MPEG_VIDEO_BITRATE_MODE, V4L2_MPEG_VIDEO_BITRATE_MODE_CBR))
		set_ctrl(e, V4L2_CID_MPEG_VIDEO_BITRATE_MODE, V4L2_MPEG_VIDEO_BITRATE_MODE_VBR);
	set_ctrl(e, V4L2_CID_MPEG_VIDEO_BITRATE, p->bitrate);
	set_ctrl(e, V4L2_CID_MPEG_VIDEO_H264_I_PERIOD, gop);
	set_ctrl(e, V4L2_CID_MPEG_VIDEO_B_FRAMES, 0);
	set_ctrl(e, V4L2_CID_MPEG_VIDEO_REPEAT_SEQ_HEADER, 1);
	set_ctrl(e, V4L2_CID_MPEG_VIDEO_HEADER_MODE, V4L2_MPEG_VIDEO_HEADER_MODE_JOINED_WITH_1ST_FRAME);
	if (set_ctrl(e, V4L2_CID_MPEG_VIDEO_H264_PROFILE, V4L2_MPEG_VIDEO_H264_PROFILE_CONSTRAINED_BASELINE) == -EINVAL)
		set_ctrl(e, V4L2_CID_MPEG_VIDEO_H264_PROFILE, V4L2_MPEG_VIDEO_H264_PROFILE_BASELINE);
	int level = mc_m2m_h264_level(p->width, p->height, p->fps);
	if (query(e, V4L2_CID_MPEG_VIDEO_H264_LEVEL, &q)) {
		if (level < 0 || level > q.maximum) {
			mc_err(MOD, "%s: %s: %dx%d@%d needs a higher H.264 level than the device's highest", e->name,
			       e->node.path, p->width, p->height, p->fps);
			return -ERANGE;
		}
		set_ctrl(e, V4L2_CID_MPEG_VIDEO_H264_LEVEL, level);
	}
	return 0;
}

/* The OUTPUT format at the layer's size, the crop to the visible size, the frame rate. */
static int setup_formats(struct m2m *e, const struct mc_encoder_params *p)
{
	struct v4l2_format f;
	int w, h, bpl, rc;
	size_t size;
	/* the coded format first: the spec has OUTPUT's format follow CAPTURE's */
	mc_m2m_set_layout(&e->node, &f, e->node.cap_type, e->coded, p->width, p->height);
	if ((rc = mc_m2m_ioctl(e->node.fd, VIDIOC_S_FMT, &f))) {
		mc_err(MOD, "%s: %s: S_FMT CAPTURE: %s", e->name, e->node.path, strerror(-rc));
		return rc;
	}
	mc_m2m_set_layout(&e->node, &f, e->node.out_type, e->in_fourcc, p->width, p->height);
	if ((rc = mc_m2m_ioctl(e->node.fd, VIDIOC_S_FMT, &f))) {
		mc_err(MOD, "%s: %s: S_FMT OUTPUT %dx%d: %s", e->name, e->node.path, p->width, p->height, strerror(-rc));
		return rc;
	}
	mc_m2m_get_layout(&e->node, &f, &w, &h, &bpl, &size);
	if (w < p->width || h < p->height || bpl < w) {
		mc_err(MOD, "%s: %s: the driver set %dx%d (pitch %d) for %dx%d", e->name, e->node.path, w, h, bpl, p->width,
		       p->height);
		return -ERANGE;
	}
	e->bpl = bpl, e->fmt_h = h, e->sizeimage = size;
	/* the visible size: the driver's format may be padded to whole macroblocks */
	struct v4l2_selection sel = { .type = V4L2_BUF_TYPE_VIDEO_OUTPUT, .target = V4L2_SEL_TGT_CROP,
				      .r = { 0, 0, (uint32_t)p->width, (uint32_t)p->height } };
	rc = mc_m2m_ioctl(e->node.fd, VIDIOC_S_SELECTION, &sel);
	if ((rc || (int)sel.r.width != p->width || (int)sel.r.height != p->height) && (w != p->width || h != p->height)) {
		mc_err(MOD, "%s: %s: the crop to %dx%d of the padded %dx%d was refused (%s)", e->name, e->node.path, p->width,
		       p->height, w, h, rc ? strerror(-rc) : "another rectangle");
		return rc ? rc : -ERANGE;
	}
	struct v4l2_streamparm parm = { .type = e->node.out_type };
	parm.parm.output.timeperframe = (struct v4l2_fract){ 1, (uint32_t)(p->fps > 0 ? p->fps : 30) };
	mc_m2m_ioctl(e->node.fd, VIDIOC_S_PARM, &parm); /* optional: rate control's frame rate */
	/* events: the end of a drain, a source change (both optional for an encoder) */
	struct v4l2_event_subscription sub = { .type = V4L2_EVENT_EOS };
	mc_m2m_ioctl(e->node.fd, VIDIOC_SUBSCRIBE_EVENT, &sub);
	sub.type = V4L2_EVENT_SOURCE_CHANGE;
	mc_m2m_ioctl(e->node.fd, VIDIOC_SUBSCRIBE_EVENT, &sub);
	return 0;
}

static int queue_cap(struct m2m *e, int i)
{
	struct v4l2_buffer b;
	struct v4l2_plane pl;
	mc_m2m_fill_buf(&e->node, &b, &pl, e->node.cap_type, V4L2_MEMORY_MMAP, i);
	if (e->node.mp)
		pl.length = (uint32_t)e->cap[i].len;
	else
		b.length = (uint32_t)e->cap[i].len;
	return mc_m2m_ioctl(e->node.fd, VIDIOC_QBUF, &b);
}

static int setup_capture(struct m2m *e)
{
	struct v4l2_requestbuffers rb = { .count = N_CAP, .type = e->node.cap_type, .memory = V4L2_MEMORY_MMAP };
	int rc = mc_m2m_ioctl(e->node.fd, VIDIOC_REQBUFS, &rb);
	if (rc || rb.count < 1)
		return rc ? rc : -ENOMEM;
	e->n_cap = rb.count > N_CAP ? N_CAP : (int)rb.count;
	for (int i = 0; i < e->n_cap; i++) {
		if ((rc = mc_m2m_map(&e->node, e->node.cap_type, i, PROT_READ | PROT_WRITE, &e->cap[i].map, &e->cap[i].len)))
			return rc;
		if ((rc = queue_cap(e, i)))
			return rc;
	}
	int type = (int)e->node.cap_type;
	if ((rc = mc_m2m_ioctl(e->node.fd, VIDIOC_STREAMON, &type)))
		return rc;
	e->cap_on = true;
	return 0;
}

/* After a drain: STREAMOFF + STREAMON of the CAPTURE queue, the spec's other way to resume (dev-encoder.rst,
 * "Drain"). Not V4L2_ENC_CMD_START: vicodec 6.1 clears the queue's last-buffer state only when the m2m core
 * still says "stopped", which the core's own START handler has just cleared, so DQBUF kept failing with EPIPE. */
static int restart_capture(struct m2m *e)
{
	int type = (int)e->node.cap_type, rc;
	mc_m2m_ioctl(e->node.fd, VIDIOC_STREAMOFF, &type);
	for (int i = 0; i < e->n_cap; i++)
		if ((rc = queue_cap(e, i)))
			return rc;
	return mc_m2m_ioctl(e->node.fd, VIDIOC_STREAMON, &type);
}

static void release_output(struct m2m *e)
{
	for (int i = 0; i < e->n_out; i++) {
		if (e->out[i].map)
			munmap(e->out[i].map, e->out[i].len);
		av_frame_free(&e->out[i].held);
		e->out[i] = (struct obuf){ 0 };
	}
	e->n_out = 0;
}

static void stop_output(struct m2m *e)
{
	if (e->out_on) {
		int type = (int)e->node.out_type;
		mc_m2m_ioctl(e->node.fd, VIDIOC_STREAMOFF, &type); /* every OUTPUT buffer comes back */
		e->out_on = false;
	}
	for (int i = 0; i < e->n_out; i++) {
		av_frame_free(&e->out[i].held);
		e->out[i].queued = false;
	}
}

/* (Re)starts the OUTPUT queue with `mem` buffers. */
static int start_output(struct m2m *e, enum v4l2_memory mem)
{
	int rc;
	stop_output(e);
	if (mem != e->out_mem) {
		release_output(e);
		struct v4l2_requestbuffers rb = { .count = 0, .type = e->node.out_type, .memory = e->out_mem ? e->out_mem : mem };
		if (e->out_mem)
			mc_m2m_ioctl(e->node.fd, VIDIOC_REQBUFS, &rb);
		rb = (struct v4l2_requestbuffers){ .count = N_OUT, .type = e->node.out_type, .memory = mem };
		if ((rc = mc_m2m_ioctl(e->node.fd, VIDIOC_REQBUFS, &rb)) || rb.count < 1) {
			mc_err(MOD, "%s: %s: REQBUFS OUTPUT %s: %s", e->name, e->node.path, mem == V4L2_MEMORY_DMABUF ? "DMABUF" : "MMAP",
			       rc ? strerror(-rc) : "no buffers");
			return rc ? rc : -ENOMEM;
		}
		e->n_out = rb.count > N_OUT ? N_OUT : (int)rb.count;
		e->out_mem = mem;
		for (int i = 0; mem == V4L2_MEMORY_MMAP && i < e->n_out; i++) {
			if ((rc = mc_m2m_map(&e->node, e->node.out_type, i, PROT_READ | PROT_WRITE, &e->out[i].map, &e->out[i].len)))
				return rc;
		}
		mc_info(MOD, "%s: %s: OUTPUT queue of %d %s buffers (%s)", e->name, e->node.path, e->n_out,
			mem == V4L2_MEMORY_DMABUF ? "DMABUF" : "MMAP",
			mem == V4L2_MEMORY_DMABUF ? "the camera's buffers themselves, no copy" : "each frame copied in once");
	}
	int type = (int)e->node.out_type;
	if ((rc = mc_m2m_ioctl(e->node.fd, VIDIOC_STREAMON, &type)))
		return rc;
	e->out_on = true;
	return 0;
}

/* Takes back the OUTPUT buffers the encoder is done with (a DMABUF frame's reference goes with it). */
static int reclaim(struct m2m *e)
{
	for (;;) {
		struct v4l2_buffer b;
		struct v4l2_plane pl;
		mc_m2m_fill_buf(&e->node, &b, &pl, e->node.out_type, e->out_mem, 0);
		int rc = mc_m2m_ioctl(e->node.fd, VIDIOC_DQBUF, &b);
		if (rc == -EAGAIN || rc == -EINVAL || rc == -EPIPE)
			return 0; /* EINVAL: not streaming */
		if (rc)
			return rc;
		if (b.index < (uint32_t)e->n_out) {
			av_frame_free(&e->out[b.index].held);
			e->out[b.index].queued = false;
		}
	}
}

static int free_slot(struct m2m *e)
{
	for (int i = 0; i < e->n_out; i++)
		if (!e->out[i].queued)
			return i;
	return -1;
}

static bool m2m_probe(const struct mc_encoder_params *p, char *why, size_t n)
{
	struct m2m e = { .node.fd = -1, .name = p->name };
	if (find_node(&e, p, why, n))
		return false;
	close(e.node.fd);
	return true;
}

static int m2m_open(void *priv, const struct mc_encoder_params *p, enum AVPixelFormat *input_format)
{
	struct m2m *e = priv;
	e->node.fd = -1;
	e->name = p->name;
	e->width = p->width, e->height = p->height, e->fps = p->fps > 0 ? p->fps : 30, e->bitrate = p->bitrate;
	char why[200] = "";
	int rc = find_node(e, p, why, sizeof(why));
	if (rc) {
		mc_err(MOD, "%s: %s", p->name, why);
		return rc;
	}
	if ((rc = setup_formats(e, p)) || (rc = setup_controls(e, p)))
		return rc;
	if ((rc = setup_capture(e))) {
		mc_err(MOD, "%s: %s: CAPTURE queue: %s", e->name, e->node.path, strerror(-rc));
		return rc;
	}
	e->stall_after = -1;
	const char *fault = getenv("MIXCAST_TEST_V4L2M2M_FAULT");
	if (fault && sscanf(fault, "stall:%ld", &e->stall_after) == 1 && e->stall_after >= 0)
		mc_warn(MOD, "%s: test fault switch set: the CAPTURE queue starves after %ld packets", e->name,
			e->stall_after);
	const char *dir = mc_m2m_test_dir();
	if (dir && !(e->dump = mc_m2m_dump_open(dir, e->name)))
		return -ENOMEM;
	char in[5] = { 0 }, out[5] = { 0 };
	memcpy(in, &e->in_fourcc, 4);
	memcpy(out, &e->coded, 4);
	mc_info(MOD, "%s: %s %s -> %s %dx%d (buffer %dx%d, pitch %d), %s API; keyframes by %s; bitrate by %s", e->name,
		e->node.path, in, out, p->width, p->height, e->bpl, e->fmt_h, e->bpl, e->node.mp ? "multi-planar" : "single-planar",
		e->has_force_key ? "FORCE_KEY_FRAME" : "restarting the OUTPUT queue (no FORCE_KEY_FRAME)",
		e->has_bitrate ? "the bitrate control" : e->has_fwht_qp ? "the FWHT quantiser" : "nothing (fixed)");
	*input_format = e->in_fmt;
	return 0;
}

static int m2m_send(void *priv, const AVFrame *frame, bool keyframe)
{
	struct m2m *e = priv;
	int rc;
	if (!frame) {
		if (e->draining || e->drained)
			return 0;
		if (!e->out_on) { /* nothing was ever sent: nothing to drain */
			e->drained = true;
			return 0;
		}
		struct v4l2_encoder_cmd cmd = { .cmd = V4L2_ENC_CMD_STOP };
		if ((rc = mc_m2m_ioctl(e->node.fd, VIDIOC_ENCODER_CMD, &cmd)))
			return rc;
		e->draining = true;
		return 0;
	}
	if (e->draining)
		return -EAGAIN; /* the rest of the drain first */
	if (e->drained && e->out_on) { /* restart after a drain */
		if ((rc = restart_capture(e)))
			return rc;
		keyframe = true;
	}
	e->drained = false;
	const struct mc_frame_dmabuf *db = mc_frame_get_dmabuf(frame);
	bool dma = db && mc_m2m_dmabuf_fits(&db->drm, e->in_fourcc, e->bpl, e->fmt_h, e->sizeimage);
	enum v4l2_memory mem = dma ? V4L2_MEMORY_DMABUF : V4L2_MEMORY_MMAP;
	bool restart = mem != e->out_mem;
	/* a keyframe without FORCE_KEY_FRAME: a restarted OUTPUT queue begins a new GOP (vicodec resets its
	 * GOP counter in start_streaming); the packets of frames already queued come out first */
	if (keyframe && !e->has_force_key && e->out_on && e->frames > 0)
		restart = true;
	if (restart) {
		/* the core reads the packets, then sends again; receive waits for them. A device that never gives
		 * them back (1 s) is restarted anyway: their frames are lost, the stream goes on with a keyframe. */
		if (e->out_on && e->pending > 0) {
			if (!e->want_idle)
				e->idle_since_us = mc_now_us();
			e->want_idle = true;
			if (mc_now_us() - e->idle_since_us < 1000000)
				return -EAGAIN;
			mc_warn(MOD, "%s: %s: %d frames gave no packet in 1 s; restarting without them", e->name, e->node.path,
				e->pending);
			e->pending = 0;
		}
		e->want_idle = false;
		if ((rc = start_output(e, mem)))
			return rc;
	}
	if ((rc = reclaim(e)))
		return rc;
	int i = free_slot(e);
	for (int tries = 0; i < 0 && tries < 2; tries++) { /* wait up to two frame intervals for a buffer */
		struct pollfd pfd = { .fd = e->node.fd, .events = POLLOUT };
		if (poll(&pfd, 1, 1000 / e->fps) < 0 && errno != EINTR)
			return -errno;
		if ((rc = reclaim(e)))
			return rc;
		i = free_slot(e);
	}
	if (i < 0)
		return -EAGAIN;
	if (keyframe && e->has_force_key && (rc = set_ctrl(e, V4L2_CID_MPEG_VIDEO_FORCE_KEY_FRAME, 1)))
		return rc;
	struct v4l2_buffer b;
	struct v4l2_plane pl;
	mc_m2m_fill_buf(&e->node, &b, &pl, e->node.out_type, mem, i);
	uint32_t used;
	if (dma) {
		if (!(e->out[i].held = av_frame_clone(frame)))
			return -ENOMEM;
		if (e->node.mp) {
			pl.m.fd = db->drm.objects[0].fd;
			pl.length = (uint32_t)db->drm.objects[0].size;
		} else {
			b.m.fd = db->drm.objects[0].fd;
			b.length = (uint32_t)db->drm.objects[0].size;
		}
		used = (uint32_t)e->sizeimage;
	} else {
		/* the one copy of a CPU frame, into the driver's layout (counted) */
		const uint8_t *src[3] = { frame->data[0], frame->data[1], frame->data[2] };
		int stride[3] = { frame->linesize[0], frame->linesize[1], frame->linesize[2] };
		used = (uint32_t)mc_m2m_write_frame(e->out[i].map, e->bpl, e->fmt_h, src, stride, e->width, e->height,
						    e->in_fmt);
		e->copies++;
	}
	if (e->node.mp)
		pl.bytesused = used;
	else
		b.bytesused = used;
	b.field = V4L2_FIELD_NONE;
	b.timestamp.tv_sec = frame->pts / 1000000;
	b.timestamp.tv_usec = frame->pts % 1000000;
	if (frame->pts < 0) { /* a timeval cannot hold it well; no source makes one */
		b.timestamp.tv_sec = 0;
		b.timestamp.tv_usec = 0;
	}
	mc_m2m_dump_input(e->dump, frame, e->width, e->height, e->in_fmt);
	if ((rc = mc_m2m_ioctl(e->node.fd, VIDIOC_QBUF, &b))) {
		av_frame_free(&e->out[i].held);
		mc_err(MOD, "%s: %s: QBUF OUTPUT: %s", e->name, e->node.path, strerror(-rc));
		return rc;
	}
	e->out[i].queued = true;
	e->pending++;
	e->frames++;
	e->fresh = true;
	mc_m2m_dump_sent(e->dump, frame->pts, keyframe);
	return 0;
}

/* A keyframe by its bitstream, for drivers that do not flag the buffer (vicodec): the FWHT header's I-frame
 * flag, or an IDR NAL unit (type 5) in H.264. */
static bool is_key(const struct m2m *e, const uint8_t *d, size_t len)
{
	if (e->coded == V4L2_PIX_FMT_FWHT)
		return len >= 24 && (((uint32_t)d[20] << 24 | (uint32_t)d[21] << 16 | (uint32_t)d[22] << 8 | d[23]) &
				     V4L2_FWHT_FL_I_FRAME);
	for (size_t i = 0; i + 3 < len; i++)
		if (d[i] == 0 && d[i + 1] == 0 && d[i + 2] == 1 && (d[i + 3] & 0x1f) == 5)
			return true;
	return false;
}

static int handle_event(struct m2m *e)
{
	struct v4l2_event ev;
	while (mc_m2m_ioctl(e->node.fd, VIDIOC_DQEVENT, &ev) == 0) {
		if (ev.type == V4L2_EVENT_SOURCE_CHANGE) {
			mc_err(MOD, "%s: %s: source change event while encoding", e->name, e->node.path);
			return -EIO;
		}
		if (ev.type == V4L2_EVENT_EOS)
			mc_debug(MOD, "%s: EOS event", e->name); /* the LAST buffer ends the drain */
	}
	return 0;
}

static int set_fwht_qp(struct m2m *e, int qp)
{
	int rc = set_ctrl(e, V4L2_CID_FWHT_P_FRAME_QP, qp);
	return rc ? rc : set_ctrl(e, V4L2_CID_FWHT_I_FRAME_QP, qp);
}

/* FWHT: the next frames' quantiser from this packet's size (src/media/qp_ctl.h) */
static void steer_qp(struct m2m *e, size_t bytes, bool key)
{
	int was = e->qpc.qp, qp = mc_qp_ctl_frame(&e->qpc, bytes, key);
	if (qp != was && set_fwht_qp(e, qp) == 0)
		mc_debug(MOD, "%s: %zu bytes for a budget of %.0f: FWHT quantiser %d -> %d", e->name, bytes, e->qpc.budget,
			 was, qp);
}

static int m2m_receive(void *priv, AVPacket *pkt)
{
	struct m2m *e = priv;
	if (e->drained)
		return -EPIPE;
	int rc = reclaim(e);
	if (rc)
		return rc;
	struct v4l2_buffer b;
	struct v4l2_plane pl;
	for (int waited = 0;; waited++) {
		mc_m2m_fill_buf(&e->node, &b, &pl, e->node.cap_type, V4L2_MEMORY_MMAP, 0);
		rc = mc_m2m_ioctl(e->node.fd, VIDIOC_DQBUF, &b);
		if (rc == -EPIPE) { /* the LAST buffer was dequeued already */
			e->draining = false;
			e->drained = true;
			return -EPIPE;
		}
		if (rc != -EAGAIN)
			break;
		/* right after a frame went in, or while draining, wait for the encoder: up to half a frame
		 * interval (a hardware encoder takes a few ms) or, draining, a few frame intervals */
		int wait = e->draining || e->want_idle ? 3 * 1000 / e->fps : e->fresh && e->pending > 0 ? 500 / e->fps : 0;
		if (waited >= (e->draining || e->want_idle ? 4 : 1) || wait == 0) {
			e->fresh = false;
			return -EAGAIN;
		}
		struct pollfd pfd = { .fd = e->node.fd, .events = POLLIN | POLLPRI };
		if (poll(&pfd, 1, wait) < 0 && errno != EINTR)
			return -errno;
		if ((pfd.revents & POLLPRI) && (rc = handle_event(e)))
			return rc;
		if (pfd.revents & POLLERR)
			return -EIO; /* vb2's poll says POLLERR when the device is gone or not streaming */
	}
	if (rc) {
		mc_err(MOD, "%s: %s: DQBUF CAPTURE: %s", e->name, e->node.path, strerror(-rc));
		return rc;
	}
	if (b.index >= (uint32_t)e->n_cap)
		return -EIO;
	bool last = b.flags & V4L2_BUF_FLAG_LAST;
	size_t used = e->node.mp ? pl.bytesused : b.bytesused;
	const uint8_t *data = e->cap[b.index].map;
	if (e->node.mp)
		data += pl.data_offset, used -= used >= pl.data_offset ? pl.data_offset : used;
	bool key = (b.flags & V4L2_BUF_FLAG_KEYFRAME) || is_key(e, data, used);
	int64_t pts = (int64_t)b.timestamp.tv_sec * 1000000 + b.timestamp.tv_usec;
	rc = 0;
	if (used > 0 && !(b.flags & V4L2_BUF_FLAG_ERROR)) {
		if (e->dump)
			rc = mc_m2m_dump_output(e->dump, data, used, pts, key, pkt);
		else if ((rc = av_new_packet(pkt, (int)used)) == 0) {
			memcpy(pkt->data, data, used); /* the bitstream, so the buffer goes back at once */
		}
		if (rc == 0) {
			pkt->pts = pkt->dts = pts;
			if (key)
				pkt->flags |= AV_PKT_FLAG_KEY;
		}
	}
	if (rc == 0 && used > 0 && e->has_fwht_qp && !e->has_bitrate)
		steer_qp(e, used, key);
	bool starve = e->stall_after >= 0 && ++e->packets > e->stall_after; /* the test fault */
	int qrc = last || starve ? 0 : queue_cap(e, (int)b.index);
	if (e->pending > 0 && used > 0)
		e->pending--;
	if (last) {
		/* the buffer goes back with the restart (restart_capture) */
		e->draining = false;
		e->drained = true;
		e->pending = 0;
		if (used == 0 || rc)
			return -EPIPE;
		return 0; /* this packet; -EPIPE next */
	}
	if (qrc)
		return qrc;
	if (used == 0 || (b.flags & V4L2_BUF_FLAG_ERROR))
		return -EAGAIN; /* an empty or failed buffer: nothing to hand on */
	return rc ? -ENOMEM : 0;
}

static int m2m_set_bitrate(void *priv, int bitrate)
{
	struct m2m *e = priv;
	int rc;
	if (e->has_bitrate)
		rc = set_ctrl(e, V4L2_CID_MPEG_VIDEO_BITRATE, bitrate);
	else if (e->has_fwht_qp) {
		/* the first guess for the new rate at once; the frames' sizes steer from there */
		int qp = mc_m2m_fwht_qp(bitrate, e->width, e->height, e->fps);
		mc_qp_ctl_set_bitrate(&e->qpc, bitrate, e->fps);
		e->qpc.qp = qp;
		if ((rc = set_fwht_qp(e, qp)) == 0)
			mc_debug(MOD, "%s: %d kbit/s: FWHT quantiser %d", e->name, bitrate / 1000, qp);
	} else
		return -ENOTSUP;
	if (rc == 0)
		e->bitrate = bitrate;
	return rc;
}

static uint64_t m2m_copies(void *priv) { return ((struct m2m *)priv)->copies; }

static void m2m_close(void *priv)
{
	struct m2m *e = priv;
	if (e->node.fd >= 0) {
		stop_output(e);
		if (e->cap_on) {
			int type = (int)e->node.cap_type;
			mc_m2m_ioctl(e->node.fd, VIDIOC_STREAMOFF, &type);
		}
	}
	release_output(e);
	for (int i = 0; i < e->n_cap; i++)
		if (e->cap[i].map)
			munmap(e->cap[i].map, e->cap[i].len);
	if (e->node.fd >= 0)
		close(e->node.fd);
	e->node.fd = -1;
	mc_m2m_dump_close(e->dump);
	e->dump = NULL;
}

const struct mc_encoder_ops mc_encoder_v4l2m2m = {
	.name = "v4l2m2m",
	.priv_size = sizeof(struct m2m),
	.inputs = MC_FRAME_CPU | MC_FRAME_DMABUF,
	.probe = m2m_probe,
	.open = m2m_open,
	.send_frame = m2m_send,
	.receive_packet = m2m_receive,
	.set_bitrate = m2m_set_bitrate,
	.copies = m2m_copies,
	.close = m2m_close,
};
