/* swscale: libswscale on the CPU. Bilinear: for 2:1 steps of a simulcast pyramid it is as sharp as the
 * encoders can use and several times cheaper than bicubic. */
#include <errno.h>
#include <libswscale/swscale.h>

#include "scaler.h"

struct swscale {
	struct SwsContext *ctx;
	struct mc_scaler_target t;
	struct mc_frame_pool *pool;
};

static int sws_open(void *priv, int in_w, int in_h, enum AVPixelFormat in_fmt, unsigned in_kind,
		    const struct mc_scaler_target *t)
{
	struct swscale *s = priv;
	if (!(in_kind & MC_FRAME_CPU))
		return -ENOTSUP;
	s->t = *t;
	s->ctx = sws_getContext(in_w, in_h, in_fmt, t->width, t->height, t->format, SWS_BILINEAR, NULL, NULL, NULL);
	return s->ctx ? 0 : -EINVAL;
}

static AVFrame *sws_run(void *priv, const AVFrame *in)
{
	struct swscale *s = priv;
	AVFrame *out = mc_scaler_cpu_frame(&s->pool, &s->t);
	if (out && sws_scale(s->ctx, (const uint8_t *const *)in->data, in->linesize, 0, in->height, out->data,
			     out->linesize) <= 0)
		av_frame_free(&out);
	return out;
}

static void sws_close(void *priv)
{
	struct swscale *s = priv;
	sws_freeContext(s->ctx);
	mc_frame_pool_destroy(s->pool);
}

const struct mc_scaler_ops mc_scaler_swscale = {
	.name = "swscale",
	.priv_size = sizeof(struct swscale),
	.makes = MC_FRAME_CPU,
	.open = sws_open,
	.scale = sws_run,
	.close = sws_close,
};
