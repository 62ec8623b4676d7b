/* testsrc: a synthetic camera. A moving pattern with the frame number and the capture time burned in (as
 * digits for people, and as a row of black/white blocks, one bit each, for programs), at a fixed rate; or
 * (pattern = solid:RRGGBB) one colour that never changes: a slate, and a picture whose every pixel a test
 * knows. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "font.h"
#include "frame.h"
#include "log.h"
#include "pace.h"
#include "source.h"

/* pattern = bars (the moving pattern) | solid:RRGGBB */
struct testsrc_opts {
	bool solid;
	uint8_t rgb[3];
};

static int parse_pattern(const struct mc_option *o, const char *v, void *field, char *err, size_t n)
{
	struct testsrc_opts *t = field;
	unsigned r, g, b;
	int used = 0;
	if (strcmp(v, "bars") == 0) {
		t->solid = false;
		return 0;
	}
	if (strlen(v) == 12 && sscanf(v, "solid:%2x%2x%2x%n", &r, &g, &b, &used) == 3 && used == 12 &&
	    strspn(v + 6, "0123456789abcdefABCDEF") == 6) {
		t->solid = true;
		t->rgb[0] = (uint8_t)r, t->rgb[1] = (uint8_t)g, t->rgb[2] = (uint8_t)b;
		return 0;
	}
	snprintf(err, n, "expected bars or solid:RRGGBB (hex), got '%s'", v);
	return -EINVAL;
}

static const struct mc_option testsrc_options[] = {
	{ "pattern", parse_pattern, 0 },
	{ NULL },
};

struct testsrc {
	const struct mc_source_config *cfg;
	struct mc_frame_pool *pool;
	struct mc_pace pace;
	uint64_t n;
	AVFrame *solid; /* pattern = solid: drawn once, each frame is a new reference to it */
};

static void fill_rect(AVFrame *f, int x0, int y0, int w, int h, uint8_t y)
{
	if (x0 < 0 || y0 < 0 || x0 + w > f->width || y0 + h > f->height)
		return;
	for (int yy = y0; yy < y0 + h; yy++)
		memset(f->data[0] + (size_t)yy * f->linesize[0] + x0, y, (size_t)w);
}

/* white digits, each on a dark box */
static void draw_text(AVFrame *f, int x, int y, int scale, const char *text)
{
	mc_font_draw(f->data[0], f->linesize[0], f->width, f->height, x, y, scale, text, 235, 16);
}

static void draw(struct testsrc *t, AVFrame *f, int64_t wall_us)
{
	int w = f->width, h = f->height;
	int shift = (int)(t->n * 4 % (unsigned)w);
	/* luma: vertical bars that scroll, with a soft vertical gradient */
	uint8_t row[4096];
	for (int x = 0; x < w; x++)
		row[x] = (uint8_t)(40 + ((((x + shift) / 40) & 1) ? 120 : 0) + ((x + shift) % 40));
	for (int y = 0; y < h; y++) {
		uint8_t *line = f->data[0] + (size_t)y * f->linesize[0];
		memcpy(line, row, (size_t)w);
		line[0] = (uint8_t)(16 + y * 200 / h);
	}
	/* chroma: slowly rotating tint, four quadrants */
	int cw = w / 2, ch = h / 2;
	for (int y = 0; y < ch; y++) {
		uint8_t u = (uint8_t)(128 + ((y < ch / 2) ? 40 : -40) + (int)(t->n % 60) - 30);
		uint8_t v = (uint8_t)(128 + ((y < ch / 2) ? -30 : 30));
		memset(f->data[1] + (size_t)y * f->linesize[1], u, (size_t)cw / 2);
		memset(f->data[1] + (size_t)y * f->linesize[1] + cw / 2, (uint8_t)(256 - u), (size_t)(cw - cw / 2));
		memset(f->data[2] + (size_t)y * f->linesize[2], v, (size_t)cw);
	}
	/* a box bouncing vertically */
	int box = h / 6, period = 2 * (h - box);
	int by = (int)(t->n * 6 % (unsigned)period);
	if (by > h - box)
		by = period - by;
	fill_rect(f, w / 2 - box / 2, by, box, box, 235);

	/* frame number as 24 blocks (MSB first) along the top: white = 1 */
	int bs = w / 32 > 4 ? w / 32 : 4;
	for (int b = 0; b < 24 && (b + 1) * bs <= w; b++)
		fill_rect(f, b * bs, 0, bs, bs, (t->n >> (23 - b)) & 1 ? 235 : 16);

	char text[48];
	int scale = h >= 360 ? h / 180 : 1;
	snprintf(text, sizeof(text), "%llu", (unsigned long long)t->n);
	draw_text(f, 2 * scale, bs + 4 * scale, scale, text);
	time_t sec = (time_t)(wall_us / 1000000);
	struct tm tm;
	gmtime_r(&sec, &tm);
	snprintf(text, sizeof(text), "%02d:%02d:%02d.%03d", tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(wall_us / 1000 % 1000));
	draw_text(f, 2 * scale, bs + 14 * scale, scale, text);
}

/* BT.601 limited range, what the encoders signal by default */
static void fill_solid(AVFrame *f, const uint8_t rgb[3])
{
	double r = rgb[0], g = rgb[1], b = rgb[2];
	uint8_t y = (uint8_t)(16.5 + (65.481 * r + 128.553 * g + 24.966 * b) / 255);
	uint8_t u = (uint8_t)(128.5 + (-37.797 * r - 74.203 * g + 112.0 * b) / 255);
	uint8_t v = (uint8_t)(128.5 + (112.0 * r - 93.786 * g - 18.214 * b) / 255);
	for (int row = 0; row < f->height; row++)
		memset(f->data[0] + (size_t)row * f->linesize[0], y, (size_t)f->width);
	for (int row = 0; row < f->height / 2; row++) {
		memset(f->data[1] + (size_t)row * f->linesize[1], u, (size_t)f->width / 2);
		memset(f->data[2] + (size_t)row * f->linesize[2], v, (size_t)f->width / 2);
	}
}

static int testsrc_open(void *priv, const struct mc_source_config *cfg, struct mc_source_info *info,
			struct mc_source_report *report)
{
	struct testsrc *t = priv;
	const struct testsrc_opts *o = cfg->opts;
	t->cfg = cfg;
	/* I420, what the software encoders take without a conversion */
	t->pool = mc_frame_pool_create(cfg->width, cfg->height, AV_PIX_FMT_YUV420P);
	if (!t->pool)
		return -ENOMEM;
	mc_pace_init(&t->pace, cfg->fps, 1);
	*info = (struct mc_source_info){ cfg->width, cfg->height, cfg->fps, 1, o->solid ? "yuv420p solid" : "yuv420p drawn",
					 AV_PIX_FMT_YUV420P };
	if (o->solid) {
		if (!(t->solid = mc_frame_pool_get(t->pool)))
			return -ENOMEM;
		fill_solid(t->solid, o->rgb);
	}
	mc_info("testsrc", "%s: %dx%d at %d fps%s", cfg->name, cfg->width, cfg->height, cfg->fps,
		o->solid ? ", one colour" : "");
	return 0;
}

static int testsrc_read(void *priv, AVFrame **out, const bool *stop)
{
	struct testsrc *t = priv;
	/* The frame's capture time is its slot on the frame clock, not the moment it was drawn: after a late
	 * wake-up two frames would otherwise be a fraction of a millisecond apart. */
	int64_t capture = mc_pace_wait(&t->pace, stop);
	if (capture < 0)
		return -EINTR;
	AVFrame *f = t->solid ? av_frame_clone(t->solid) : mc_frame_pool_get(t->pool);
	if (!f)
		return -ENOMEM;
	if (!t->solid)
		draw(t, f, mc_wall_us() - (mc_now_us() - capture));
	f->pts = capture;
	t->n++;
	*out = f;
	return 0;
}

static void testsrc_close(void *priv)
{
	struct testsrc *t = priv;
	av_frame_free(&t->solid);
	mc_frame_pool_destroy(t->pool);
}

const struct mc_source_ops mc_source_testsrc = {
	.name = "testsrc",
	.priv_size = sizeof(struct testsrc),
	.options = testsrc_options,
	.options_size = sizeof(struct testsrc_opts),
	.generic_keys = MC_SOURCE_TAKES_SIZE | MC_SOURCE_TAKES_FPS,
	.open = testsrc_open,
	.read_frame = testsrc_read,
	.close = testsrc_close,
};
