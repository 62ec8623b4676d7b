#include "mixer.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

#define MOD "mixer"

int mc_mixer_create(struct mc_mixer **out, const struct mc_mix_config *cfg, struct mc_producer *const *inputs)
{
	*out = NULL;
	struct mc_mixer *m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	m->cfg = cfg;
	mc_producer_init(&m->out, cfg->name, "mix");
	m->out.info = (struct mc_source_info){ cfg->width, cfg->height, cfg->fps, 1, "mix", AV_PIX_FMT_YUV420P };
	m->layout = (struct mc_layout_params){ .layout = cfg->layout, .width = cfg->width, .height = cfg->height,
					       .pip_position = cfg->pip_position, .pip_size = cfg->pip_size,
					       .margin = cfg->margin };
	mc_pace_init(&m->pace, cfg->fps, 1);
	int rc = -ENOMEM;
	/* YUV420P: what the software encoders take without a conversion (the track's scalers convert for others) */
	if (!(m->pool = mc_frame_pool_create(cfg->width, cfg->height, AV_PIX_FMT_YUV420P)))
		goto fail;
	for (int i = 0; i < cfg->n_inputs; i++) {
		struct mc_mix_input *in = &m->inputs[i];
		in->from = inputs[i];
		/* never lossless: the mix ticks at its own rate and takes the newest frame, whatever the input */
		mc_mailbox_init(&in->mailbox, false);
		m->n_inputs++;
		if ((rc = mc_producer_add_sink(inputs[i], &in->mailbox))) {
			mc_err(MOD, "%s: %s %s feeds too many tracks and mixes", cfg->name, inputs[i]->kind, inputs[i]->name);
			goto fail;
		}
	}
	*out = m;
	return 0;
fail:
	mc_mixer_destroy(m);
	return rc;
}

static void fill_black(AVFrame *f)
{
	for (int y = 0; y < f->height; y++)
		memset(f->data[0] + (size_t)y * f->linesize[0], 16, (size_t)f->width);
	for (int p = 1; p < 3; p++)
		for (int y = 0; y < f->height / 2; y++)
			memset(f->data[p] + (size_t)y * f->linesize[p], 128, (size_t)f->width / 2);
}

/* Composing is the one copy a mix makes: each input's (scaled) picture into its place on the canvas. */
static void blit(AVFrame *dst, const AVFrame *src, struct mc_rect r)
{
	for (int p = 0; p < 3; p++) {
		int sh = p ? 1 : 0;
		int w = r.w >> sh, h = r.h >> sh, x = r.x >> sh, y = r.y >> sh;
		for (int row = 0; row < h; row++)
			memcpy(dst->data[p] + (size_t)(y + row) * dst->linesize[p] + x,
			       src->data[p] + (size_t)row * src->linesize[p], (size_t)w);
	}
}

/* `in->frame` at w x h, scaled once per new frame; the scaler is re-made when the place's size changes
 * (an input that changed size or aspect ratio). */
static const AVFrame *scaled_input(struct mc_mixer *m, struct mc_mix_input *in, int w, int h)
{
	if (in->scaled && in->scaled_w == w && in->scaled_h == h)
		return in->scaled;
	av_frame_free(&in->scaled);
	if (!in->scaler || in->scaled_w != w || in->scaled_h != h) {
		mc_scaler_destroy(in->scaler);
		in->scaler = mc_scaler_create(w, h, AV_PIX_FMT_YUV420P);
		in->scaled_w = w;
		in->scaled_h = h;
		if (!in->scaler)
			return NULL;
	}
	in->scaled = mc_scaler_run(in->scaler, in->frame);
	if (!in->scaled)
		mc_err(MOD, "%s: cannot scale %s %s to %dx%d", m->cfg->name, in->from->kind, in->from->name, w, h);
	return in->scaled;
}

int mc_mixer_compose(struct mc_mixer *m, AVFrame *canvas)
{
	int w[MC_MIX_MAX_INPUTS], h[MC_MIX_MAX_INPUTS];
	struct mc_rect r[MC_MIX_MAX_INPUTS];
	for (int i = 0; i < m->n_inputs; i++) {
		const AVFrame *f = m->inputs[i].frame;
		w[i] = f ? f->width : 0;
		h[i] = f ? f->height : 0;
	}
	mc_layout_compute(&m->layout, m->n_inputs, w, h, r);
	fill_black(canvas);
	int rc = 0;
	for (int i = 0; i < m->n_inputs; i++) {
		struct mc_mix_input *in = &m->inputs[i];
		if (!in->frame || r[i].w <= 0 || r[i].h <= 0)
			continue;
		const AVFrame *s = scaled_input(m, in, r[i].w, r[i].h);
		if (s)
			blit(canvas, s, r[i]);
		else
			rc = -EINVAL;
	}
	return rc;
}

/* Takes the newest frame of each input. Returns whether any changed; *open counts inputs not ended. */
static bool take_inputs(struct mc_mixer *m, int *open, int64_t *newest_pts)
{
	bool changed = false;
	*open = 0;
	for (int i = 0; i < m->n_inputs; i++) {
		struct mc_mix_input *in = &m->inputs[i];
		AVFrame *f;
		int rc = mc_mailbox_poll(&in->mailbox, &f);
		if (rc == 0) {
			/* The same buffer again (a source whose picture did not change: a static screen, a slate):
			 * while we hold the previous reference, no pool can have reused it for other pixels. */
			const AVFrame *old = in->frame;
			bool same = old && f->buf[0] && old->buf[0] && f->buf[0]->buffer == old->buf[0]->buffer &&
				    f->data[0] == old->data[0] && f->width == old->width && f->height == old->height &&
				    f->format == old->format;
			if (!same) {
				av_frame_free(&in->scaled);
				changed = true;
				if (f->pts > *newest_pts)
					*newest_pts = f->pts;
			}
			av_frame_free(&in->frame);
			in->frame = f;
		} else if (rc == -EPIPE && !in->closed) {
			in->closed = true;
			/* at shutdown every input ends: not worth more than a debug line */
			mc_debug(MOD, "%s: %s %s has ended; its last picture stays", m->cfg->name, in->from->kind,
				 in->from->name);
		}
		*open += !in->closed;
	}
	return changed;
}

static void *mixer_thread(void *arg)
{
	struct mc_mixer *m = arg;
	char tname[16];
	snprintf(tname, sizeof(tname), "mix.%.11s", m->cfg->name);
	pthread_setname_np(pthread_self(), tname);
	mc_thread_cpu_begin(&m->cpu);
	struct mc_ratelimit rl = MC_RATELIMIT_INIT(10000, 2);
	for (;;) {
		int64_t due = mc_pace_wait(&m->pace, &m->stop);
		if (due < 0)
			break;
		int open;
		int64_t pts = 0;
		bool changed = take_inputs(m, &open, &pts);
		if (open == 0) {
			mc_info(MOD, "%s: every input has ended after %llu pictures", m->cfg->name,
				(unsigned long long)mc_count_get(&m->frames));
			break;
		}
		AVFrame *pic;
		if (!changed && m->last) {
			/* Nothing new: the same picture again (a new reference, no copy). The track finds it unchanged
			 * from the buffer pointers alone and encodes it only once per keyframe interval. */
			pic = av_frame_clone(m->last);
			pts = due;
			mc_count_inc(&m->frames_repeated);
		} else {
			int64_t t0 = mc_now_us();
			pic = mc_frame_pool_get(m->pool);
			if (pic && mc_mixer_compose(m, pic) && mc_ratelimit_ok(&rl, NULL))
				mc_warn(MOD, "%s: an input could not be scaled; its place is black", m->cfg->name);
			mc_hist_add(&m->compose, mc_now_us() - t0);
			if (!pts)
				pts = due;
		}
		if (!pic)
			continue;
		/* capture time of the newest input picture in it; RTP timestamps come from it, so never backwards */
		if (pts <= m->last_pts)
			pts = m->last_pts + 1;
		pic->pts = m->last_pts = pts;
		if (changed || !m->last) {
			av_frame_free(&m->last);
			m->last = av_frame_clone(pic);
		}
		mc_count_inc(&m->frames);
		mc_producer_deliver(&m->out, pic);
	}
	mc_producer_end(&m->out, false);
	mc_thread_cpu_end(&m->cpu);
	return NULL;
}

int mc_mixer_start(struct mc_mixer *m)
{
	int rc = pthread_create(&m->thread, NULL, mixer_thread, m);
	if (rc)
		return -rc;
	m->thread_started = true;
	return 0;
}

void mc_mixer_stop(struct mc_mixer *m)
{
	if (!m || !m->thread_started)
		return;
	__atomic_store_n(&m->stop, true, __ATOMIC_RELEASE);
	mc_producer_close_sinks(&m->out);
	pthread_join(m->thread, NULL);
	m->thread_started = false;
}

void mc_mixer_destroy(struct mc_mixer *m)
{
	if (!m)
		return;
	mc_mixer_stop(m);
	for (int i = 0; i < m->n_inputs; i++) {
		struct mc_mix_input *in = &m->inputs[i];
		av_frame_free(&in->frame);
		av_frame_free(&in->scaled);
		mc_scaler_destroy(in->scaler);
		mc_mailbox_finish(&in->mailbox);
	}
	av_frame_free(&m->last);
	mc_frame_pool_destroy(m->pool);
	mc_producer_finish(&m->out);
	free(m);
}
