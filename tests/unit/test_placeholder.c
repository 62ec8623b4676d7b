/* The "no signal" placeholder (src/placeholder.c) and the built-in font it shares with testsrc: every
 * glyph pixel of the text lands where the layout says, the rest is the plain slate. */
#include <errno.h>
#include <string.h>

#include "check.h"
#include "font.h"
#include "frame.h"
#include "placeholder.h"

static int luma(const AVFrame *f, int x, int y) { return f->data[0][(size_t)y * f->linesize[0] + x]; }

/* Each line drawn as the font says at the layout's position; every other luma pixel the background. */
static void check_picture(const AVFrame *f, const char *const *lines, int n)
{
	int text_pixels = 0, wrong = 0;
	static unsigned char expect[1080][1920];
	memset(expect, 0, sizeof(expect));
	for (int i = 0; i < n; i++) {
		int x, y, scale;
		mc_placeholder_layout(f->width, f->height, lines, n, i, &x, &y, &scale);
		CHECK(x >= 0 && y >= 0);
		CHECK(x + mc_font_text_width(lines[i], scale) <= f->width);
		for (int c = 0; lines[i][c]; c++)
			for (int row = 0; row < MC_FONT_H; row++)
				for (int col = 0; col < MC_FONT_W; col++)
					if (mc_font_pixel(lines[i][c], row, col))
						for (int dy = 0; dy < scale; dy++)
							for (int dx = 0; dx < scale; dx++)
								expect[y + row * scale + dy]
								      [x + (c * MC_FONT_ADVANCE + col) * scale + dx] = 1;
	}
	for (int y = 0; y < f->height; y++)
		for (int x = 0; x < f->width; x++) {
			int want = expect[y][x] ? MC_PLACEHOLDER_FG : MC_PLACEHOLDER_BG;
			text_pixels += expect[y][x];
			wrong += luma(f, x, y) != want;
		}
	CHECK(text_pixels > 100);
	CHECK_EQ(wrong, 0);
}

static void test_draw_i420(void)
{
	struct mc_frame_pool *pool = mc_frame_pool_create(640, 360, AV_PIX_FMT_YUV420P);
	AVFrame *f = mc_frame_pool_get(pool);
	memset(f->data[1], 7, (size_t)f->linesize[1] * 180); /* dirty, as a recycled pool frame is */
	const char *lines[] = { "camera", "no signal", "0:05" };
	CHECK_EQ(mc_placeholder_draw(f, lines, 3), 0);
	check_picture(f, lines, 3);
	int bad_chroma = 0;
	for (int y = 0; y < 180; y++)
		for (int x = 0; x < 320; x++)
			bad_chroma += f->data[1][y * f->linesize[1] + x] != 128 || f->data[2][y * f->linesize[2] + x] != 128;
	CHECK_EQ(bad_chroma, 0);
	/* the lines are centred and stacked in order */
	int x0, y0, x1, y1, s0, s1;
	mc_placeholder_layout(640, 360, lines, 3, 0, &x0, &y0, &s0);
	mc_placeholder_layout(640, 360, lines, 3, 1, &x1, &y1, &s1);
	CHECK_EQ(s0, s1);
	CHECK(y1 > y0);
	CHECK_EQ(x0, (640 - mc_font_text_width("camera", s0)) / 2);
	av_frame_free(&f);
	mc_frame_pool_destroy(pool);
}

static void test_draw_nv12_and_small(void)
{
	struct mc_frame_pool *pool = mc_frame_pool_create(160, 90, AV_PIX_FMT_NV12);
	AVFrame *f = mc_frame_pool_get(pool);
	/* a long name at a small size: drawn smaller, down to scale 1, still inside the picture */
	const char *lines[] = { "a-rather-long-camera-name", "no signal" };
	CHECK_EQ(mc_placeholder_draw(f, lines, 2), 0);
	int x, y, scale;
	mc_placeholder_layout(160, 90, lines, 2, 0, &x, &y, &scale);
	CHECK_EQ(scale, 1);
	const char *fits[] = { "cam", "no signal" };
	CHECK_EQ(mc_placeholder_draw(f, fits, 2), 0);
	check_picture(f, fits, 2);
	int bad_chroma = 0;
	for (int yy = 0; yy < 45; yy++)
		for (int xx = 0; xx < 160; xx++)
			bad_chroma += f->data[1][yy * f->linesize[1] + xx] != 128;
	CHECK_EQ(bad_chroma, 0);
	av_frame_free(&f);
	mc_frame_pool_destroy(pool);
	/* 1080p: a larger scale */
	pool = mc_frame_pool_create(1920, 1080, AV_PIX_FMT_YUV420P);
	f = mc_frame_pool_get(pool);
	CHECK_EQ(mc_placeholder_draw(f, fits, 2), 0);
	mc_placeholder_layout(1920, 1080, fits, 2, 0, &x, &y, &scale);
	CHECK(scale >= 8);
	check_picture(f, fits, 2);
	av_frame_free(&f);
	mc_frame_pool_destroy(pool);
	/* another pixel format is refused, not drawn wrongly */
	pool = mc_frame_pool_create(64, 64, AV_PIX_FMT_YUYV422);
	f = mc_frame_pool_get(pool);
	CHECK_EQ(mc_placeholder_draw(f, fits, 2), -EINVAL);
	av_frame_free(&f);
	mc_frame_pool_destroy(pool);
}

static void test_font(void)
{
	/* lower case is upper case; a character without a glyph is blank */
	for (int r = 0; r < MC_FONT_H; r++)
		for (int c = 0; c < MC_FONT_W; c++) {
			CHECK_EQ(mc_font_pixel('n', r, c), mc_font_pixel('N', r, c));
			CHECK(!mc_font_pixel('#', r, c));
			CHECK(!mc_font_pixel(' ', r, c));
		}
	CHECK(mc_font_has('q') && mc_font_has('7') && mc_font_has(':') && !mc_font_has('#'));
	/* '1': the middle column is set in every row but the first, where the top stroke starts */
	for (int r = 1; r < MC_FONT_H; r++)
		CHECK(mc_font_pixel('1', r, 2));
	CHECK(!mc_font_pixel('1', 0, 4));
	CHECK(!mc_font_pixel('A', 7, 0) && !mc_font_pixel('A', 0, 5)); /* out of the glyph */
	CHECK_EQ(mc_font_text_width("ab", 3), 11 * 3);
	CHECK_EQ(mc_font_text_width("", 3), 0);
	/* drawing with a box: the box is there around the glyph, clipped blocks are left out */
	uint8_t plane[20 * 20];
	memset(plane, 0, sizeof(plane));
	mc_font_draw(plane, 20, 20, 20, 2, 2, 1, "1", 200, 50);
	CHECK_EQ(plane[1 * 20 + 1], 50);   /* box corner */
	CHECK_EQ(plane[3 * 20 + 4], 200);  /* '1' row 1, column 2 */
	CHECK_EQ(plane[0], 0);             /* outside */
	mc_font_draw(plane, 20, 20, 20, 17, 17, 1, "8", 200, -1); /* mostly outside: no write past the plane */
	CHECK_EQ(plane[19 * 20 + 19], 0);
}

int main(void)
{
	RUN(test_draw_i420);
	RUN(test_draw_nv12_and_small);
	RUN(test_font);
	return check_done();
}
