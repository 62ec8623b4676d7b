#include "unchanged.h"

#include <libavutil/common.h>
#include <libavutil/imgutils.h>
#include <libavutil/pixdesc.h>
#include <string.h>

bool mc_unchanged_planes(struct mc_unchanged *u, const struct mc_planes *a, const struct mc_planes *b)
{
	unsigned phase = u->phase++ % MC_UNCHANGED_STEP;
	for (int p = 0; p < a->n; p++) {
		if (a->data[p] == b->data[p] && a->linesize[p] == b->linesize[p])
			continue;
		for (int y = (int)phase; y < a->rows[p]; y += MC_UNCHANGED_STEP)
			if (memcmp(a->data[p] + (size_t)y * a->linesize[p], b->data[p] + (size_t)y * b->linesize[p],
				   (size_t)a->row_bytes[p]))
				return false;
	}
	return true;
}

bool mc_planes_of_frame(const AVFrame *f, struct mc_planes *p)
{
	const AVPixFmtDescriptor *d = av_pix_fmt_desc_get(f->format);
	if (!d || (d->flags & AV_PIX_FMT_FLAG_HWACCEL))
		return false;
	p->n = av_pix_fmt_count_planes(f->format);
	for (int i = 0; i < p->n && i < 4; i++) {
		bool chroma = i == 1 || i == 2;
		p->data[i] = f->data[i];
		p->linesize[i] = f->linesize[i];
		p->row_bytes[i] = av_image_get_linesize(f->format, f->width, i);
		p->rows[i] = chroma ? AV_CEIL_RSHIFT(f->height, d->log2_chroma_h) : f->height;
	}
	return true;
}

bool mc_unchanged_frames(struct mc_unchanged *u, const AVFrame *a, const AVFrame *b)
{
	if (a->width != b->width || a->height != b->height || a->format != b->format)
		return false;
	struct mc_planes pa, pb;
	if (!mc_planes_of_frame(a, &pa) || !mc_planes_of_frame(b, &pb))
		return false;
	bool same_buffer = true;
	for (int i = 0; i < pa.n; i++)
		same_buffer &= pa.data[i] == pb.data[i];
	return same_buffer || mc_unchanged_planes(u, &pa, &pb);
}
