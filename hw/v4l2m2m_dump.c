#include "v4l2m2m_dump.h"
#include "v4l2m2m_select.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

struct mc_m2m_dump {
	FILE *bits, *idx, *raw;
	int raw_left;
};

const char *mc_m2m_test_dir(void)
{
	const char *t = getenv("MIXCAST_TEST_V4L2M2M");
	return t && strncmp(t, "fwht:", 5) == 0 && t[5] ? t + 5 : NULL;
}

static FILE *open_one(const char *base, const char *ext, const char *mode)
{
	char path[700];
	snprintf(path, sizeof(path), "%s.%s", base, ext);
	FILE *f = fopen(path, mode);
	if (!f)
		mc_err("v4l2m2m", "test mode: cannot write %s", path);
	return f;
}

struct mc_m2m_dump *mc_m2m_dump_open(const char *dir, const char *layer)
{
	struct mc_m2m_dump *d = calloc(1, sizeof(*d));
	if (!d)
		return NULL;
	char base[640];
	snprintf(base, sizeof(base), "%s/", dir);
	size_t k = strlen(base);
	for (const char *c = layer; *c && k < sizeof(base) - 1; c++)
		base[k++] = *c == '/' ? '_' : *c; /* "video/0" -> video_0 */
	base[k] = 0;
	d->bits = open_one(base, "fwht", "wb");
	d->idx = open_one(base, "idx", "w");
	d->raw = open_one(base, "yuv", "wb");
	const char *r = getenv("MIXCAST_TEST_V4L2M2M_RAW");
	d->raw_left = r ? atoi(r) : 30;
	mc_warn("v4l2m2m", "%s: test mode: FWHT, bitstream and input written to %s.*", layer, base);
	return d;
}

void mc_m2m_dump_close(struct mc_m2m_dump *d)
{
	if (!d)
		return;
	if (d->bits)
		fclose(d->bits);
	if (d->idx)
		fclose(d->idx);
	if (d->raw)
		fclose(d->raw);
	free(d);
}

void mc_m2m_dump_input(struct mc_m2m_dump *d, const AVFrame *f, int width, int height, enum AVPixelFormat fmt)
{
	if (!d || !d->raw || d->raw_left <= 0)
		return;
	d->raw_left--;
	const struct mc_m2m_format *pf = mc_m2m_format_av(fmt);
	if (pf && pf->planes == 1) { /* packed: one plane */
		for (int y = 0; y < height; y++)
			fwrite(f->data[0] + (size_t)y * f->linesize[0], 1, (size_t)width * pf->bytes, d->raw);
		fflush(d->raw);
		return;
	}
	bool nv12 = fmt == AV_PIX_FMT_NV12;
	int ch = (height + 1) / 2, cw = nv12 ? (width + 1) & ~1 : (width + 1) / 2;
	for (int y = 0; y < height; y++)
		fwrite(f->data[0] + (size_t)y * f->linesize[0], 1, (size_t)width, d->raw);
	for (int p = 1; p <= (nv12 ? 1 : 2); p++)
		for (int y = 0; y < ch; y++)
			fwrite(f->data[p] + (size_t)y * f->linesize[p], 1, (size_t)cw, d->raw);
	fflush(d->raw);
}

void mc_m2m_dump_sent(struct mc_m2m_dump *d, int64_t pts, bool key)
{
	if (d && d->idx)
		fprintf(d->idx, "send %lld %d\n", (long long)pts, key);
}

int mc_m2m_dump_output(struct mc_m2m_dump *d, const uint8_t *src, size_t len, int64_t pts, bool key, AVPacket *pkt)
{
	if (d->bits) {
		fwrite(src, 1, len, d->bits);
		fflush(d->bits);
	}
	if (d->idx) {
		fprintf(d->idx, "recv %lld %zu %d\n", (long long)pts, len, key);
		fflush(d->idx);
	}
	if (av_new_packet(pkt, (int)(5 + len * 3 / 2 + 2)) < 0)
		return -ENOMEM;
	uint8_t *o = pkt->data;
	size_t k = 0;
	o[k++] = 0, o[k++] = 0, o[k++] = 0, o[k++] = 1, o[k++] = 23;
	int zeros = 0;
	for (size_t i = 0; i < len; i++) {
		if (zeros == 2 && src[i] <= 3) {
			o[k++] = 3;
			zeros = 0;
		}
		o[k++] = src[i];
		zeros = src[i] == 0 ? zeros + 1 : 0;
	}
	o[k++] = 0x80;
	pkt->size = (int)k;
	return 0;
}
