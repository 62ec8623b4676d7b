/* file: a YUV4MPEG2 (Y4M) clip, 8-bit 4:2:0, played at its frame rate or as fast as the pipeline takes
 * frames (realtime = false: nothing is dropped; what benchmarks and tests use), looped or once. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "pace.h"
#include "source.h"

/* The clip is mapped, not read: a frame's planes point into the mapping (the page cache), so no copy is
 * made between the file and the encoders. The mapping lives until the source and every frame are gone. */
struct clip_map {
	int refs; /* atomic */
	uint8_t *base;
	size_t len;
	size_t frame_size;
	uintptr_t page_mask;
};

/* The keys of [source.NAME] with type = file. */
struct file_opts {
	char path[MC_PATH_MAX];
	bool loop, realtime;
};

static const struct mc_option file_options[] = {
	{ "path", mc_opt_string, offsetof(struct file_opts, path), 0, MC_OPT_FIELD_SIZE(struct file_opts, path),
	  .required = true },
	{ "loop", mc_opt_bool, offsetof(struct file_opts, loop) },
	{ "realtime", mc_opt_bool, offsetof(struct file_opts, realtime) },
	{ NULL },
};

static const struct file_opts file_defaults = { .realtime = true };

struct filesrc {
	const struct mc_source_config *cfg;
	const struct file_opts *opts;
	struct clip_map *map;
	size_t *frames_at; /* offset of each frame's pixels */
	size_t n_frames, next;
	int width, height, fps_num, fps_den;
	struct mc_pace pace;
	uint64_t frames;
};

static void map_unref(struct clip_map *m)
{
	if (m && __atomic_sub_fetch(&m->refs, 1, __ATOMIC_ACQ_REL) == 0) {
		munmap(m->base, m->len);
		free(m);
	}
}

static void frame_buffer_free(void *opaque, uint8_t *data)
{
	struct clip_map *m = opaque;
	/* Drop the frame's pages from this process's page tables (they stay in the page cache), so that the
	 * resident set holds the frames in flight, not the whole clip. The range starts 2 MiB early: a page
	 * fault maps the pages around it (fault-around, or a whole large folio of the page cache), which puts
	 * back pages of frames already let go of. A frame still in use whose pages are dropped just faults
	 * them in again: the mapping is private and never written. */
	const uintptr_t lead = 2 * 1024 * 1024, base = (uintptr_t)m->base;
	uintptr_t start = ((uintptr_t)data - base > lead ? (uintptr_t)data - lead : base) & ~m->page_mask;
	uintptr_t end = ((uintptr_t)data + m->frame_size + m->page_mask) & ~m->page_mask;
	madvise((void *)start, end - start, MADV_DONTNEED);
	map_unref(m);
}

/* "YUV4MPEG2 W1280 H720 F30:1 Ip A1:1 C420jpeg" (the tags are space-separated, the line ends in '\n') */
static int parse_header(struct filesrc *s, const char *line)
{
	const char *name = s->cfg->name, *path = s->opts->path;
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

/* Index every FRAME of the clip; a frame cut short by the end of the file ends the clip. The headers are
 * read with pread(), not through the mapping: touching a page of every frame would map (and count in the
 * resident set) most of the clip at start-up. */
static int index_frames(struct filesrc *s, int fd, size_t data_start)
{
	size_t frame_size = (size_t)s->width * s->height * 3 / 2, cap = 0, off = data_start;
	size_t len = s->map->len;
	s->map->frame_size = frame_size;
	while (off < len) {
		char head[256];
		ssize_t got = pread(fd, head, sizeof(head), (off_t)off);
		const char *nl = got > 0 ? memchr(head, '\n', (size_t)got) : NULL;
		if (got < 5 || memcmp(head, "FRAME", 5) != 0 || !nl) {
			mc_err("file", "%s: '%s': expected FRAME at offset %zu", s->cfg->name, s->opts->path, off);
			return -EINVAL;
		}
		size_t pixels = off + (size_t)(nl - head) + 1;
		if (len - pixels < frame_size) {
			mc_warn("file", "%s: '%s' ends inside frame %zu; the clip ends before it", s->cfg->name,
				s->opts->path, s->n_frames);
			break;
		}
		if (s->n_frames == cap) {
			cap = cap ? cap * 2 : 256;
			size_t *n = realloc(s->frames_at, cap * sizeof(*n));
			if (!n)
				return -ENOMEM;
			s->frames_at = n;
		}
		s->frames_at[s->n_frames++] = pixels;
		off = pixels + frame_size;
	}
	if (s->n_frames == 0) {
		mc_err("file", "%s: '%s' has no frame", s->cfg->name, s->opts->path);
		return -EINVAL;
	}
	return 0;
}

static int filesrc_check(const struct mc_source_config *cfg, const char **key, char *err, size_t errlen)
{
	const struct file_opts *o = cfg->opts;
	if (access(o->path, R_OK) == 0)
		return 0;
	*key = "path";
	snprintf(err, errlen, "cannot read '%s': %s", o->path, strerror(errno));
	return -1;
}

static int filesrc_open(void *priv, const struct mc_source_config *cfg, struct mc_source_info *info,
			struct mc_source_report *report)
{
	struct filesrc *s = priv;
	s->cfg = cfg;
	s->opts = cfg->opts;
	const char *path = s->opts->path;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		int e = errno;
		mc_err("file", "%s: cannot open '%s': %s", cfg->name, path, strerror(e));
		return -e;
	}
	struct stat sb;
	int rc = fstat(fd, &sb) ? -errno : 0;
	if (!rc && (sb.st_size < 10 || !S_ISREG(sb.st_mode))) {
		mc_err("file", "%s: '%s' is empty or not a regular file", cfg->name, path);
		rc = -EINVAL;
	}
	if (!rc && !(s->map = calloc(1, sizeof(*s->map))))
		rc = -ENOMEM;
	if (!rc) {
		s->map->len = (size_t)sb.st_size;
		void *base = mmap(NULL, s->map->len, PROT_READ, MAP_PRIVATE, fd, 0);
		if (base == MAP_FAILED) {
			rc = -errno;
			mc_err("file", "%s: cannot map '%s': %s", cfg->name, path, strerror(-rc));
			free(s->map);
			s->map = NULL;
		} else {
			s->map->base = base;
			s->map->refs = 1;
			s->map->page_mask = (uintptr_t)sysconf(_SC_PAGESIZE) - 1;
			madvise(base, s->map->len, MADV_SEQUENTIAL);
		}
	}
	char line[513];
	ssize_t got = rc ? -1 : pread(fd, line, sizeof(line) - 1, 0);
	char *nl = got > 0 ? memchr(line, '\n', (size_t)got) : NULL;
	if (!rc && !nl) {
		mc_err("file", "%s: '%s' is not a Y4M file (no header line)", cfg->name, path);
		rc = -EINVAL;
	}
	if (!rc) {
		nl[1] = '\0';
		if (!(rc = parse_header(s, line)))
			rc = index_frames(s, fd, (size_t)(nl - line) + 1);
	}
	close(fd);
	if (rc)
		return rc;
	mc_pace_init(&s->pace, s->fps_num, s->fps_den);
	/* the frames point into the mapped file: no copy */
	*info = (struct mc_source_info){ s->width, s->height, s->fps_num, s->fps_den, "yuv420p mmap", AV_PIX_FMT_YUV420P };
	mc_info("file", "%s: '%s' %dx%d at %d/%d fps, %zu frames%s%s", cfg->name, path, s->width, s->height,
		s->fps_num, s->fps_den, s->n_frames, s->opts->realtime ? "" : ", as fast as possible",
		s->opts->loop ? ", looped" : "");
	return 0;
}

static int filesrc_read(void *priv, AVFrame **out, const bool *stop)
{
	struct filesrc *s = priv;
	if (s->next == s->n_frames) {
		if (!s->opts->loop)
			return MC_SOURCE_EOF;
		s->next = 0;
	}
	if (s->opts->realtime && mc_pace_wait(&s->pace, stop) < 0)
		return -EINTR;
	int64_t capture = mc_now_us();
	AVFrame *f = av_frame_alloc();
	if (!f)
		return -ENOMEM;
	uint8_t *pixels = s->map->base + s->frames_at[s->next];
	size_t luma = (size_t)s->width * s->height;
	/* read-only: the mapping is shared with the page cache; nothing downstream writes into a source frame */
	f->buf[0] = av_buffer_create(pixels, luma * 3 / 2, frame_buffer_free, s->map, AV_BUFFER_FLAG_READONLY);
	if (!f->buf[0]) {
		av_frame_free(&f);
		return -ENOMEM;
	}
	__atomic_add_fetch(&s->map->refs, 1, __ATOMIC_ACQ_REL);
	f->format = AV_PIX_FMT_YUV420P;
	f->width = s->width;
	f->height = s->height;
	f->data[0] = pixels;
	f->data[1] = pixels + luma;
	f->data[2] = pixels + luma + luma / 4;
	f->linesize[0] = s->width;
	f->linesize[1] = f->linesize[2] = s->width / 2;
	f->pts = capture;
	s->next++;
	s->frames++;
	*out = f;
	return 0;
}

static bool filesrc_lossless(void *priv)
{
	struct filesrc *s = priv;
	return !s->opts->realtime;
}

static void filesrc_close(void *priv)
{
	struct filesrc *s = priv;
	map_unref(s->map); /* frames still out keep the mapping */
	free(s->frames_at);
}

const struct mc_source_ops mc_source_file = {
	.name = "file",
	.priv_size = sizeof(struct filesrc),
	.options = file_options,
	.options_size = sizeof(struct file_opts),
	.options_defaults = &file_defaults,
	.generic_keys = 0, /* size and frame rate come from the file */
	.check = filesrc_check,
	.open = filesrc_open,
	.read_frame = filesrc_read,
	.lossless = filesrc_lossless,
	.close = filesrc_close,
};
