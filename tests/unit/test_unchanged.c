/* The sampled unchanged-picture check: the same buffer is equal at once; a change of STEP rows or more is
 * seen by the first call; a one-row change within STEP calls, and never reported as equal for longer. */
#include <stdlib.h>

#include "check.h"
#include "frame.h"
#include "unchanged.h"

static AVFrame *frame(struct mc_frame_pool *pool, uint8_t fill)
{
	AVFrame *f = mc_frame_pool_get(pool);
	for (int p = 0; p < 3; p++) {
		int h = p ? f->height / 2 : f->height, w = p ? f->width / 2 : f->width;
		for (int y = 0; y < h; y++)
			memset(f->data[p] + (size_t)y * f->linesize[p], fill, (size_t)w);
	}
	return f;
}

static void test_frames(void)
{
	struct mc_frame_pool *pool = mc_frame_pool_create(64, 48, AV_PIX_FMT_YUV420P);
	struct mc_unchanged u = { 0 };
	AVFrame *a = frame(pool, 50), *b = frame(pool, 50), *c = av_frame_clone(a);
	CHECK(mc_unchanged_frames(&u, a, c)); /* the same buffer */
	for (int i = 0; i < 2 * MC_UNCHANGED_STEP; i++)
		CHECK(mc_unchanged_frames(&u, a, b)); /* equal pixels, other buffer */
	/* a band of STEP rows: seen at every phase */
	for (int y = 10; y < 10 + MC_UNCHANGED_STEP; y++)
		b->data[0][y * b->linesize[0] + 5] = 51;
	for (int i = 0; i < MC_UNCHANGED_STEP; i++)
		CHECK(!mc_unchanged_frames(&u, a, b));
	/* one pixel of one chroma row: seen within STEP calls */
	AVFrame *d = frame(pool, 50);
	d->data[2][7 * d->linesize[2] + 3] = 0;
	int seen = 0;
	for (int i = 0; i < MC_UNCHANGED_STEP; i++)
		seen += !mc_unchanged_frames(&u, a, d);
	CHECK_EQ(seen, 1);
	/* the last row and the last byte of a row are compared too */
	AVFrame *e = frame(pool, 50);
	e->data[0][47 * e->linesize[0] + 63] = 9;
	seen = 0;
	for (int i = 0; i < MC_UNCHANGED_STEP; i++)
		seen += !mc_unchanged_frames(&u, a, e);
	CHECK_EQ(seen, 1);
	/* geometry */
	struct mc_frame_pool *other = mc_frame_pool_create(64, 50, AV_PIX_FMT_YUV420P);
	AVFrame *f = frame(other, 50);
	CHECK(!mc_unchanged_frames(&u, a, f));
	av_frame_free(&a);
	av_frame_free(&b);
	av_frame_free(&c);
	av_frame_free(&d);
	av_frame_free(&e);
	av_frame_free(&f);
	mc_frame_pool_destroy(pool);
	mc_frame_pool_destroy(other);
}

int main(void)
{
	RUN(test_frames);
	return check_done();
}
