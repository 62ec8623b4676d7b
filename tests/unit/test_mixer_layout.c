/* Mixer layouts: the place of each input for each layout, with odd sizes and margins, and the aspect ratio
 * kept (letterboxed, never stretched). Every rectangle is even (4:2:0) and inside the canvas. */
#include <stdlib.h>

#include "check.h"
#include "mixer_layout.h"

#define CHECK_RECT(r, X, Y, W, H)          \
	do {                               \
		CHECK_EQ((r).x, (X));      \
		CHECK_EQ((r).y, (Y));      \
		CHECK_EQ((r).w, (W));      \
		CHECK_EQ((r).h, (H));      \
	} while (0)

static void check_sane(const struct mc_layout_params *p, const struct mc_rect *r, int n)
{
	for (int i = 0; i < n; i++) {
		CHECK(((r[i].x | r[i].y | r[i].w | r[i].h) & 1) == 0);
		CHECK(r[i].x >= 0 && r[i].y >= 0);
		CHECK(r[i].x + r[i].w <= p->width && r[i].y + r[i].h <= p->height);
	}
}

/* |w/h - in_w/in_h| within what rounding to even pixels can do */
static void check_aspect(struct mc_rect r, int in_w, int in_h)
{
	double want = (double)in_w / in_h, got = (double)r.w / r.h;
	double tol = want * (2.0 / r.w + 2.0 / r.h);
	CHECK_NEAR(got, want, tol);
}

static void test_fit(void)
{
	/* 4:3 into 16:9: pillarbox, centred */
	struct mc_rect r = mc_layout_fit((struct mc_rect){ 0, 0, 1280, 720 }, 640, 480);
	CHECK_RECT(r, 160, 0, 960, 720);
	/* 16:9 into 4:3: letterbox */
	r = mc_layout_fit((struct mc_rect){ 0, 0, 640, 480 }, 1920, 1080);
	CHECK_RECT(r, 0, 60, 640, 360);
	/* same aspect: the whole cell, offset kept */
	r = mc_layout_fit((struct mc_rect){ 100, 50, 320, 180 }, 1280, 720);
	CHECK_RECT(r, 100, 50, 320, 180);
	/* odd input sizes: even result, aspect kept */
	r = mc_layout_fit((struct mc_rect){ 0, 0, 640, 360 }, 333, 251);
	CHECK(((r.x | r.y | r.w | r.h) & 1) == 0);
	CHECK(r.h == 360 || r.h == 358);
	check_aspect(r, 333, 251);
	/* no picture, or a cell too small: empty */
	r = mc_layout_fit((struct mc_rect){ 10, 10, 640, 360 }, 0, 0);
	CHECK_EQ(r.w, 0);
	r = mc_layout_fit((struct mc_rect){ 0, 0, 1, 100 }, 640, 360);
	CHECK_EQ(r.w, 0);
	/* an extreme aspect ratio never leaves the cell */
	r = mc_layout_fit((struct mc_rect){ 0, 0, 100, 100 }, 4096, 16);
	CHECK(r.w <= 100 && r.h <= 100 && r.h >= 0);
}

static void test_single(void)
{
	struct mc_layout_params p = { .layout = MC_LAYOUT_SINGLE, .width = 1280, .height = 720, .margin = 0 };
	int w[] = { 1920 }, h[] = { 1080 };
	struct mc_rect r[1];
	CHECK_EQ(mc_layout_compute(&p, 1, w, h, r), 1);
	CHECK_RECT(r[0], 0, 0, 1280, 720);
	/* 4:3 camera in a 16:9 mix: pillarboxed */
	w[0] = 640, h[0] = 480;
	mc_layout_compute(&p, 1, w, h, r);
	CHECK_RECT(r[0], 160, 0, 960, 720);
	/* a margin all around; an odd one counts as the even one below it */
	p.margin = 17;
	w[0] = 1280, h[0] = 720;
	mc_layout_compute(&p, 1, w, h, r);
	/* the 1248x688 area is wider than 16:9: 1222 (1223.1 rounded to even) wide, centred on even pixels */
	CHECK_RECT(r[0], 28, 16, 1222, 688);
	check_sane(&p, r, 1);
	check_aspect(r[0], 1280, 720);
	/* no picture yet: the whole area */
	w[0] = h[0] = 0;
	p.margin = 0;
	mc_layout_compute(&p, 1, w, h, r);
	CHECK_RECT(r[0], 0, 0, 1280, 720);
}

static void test_pip(void)
{
	struct mc_layout_params p = { .layout = MC_LAYOUT_PIP, .width = 1280, .height = 720,
				      .pip_position = MC_CORNER_BOTTOM_RIGHT, .pip_size = 0.25, .margin = 16 };
	int w[] = { 1920, 640 }, h[] = { 1080, 480 };
	struct mc_rect r[2];
	CHECK_EQ(mc_layout_compute(&p, 2, w, h, r), 2);
	CHECK_RECT(r[0], 0, 0, 1280, 720);
	/* 320 wide (a quarter), 240 high (the camera's 4:3), 16 from the right and bottom edges */
	CHECK_RECT(r[1], 1280 - 16 - 320, 720 - 16 - 240, 320, 240);
	p.pip_position = MC_CORNER_TOP_LEFT;
	mc_layout_compute(&p, 2, w, h, r);
	CHECK_RECT(r[1], 16, 16, 320, 240);
	p.pip_position = MC_CORNER_TOP_RIGHT;
	mc_layout_compute(&p, 2, w, h, r);
	CHECK_RECT(r[1], 944, 16, 320, 240);
	p.pip_position = MC_CORNER_BOTTOM_LEFT;
	mc_layout_compute(&p, 2, w, h, r);
	CHECK_RECT(r[1], 16, 464, 320, 240);
	check_sane(&p, r, 2);
	/* a 4:3 screen under the pip: pillarboxed; the pip keeps its place */
	w[0] = 1024, h[0] = 768;
	mc_layout_compute(&p, 2, w, h, r);
	CHECK_RECT(r[0], 160, 0, 960, 720);
	/* odd canvas-fraction and odd input: even and inside */
	p.width = 642, p.height = 362, p.pip_size = 0.33, p.margin = 5;
	w[1] = 321, h[1] = 239;
	mc_layout_compute(&p, 2, w, h, r);
	check_sane(&p, r, 2);
	check_aspect(r[1], 321, 239);
	CHECK(r[1].w == 212 || r[1].w == 210);
	CHECK_EQ(r[1].x, 4); /* bottom-left; margin 5 counts as 4 */
	CHECK_EQ(r[1].y + r[1].h + 4, 362);
	/* a portrait phone in the pip is capped by the canvas height */
	p.width = 1280, p.height = 720, p.pip_size = 0.9, p.margin = 0, p.pip_position = MC_CORNER_TOP_LEFT;
	w[1] = 720, h[1] = 1280;
	mc_layout_compute(&p, 2, w, h, r);
	CHECK_EQ(r[1].h, 720);
	check_aspect(r[1], 720, 1280);
	check_sane(&p, r, 2);
	/* the pip input has no picture yet: sized with the canvas's aspect ratio */
	w[1] = h[1] = 0;
	p.pip_size = 0.25, p.margin = 16, p.pip_position = MC_CORNER_BOTTOM_RIGHT;
	mc_layout_compute(&p, 2, w, h, r);
	CHECK_RECT(r[1], 944, 524, 320, 180);
}

static void test_side_by_side(void)
{
	struct mc_layout_params p = { .layout = MC_LAYOUT_SIDE_BY_SIDE, .width = 1280, .height = 720, .margin = 0 };
	int w[] = { 1920, 1280 }, h[] = { 1080, 720 };
	struct mc_rect r[3];
	mc_layout_compute(&p, 2, w, h, r);
	/* two 640x720 cells; 16:9 pictures letterboxed in them */
	CHECK_RECT(r[0], 0, 180, 640, 360);
	CHECK_RECT(r[1], 640, 180, 640, 360);
	p.margin = 16;
	mc_layout_compute(&p, 2, w, h, r);
	/* cells (1280 - 3 * 16) / 2 = 616 wide */
	CHECK_RECT(r[0], 16, 186, 616, 346);
	CHECK_RECT(r[1], 648, 186, 616, 346);
	check_sane(&p, r, 2);
	/* three inputs, different shapes, odd canvas */
	p.width = 1002, p.height = 502, p.margin = 6;
	int w3[] = { 640, 1920, 333 }, h3[] = { 480, 1080, 501 };
	mc_layout_compute(&p, 3, w3, h3, r);
	check_sane(&p, r, 3);
	for (int i = 0; i < 3; i++)
		check_aspect(r[i], w3[i], h3[i]);
	CHECK(r[0].x + r[0].w <= r[1].x && r[1].x + r[1].w <= r[2].x); /* left to right, no overlap */
}

static void test_grid(void)
{
	struct mc_layout_params p = { .layout = MC_LAYOUT_GRID, .width = 1280, .height = 720, .margin = 0 };
	int w[] = { 1280, 1280, 1280, 1280 }, h[] = { 720, 720, 720, 720 };
	struct mc_rect r[4];
	mc_layout_compute(&p, 4, w, h, r);
	CHECK_RECT(r[0], 0, 0, 640, 360);
	CHECK_RECT(r[1], 640, 0, 640, 360);
	CHECK_RECT(r[2], 0, 360, 640, 360);
	CHECK_RECT(r[3], 640, 360, 640, 360);
	/* three: 2 x 2 with the last row centred */
	mc_layout_compute(&p, 3, w, h, r);
	CHECK_RECT(r[0], 0, 0, 640, 360);
	CHECK_RECT(r[1], 640, 0, 640, 360);
	CHECK_RECT(r[2], 320, 360, 640, 360);
	/* one: the whole canvas */
	mc_layout_compute(&p, 1, w, h, r);
	CHECK_RECT(r[0], 0, 0, 1280, 720);
	/* a margin, odd sizes, mixed shapes */
	p.width = 998, p.height = 598, p.margin = 10;
	int w4[] = { 640, 1920, 480, 333 }, h4[] = { 480, 1080, 640, 333 };
	mc_layout_compute(&p, 4, w4, h4, r);
	check_sane(&p, r, 4);
	for (int i = 0; i < 4; i++)
		check_aspect(r[i], w4[i], h4[i]);
	/* cells do not overlap: row 0 above row 1 */
	CHECK(r[0].y + r[0].h <= r[2].y && r[1].y + r[1].h <= r[3].y);
}

int main(void)
{
	RUN(test_fit);
	RUN(test_single);
	RUN(test_pip);
	RUN(test_side_by_side);
	RUN(test_grid);
	return check_done();
}
