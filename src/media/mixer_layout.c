#include "mixer_layout.h"

#include <math.h>

static int even_down(int v) { return v < 0 ? 0 : v & ~1; }

static struct mc_rect empty_rect(void) { return (struct mc_rect){ 0, 0, 0, 0 }; }

struct mc_rect mc_layout_fit(struct mc_rect cell, int in_w, int in_h)
{
	if (in_w <= 0 || in_h <= 0 || cell.w < 2 || cell.h < 2)
		return (struct mc_rect){ cell.x, cell.y, 0, 0 };
	/* Scale to the cell's width; when that is too tall, to its height. 64-bit: 4096 * 4096 fits, but not
	 * its square. */
	int w = cell.w, h = (int)(((int64_t)in_h * cell.w + in_w / 2) / in_w);
	if (h > cell.h) {
		h = cell.h;
		w = (int)(((int64_t)in_w * cell.h + in_h / 2) / in_h);
	}
	w = even_down(w > cell.w ? cell.w : w);
	h = even_down(h > cell.h ? cell.h : h);
	if (w < 2 || h < 2)
		return (struct mc_rect){ cell.x, cell.y, 0, 0 };
	struct mc_rect r = { cell.x + even_down((cell.w - w) / 2), cell.y + even_down((cell.h - h) / 2), w, h };
	return r;
}

/* cols x rows equal cells with `margin` between them and around them. */
static void grid_cells(const struct mc_layout_params *p, int n, int cols, int rows, struct mc_rect *cells)
{
	int m = even_down(p->margin);
	int cw = even_down((p->width - m * (cols + 1)) / cols), ch = even_down((p->height - m * (rows + 1)) / rows);
	/* what is left over (rounding) is split on both sides, so the grid stays centred */
	int x0 = even_down((p->width - (cw * cols + m * (cols - 1))) / 2);
	int y0 = even_down((p->height - (ch * rows + m * (rows - 1))) / 2);
	for (int i = 0; i < n; i++) {
		int c = i % cols, r = i / cols;
		cells[i] = (struct mc_rect){ x0 + c * (cw + m), y0 + r * (ch + m), cw, ch };
		/* the last row, when not full, is centred too */
		int in_last = n - (rows - 1) * cols;
		if (r == rows - 1 && in_last < cols)
			cells[i].x += even_down((cols - in_last) * (cw + m) / 2);
	}
}

int mc_layout_compute(const struct mc_layout_params *p, int n, const int *in_w, const int *in_h, struct mc_rect *out)
{
	if (n <= 0)
		return 0;
	struct mc_rect full = { 0, 0, even_down(p->width), even_down(p->height) };
	struct mc_rect cells[MC_MIX_MAX_INPUTS];
	if (n > MC_MIX_MAX_INPUTS)
		n = MC_MIX_MAX_INPUTS;
	for (int i = 0; i < n; i++)
		out[i] = empty_rect();
	switch (p->layout) {
	case MC_LAYOUT_SINGLE: {
		int m = even_down(p->margin);
		struct mc_rect cell = { m, m, even_down(p->width - 2 * m), even_down(p->height - 2 * m) };
		out[0] = in_w[0] > 0 ? mc_layout_fit(cell, in_w[0], in_h[0]) : cell;
		return n;
	}
	case MC_LAYOUT_PIP: {
		out[0] = in_w[0] > 0 ? mc_layout_fit(full, in_w[0], in_h[0]) : full;
		if (n < 2)
			return n;
		/* The small picture: pip_size of the canvas width, its height from its own aspect ratio (the canvas's
		 * while it has none), never taller than the canvas allows. */
		int m = even_down(p->margin);
		int bw = even_down((int)lround(p->pip_size * p->width));
		int bh = even_down(p->height - 2 * m);
		int iw = in_w[1] > 0 ? in_w[1] : p->width, ih = in_h[1] > 0 ? in_h[1] : p->height;
		struct mc_rect pic = mc_layout_fit((struct mc_rect){ 0, 0, bw, bh }, iw, ih);
		bool right = p->pip_position == MC_CORNER_BOTTOM_RIGHT || p->pip_position == MC_CORNER_TOP_RIGHT;
		bool bottom = p->pip_position == MC_CORNER_BOTTOM_RIGHT || p->pip_position == MC_CORNER_BOTTOM_LEFT;
		pic.x = right ? even_down(p->width - m - pic.w) : even_down(m);
		pic.y = bottom ? even_down(p->height - m - pic.h) : even_down(m);
		out[1] = pic;
		return n;
	}
	case MC_LAYOUT_SIDE_BY_SIDE:
		grid_cells(p, n, n, 1, cells);
		break;
	case MC_LAYOUT_GRID:
	default: {
		int cols = (int)ceil(sqrt((double)n));
		int rows = (n + cols - 1) / cols;
		grid_cells(p, n, cols, rows, cells);
		break;
	}
	}
	for (int i = 0; i < n; i++)
		out[i] = in_w[i] > 0 ? mc_layout_fit(cells[i], in_w[i], in_h[i]) : cells[i];
	return n;
}
