/* Encoders: backends in hw/ fill one ops table; the core (this file's .c) picks one. Keyframe timing lives
 * in the track, so backends stay thin (submit a frame with a keyframe flag, receive packets, -EAGAIN). */
#ifndef MC_ENCODER_H
#define MC_ENCODER_H

#include <libavcodec/packet.h>
#include <libavutil/frame.h>
#include <stdbool.h>

#include "config.h"

struct mc_encoder_params {
	enum mc_codec codec;
	int width, height, fps;
	int bitrate;      /* bit/s */
	int gop;          /* the backend's own keyframe distance: a safety net, the core forces keyframes */
	const char *preset;
	int threads;      /* 0: the backend's choice */
	/* The pixel format the layer's pictures come in when the scaler passes the source's frames through
	 * (a layer of the source's size): a backend that takes it avoids a conversion. NONE: no preference. */
	enum AVPixelFormat source_format;
	const char *name; /* for logs, e.g. "video/0" */
};

struct mc_encoder_ops {
	const char *name;
	size_t priv_size;
	/* Can this backend encode `codec` on this machine? Asks the device, not a table. Logs why not. */
	bool (*probe)(enum mc_codec codec);
	/* On success, *input_format is the pixel format send_frame() takes. */
	int (*open)(void *priv, const struct mc_encoder_params *p, enum AVPixelFormat *input_format);
	/* frame->pts: capture time (us). NULL frame: flush. -EAGAIN: receive packets first. */
	int (*send_frame)(void *priv, const AVFrame *frame, bool keyframe);
	/* 0 with a packet (pts = the frame's capture time, Annex B for H.264), -EAGAIN, or -EPIPE when flushed. */
	int (*receive_packet)(void *priv, AVPacket *pkt);
	void (*close)(void *priv); /* also after a failed open */
};

struct mc_encoder;

/* Picks a backend for `choice` (auto: the first in registry order whose probe and open succeed). */
int mc_encoder_create(struct mc_encoder **out, enum mc_encoder_choice choice, const struct mc_encoder_params *p);
void mc_encoder_destroy(struct mc_encoder *e);
const char *mc_encoder_backend_name(const struct mc_encoder *e);
enum AVPixelFormat mc_encoder_input_format(const struct mc_encoder *e);
int mc_encoder_send(struct mc_encoder *e, const AVFrame *frame, bool keyframe);
int mc_encoder_receive(struct mc_encoder *e, AVPacket *pkt);

#endif
