/*
 * mixcast-bench-floor: the "floor" of the simulcast benchmark (issue #7).
 *
 * Encodes up to three pre-scaled Y4M files with libavcodec's libx264, one encoder thread per layer, with the
 * encoder settings mixcastd uses (see x264_settings below). No scaling, no RTP, no SRTP, no network: the
 * CPU this process uses is the cost of the encodes alone (plus reading the frames), so
 * "overhead" = (pipeline CPU - floor CPU) / floor CPU.
 *
 *   mixcast-bench-floor [options] FILE.y4m:KBPS [FILE.y4m:KBPS ...]
 *     --threads N      encoder threads per layer (default 1; 0 = the encoder's choice)
 *     --preset P       libx264 preset (default veryfast)
 *     --keyint-s S     seconds between forced keyframes (default 2)
 *     --realtime       pace each layer at its file's frame rate (for a CPU-% at real time figure)
 *     --dump PREFIX    also write each layer's Annex B stream to PREFIX<index>.h264
 *     --json FILE      write the result JSON there instead of stdout
 *
 * The frame rate of a layer is its Y4M file's (F header). Output: JSON with, per layer, frames, bytes,
 * keyframes, the encoder thread's CPU time (thread_cpu_s: reading the file included; encode_cpu_s: inside the
 * encoder calls only) and per-frame encode wall time (mean/p50/p99/max in us).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include <libavcodec/avcodec.h>
#include <libavutil/opt.h>
#include <libavutil/frame.h>
#include <libavutil/imgutils.h>

#define MAX_LAYERS 3
#define MAX_FRAMES 100000

struct layer {
	int index;
	const char *path;
	int kbps;
	int width, height, fps_num, fps_den;
	FILE *in;
	FILE *dump;
	/* results */
	int64_t frames, bytes, keyframes;
	double thread_cpu_s;
	double encode_cpu_s; /* of which inside avcodec_send_frame/receive_packet */
	double *enc_us;
	int64_t n_enc;
	char err[256];
	int failed;
};

static int opt_threads = 1;
static const char *opt_preset = "veryfast";
static double opt_keyint_s = 2.0;
static int opt_realtime = 0;
static const char *opt_dump = NULL;
static const char *opt_json = NULL;

static double now_s(clockid_t c)
{
	struct timespec ts;
	clock_gettime(c, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Parses "YUV4MPEG2 W.. H.. F..:.. ...\n". Only 4:2:0 8 bit is accepted. */
static int y4m_header(struct layer *l)
{
	char line[512];
	if (!fgets(line, sizeof line, l->in) || strncmp(line, "YUV4MPEG2 ", 10) != 0) {
		snprintf(l->err, sizeof l->err, "%s: not a YUV4MPEG2 file", l->path);
		return -1;
	}
	l->fps_num = 30;
	l->fps_den = 1;
	char *save = NULL;
	for (char *tok = strtok_r(line + 10, " \n", &save); tok; tok = strtok_r(NULL, " \n", &save)) {
		switch (tok[0]) {
		case 'W': l->width = atoi(tok + 1); break;
		case 'H': l->height = atoi(tok + 1); break;
		case 'F': sscanf(tok + 1, "%d:%d", &l->fps_num, &l->fps_den); break;
		case 'C':
			if (strncmp(tok + 1, "420", 3) != 0) {
				snprintf(l->err, sizeof l->err, "%s: colour space %s is not 4:2:0", l->path, tok + 1);
				return -1;
			}
			break;
		default: break;
		}
	}
	if (l->width <= 0 || l->height <= 0 || l->fps_num <= 0 || l->fps_den <= 0) {
		snprintf(l->err, sizeof l->err, "%s: bad Y4M header", l->path);
		return -1;
	}
	return 0;
}

/* Reads one frame into f (planes with padding). Returns 1 on a frame, 0 at the end, -1 on error. */
static int y4m_frame(struct layer *l, AVFrame *f)
{
	char line[256];
	if (!fgets(line, sizeof line, l->in))
		return 0;
	if (strncmp(line, "FRAME", 5) != 0) {
		snprintf(l->err, sizeof l->err, "%s: missing FRAME marker", l->path);
		return -1;
	}
	for (int p = 0; p < 3; p++) {
		int w = p ? (l->width + 1) / 2 : l->width;
		int h = p ? (l->height + 1) / 2 : l->height;
		for (int y = 0; y < h; y++) {
			if (fread(f->data[p] + (size_t)y * f->linesize[p], 1, (size_t)w, l->in) != (size_t)w) {
				if (p == 0 && y == 0)
					return 0;
				snprintf(l->err, sizeof l->err, "%s: truncated frame", l->path);
				return -1;
			}
		}
	}
	return 1;
}

/*
 * The encoder settings: a copy of mixcastd's software H.264 encoder (hw/encoder_software.c) and of its
 * keyframe cadence (src/media/track.c). Keep them in step: preset, tune zerolatency, profile baseline, VBV maxrate =
 * bitrate and buffer = bitrate/fps (one frame), no B-frames, low delay, pts in microseconds of capture time,
 * SPS/PPS in band (repeat-headers, no global header), no AUD, x264 keyint = 4 x the keyframe interval while
 * an IDR is forced every keyframe interval (forced-idr + pict_type I).
 */
static AVCodecContext *open_encoder(struct layer *l, int *gop_frames)
{
	const AVCodec *codec = avcodec_find_encoder_by_name("libx264");
	if (!codec) {
		snprintf(l->err, sizeof l->err, "libavcodec has no libx264 encoder");
		return NULL;
	}
	AVCodecContext *c = avcodec_alloc_context3(codec);
	int fps = (l->fps_num + l->fps_den / 2) / l->fps_den;
	if (fps < 1)
		fps = 1;
	*gop_frames = (int)(opt_keyint_s * fps + 0.5);
	if (*gop_frames < 1)
		*gop_frames = 1;
	c->width = l->width;
	c->height = l->height;
	c->pix_fmt = AV_PIX_FMT_YUV420P;
	c->time_base = (AVRational){1, 1000000};
	c->framerate = (AVRational){fps, 1};
	c->gop_size = *gop_frames * 4;
	c->max_b_frames = 0;
	c->bit_rate = (int64_t)l->kbps * 1000;
	c->rc_max_rate = c->bit_rate;
	c->rc_buffer_size = (int)(c->bit_rate / fps);
	c->thread_count = opt_threads;
	c->flags |= AV_CODEC_FLAG_LOW_DELAY;
	av_opt_set(c->priv_data, "preset", opt_preset, 0);
	av_opt_set(c->priv_data, "tune", "zerolatency", 0);
	av_opt_set(c->priv_data, "profile", "baseline", 0);
	av_opt_set(c->priv_data, "forced-idr", "1", 0);
	av_opt_set(c->priv_data, "x264-params", "repeat-headers=1:aud=0", 0);
	int err = avcodec_open2(c, codec, NULL);
	if (err < 0) {
		snprintf(l->err, sizeof l->err, "avcodec_open2(libx264) failed: %s", av_err2str(err));
		avcodec_free_context(&c);
		return NULL;
	}
	return c;
}

static int drain(struct layer *l, AVCodecContext *c, AVPacket *pkt)
{
	for (int guard = 0; guard < 1000; guard++) {
		int err = avcodec_receive_packet(c, pkt);
		if (err == AVERROR(EAGAIN) || err == AVERROR_EOF)
			return 0;
		if (err < 0) {
			snprintf(l->err, sizeof l->err, "avcodec_receive_packet: %s", av_err2str(err));
			return -1;
		}
		l->frames++;
		l->bytes += pkt->size;
		if (pkt->flags & AV_PKT_FLAG_KEY)
			l->keyframes++;
		if (l->dump)
			fwrite(pkt->data, 1, (size_t)pkt->size, l->dump);
		av_packet_unref(pkt);
	}
	return 0;
}

static void *layer_main(void *arg)
{
	struct layer *l = arg;
	AVCodecContext *c = NULL;
	AVFrame *f = NULL;
	AVPacket *pkt = NULL;
	l->failed = 1;
	l->in = fopen(l->path, "rb");
	if (!l->in) {
		snprintf(l->err, sizeof l->err, "%s: %s", l->path, strerror(errno));
		return NULL;
	}
	setvbuf(l->in, NULL, _IOFBF, 1 << 20);
	int gop_frames = 1;
	if (y4m_header(l) < 0 || !(c = open_encoder(l, &gop_frames)))
		goto out;
	f = av_frame_alloc();
	pkt = av_packet_alloc();
	f->format = AV_PIX_FMT_YUV420P;
	f->width = l->width;
	f->height = l->height;
	if (av_frame_get_buffer(f, 0) < 0) {
		snprintf(l->err, sizeof l->err, "out of memory");
		goto out;
	}
	l->enc_us = calloc(MAX_FRAMES, sizeof(double));
	double cpu0 = now_s(CLOCK_THREAD_CPUTIME_ID);
	double t0 = now_s(CLOCK_MONOTONIC);
	double period = (double)l->fps_den / l->fps_num;
	for (int64_t n = 0; n < MAX_FRAMES; n++) {
		if (av_frame_make_writable(f) < 0) {
			snprintf(l->err, sizeof l->err, "out of memory");
			goto out;
		}
		int r = y4m_frame(l, f);
		if (r < 0)
			goto out;
		if (r == 0)
			break;
		if (opt_realtime) {
			double due = t0 + n * period;
			double wait = due - now_s(CLOCK_MONOTONIC);
			if (wait > 0) {
				struct timespec ts = {(time_t)wait, (long)((wait - (time_t)wait) * 1e9)};
				nanosleep(&ts, NULL);
			}
		}
		f->pts = n * 1000000 * l->fps_den / l->fps_num;
		f->pict_type = n % gop_frames == 0 ? AV_PICTURE_TYPE_I : AV_PICTURE_TYPE_NONE;
		double e0 = now_s(CLOCK_MONOTONIC), c0 = now_s(CLOCK_THREAD_CPUTIME_ID);
		int err = avcodec_send_frame(c, f);
		if (err < 0) {
			snprintf(l->err, sizeof l->err, "avcodec_send_frame: %s", av_err2str(err));
			goto out;
		}
		if (drain(l, c, pkt) < 0)
			goto out;
		l->enc_us[l->n_enc++] = (now_s(CLOCK_MONOTONIC) - e0) * 1e6;
		l->encode_cpu_s += now_s(CLOCK_THREAD_CPUTIME_ID) - c0;
	}
	avcodec_send_frame(c, NULL);
	if (drain(l, c, pkt) < 0)
		goto out;
	l->thread_cpu_s = now_s(CLOCK_THREAD_CPUTIME_ID) - cpu0;
	l->failed = 0;
out:
	av_packet_free(&pkt);
	av_frame_free(&f);
	avcodec_free_context(&c);
	fclose(l->in);
	return NULL;
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double pct(const double *v, int64_t n, double p)
{
	if (n <= 0)
		return 0;
	int64_t i = (int64_t)(p * (n - 1) + 0.5);
	return v[i];
}

static void usage(void)
{
	fprintf(stderr, "usage: mixcast-bench-floor [--threads N] [--preset P] [--keyint-s S] [--realtime] "
					"[--dump PREFIX] [--json FILE] FILE.y4m:KBPS [FILE.y4m:KBPS [FILE.y4m:KBPS]]\n");
}

int main(int argc, char **argv)
{
	struct layer layers[MAX_LAYERS];
	int n = 0;
	memset(layers, 0, sizeof layers);
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "--threads") && i + 1 < argc)
			opt_threads = atoi(argv[++i]);
		else if (!strcmp(a, "--preset") && i + 1 < argc)
			opt_preset = argv[++i];
		else if (!strcmp(a, "--keyint-s") && i + 1 < argc)
			opt_keyint_s = atof(argv[++i]);
		else if (!strcmp(a, "--realtime"))
			opt_realtime = 1;
		else if (!strcmp(a, "--dump") && i + 1 < argc)
			opt_dump = argv[++i];
		else if (!strcmp(a, "--json") && i + 1 < argc)
			opt_json = argv[++i];
		else if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			usage();
			return 0;
		} else if (a[0] == '-') {
			usage();
			return 1;
		} else {
			if (n == MAX_LAYERS) {
				fprintf(stderr, "at most %d layers\n", MAX_LAYERS);
				return 1;
			}
			char *colon = strrchr(a, ':');
			if (!colon || atoi(colon + 1) <= 0) {
				usage();
				return 1;
			}
			layers[n].index = n;
			layers[n].path = strndup(a, (size_t)(colon - a));
			layers[n].kbps = atoi(colon + 1);
			n++;
		}
	}
	if (n == 0 || opt_threads < 0 || opt_keyint_s <= 0) {
		usage();
		return 1;
	}
	av_log_set_level(AV_LOG_ERROR);
	for (int i = 0; i < n; i++) {
		if (opt_dump) {
			char p[4096];
			snprintf(p, sizeof p, "%s%d.h264", opt_dump, i);
			layers[i].dump = fopen(p, "wb");
			if (!layers[i].dump) {
				fprintf(stderr, "%s: %s\n", p, strerror(errno));
				return 1;
			}
		}
	}
	double w0 = now_s(CLOCK_MONOTONIC);
	pthread_t th[MAX_LAYERS];
	for (int i = 0; i < n; i++)
		if (pthread_create(&th[i], NULL, layer_main, &layers[i]) != 0) {
			fprintf(stderr, "pthread_create failed\n");
			return 2;
		}
	for (int i = 0; i < n; i++)
		pthread_join(th[i], NULL);
	double wall = now_s(CLOCK_MONOTONIC) - w0;
	int rc = 0;
	for (int i = 0; i < n; i++) {
		if (layers[i].dump)
			fclose(layers[i].dump);
		if (layers[i].failed) {
			fprintf(stderr, "layer %d: %s\n", i, layers[i].err[0] ? layers[i].err : "failed");
			rc = 2;
		}
	}
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	FILE *out = stdout;
	if (opt_json && !(out = fopen(opt_json, "w"))) {
		fprintf(stderr, "%s: %s\n", opt_json, strerror(errno));
		return 2;
	}
	fprintf(out, "{\"wall_s\":%.3f,\"threads\":%d,\"preset\":\"%s\",\"realtime\":%s,"
				 "\"process\":{\"cpu_user_s\":%.3f,\"cpu_sys_s\":%.3f,\"rss_peak_kb\":%ld},\"layers\":[",
			wall, opt_threads, opt_preset, opt_realtime ? "true" : "false",
			ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6, ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6,
			ru.ru_maxrss);
	for (int i = 0; i < n; i++) {
		struct layer *l = &layers[i];
		double mean = 0;
		for (int64_t k = 0; k < l->n_enc; k++)
			mean += l->enc_us[k];
		if (l->n_enc)
			mean /= (double)l->n_enc;
		if (l->enc_us)
			qsort(l->enc_us, (size_t)l->n_enc, sizeof(double), cmp_d);
		fprintf(out,
				"%s{\"index\":%d,\"path\":\"%s\",\"width\":%d,\"height\":%d,\"fps\":%.3f,\"kbps\":%d,"
				"\"frames_encoded\":%" PRId64 ",\"bytes\":%" PRId64 ",\"keyframes\":%" PRId64
				",\"thread_cpu_s\":%.3f,\"encode_cpu_s\":%.3f,\"encode_us\":{\"count\":%" PRId64
				",\"mean\":%.1f,\"p50\":%.1f,\"p99\":%.1f,\"max\":%.1f}}",
				i ? "," : "", i, l->path, l->width, l->height, (double)l->fps_num / (l->fps_den ? l->fps_den : 1),
				l->kbps, l->frames, l->bytes, l->keyframes, l->thread_cpu_s, l->encode_cpu_s, l->n_enc, mean,
				pct(l->enc_us, l->n_enc, 0.5), pct(l->enc_us, l->n_enc, 0.99),
				l->n_enc ? l->enc_us[l->n_enc - 1] : 0.0);
	}
	fprintf(out, "]}\n");
	if (out != stdout)
		fclose(out);
	return rc;
}
