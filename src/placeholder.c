#include "placeholder.h"

#include <errno.h>
#include <string.h>

#include "font.h"

/* One scale for all lines: about a twentieth of the height per text line, smaller if the widest line would
 * not fit in 90 % of the width. */
static int pick_scale(int width, int height, const char *const *lines, int n)
{
	int scale = height / (MC_FONT_H * 12) > 1 ? height / (MC_FONT_H * 12) : 1;
	for (;;) {
		int widest = 0;
		for (int i = 0; i < n; i++) {
			int w = mc_font_text_width(lines[i], scale);
			widest = w > widest ? w : widest;
		}
		if (scale == 1 || widest * 10 <= width * 9)
			return scale;
		scale--;
	}
}

void mc_placeholder_layout(int width, int height, const char *const *lines, int n_lines, int line, int *x, int *y,
			   int *scale)
{
	int s = pick_scale(width, height, lines, n_lines);
	int pitch = (MC_FONT_H + 5) * s; /* line height: glyph plus space */
	int total = n_lines * pitch - 5 * s;
	*scale = s;
	*x = (width - mc_font_text_width(lines[line], s)) / 2;
	*y = (height - total) / 2 + line * pitch;
}

int mc_placeholder_draw(AVFrame *f, const char *const *lines, int n_lines)
{
	if (f->format != AV_PIX_FMT_YUV420P && f->format != AV_PIX_FMT_NV12)
		return -EINVAL;
	for (int y = 0; y < f->height; y++)
		memset(f->data[0] + (size_t)y * f->linesize[0], MC_PLACEHOLDER_BG, (size_t)f->width);
	int ch = (f->height + 1) / 2, cw = (f->width + 1) / 2;
	for (int y = 0; y < ch; y++) {
		if (f->format == AV_PIX_FMT_NV12) {
			memset(f->data[1] + (size_t)y * f->linesize[1], 128, (size_t)cw * 2);
		} else {
			memset(f->data[1] + (size_t)y * f->linesize[1], 128, (size_t)cw);
			memset(f->data[2] + (size_t)y * f->linesize[2], 128, (size_t)cw);
		}
	}
	for (int i = 0; i < n_lines; i++) {
		int x, y, scale;
		mc_placeholder_layout(f->width, f->height, lines, n_lines, i, &x, &y, &scale);
		mc_font_draw(f->data[0], f->linesize[0], f->width, f->height, x, y, scale, lines[i], MC_PLACEHOLDER_FG, -1);
	}
	return 0;
}
