#include "scaler.h"

#include <libavutil/pixdesc.h>
#include <stdlib.h>

#include "frame.h"
#include "log.h"
#include "registry.h"

struct mc_scaler {
	int out_w, out_h;
	enum AVPixelFormat out_fmt;
	const struct mc_scaler_ops *ops;
	void *priv;
	int in_w, in_h;
	enum AVPixelFormat in_fmt;
	struct mc_frame_pool *pool;
};

struct mc_scaler *mc_scaler_create(int out_w, int out_h, enum AVPixelFormat out_fmt)
{
	struct mc_scaler *s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->out_w = out_w;
	s->out_h = out_h;
	s->out_fmt = out_fmt;
	s->in_fmt = AV_PIX_FMT_NONE;
	s->pool = mc_frame_pool_create(out_w, out_h, out_fmt);
	if (!s->pool) {
		free(s);
		return NULL;
	}
	return s;
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
	mc_frame_pool_destroy(s->pool);
	free(s);
}

static int ensure_backend(struct mc_scaler *s, const AVFrame *in)
{
	if (s->ops && in->width == s->in_w && in->height == s->in_h && in->format == s->in_fmt)
		return 0;
	close_backend(s);
	for (size_t i = 0; mc_scaler_backends[i]; i++) {
		const struct mc_scaler_ops *ops = mc_scaler_backends[i];
		void *priv = calloc(1, ops->priv_size ? ops->priv_size : 1);
		if (!priv)
			return -1;
		if (ops->open(priv, in->width, in->height, in->format, s->out_w, s->out_h, s->out_fmt) == 0) {
			s->ops = ops;
			s->priv = priv;
			s->in_w = in->width;
			s->in_h = in->height;
			s->in_fmt = in->format;
			return 0;
		}
		ops->close(priv);
		free(priv);
	}
	mc_err("scaler", "no scaler converts %dx%d %s to %dx%d %s", in->width, in->height,
	       av_get_pix_fmt_name(in->format), s->out_w, s->out_h, av_get_pix_fmt_name(s->out_fmt));
	return -1;
}

AVFrame *mc_scaler_run(struct mc_scaler *s, const AVFrame *in)
{
	if (in->width == s->out_w && in->height == s->out_h && in->format == s->out_fmt)
		return av_frame_clone(in);
	if (ensure_backend(s, in))
		return NULL;
	AVFrame *out = mc_frame_pool_get(s->pool);
	if (!out)
		return NULL;
	av_frame_copy_props(out, in);
	av_buffer_unref(&out->opaque_ref); /* a device buffer's descriptor (frame.h): not this picture's */
	if (s->ops->scale(s->priv, in, out)) {
		av_frame_free(&out);
		return NULL;
	}
	return out;
}
