#include "encoder.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "registry.h"

struct mc_encoder {
	const struct mc_encoder_ops *ops;
	void *priv;
	enum AVPixelFormat input_format;
};

static const char *codec_name(enum mc_codec c) { return c == MC_CODEC_VP8 ? "vp8" : "h264"; }

static int try_open(struct mc_encoder *e, const struct mc_encoder_ops *ops, const struct mc_encoder_params *p)
{
	e->ops = ops;
	e->priv = calloc(1, ops->priv_size ? ops->priv_size : 1);
	if (!e->priv)
		return -ENOMEM;
	int rc = ops->open(e->priv, p, &e->input_format);
	if (rc) {
		ops->close(e->priv);
		free(e->priv);
		e->priv = NULL;
		e->ops = NULL;
	}
	return rc;
}

int mc_encoder_create(struct mc_encoder **out, enum mc_encoder_choice choice, const struct mc_encoder_params *p)
{
	*out = NULL;
	struct mc_encoder *e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	int rc = -ENOENT;
	for (size_t i = 0; mc_encoder_backends[i]; i++) {
		const struct mc_encoder_ops *ops = mc_encoder_backends[i];
		if (choice == MC_ENCODER_SOFTWARE && strcmp(ops->name, "software") != 0)
			continue;
		if (!ops->probe(p->codec)) {
			mc_info("encoder", "%s: %s cannot encode %s here", p->name, ops->name, codec_name(p->codec));
			continue;
		}
		rc = try_open(e, ops, p);
		if (rc == 0) {
			mc_info("encoder", "%s: %s %s %dx%d@%d %d kbit/s", p->name, ops->name, codec_name(p->codec),
				p->width, p->height, p->fps, p->bitrate / 1000);
			*out = e;
			return 0;
		}
		mc_warn("encoder", "%s: %s failed to open (%s); trying the next backend", p->name, ops->name,
			strerror(-rc));
	}
	mc_err("encoder", "%s: no encoder backend can encode %s %dx%d", p->name, codec_name(p->codec), p->width,
	       p->height);
	free(e);
	return rc;
}

void mc_encoder_destroy(struct mc_encoder *e)
{
	if (!e)
		return;
	if (e->ops)
		e->ops->close(e->priv);
	free(e->priv);
	free(e);
}

const char *mc_encoder_backend_name(const struct mc_encoder *e) { return e->ops->name; }
enum AVPixelFormat mc_encoder_input_format(const struct mc_encoder *e) { return e->input_format; }
int mc_encoder_send(struct mc_encoder *e, const AVFrame *frame, bool keyframe)
{
	return e->ops->send_frame(e->priv, frame, keyframe);
}
int mc_encoder_receive(struct mc_encoder *e, AVPacket *pkt) { return e->ops->receive_packet(e->priv, pkt); }
int mc_encoder_set_bitrate(struct mc_encoder *e, int bitrate)
{
	return e->ops->set_bitrate ? e->ops->set_bitrate(e->priv, bitrate) : -ENOTSUP;
}
