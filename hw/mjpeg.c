#include "mjpeg.h"

#include <errno.h>
#include <libavcodec/avcodec.h>
#include <stdlib.h>
#include <string.h>

struct mc_mjpeg {
	AVCodecContext *ctx;
	AVPacket *pkt;
	AVFrame *frame;
};

void mc_mjpeg_destroy(struct mc_mjpeg *d)
{
	if (!d)
		return;
	avcodec_free_context(&d->ctx);
	av_packet_free(&d->pkt);
	av_frame_free(&d->frame);
	free(d);
}

struct mc_mjpeg *mc_mjpeg_create(void)
{
	const AVCodec *c = avcodec_find_decoder(AV_CODEC_ID_MJPEG);
	struct mc_mjpeg *d = c ? calloc(1, sizeof(*d)) : NULL;
	if (!d)
		return NULL;
	d->ctx = avcodec_alloc_context3(c);
	d->pkt = av_packet_alloc();
	d->frame = av_frame_alloc();
	if (!d->ctx || !d->pkt || !d->frame)
		goto fail;
	d->ctx->thread_count = 1;                 /* one frame in, one frame out: no frame-threading delay */
	d->ctx->err_recognition = AV_EF_EXPLODE;  /* a damaged JPEG is an error, so it is skipped */
	if (avcodec_open2(d->ctx, c, NULL) < 0)
		goto fail;
	return d;
fail:
	mc_mjpeg_destroy(d);
	return NULL;
}

int mc_mjpeg_decode(struct mc_mjpeg *d, const uint8_t *data, size_t len, int width, int height, AVFrame **out)
{
	/* a padded copy: the decoder reads past the end, and the camera's buffer goes back to the driver
	 * before decoding (a few tens of kB, not a picture copy) */
	if (len < 4 || len > (1u << 26))
		return MC_MJPEG_CORRUPT;
	if (av_new_packet(d->pkt, (int)len) < 0)
		return -ENOMEM;
	memcpy(d->pkt->data, data, len);
	int rc = avcodec_send_packet(d->ctx, d->pkt);
	av_packet_unref(d->pkt);
	if (rc == 0)
		rc = avcodec_receive_frame(d->ctx, d->frame);
	if (rc < 0 || d->frame->decode_error_flags || (d->frame->flags & AV_FRAME_FLAG_CORRUPT) ||
	    d->frame->width != width || d->frame->height != height) {
		av_frame_unref(d->frame);
		return MC_MJPEG_CORRUPT;
	}
	*out = av_frame_clone(d->frame);
	av_frame_unref(d->frame);
	return *out ? 0 : -ENOMEM;
}
