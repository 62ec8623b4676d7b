#include "snapshot.h"

#include <errno.h>
#include <libavcodec/avcodec.h>
#include <libavutil/hwcontext.h>
#include <libavutil/imgutils.h>
#include <libswscale/swscale.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon.h"
#include "log.h"
#include "tap.h"

#define MOD "snapshot"

/* A cached picture, by name: the objects themselves are looked up on each request (a reload may have
 * replaced them; the HTTP thread holds the daemon's read lock meanwhile). */
struct entry {
	bool is_source;
	char name[MC_NAME_MAX];
	uint8_t *jpeg;
	size_t len;
	int64_t made_us;
};

struct mc_snapshots {
	pthread_mutex_t lock; /* held while a picture is made: others wait for it and take the cached one */
	const struct mc_daemon *d;
	int n;
	struct entry e[MC_MAX_SOURCES + MC_MAX_MIXES + MC_MAX_TRACKS];
	struct SwsContext *sws;
};

struct mc_snapshots *mc_snapshots_create(const struct mc_daemon *d)
{
	struct mc_snapshots *s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	pthread_mutex_init(&s->lock, NULL);
	s->d = d;
	return s;
}

/* ?source= names a source or a mix (both are producers), ?track= a track. */
static struct mc_tap *find_tap(const struct mc_daemon *d, bool is_source, const char *name)
{
	if (!is_source) {
		for (int i = 0; i < d->n_tracks; i++)
			if (strcmp(d->tracks[i]->cfg->name, name) == 0)
				return &d->tracks[i]->tap;
		return NULL;
	}
	for (int i = 0; i < d->n_sources; i++)
		if (strcmp(d->sources[i]->cfg->name, name) == 0)
			return &d->sources[i]->out.tap;
	for (int i = 0; i < d->n_mixes; i++)
		if (strcmp(d->mixes[i]->cfg->name, name) == 0)
			return &d->mixes[i]->out.tap;
	return NULL;
}

/* The cache slot of `name` (under s->lock); a full table reuses its oldest slot. */
static struct entry *slot(struct mc_snapshots *s, bool is_source, const char *name)
{
	struct entry *oldest = &s->e[0];
	for (int i = 0; i < s->n; i++) {
		if (s->e[i].is_source == is_source && strcmp(s->e[i].name, name) == 0)
			return &s->e[i];
		if (s->e[i].made_us < oldest->made_us)
			oldest = &s->e[i];
	}
	struct entry *e = s->n < (int)(sizeof(s->e) / sizeof(s->e[0])) ? &s->e[s->n++] : oldest;
	free(e->jpeg);
	*e = (struct entry){ .is_source = is_source };
	snprintf(e->name, sizeof(e->name), "%s", name);
	return e;
}

void mc_snapshots_destroy(struct mc_snapshots *s)
{
	if (!s)
		return;
	for (int i = 0; i < s->n; i++)
		free(s->e[i].jpeg);
	sws_freeContext(s->sws);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

/* Full-range I420 (what a JPEG holds) from any frame the pipeline carries; the source frame is released
 * by the caller right after, so a camera buffer goes back to its driver at once. */
static AVFrame *to_jpeg_yuv(struct mc_snapshots *s, const AVFrame *in)
{
	AVFrame *sw = NULL;
	if (in->hw_frames_ctx) { /* a hardware surface: download it */
		sw = av_frame_alloc();
		if (!sw || av_hwframe_transfer_data(sw, in, 0) < 0) {
			av_frame_free(&sw);
			return NULL;
		}
		in = sw;
	}
	AVFrame *out = av_frame_alloc();
	if (!out)
		goto fail;
	out->format = AV_PIX_FMT_YUV420P;
	out->width = in->width & ~1;
	out->height = in->height & ~1;
	out->color_range = AVCOL_RANGE_JPEG;
	if (av_frame_get_buffer(out, 0) < 0)
		goto fail;
	s->sws = sws_getCachedContext(s->sws, in->width, in->height, in->format, out->width, out->height,
				      AV_PIX_FMT_YUV420P, SWS_POINT, NULL, NULL, NULL);
	if (!s->sws)
		goto fail;
	const int *coef = sws_getCoefficients(SWS_CS_ITU601);
	bool src_full = in->color_range == AVCOL_RANGE_JPEG;
	sws_setColorspaceDetails(s->sws, coef, src_full, coef, 1, 0, 1 << 16, 1 << 16);
	if (sws_scale(s->sws, (const uint8_t *const *)in->data, in->linesize, 0, in->height, out->data, out->linesize) <= 0)
		goto fail;
	av_frame_free(&sw);
	return out;
fail:
	av_frame_free(&sw);
	av_frame_free(&out);
	return NULL;
}

static int encode(const AVFrame *f, uint8_t **jpeg, size_t *len)
{
	const AVCodec *codec = avcodec_find_encoder(AV_CODEC_ID_MJPEG);
	if (!codec)
		return -ENOTSUP;
	AVCodecContext *c = avcodec_alloc_context3(codec);
	AVPacket *pkt = av_packet_alloc();
	int rc = -ENOMEM;
	if (!c || !pkt)
		goto out;
	c->width = f->width;
	c->height = f->height;
	c->pix_fmt = AV_PIX_FMT_YUV420P;
	c->color_range = AVCOL_RANGE_JPEG; /* full range I420: a baseline JPEG without the deprecated yuvj formats */
	c->time_base = (AVRational){ 1, 25 };
	c->flags |= AV_CODEC_FLAG_QSCALE;
	c->global_quality = FF_QP2LAMBDA * 4; /* about quality 85 */
	if ((rc = avcodec_open2(c, codec, NULL)) < 0 || (rc = avcodec_send_frame(c, f)) < 0 ||
	    (rc = avcodec_receive_packet(c, pkt)) < 0)
		goto out;
	*jpeg = malloc((size_t)pkt->size);
	rc = -ENOMEM;
	if (!*jpeg)
		goto out;
	memcpy(*jpeg, pkt->data, (size_t)pkt->size);
	*len = (size_t)pkt->size;
	rc = 0;
out:
	av_packet_free(&pkt);
	avcodec_free_context(&c);
	return rc;
}

static int make(struct mc_snapshots *s, struct entry *e, struct mc_tap *tap)
{
	AVFrame *f = mc_tap_grab(tap, MC_SNAPSHOT_WAIT_MS);
	if (!f)
		return -EAGAIN;
	AVFrame *yuv = to_jpeg_yuv(s, f);
	av_frame_free(&f);
	if (!yuv)
		return -ENOMEM;
	uint8_t *jpeg = NULL;
	size_t len = 0;
	int rc = encode(yuv, &jpeg, &len);
	av_frame_free(&yuv);
	if (rc) {
		mc_warn(MOD, "%s %s: MJPEG encoding failed: %s", e->is_source ? "source" : "track", e->name, av_err2str(rc));
		return rc;
	}
	free(e->jpeg);
	e->jpeg = jpeg;
	e->len = len;
	e->made_us = mc_now_us();
	return 0;
}

int mc_snapshot_get(struct mc_snapshots *s, bool is_source, const char *name, uint8_t **jpeg, size_t *len)
{
	struct mc_tap *tap = find_tap(s->d, is_source, name);
	if (!tap)
		return -ENOENT;
	pthread_mutex_lock(&s->lock);
	struct entry *e = slot(s, is_source, name);
	int rc = 0;
	if (!e->jpeg || mc_now_us() - e->made_us >= MC_SNAPSHOT_CACHE_US)
		rc = make(s, e, tap);
	if (!rc) {
		*jpeg = malloc(e->len);
		*len = e->len;
		if (*jpeg)
			memcpy(*jpeg, e->jpeg, e->len);
		else
			rc = -ENOMEM;
	}
	pthread_mutex_unlock(&s->lock);
	return rc;
}
