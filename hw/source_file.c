/* file: a YUV4MPEG2 (Y4M) clip, 8-bit 4:2:0, played at its frame rate or as fast as the pipeline takes
 * frames (realtime = false: nothing is dropped; what benchmarks and tests use), looped or once. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frame.h"
#include "log.h"
#include "pace.h"
#include "source.h"

struct filesrc {
	const struct mc_source_config *cfg;
	FILE *f;
	long data_start; /* offset of the first FRAME */
	int width, height, fps_num, fps_den;
	struct mc_frame_pool *pool;
	struct mc_pace pace;
	uint64_t frames;
};

/* "YUV4MPEG2 W1280 H720 F30:1 Ip A1:1 C420jpeg" (the tags are space-separated, the line ends in '\n') */
static int parse_header(struct filesrc *s, const char *line)
{
	const char *name = s->cfg->name, *path = s->cfg->path;
	if (strncmp(line, "YUV4MPEG2 ", 10) != 0) {
		mc_err("file", "%s: '%s' is not a Y4M file (no YUV4MPEG2 signature)", name, path);
		return -EINVAL;
	}
	s->fps_num = 30;
	s->fps_den = 1;
	for (const char *p = line + 9; *p && *p != '\n';) {
		while (*p == ' ')
			p++;
		char tag = *p;
		if (!tag || tag == '\n')
			break;
		const char *v = p + 1;
		switch (tag) {
		case 'W': s->width = atoi(v); break;
		case 'H': s->height = atoi(v); break;
		case 'F':
			if (sscanf(v, "%d:%d", &s->fps_num, &s->fps_den) != 2 || s->fps_num <= 0 || s->fps_den <= 0) {
				mc_err("file", "%s: '%s': bad frame rate tag 'F%.*s'", name, path, (int)strcspn(v, " \n"), v);
				return -EINVAL;
			}
			break;
		case 'C':
			/* 4:2:0 chroma in any siting is I420 in memory; anything else would need a conversion */
			if (strncmp(v, "420", 3) != 0 || (v[3] != ' ' && v[3] != '\n' && v[3] != '\0' &&
							   strncmp(v + 3, "jpeg", 4) && strncmp(v + 3, "paldv", 5) &&
							   strncmp(v + 3, "mpeg2", 5))) {
				mc_err("file", "%s: '%s': colour space 'C%.*s' is not supported (8-bit 4:2:0 only)", name,
				       path, (int)strcspn(v, " \n"), v);
				return -ENOTSUP;
			}
			break;
		case 'I':
			if (*v != 'p' && *v != '?') {
				mc_err("file", "%s: '%s': interlaced clips are not supported", name, path);
				return -ENOTSUP;
			}
			break;
		default: break; /* A (aspect), X (comments) */
		}
		p += strcspn(p, " \n");
	}
	if (s->width < 16 || s->height < 16 || s->width > 8192 || s->height > 8192 || (s->width | s->height) & 1) {
		mc_err("file", "%s: '%s': bad or missing picture size (W%d H%d)", name, path, s->width, s->height);
		return -EINVAL;
	}
	return 0;
}

static int filesrc_open(void *priv, const struct mc_source_config *cfg, struct mc_source_info *info)
{
	struct filesrc *s = priv;
	s->cfg = cfg;
	s->f = fopen(cfg->path, "rbe");
	if (!s->f) {
		int e = errno;
		mc_err("file", "%s: cannot open '%s': %s", cfg->name, cfg->path, strerror(e));
		return -e;
	}
	char line[512];
	if (!fgets(line, sizeof(line), s->f)) {
		mc_err("file", "%s: '%s' is empty", cfg->name, cfg->path);
		return -EINVAL;
	}
	int rc = parse_header(s, line);
	if (rc)
		return rc;
	s->data_start = ftell(s->f);
	s->pool = mc_frame_pool_create(s->width, s->height, AV_PIX_FMT_YUV420P);
	if (!s->pool)
		return -ENOMEM;
	mc_pace_init(&s->pace, s->fps_num, s->fps_den);
	*info = (struct mc_source_info){ s->width, s->height, s->fps_num, s->fps_den };
	mc_info("file", "%s: '%s' %dx%d at %d/%d fps%s%s", cfg->name, cfg->path, s->width, s->height, s->fps_num,
		s->fps_den, cfg->realtime ? "" : ", as fast as possible", cfg->loop ? ", looped" : "");
	return 0;
}

static int read_plane(FILE *f, uint8_t *dst, int linesize, int w, int h)
{
	for (int y = 0; y < h; y++)
		if (fread(dst + (size_t)y * linesize, 1, (size_t)w, f) != (size_t)w)
			return -1;
	return 0;
}

static int filesrc_read(void *priv, AVFrame **out, const bool *stop)
{
	struct filesrc *s = priv;
	if (s->cfg->realtime && mc_pace_wait(&s->pace, stop) < 0)
		return -EINTR;
	char line[256];
	for (int attempt = 0; attempt < 2; attempt++) {
		if (fgets(line, sizeof(line), s->f))
			break;
		if (ferror(s->f)) {
			mc_err("file", "%s: read error on '%s'", s->cfg->name, s->cfg->path);
			return -EIO;
		}
		if (!s->cfg->loop || s->frames == 0 || attempt == 1)
			return MC_SOURCE_EOF;
		fseek(s->f, s->data_start, SEEK_SET);
	}
	if (strncmp(line, "FRAME", 5) != 0) {
		mc_err("file", "%s: '%s': expected FRAME at offset %ld", s->cfg->name, s->cfg->path, ftell(s->f));
		return -EINVAL;
	}
	int64_t capture = mc_now_us();
	AVFrame *f = mc_frame_pool_get(s->pool);
	if (!f)
		return -ENOMEM;
	if (read_plane(s->f, f->data[0], f->linesize[0], s->width, s->height) ||
	    read_plane(s->f, f->data[1], f->linesize[1], s->width / 2, s->height / 2) ||
	    read_plane(s->f, f->data[2], f->linesize[2], s->width / 2, s->height / 2)) {
		av_frame_free(&f);
		mc_warn("file", "%s: '%s' ends inside a frame; treating it as the end", s->cfg->name, s->cfg->path);
		return MC_SOURCE_EOF;
	}
	f->pts = capture;
	s->frames++;
	*out = f;
	return 0;
}

static bool filesrc_lossless(void *priv)
{
	struct filesrc *s = priv;
	return !s->cfg->realtime;
}

static void filesrc_close(void *priv)
{
	struct filesrc *s = priv;
	if (s->f)
		fclose(s->f);
	mc_frame_pool_destroy(s->pool);
}

const struct mc_source_ops mc_source_file = {
	.name = "file",
	.type = MC_SOURCE_FILE,
	.priv_size = sizeof(struct filesrc),
	.open = filesrc_open,
	.read_frame = filesrc_read,
	.lossless = filesrc_lossless,
	.close = filesrc_close,
};
