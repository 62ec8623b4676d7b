#include "encoder.h"

#include <libavutil/hwcontext.h>
#include <libavutil/pixdesc.h>
#include <libswscale/swscale.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "counter.h"
#include "log.h"
#include "registry.h"

#define MOD "encoder"
#define MAX_CHAIN 4

struct mc_encoder {
	const struct mc_encoder_ops *ops; /* in use; NULL when every backend of the chain failed */
	void *priv;
	enum AVPixelFormat input_format;  /* fixed at create: the layer's scaler makes these frames */
	struct mc_encoder_params params;  /* bitrate follows set_bitrate */
	char name[64];
	const struct mc_encoder_ops *chain[MAX_CHAIN];
	int n_chain, at;
	mc_counter backend;   /* index into mc_encoder_backends of ops, read by the stats thread */
	mc_counter fallbacks;
	mc_counter copies;    /* ops->copies of the backends so far (the stats thread reads it) */
	uint64_t copies_base; /* what the backends before this one copied */
	bool force_key;       /* the next frame sent is a keyframe (the new backend's first) */
	int pending;          /* frames sent since the last packet came out */
	int64_t pending_since_us;
	int64_t deadline_us;  /* no output for this long with frames pending: the backend has failed */
	enum AVPixelFormat backend_format; /* what the backend in use takes (a fallback's may differ) */
	AVFrame *download;    /* a device frame brought down, or a frame converted, for the backend (reused) */
	struct SwsContext *convert;
};

static const char *codec_name(enum mc_codec c) { return c == MC_CODEC_VP8 ? "vp8" : "h264"; }

const struct mc_encoder_ops *mc_encoder_find(const char *name)
{
	for (size_t i = 0; mc_encoder_backends[i]; i++)
		if (strcmp(mc_encoder_backends[i]->name, name) == 0)
			return mc_encoder_backends[i];
	return NULL;
}

int mc_encoder_chain_names(enum mc_encoder_choice choice, const char **names, int max)
{
	/* auto: hardware first, software last (openh264 only when asked for: libx264 is the better encoder
	 * per CPU second on the boards that have neither) */
	static const char *const auto_order[] = { "vaapi", "v4l2m2m", "software", NULL };
	const char *named[] = { mc_encoder_choice_name(choice), "software", NULL };
	const char *const *from = choice == MC_ENCODER_AUTO || choice == MC_ENCODER_TRACK ? auto_order : named;
	int n = 0;
	for (int i = 0; from[i] && n < max; i++) {
		bool dup = false;
		for (int j = 0; j < n; j++)
			dup |= strcmp(names[j], from[i]) == 0;
		if (!dup)
			names[n++] = from[i];
	}
	return n;
}

int mc_encoder_chain(enum mc_encoder_choice choice, const struct mc_encoder_ops **chain, int max)
{
	const char *names[MAX_CHAIN];
	int nn = mc_encoder_chain_names(choice, names, MAX_CHAIN);
	int n = 0;
	for (int i = 0; i < nn && n < max; i++) {
		const struct mc_encoder_ops *ops = mc_encoder_find(names[i]);
		bool dup = false;
		for (int j = 0; j < n; j++)
			dup |= chain[j] == ops;
		if (ops && !dup)
			chain[n++] = ops;
	}
	return n;
}

static int try_open(struct mc_encoder *e, const struct mc_encoder_ops *ops)
{
	void *priv = calloc(1, ops->priv_size ? ops->priv_size : 1);
	if (!priv)
		return -ENOMEM;
	enum AVPixelFormat fmt = AV_PIX_FMT_NONE;
	/* A fallback takes the frames the layer's scaler already makes: the scaler belongs to the track's
	 * thread and is not swapped under it. So a fallback is asked for that format (libx264 behind a
	 * YUV420P-only backend then takes YUV420P, not the camera's NV12); one that takes another (libx264 after
	 * a v4l2m2m encoder that took RGB24) gets each frame converted here: a copy, counted. */
	struct mc_encoder_params p = e->params;
	if (e->input_format != AV_PIX_FMT_NONE)
		p.source_format = e->input_format;
	int rc = ops->open(priv, &p, &fmt);
	if (rc) {
		ops->close(priv);
		free(priv);
		return rc;
	}
	e->ops = ops;
	e->priv = priv;
	if (e->input_format == AV_PIX_FMT_NONE)
		e->input_format = fmt;
	e->backend_format = fmt;
	if (fmt != e->input_format)
		mc_warn(MOD, "%s: %s takes %s, the layer's pictures are %s: each frame is converted (a copy)", e->name,
			ops->name, av_get_pix_fmt_name(fmt), av_get_pix_fmt_name(e->input_format));
	for (size_t i = 0; mc_encoder_backends[i]; i++)
		if (mc_encoder_backends[i] == ops)
			mc_count_set(&e->backend, i);
	return 0;
}

/* Opens chain[from..]; logs each refusal and the choice. */
static int open_from(struct mc_encoder *e, int from, const char *why_first)
{
	const struct mc_encoder_params *p = &e->params;
	char why[160];
	int rc = -ENOENT;
	for (int i = from; i < e->n_chain; i++) {
		const struct mc_encoder_ops *ops = e->chain[i];
		why[0] = 0;
		if (!ops->probe(p, why, sizeof(why))) {
			mc_info(MOD, "%s: %s not used: %s", p->name, ops->name, why[0] ? why : "cannot encode here");
			continue;
		}
		if ((rc = try_open(e, ops)) == 0) {
			e->at = i;
			mc_info(MOD, "%s: %s %s %dx%d@%d %d kbit/s (%s)", p->name, ops->name, codec_name(p->codec),
				p->width, p->height, p->fps, p->bitrate / 1000,
				why_first ? why_first : i == 0 ? "first choice" : "the earlier backends are not usable");
			return 0;
		}
		mc_warn(MOD, "%s: %s failed to open (%s); trying the next backend", p->name, ops->name,
			strerror(-rc));
	}
	return rc;
}

int mc_encoder_create(struct mc_encoder **out, enum mc_encoder_choice choice, const struct mc_encoder_params *p)
{
	*out = NULL;
	struct mc_encoder *e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	e->params = *p;
	snprintf(e->name, sizeof(e->name), "%s", p->name ? p->name : "?");
	e->params.name = e->name;
	e->input_format = AV_PIX_FMT_NONE;
	/* a few frame intervals, and never less than 200 ms: a loaded 2-core machine takes that long at times */
	e->deadline_us = p->fps > 0 ? 5 * 1000000LL / p->fps : 200000;
	if (e->deadline_us < 200000)
		e->deadline_us = 200000;
	e->n_chain = mc_encoder_chain(choice, e->chain, MAX_CHAIN);
	mc_info(MOD, "%s: encoder = %s", e->name, mc_encoder_choice_name(choice));
	int rc = open_from(e, 0, NULL);
	if (rc) {
		mc_err(MOD, "%s: no encoder backend can encode %s %dx%d", e->name, codec_name(p->codec), p->width,
		       p->height);
		free(e);
		return rc;
	}
	*out = e;
	return 0;
}

static void close_backend(struct mc_encoder *e)
{
	e->copies_base = mc_count_get(&e->copies);
	if (e->ops)
		e->ops->close(e->priv);
	free(e->priv);
	e->priv = NULL;
	e->ops = NULL;
}

/* The backend failed while streaming: the next one of the chain takes over, starting with a keyframe. The
 * frames the old one held are lost (at most a few); the RTP state lives in the outputs and continues. */
static void fall_back(struct mc_encoder *e, const char *what)
{
	const char *old = e->ops ? e->ops->name : "?";
	mc_err(MOD, "%s: %s failed while streaming (%s); falling back", e->name, old, what);
	close_backend(e);
	mc_count_inc(&e->fallbacks);
	e->pending = 0;
	e->force_key = true;
	char why[96];
	snprintf(why, sizeof(why), "fallback from %s: %s", old, what);
	if (open_from(e, e->at + 1, why))
		mc_err(MOD, "%s: no backend left after %s; the layer stops", e->name, old);
}

void mc_encoder_destroy(struct mc_encoder *e)
{
	if (!e)
		return;
	close_backend(e);
	av_frame_free(&e->download);
	sws_freeContext(e->convert);
	free(e);
}

const char *mc_encoder_backend_name(const struct mc_encoder *e)
{
	return mc_encoder_backends[mc_count_get(&e->backend)]->name;
}
uint64_t mc_encoder_fallbacks(const struct mc_encoder *e) { return mc_count_get(&e->fallbacks); }
enum AVPixelFormat mc_encoder_input_format(const struct mc_encoder *e) { return e->input_format; }
unsigned mc_encoder_input_kinds(const struct mc_encoder *e) { return e->ops ? e->ops->inputs : MC_FRAME_CPU; }
uint64_t mc_encoder_copies(const struct mc_encoder *e) { return mc_count_get(&e->copies); }

/* A frame the backend in use cannot take as it is: a frame in device memory only (a VA surface from a
 * VA-API scaler) for the software backend after a fallback from vaapi is downloaded, a CPU frame in another
 * pixel format converted. One copy, counted. NULL on failure. */
static const AVFrame *takeable(struct mc_encoder *e, const AVFrame *frame)
{
	unsigned kind = mc_frame_kind_of(frame);
	bool cpu = kind & MC_FRAME_CPU;
	if ((!cpu && (kind & e->ops->inputs)) || (cpu && frame->format == e->backend_format))
		return frame;
	if (!e->download && !(e->download = av_frame_alloc()))
		return NULL;
	av_frame_unref(e->download);
	AVFrame *d = e->download;
	int rc;
	if (!cpu) {
		d->format = e->backend_format;
		rc = frame->hw_frames_ctx ? av_hwframe_transfer_data(d, frame, 0) : -1;
	} else {
		d->format = e->backend_format, d->width = frame->width, d->height = frame->height;
		e->convert = sws_getCachedContext(e->convert, frame->width, frame->height, frame->format, d->width,
						  d->height, d->format, SWS_BILINEAR, NULL, NULL, NULL);
		rc = e->convert ? av_frame_get_buffer(d, 0) : -1;
		if (rc >= 0)
			rc = sws_scale(e->convert, (const uint8_t *const *)frame->data, frame->linesize, 0, frame->height,
				       d->data, d->linesize) > 0 ? 0 : -1;
	}
	if (rc < 0 || av_frame_copy_props(d, frame) < 0)
		return NULL;
	av_buffer_unref(&d->opaque_ref); /* not the frame's device buffer */
	e->copies_base++;
	mc_count_inc(&e->copies);
	return d;
}

int mc_encoder_send(struct mc_encoder *e, const AVFrame *frame, bool keyframe)
{
	if (!e->ops)
		return frame ? -ENODEV : -EPIPE;
	if (frame && e->pending >= 3 && mc_now_us() - e->pending_since_us > e->deadline_us) {
		char what[64];
		snprintf(what, sizeof(what), "no output for %d frames, %lld ms", e->pending,
			 (long long)(mc_now_us() - e->pending_since_us) / 1000);
		fall_back(e, what);
		if (!e->ops)
			return -ENODEV;
	}
	bool key = keyframe || e->force_key;
	if (frame && !(frame = takeable(e, frame)))
		return -EIO;
	int rc = e->ops->send_frame(e->priv, frame, key);
	if (rc < 0 && rc != -EAGAIN && !(rc == -EPIPE && !frame)) {
		char what[64];
		snprintf(what, sizeof(what), "send: %s", strerror(-rc));
		fall_back(e, what);
		if (!e->ops)
			return -ENODEV;
		key = true;
		if (frame && !(frame = takeable(e, frame)))
			return -EIO;
		rc = e->ops->send_frame(e->priv, frame, key);
	}
	if (rc == 0 && frame && e->ops->copies)
		mc_count_set(&e->copies, e->copies_base + e->ops->copies(e->priv));
	if (rc == 0 && frame) {
		if (key)
			e->force_key = false;
		if (e->pending++ == 0)
			e->pending_since_us = mc_now_us();
	}
	return rc;
}

int mc_encoder_receive(struct mc_encoder *e, AVPacket *pkt)
{
	if (!e->ops)
		return -EPIPE;
	int rc = e->ops->receive_packet(e->priv, pkt);
	if (rc == 0) {
		e->pending = 0;
		return 0;
	}
	if (rc == -EAGAIN || rc == -EPIPE)
		return rc;
	char what[64];
	snprintf(what, sizeof(what), "receive: %s", strerror(-rc));
	fall_back(e, what);
	return e->ops ? -EAGAIN : -ENODEV;
}

int mc_encoder_set_bitrate(struct mc_encoder *e, int bitrate)
{
	if (!e->ops)
		return -ENODEV;
	int rc = e->ops->set_bitrate ? e->ops->set_bitrate(e->priv, bitrate) : -ENOTSUP;
	if (rc == 0)
		e->params.bitrate = bitrate; /* a fallback opens at the current rate */
	return rc;
}

/* threads = auto. libx264's own choice (threads 0) gives every layer sliced threads, one per core: on a
 * 2-core machine the three-layer job then costs ~1.5x the CPU of one thread per layer (issue 14, tools/bench).
 * One thread per layer when its frame fits a quarter of a frame interval on one core; slices only for a
 * layer that would otherwise miss its frame time. A quarter, not a half: with half, 720p30 (11 ms) got one
 * thread and, on the loaded 2-core test machine (load 10), lost 7..41 of 90 frames in
 * tests/integration/ffmpeg_layers.sh where sliced threads lost none (a single thread cannot move to the
 * other core's idle moments); the layers below 720p are where one thread saves CPU anyway. The cost is
 * libx264 veryfast/zerolatency on one core of this project's 2-core test machine: ~3 us per macroblock
 * (720p: 3600 MBs, 11 ms); ultrafast about half that, slower presets more. */
int mc_encoder_auto_threads(const struct mc_encoder_params *p, int cores)
{
	if (cores < 1)
		cores = 1;
	double us_per_mb = p->preset && strcmp(p->preset, "ultrafast") == 0 ? 1.5
			   : p->preset && (strcmp(p->preset, "superfast") == 0) ? 2.0
			   : p->preset && strcmp(p->preset, "veryfast") == 0 ? 3.0 : 6.0;
	double mbs = (double)((p->width + 15) / 16) * ((p->height + 15) / 16);
	double cost_us = mbs * us_per_mb;
	double budget_us = 0.25 * 1e6 / (p->fps > 0 ? p->fps : 30);
	int threads = (int)((cost_us + budget_us - 1) / budget_us);
	if (threads < 1)
		threads = 1;
	return threads > cores ? cores : threads;
}
