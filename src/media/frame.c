#include "frame.h"

#include <libavutil/buffer.h>
#include <libavutil/common.h>
#include <libavutil/imgutils.h>
#include <libavutil/pixdesc.h>
#include <string.h>
#include <stdlib.h>

struct mc_frame_pool {
	int width, height;
	enum AVPixelFormat format;
	int size;
	AVBufferPool *buffers;
};

struct mc_frame_pool *mc_frame_pool_create(int width, int height, enum AVPixelFormat format)
{
	struct mc_frame_pool *p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->width = width;
	p->height = height;
	p->format = format;
	/* 64-byte aligned lines: what libswscale's and the encoders' SIMD code like best */
	p->size = av_image_get_buffer_size(format, width, height, 64);
	if (p->size > 0)
		p->buffers = av_buffer_pool_init((size_t)p->size + 64, NULL);
	if (!p->buffers) {
		free(p);
		return NULL;
	}
	return p;
}

void mc_frame_pool_destroy(struct mc_frame_pool *pool)
{
	if (!pool)
		return;
	/* frames still out keep the pool's buffers alive; av_buffer_pool_uninit frees it when they return */
	av_buffer_pool_uninit(&pool->buffers);
	free(pool);
}

AVFrame *mc_frame_pool_get(struct mc_frame_pool *pool)
{
	AVFrame *f = av_frame_alloc();
	if (!f)
		return NULL;
	f->buf[0] = av_buffer_pool_get(pool->buffers);
	if (!f->buf[0]) {
		av_frame_free(&f);
		return NULL;
	}
	f->width = pool->width;
	f->height = pool->height;
	f->format = pool->format;
	uint8_t *base = (uint8_t *)(((uintptr_t)f->buf[0]->data + 63) & ~(uintptr_t)63);
	if (av_image_fill_arrays(f->data, f->linesize, base, pool->format, pool->width, pool->height, 64) < 0) {
		av_frame_free(&f);
		return NULL;
	}
	return f;
}

int mc_frame_pool_width(const struct mc_frame_pool *pool) { return pool->width; }
int mc_frame_pool_height(const struct mc_frame_pool *pool) { return pool->height; }
enum AVPixelFormat mc_frame_pool_format(const struct mc_frame_pool *pool) { return pool->format; }

const struct mc_frame_dmabuf *mc_frame_get_dmabuf(const AVFrame *f)
{
	if (!f->opaque_ref || f->opaque_ref->size != sizeof(struct mc_frame_dmabuf))
		return NULL;
	const struct mc_frame_dmabuf *d = (const struct mc_frame_dmabuf *)f->opaque_ref->data;
	return d->map == f->data[0] ? d : NULL;
}

unsigned mc_frame_kind_of(const AVFrame *f)
{
	if (f->format == AV_PIX_FMT_VAAPI)
		return MC_FRAME_VAAPI;
	if (f->format == AV_PIX_FMT_DRM_PRIME)
		return MC_FRAME_DMABUF;
	return MC_FRAME_CPU | (mc_frame_get_dmabuf(f) ? MC_FRAME_DMABUF : 0);
}
