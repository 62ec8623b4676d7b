/* Scalers: backends in hw/ with one ops table; the core wrapper picks the first backend that takes the
 * conversion and re-creates it lazily when the input's size, format or kind of memory changes (a source may
 * change mode at any time, a lost camera's placeholder frames are CPU frames).
 *
 * One frame path for CPU, DMABUF and VA frames: a backend allocates its output itself (a CPU pool, its
 * device's buffers exported as DMABUF, VA surfaces), so a device scaler hands the encoder frames it imports
 * without a copy. Which backends a layer may use depends on what its encoder takes (`takes`): a device scaler
 * only where the encoder imports its buffers, since a CPU encoder reading device memory (uncached on the Pi)
 * would cost more than the scale saved. */
#ifndef MC_SCALER_H
#define MC_SCALER_H

#include <libavutil/frame.h>
#include <stdbool.h>

#include "frame.h"

/* What the scaler makes and for whom. */
struct mc_scaler_target {
	int width, height;
	enum AVPixelFormat format; /* the pixel format of the pictures (of CPU frames; a VA frame's sw_format) */
	unsigned takes;            /* enum mc_frame_kind: what the consumer can take; 0: CPU frames */
	const char *device;        /* a device scaler's node (v4l2m2m: /dev/videoN); NULL or "": probed */
	const char *name;          /* for logs: "video/1" */
};

struct mc_scaler_ops {
	const char *name;
	size_t priv_size;
	unsigned makes;            /* enum mc_frame_kind: the kind of frames scale() returns */
	bool on_device;            /* the pixels are made by a device, not by a CPU pass */
	/* 0 when this backend converts in_w x in_h in_fmt (frames of kind `in_kind`) into `t`; else -errno. */
	int (*open)(void *priv, int in_w, int in_h, enum AVPixelFormat in_fmt, unsigned in_kind,
		    const struct mc_scaler_target *t);
	/* A new frame holding `in` converted, in memory the backend allocated; NULL on failure. The core
	 * copies the frame's properties. */
	AVFrame *(*scale)(void *priv, const AVFrame *in);
	/* A device backend: did the last scale() copy its input into device memory (a CPU frame)? NULL: never. */
	bool (*copied)(void *priv);
	void (*close)(void *priv); /* also after a failed open; frames still out stay valid */
};

struct mc_scaler;

/* For a CPU consumer (the mixer, the KMS source's conversion): CPU backends only. */
struct mc_scaler *mc_scaler_create(int out_w, int out_h, enum AVPixelFormat out_fmt);
struct mc_scaler *mc_scaler_create_for(const struct mc_scaler_target *t);
void mc_scaler_destroy(struct mc_scaler *s);
/* A new frame at the output size holding `in` converted (pts and other properties copied), or a new
 * reference to `in` itself when no conversion is needed (no copy). NULL on failure. */
AVFrame *mc_scaler_run(struct mc_scaler *s, const AVFrame *in);
/* The backend that made the last frame ("half", "swscale", "v4l2m2m", ...; "none" when it passed the
 * input through); any thread (the stats). */
const char *mc_scaler_backend_name(const struct mc_scaler *s);
/* Did the last mc_scaler_run() make its picture on a device with no CPU pass over the pixels (the input
 * imported, not copied in)? */
bool mc_scaler_on_device(const struct mc_scaler *s);

/* For CPU backends: a frame from their pool, at the target's size and format. */
AVFrame *mc_scaler_cpu_frame(struct mc_frame_pool **pool, const struct mc_scaler_target *t);

#endif
