/* The picture of a source without signal: a plain dark slate with centred lines of text (the source's
 * name, "no signal", how long), in the built-in font. Sent at a low rate and encoded like any frame, so
 * that the SFU keeps the stream and a viewer sees why there is no picture. */
#ifndef MC_PLACEHOLDER_H
#define MC_PLACEHOLDER_H

#include <libavutil/frame.h>

#define MC_PLACEHOLDER_BG 40  /* luma of the slate; chroma is neutral (128) */
#define MC_PLACEHOLDER_FG 220 /* luma of the text */

/* Draws into a CPU frame in YUV420P or NV12 (the whole picture is written). Returns 0, or -EINVAL for
 * another format. Lines too wide for the picture are drawn smaller, down to one pixel per font pixel. */
int mc_placeholder_draw(AVFrame *f, const char *const *lines, int n_lines);
/* The font scale the first line is drawn at, and its top left corner: for tests. */
void mc_placeholder_layout(int width, int height, const char *const *lines, int n_lines, int line, int *x, int *y,
			   int *scale);

#endif
