/* swscale: libswscale on the CPU. Bilinear: for 2:1 steps of a simulcast pyramid it is as sharp as the
 * encoders can use and several times cheaper than bicubic. */
#include <errno.h>
#include <libswscale/swscale.h>

#include "scaler.h"

struct swscale {
	struct SwsContext *ctx;
};

static int sws_open(void *priv, int in_w, int in_h, enum AVPixelFormat in_fmt, int out_w, int out_h,
		    enum AVPixelFormat out_fmt)
{
	struct swscale *s = priv;
	s->ctx = sws_getContext(in_w, in_h, in_fmt, out_w, out_h, out_fmt, SWS_BILINEAR, NULL, NULL, NULL);
	return s->ctx ? 0 : -EINVAL;
}

static int sws_run(void *priv, const AVFrame *in, AVFrame *out)
{
	struct swscale *s = priv;
	int h = sws_scale(s->ctx, (const uint8_t *const *)in->data, in->linesize, 0, in->height, out->data,
			  out->linesize);
	return h > 0 ? 0 : -EIO;
}

static void sws_close(void *priv)
{
	struct swscale *s = priv;
	sws_freeContext(s->ctx);
}

const struct mc_scaler_ops mc_scaler_swscale = {
	.name = "swscale",
	.priv_size = sizeof(struct swscale),
	.open = sws_open,
	.scale = sws_run,
	.close = sws_close,
};
