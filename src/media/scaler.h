/* Scalers: backends in hw/ with one ops table; the core wrapper re-creates the backend lazily when the
 * input's size or format changes (a source may change mode at any time). */
#ifndef MC_SCALER_H
#define MC_SCALER_H

#include <libavutil/frame.h>

struct mc_scaler_ops {
	const char *name;
	size_t priv_size;
	int (*open)(void *priv, int in_w, int in_h, enum AVPixelFormat in_fmt, int out_w, int out_h,
		    enum AVPixelFormat out_fmt);
	/* Writes into `out`, whose buffers the caller allocated at the output size and format. */
	int (*scale)(void *priv, const AVFrame *in, AVFrame *out);
	void (*close)(void *priv);
};

struct mc_scaler;

struct mc_scaler *mc_scaler_create(int out_w, int out_h, enum AVPixelFormat out_fmt);
void mc_scaler_destroy(struct mc_scaler *s);
/* A new frame at the output size holding `in` scaled (pts and other properties copied), or a new
 * reference to `in` itself when no conversion is needed (no copy). NULL on failure. */
AVFrame *mc_scaler_run(struct mc_scaler *s, const AVFrame *in);

#endif
