/* Mixer layouts, pure arithmetic: where each input's picture goes on the canvas. Pictures keep their aspect
 * ratio (letterboxed into their cell, never stretched), and every rectangle has even coordinates and sizes
 * so that 4:2:0 chroma lines up with luma. */
#ifndef MC_MIXER_LAYOUT_H
#define MC_MIXER_LAYOUT_H

#include "config.h"

struct mc_rect {
	int x, y, w, h;
};

struct mc_layout_params {
	enum mc_layout layout;
	int width, height; /* the canvas */
	enum mc_corner pip_position;
	double pip_size; /* the small picture's width as a fraction of the canvas width */
	int margin;
};

/* The largest rectangle of aspect in_w:in_h that fits `cell`, centred. A zero-sized rectangle when the
 * input or the cell is empty. */
struct mc_rect mc_layout_fit(struct mc_rect cell, int in_w, int in_h);

/* The pictures of n inputs (sizes in_w[i] x in_h[i]; 0x0 for an input with no picture yet: it gets its cell)
 * in layout order: pip draws out[1] over out[0]. Returns the number of rectangles filled (inputs that the
 * layout does not show get a zero-sized one). */
int mc_layout_compute(const struct mc_layout_params *p, int n, const int *in_w, const int *in_h, struct mc_rect *out);

#endif
