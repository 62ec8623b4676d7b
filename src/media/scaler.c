#include "scaler.h"

#include <libavutil/hwcontext.h>
#include <libavutil/pixdesc.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "registry.h"

struct mc_scaler {
	struct mc_scaler_target target;
	char device[64], name[64];
	const struct mc_scaler_ops *ops;
	void *priv;
	int in_w, in_h;
	enum AVPixelFormat in_fmt;
	unsigned in_kind;
	const char *last;     /* the backend of the last frame; "none": passed through (atomic: the stats read it) */
	bool last_on_device;
	AVFrame *cpu;         /* a device frame downloaded for a CPU backend (reused) */
	unsigned refused;     /* backends (bits by index) that failed while running: not tried again */
	int at, failures;     /* the backend's index; its failures in a row */
};

struct mc_scaler *mc_scaler_create_for(const struct mc_scaler_target *t)
{
	struct mc_scaler *s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->target = *t;
	if (!s->target.takes)
		s->target.takes = MC_FRAME_CPU;
	snprintf(s->device, sizeof(s->device), "%s", t->device ? t->device : "");
	snprintf(s->name, sizeof(s->name), "%s", t->name ? t->name : "scaler");
	s->target.device = s->device;
	s->target.name = s->name;
	s->in_fmt = AV_PIX_FMT_NONE;
	s->last = "none";
	return s;
}

struct mc_scaler *mc_scaler_create(int out_w, int out_h, enum AVPixelFormat out_fmt)
{
	return mc_scaler_create_for(&(struct mc_scaler_target){ .width = out_w, .height = out_h, .format = out_fmt });
}

static void close_backend(struct mc_scaler *s)
{
	if (s->ops)
		s->ops->close(s->priv);
	free(s->priv);
	s->priv = NULL;
	s->ops = NULL;
}

void mc_scaler_destroy(struct mc_scaler *s)
{
	if (!s)
		return;
	close_backend(s);
	av_frame_free(&s->cpu);
	free(s);
}

/* A backend may be used for this layer: a device scaler only where the consumer imports what it makes. */
static bool allowed(const struct mc_scaler *s, const struct mc_scaler_ops *ops)
{
	return !ops->on_device || (ops->makes & s->target.takes & ~MC_FRAME_CPU);
}

static int ensure_backend(struct mc_scaler *s, const AVFrame *in, unsigned kind)
{
	if (s->ops && in->width == s->in_w && in->height == s->in_h && in->format == s->in_fmt && kind == s->in_kind)
		return 0;
	close_backend(s);
	for (size_t i = 0; mc_scaler_backends[i]; i++) {
		const struct mc_scaler_ops *ops = mc_scaler_backends[i];
		if (!allowed(s, ops) || (s->refused & (1u << i)))
			continue;
		void *priv = calloc(1, ops->priv_size ? ops->priv_size : 1);
		if (!priv)
			return -1;
		if (ops->open(priv, in->width, in->height, in->format, kind, &s->target) == 0) {
			s->ops = ops;
			s->priv = priv;
			s->in_w = in->width;
			s->in_h = in->height;
			s->in_fmt = in->format;
			s->in_kind = kind;
			s->at = (int)i;
			if (ops->on_device)
				mc_info("scaler", "%s: %dx%d %s -> %dx%d %s on %s", s->name, in->width, in->height,
					av_get_pix_fmt_name(in->format), s->target.width, s->target.height,
					av_get_pix_fmt_name(s->target.format), ops->name);
			return 0;
		}
		ops->close(priv);
		free(priv);
	}
	mc_err("scaler", "%s: no scaler converts %dx%d %s to %dx%d %s", s->name, in->width, in->height,
	       av_get_pix_fmt_name(in->format), s->target.width, s->target.height, av_get_pix_fmt_name(s->target.format));
	return -1;
}

/* A frame in device memory only (a VA surface, a bare DRM PRIME frame) for a CPU backend: downloaded once
 * (a copy, counted by the track like any picture the scaler makes). */
static const AVFrame *to_cpu(struct mc_scaler *s, const AVFrame *in)
{
	if (!in->hw_frames_ctx)
		return NULL;
	if (!s->cpu && !(s->cpu = av_frame_alloc()))
		return NULL;
	av_frame_unref(s->cpu);
	if (av_hwframe_transfer_data(s->cpu, in, 0) < 0 || av_frame_copy_props(s->cpu, in) < 0)
		return NULL;
	return s->cpu;
}

AVFrame *mc_scaler_run(struct mc_scaler *s, const AVFrame *in)
{
	unsigned kind = mc_frame_kind_of(in);
	const struct mc_scaler_target *t = &s->target;
	/* the same picture in memory the consumer takes: passed through (a CPU frame always is) */
	bool same = in->width == t->width && in->height == t->height &&
		    (kind & MC_FRAME_CPU ? in->format == t->format
					 : (kind & t->takes) && in->hw_frames_ctx &&
						   ((AVHWFramesContext *)in->hw_frames_ctx->data)->sw_format == t->format);
	if (same) {
		__atomic_store_n(&s->last, "none", __ATOMIC_RELAXED);
		s->last_on_device = false;
		return av_frame_clone(in);
	}
	if (!(kind & MC_FRAME_CPU) && !(kind & t->takes)) {
		/* no backend of this layer reads device memory: the picture comes down first */
		if (!(in = to_cpu(s, in)))
			return NULL;
		kind = mc_frame_kind_of(in);
	}
	if (ensure_backend(s, in, kind))
		return NULL;
	AVFrame *out = s->ops->scale(s->priv, in);
	if (!out && s->ops->on_device && ++s->failures >= 3) {
		/* a device that fails while running (gone, out of buffers, its driver wedged): the next backend
		 * takes over for good, as an encoder falls back, rather than the layer going without pictures */
		mc_err("scaler", "%s: %s failed %d times in a row; the next scaler takes over", s->name, s->ops->name,
		       s->failures);
		s->refused |= 1u << s->at;
		close_backend(s);
		if (ensure_backend(s, in, kind) == 0)
			out = s->ops->scale(s->priv, in);
	}
	if (!out)
		return NULL;
	s->failures = 0;
	AVBufferRef *keep_opaque = out->opaque_ref; /* the backend's own descriptor (a device scaler's DMABUF) */
	out->opaque_ref = NULL;
	av_frame_copy_props(out, in);
	av_buffer_unref(&out->opaque_ref); /* the input's descriptor describes the input's buffer, not this one */
	out->opaque_ref = keep_opaque;
	__atomic_store_n(&s->last, s->ops->name, __ATOMIC_RELAXED);
	s->last_on_device = s->ops->on_device && !(s->ops->copied && s->ops->copied(s->priv));
	return out;
}

const char *mc_scaler_backend_name(const struct mc_scaler *s) { return __atomic_load_n(&s->last, __ATOMIC_RELAXED); }
bool mc_scaler_on_device(const struct mc_scaler *s) { return s->last_on_device; }

AVFrame *mc_scaler_cpu_frame(struct mc_frame_pool **pool, const struct mc_scaler_target *t)
{
	if (!*pool && !(*pool = mc_frame_pool_create(t->width, t->height, t->format)))
		return NULL;
	return mc_frame_pool_get(*pool);
}
