/* Encoders: backends in hw/ fill one ops table; the core (this file's .c) picks one. Keyframe timing lives
 * in the track, so backends stay thin (submit a frame with a keyframe flag, receive packets, -EAGAIN). */
#ifndef MC_ENCODER_H
#define MC_ENCODER_H

#include <libavcodec/packet.h>
#include <libavutil/frame.h>
#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "frame.h"

struct mc_encoder_params {
	enum mc_codec codec;
	int width, height, fps;
	int bitrate;      /* bit/s */
	int gop;          /* the backend's own keyframe distance: a safety net, the core forces keyframes */
	const char *preset;
	int threads;      /* 0: the backend's (library's) choice; the track resolves threads = auto */
	bool screen;      /* screen content (the track skips unchanged frames): encoders that have a mode use it */
	/* The pixel format the layer's pictures come in when the scaler passes the source's frames through
	 * (a layer of the source's size): a backend that takes it avoids a conversion. NONE: no preference. */
	enum AVPixelFormat source_format;
	const char *name; /* for logs, e.g. "video/0" */
	const char *device; /* the track's encoder_device (a V4L2 node for v4l2m2m); NULL or "": probed */
};

struct mc_encoder_ops {
	const char *name;
	size_t priv_size;
	/* enum mc_frame_kind (frame.h): the kinds of frames send_frame() takes. Every backend takes CPU frames in
	 * the format open() returned; a hardware one also a buffer it imports without a copy (a DMABUF, a VA
	 * surface of its device). The track's scaler makes each layer the kind with the fewest copies. */
	unsigned inputs;
	/* Can this backend encode `codec` at p's size and rate on this machine? Asks the device, not a table.
	 * false with the reason in `why` (for the log and mixcast-probe): "no VA-API device", "not built", ... */
	bool (*probe)(const struct mc_encoder_params *p, char *why, size_t why_len);
	/* On success, *input_format is the pixel format send_frame() takes (of CPU frames). */
	int (*open)(void *priv, const struct mc_encoder_params *p, enum AVPixelFormat *input_format);
	/* frame->pts: capture time (us). NULL frame: flush. -EAGAIN: receive packets first. `keyframe`: this
	 * frame must be an IDR with SPS/PPS in band (keyframes on request: PLI/FIR, a fallback, the GOP). */
	int (*send_frame)(void *priv, const AVFrame *frame, bool keyframe);
	/* 0 with a packet (pts = the frame's capture time, Annex B for H.264), -EAGAIN, or -EPIPE when flushed. */
	int (*receive_packet)(void *priv, AVPacket *pkt);
	/* Between frames, from the layer's own thread: a new target bitrate (bit/s) from congestion control.
	 * 0 when the next frame is encoded at it; -EAGAIN: not now, ask again later; -errno when the backend
	 * cannot (the old rate stays). NULL: the backend keeps its opening bitrate. */
	int (*set_bitrate)(void *priv, int bitrate);
	/* Pictures the backend copied so far (a CPU frame into device memory): the stats' count of copies on
	 * the path. NULL: the backend copies none. Read on the layer's thread after each frame. */
	uint64_t (*copies)(void *priv);
	void (*close)(void *priv); /* also after a failed open */
};

struct mc_encoder;

/* The backends `choice` tries, in order, for a layer: auto is vaapi, v4l2m2m, software; a named backend is
 * itself and then software. Fills `chain` (backends this build has) and returns their number. */
int mc_encoder_chain(enum mc_encoder_choice choice, const struct mc_encoder_ops **chain, int max);
/* The same by name, including backends this build lacks (for mixcast-probe to say so). */
int mc_encoder_chain_names(enum mc_encoder_choice choice, const char **names, int max);
/* The backend called `name` in this build, or NULL. */
const struct mc_encoder_ops *mc_encoder_find(const char *name);

/* Opens the first backend of `choice`'s chain whose probe and open succeed, and logs what it chose for the
 * layer and why. The rest of the chain is the fallback: a backend that fails while streaming (an error from
 * send/receive, or no output for longer than a few frame intervals) is closed and the next one opened, and
 * its first frame is a keyframe. The caller's RTP state is untouched, so the wire sees no gap. */
int mc_encoder_create(struct mc_encoder **out, enum mc_encoder_choice choice, const struct mc_encoder_params *p);
void mc_encoder_destroy(struct mc_encoder *e);
/* The backend in use now; safe from any thread (the stats). */
const char *mc_encoder_backend_name(const struct mc_encoder *e);
/* threads = auto: the threads (slices) a layer of p's size and rate needs on `cores` cores. */
int mc_encoder_auto_threads(const struct mc_encoder_params *p, int cores);
/* How many times this layer fell back to the next backend; any thread. */
uint64_t mc_encoder_fallbacks(const struct mc_encoder *e);
enum AVPixelFormat mc_encoder_input_format(const struct mc_encoder *e);
/* enum mc_frame_kind: what the backend in use takes (ops->inputs). */
unsigned mc_encoder_input_kinds(const struct mc_encoder *e);
/* Pictures the backends of this layer copied (ops->copies, summed over fallbacks); any thread. */
uint64_t mc_encoder_copies(const struct mc_encoder *e);
int mc_encoder_send(struct mc_encoder *e, const AVFrame *frame, bool keyframe);
int mc_encoder_receive(struct mc_encoder *e, AVPacket *pkt);
/* -ENOTSUP when the backend has no set_bitrate. */
int mc_encoder_set_bitrate(struct mc_encoder *e, int bitrate);

#endif
