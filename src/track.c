#include "track.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "frame.h"
#include "log.h"
#include "output.h"

#define MOD "track"

int mc_track_create(struct mc_track **out, const struct mc_track_config *cfg, struct mc_producer *input)
{
	*out = NULL;
	struct mc_track *t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->cfg = cfg;
	t->producer = input;
	bool lossless = input->lossless;
	mc_mailbox_init(&t->input, lossless);
	const struct mc_source_info *si = &input->info;
	int src_fps = mc_producer_fps(input);
	t->src_fps = src_fps;
	t->keyframe_interval_us = (int64_t)(cfg->keyframe_interval * 1e6);
	int rc = 0;
	for (int i = 0; i < cfg->n_layers; i++) {
		struct mc_layer *l = &t->layers[i];
		const struct mc_layer_config *lc = &cfg->layers[i];
		l->track = t;
		l->index = i;
		l->cfg = lc;
		mc_mailbox_init(&l->mailbox, lossless);
		t->n_layers++;
		int fps = lc->fps < src_fps ? lc->fps : src_fps;
		if (lc->fps > src_fps)
			mc_warn(MOD, "%s: layer %d asks for %d fps; %s %s gives %d", cfg->name, i, lc->fps, input->kind,
				input->name, src_fps);
		l->gop_frames = (int)(cfg->keyframe_interval * fps + 0.5);
		if (l->gop_frames < 1)
			l->gop_frames = 1;
		char name[64];
		snprintf(name, sizeof(name), "%s/%d", cfg->name, i);
		/* the top layer at the source's size gets the source's frames themselves (the scaler passes them
		 * through) if its encoder takes their format */
		bool same_size = i == 0 && lc->width == si->width && lc->height == si->height;
		struct mc_encoder_params p = { .codec = cfg->codec, .width = lc->width, .height = lc->height, .fps = fps,
					       .bitrate = lc->bitrate, .gop = l->gop_frames * 4, .preset = cfg->preset,
					       .threads = cfg->threads, .name = name,
					       .source_format = same_size ? si->format : AV_PIX_FMT_NONE };
		if ((rc = mc_encoder_create(&l->encoder, cfg->encoder, &p)))
			goto fail;
		l->scaler = mc_scaler_create(lc->width, lc->height, mc_encoder_input_format(l->encoder));
		if (!l->scaler) {
			rc = -ENOMEM;
			goto fail;
		}
	}
	if ((rc = mc_producer_add_sink(input, &t->input)))
		goto fail;
	*out = t;
	return 0;
fail:
	mc_track_destroy(t);
	return rc;
}

int mc_track_add_output(struct mc_track *t, struct mc_output *o)
{
	if (t->n_outputs == MC_TRACK_MAX_OUTPUTS)
		return -ENOSPC;
	t->outputs[t->n_outputs++] = o;
	return 0;
}

static void deliver(struct mc_layer *l, AVPacket *pkt)
{
	struct mc_track *t = l->track;
	bool key = pkt->flags & AV_PKT_FLAG_KEY;
	l->stats.frames_encoded++;
	l->stats.bytes += (uint64_t)pkt->size;
	if (key)
		l->stats.keyframes++;
	for (int i = 0; i < t->n_outputs; i++)
		mc_output_deliver(t->outputs[i], pkt, l->index, key, pkt->pts);
}

/* Receive what the encoder has; returns 0 or -EPIPE once it is flushed. */
static int drain_encoder(struct mc_layer *l, AVPacket *pkt)
{
	for (;;) {
		int rc = mc_encoder_receive(l->encoder, pkt);
		if (rc == -EAGAIN)
			return 0;
		if (rc < 0)
			return rc;
		deliver(l, pkt);
		av_packet_unref(pkt);
	}
}

static void *layer_thread(void *arg)
{
	struct mc_layer *l = arg;
	struct mc_track *t = l->track;
	char tname[16];
	snprintf(tname, sizeof(tname), "enc.%.8s.%d", t->cfg->name, l->index);
	pthread_setname_np(pthread_self(), tname);
	mc_thread_cpu_begin(&l->cpu);
	/* Shortest job first: on a small device the layers' encoders outnumber the cores, and a 180p frame
	 * (1 ms) should not wait behind a 720p one (11 ms). The largest layer keeps the default slice and runs
	 * at a lower priority; the smaller ones get shorter slices the smaller they are (1 ms, 0.5 ms), so they
	 * preempt the larger ones when a frame arrives. */
	int sched = l->index == 0 && t->n_layers > 1 ? mc_thread_sched(0, 2) : mc_thread_sched(2000 >> l->index, 0);
	if (sched)
		mc_debug(MOD, "%s: layer %d: scheduling not changed: %s", t->cfg->name, l->index, strerror(-sched));
	AVPacket *pkt = av_packet_alloc();
	AVFrame *frame;
	int64_t put_us;
	struct mc_ratelimit rl = MC_RATELIMIT_INIT(10000, 2);
	while (pkt && mc_mailbox_take(&l->mailbox, &frame, &put_us) == 0) {
		int64_t t0 = mc_now_us();
		mc_hist_add(&l->stats.queue_age, t0 - put_us);
		/* Every keyframe_interval: counted in frames (a file read as fast as possible has compressed
		 * capture times) and in time (unchanged frames of a static screen are skipped, and a viewer who
		 * joins still needs a keyframe within the interval). */
		int64_t capture_us = frame->pts;
		if (mc_frame_get_dmabuf(frame))
			mc_count_inc(&l->stats.device_frames);
		bool key = l->since_keyframe == 0 || l->since_keyframe >= l->gop_frames ||
			   capture_us - l->last_key_us >= t->keyframe_interval_us;
		int rc = mc_encoder_send(l->encoder, frame, key);
		if (rc == -EAGAIN) { /* the encoder wants its output read first */
			drain_encoder(l, pkt);
			rc = mc_encoder_send(l->encoder, frame, key);
		}
		av_frame_free(&frame);
		if (rc == 0) {
			l->since_keyframe = key ? 1 : l->since_keyframe + 1;
			if (key)
				l->last_key_us = capture_us;
			rc = drain_encoder(l, pkt);
		}
		if (rc < 0 && mc_ratelimit_ok(&rl, NULL))
			mc_err(MOD, "%s: layer %d: encoding failed: %s", t->cfg->name, l->index, strerror(-rc));
		mc_hist_add(&l->stats.encode, mc_now_us() - t0);
	}
	/* end of input: flush what the encoder holds */
	if (pkt && mc_encoder_send(l->encoder, NULL, false) == 0)
		drain_encoder(l, pkt);
	av_packet_free(&pkt);
	mc_thread_cpu_end(&l->cpu);
	return NULL;
}

static bool layer_due(struct mc_layer *l, int src_fps)
{
	/* Decimate by the source's nominal rate, not by timestamps: a file read as fast as possible has
	 * compressed timestamps but still needs every second frame for a half-rate layer. */
	l->fps_acc += l->cfg->fps;
	if (l->fps_acc < src_fps)
		return false;
	l->fps_acc -= src_fps;
	if (l->fps_acc > src_fps)
		l->fps_acc = 0;
	return true;
}

/* A static screen need not be encoded 15 times a second. An unchanged frame is skipped, except one per
 * keyframe interval, which the layers encode as a keyframe: a viewer who joins gets a picture within the
 * interval, and the stream never falls silent for longer. The comparison is sampled (src/unchanged.h): a
 * source that delivers the same buffer again (kms, a mix, a solid testsrc) costs no compare at all. */
static bool unchanged(struct mc_track *t, AVFrame *frame)
{
	int64_t t0 = mc_now_us();
	bool same = t->prev && frame->pts - t->prev->pts < t->keyframe_interval_us &&
		    mc_unchanged_frames(&t->unchanged, frame, t->prev);
	mc_hist_add(&t->compare, mc_now_us() - t0);
	if (!same) {
		av_frame_free(&t->prev);
		t->prev = av_frame_clone(frame);
	}
	return same;
}

static void *track_thread(void *arg)
{
	struct mc_track *t = arg;
	char tname[16];
	snprintf(tname, sizeof(tname), "track.%.9s", t->cfg->name);
	pthread_setname_np(pthread_self(), tname);
	mc_thread_cpu_begin(&t->cpu);
	mc_thread_sched(300, 0); /* scaling is short and every layer waits for it */
	struct mc_ratelimit rl = MC_RATELIMIT_INIT(10000, 2);
	AVFrame *frame;
	int64_t put_us;
	while (mc_mailbox_take(&t->input, &frame, &put_us) == 0) {
		mc_hist_add(&t->mailbox_age, mc_now_us() - put_us);
		t->frames_in++;
		if (t->cfg->skip_unchanged && unchanged(t, frame)) {
			t->frames_unchanged++;
			av_frame_free(&frame);
			continue;
		}
		bool due[MC_MAX_LAYERS];
		int last_needed = -1;
		for (int i = 0; i < t->n_layers; i++)
			if ((due[i] = layer_due(&t->layers[i], t->src_fps)))
				last_needed = i;
		/* The pyramid: each picture is made from the previous (larger) one. A layer that is not due this
		 * frame is still scaled when a smaller due layer needs it. */
		AVFrame *from = frame;
		for (int i = 0; i <= last_needed; i++) {
			struct mc_layer *l = &t->layers[i];
			int64_t t0 = mc_now_us();
			AVFrame *scaled = mc_scaler_run(l->scaler, from);
			mc_hist_add(&l->stats.scale, mc_now_us() - t0);
			if (!scaled) {
				if (mc_ratelimit_ok(&rl, NULL))
					mc_err(MOD, "%s: layer %d: scaling failed", t->cfg->name, i);
				break;
			}
			if (scaled->data[0] != from->data[0])
				mc_count_inc(&l->stats.copies);
			if (from != frame)
				av_frame_free(&from);
			from = scaled;
			if (due[i]) {
				AVFrame *ref = av_frame_clone(scaled);
				if (ref) {
					l->stats.frames_in++;
					mc_mailbox_put(&l->mailbox, ref);
				}
			}
		}
		if (from != frame)
			av_frame_free(&from);
		av_frame_free(&frame);
	}
	for (int i = 0; i < t->n_layers; i++)
		mc_mailbox_close(&t->layers[i].mailbox);
	av_frame_free(&t->prev);
	mc_thread_cpu_end(&t->cpu);
	return NULL;
}

int mc_track_start(struct mc_track *t)
{
	for (int i = 0; i < t->n_layers; i++) {
		struct mc_layer *l = &t->layers[i];
		int rc = pthread_create(&l->thread, NULL, layer_thread, l);
		if (rc)
			return -rc;
		l->thread_started = true;
	}
	int rc = pthread_create(&t->thread, NULL, track_thread, t);
	if (rc)
		return -rc;
	t->thread_started = true;
	return 0;
}

void mc_track_join(struct mc_track *t)
{
	if (!t)
		return;
	mc_mailbox_close(&t->input);
	if (t->thread_started)
		pthread_join(t->thread, NULL);
	t->thread_started = false;
	for (int i = 0; i < t->n_layers; i++) {
		struct mc_layer *l = &t->layers[i];
		mc_mailbox_close(&l->mailbox);
		if (l->thread_started)
			pthread_join(l->thread, NULL);
		l->thread_started = false;
	}
}

void mc_track_destroy(struct mc_track *t)
{
	if (!t)
		return;
	mc_track_join(t);
	for (int i = 0; i < t->n_layers; i++) {
		struct mc_layer *l = &t->layers[i];
		mc_encoder_destroy(l->encoder);
		mc_scaler_destroy(l->scaler);
		mc_mailbox_finish(&l->mailbox);
	}
	mc_mailbox_finish(&t->input);
	free(t);
}

uint64_t mc_layer_dropped(struct mc_layer *l) { return mc_mailbox_dropped(&l->mailbox); }
