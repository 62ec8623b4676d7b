/* A tiny built-in 5x7 bitmap font (digits, upper-case letters, a few signs) for the pictures mixcast draws
 * itself: testsrc's frame number and time, the "no signal" placeholder. Lower case is drawn as upper case;
 * a character without a glyph is blank. */
#ifndef MC_FONT_H_INCLUDED
#define MC_FONT_H_INCLUDED

#include <stdbool.h>
#include <stdint.h>

#define MC_FONT_W 5
#define MC_FONT_H 7
#define MC_FONT_ADVANCE 6 /* glyph plus one column of space */

bool mc_font_has(char c);
bool mc_font_pixel(char c, int row, int col);
/* Draws `text` into an 8-bit plane (w x h, linesize) with its top left corner at (x, y); each font pixel
 * is a scale x scale block of `fg`. With bg >= 0 a box of bg is drawn behind each character first (one
 * font pixel of margin). Blocks that do not fit in the plane are left out. */
void mc_font_draw(uint8_t *plane, int linesize, int w, int h, int x, int y, int scale, const char *text, uint8_t fg,
		  int bg);
int mc_font_text_width(const char *text, int scale);

#endif
