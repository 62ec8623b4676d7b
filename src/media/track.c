#include "track.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "frame.h"
#include "log.h"
#include "output.h"

#define MOD "track"

/* Layer i of t->cfg: its encoder, scaler and mailbox. `si`: the input's, for the top layer's pass-through
 * (NULL for a layer a reload adds, which is never the top one). */
static int layer_init(struct mc_track *t, int i, const struct mc_source_info *si)
{
	const struct mc_track_config *cfg = t->cfg;
	struct mc_layer *l = &t->layers[i];
	const struct mc_layer_config *lc = &cfg->layers[i];
	int src_fps = t->src_fps;
	*l = (struct mc_layer){ 0 };
	l->track = t;
	l->index = i;
	l->cfg = lc;
	l->slot_interval = -1;
	l->key_from_pts = l->last_key_pts = INT64_MIN;
	l->created_us = mc_now_us();
	mc_mailbox_init(&l->mailbox, t->input.lossless);
	int fps = lc->fps < src_fps ? lc->fps : src_fps;
	if (lc->fps > src_fps)
		mc_warn(MOD, "%s: layer %d asks for %d fps; %s %s gives %d", cfg->name, i, lc->fps, t->producer->kind,
			t->producer->name, src_fps);
	l->fps = l->fps_used = fps;
	l->bitrate = l->ceiling_bps = l->ceiling_seen = lc->bitrate;
	mc_count_set(&l->bitrate_now, (uint64_t)lc->bitrate);
	l->gop_frames = (int)(cfg->keyframe_interval * fps + 0.5);
	if (l->gop_frames < 1)
		l->gop_frames = 1;
	char name[64];
	snprintf(name, sizeof(name), "%s/%d", cfg->name, i);
	/* The format the layer's pictures come in: the source's for the top layer (at the source's size its
	 * frames themselves, passed through, if the encoder takes their format), the layer above's for the
	 * others (each is scaled from the next larger picture). An encoder that takes it lets a device scaler
	 * keep the format and change only the size, or the half scaler run. */
	enum AVPixelFormat from_fmt = i > 0 ? mc_encoder_input_format(t->layers[i - 1].encoder) : si ? si->format : AV_PIX_FMT_NONE;
	struct mc_encoder_params p = { .codec = cfg->codec, .width = lc->width, .height = lc->height, .fps = fps,
				       .bitrate = lc->bitrate, .gop = l->gop_frames * 4, .preset = cfg->preset,
				       .threads = cfg->threads, .screen = cfg->skip_unchanged,
				       .name = name, .device = cfg->encoder_device,
				       .source_format = from_fmt };
	if (cfg->threads < 0) {
		p.threads = mc_encoder_auto_threads(&p, (int)sysconf(_SC_NPROCESSORS_ONLN));
		mc_info(MOD, "%s: %dx%d@%d: %d encoder thread(s) (threads = auto)", name, lc->width, lc->height, fps,
			p.threads);
	}
	enum mc_encoder_choice choice = lc->encoder == MC_ENCODER_TRACK ? cfg->encoder : lc->encoder;
	int rc = mc_encoder_create(&l->encoder, choice, &p);
	if (rc)
		return rc;
	struct mc_scaler_target st = { .width = lc->width, .height = lc->height,
				       .format = mc_encoder_input_format(l->encoder), .name = name, .device = cfg->scaler_device,
				       .takes = cfg->scaler == MC_SCALER_SOFTWARE ? MC_FRAME_CPU : mc_encoder_input_kinds(l->encoder) };
	l->scaler = mc_scaler_create_for(&st);
	return l->scaler ? 0 : -ENOMEM;
}

static void layer_finish(struct mc_layer *l)
{
	mc_encoder_destroy(l->encoder);
	mc_scaler_destroy(l->scaler);
	mc_mailbox_finish(&l->mailbox);
	l->encoder = NULL;
	l->scaler = NULL;
}

int mc_track_create(struct mc_track **out, const struct mc_track_config *cfg, struct mc_producer *input)
{
	*out = NULL;
	struct mc_track *t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->cfg_own = *cfg;
	cfg = t->cfg = &t->cfg_own;
	t->producer = input;
	pthread_mutex_init(&t->outputs_lock, NULL);
	bool lossless = input->lossless;
	mc_mailbox_init(&t->input, lossless);
	mc_tap_init(&t->tap);
	const struct mc_source_info *si = &input->info;
	int src_fps = mc_producer_fps(input);
	t->src_fps = src_fps;
	t->keyframe_interval_us = (int64_t)(cfg->keyframe_interval * 1e6);
	/* A lossless source is read as fast as the encoders go: its capture times are compressed, so its
	 * frames are numbered instead (none is dropped). */
	mc_frame_clock_init(&t->clock, si->fps_num, si->fps_den, lossless);
	t->key_slots = t->key_slots_used = mc_key_slots(cfg->keyframe_interval, si->fps_num, si->fps_den);
	t->src_fps_num = si->fps_num, t->src_fps_den = si->fps_den;
	t->key_epoch = -1;
	int rc = 0;
	for (int i = 0; i < cfg->n_layers; i++) {
		t->n_layers++;
		if ((rc = layer_init(t, i, si)))
			goto fail;
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
	pthread_mutex_lock(&t->outputs_lock);
	int rc = t->n_outputs == MC_TRACK_MAX_OUTPUTS ? -ENOSPC : 0;
	if (!rc)
		t->outputs[t->n_outputs++] = o;
	pthread_mutex_unlock(&t->outputs_lock);
	return rc;
}

void mc_track_remove_output(struct mc_track *t, struct mc_output *o)
{
	pthread_mutex_lock(&t->outputs_lock);
	for (int i = 0; i < t->n_outputs; i++)
		if (t->outputs[i] == o) {
			memmove(&t->outputs[i], &t->outputs[i + 1], sizeof(t->outputs[0]) * (size_t)(t->n_outputs - i - 1));
			t->n_outputs--;
			break;
		}
	pthread_mutex_unlock(&t->outputs_lock);
}

static void *layer_thread(void *arg);

int mc_track_add_layer(struct mc_track *t, const struct mc_layer_config *lc)
{
	int i = t->n_layers;
	if (i == MC_MAX_LAYERS)
		return -ENOSPC;
	t->cfg_own.layers[i] = *lc;
	t->cfg_own.n_layers = i + 1;
	int rc = layer_init(t, i, NULL);
	struct mc_layer *l = &t->layers[i];
	if (!rc && t->thread_started && (rc = -pthread_create(&l->thread, NULL, layer_thread, l)) == 0)
		l->thread_started = true;
	if (rc) {
		layer_finish(l);
		t->cfg_own.n_layers = i;
		return rc;
	}
	mc_layer_request_keyframe(l); /* the first frame of a new stream */
	return 0;
}

void mc_track_publish_layers(struct mc_track *t, int n)
{
	__atomic_store_n(&t->n_layers, n, __ATOMIC_SEQ_CST);
}

void mc_track_remove_last_layer(struct mc_track *t)
{
	int i = t->n_layers - 1;
	if (i < 1)
		return;
	struct mc_layer *l = &t->layers[i];
	uint64_t done = __atomic_load_n(&t->frames_done, __ATOMIC_SEQ_CST);
	__atomic_store_n(&t->n_layers, i, __ATOMIC_SEQ_CST);
	/* a frame the track thread took before it saw the new count may still use the layer's scaler and
	 * mailbox: wait for it (bounded: a frame takes milliseconds; a source with no frames is not busy) */
	for (int k = 0; k < 2000 && __atomic_load_n(&t->busy, __ATOMIC_SEQ_CST) &&
			__atomic_load_n(&t->frames_done, __ATOMIC_SEQ_CST) == done; k++) {
		struct timespec ts = { 0, 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
	mc_mailbox_close(&l->mailbox);
	if (l->thread_started)
		pthread_join(l->thread, NULL); /* it flushes its encoder to the outputs first */
	l->thread_started = false;
	layer_finish(l);
	t->cfg_own.n_layers = i;
}

void mc_layer_set_config(struct mc_layer *l, int bitrate, int fps)
{
	int src_fps = l->track->src_fps;
	if (fps > src_fps)
		mc_warn(MOD, "%s: layer %d asks for %d fps; the source gives %d", l->track->cfg->name, l->index, fps, src_fps);
	__atomic_store_n(&l->ceiling_bps, bitrate, __ATOMIC_RELAXED);
	__atomic_store_n(&l->fps, fps < src_fps ? fps : src_fps, __ATOMIC_RELAXED);
}

void mc_track_set_keyframe_interval(struct mc_track *t, double seconds)
{
	__atomic_store_n(&t->keyframe_interval_us, (int64_t)(seconds * 1e6), __ATOMIC_RELAXED);
	__atomic_store_n(&t->key_slots, mc_key_slots(seconds, t->src_fps_num, t->src_fps_den), __ATOMIC_RELAXED);
}

/* The request is a count rather than a flag: the layer thread serves it on its next frame, and the track
 * hands an unchanged frame over once per new request (not once per source frame until the layer got to it). */
void mc_layer_request_keyframe(struct mc_layer *l) { mc_count_inc(&l->stats.keyframes_requested); }

void mc_track_request_keyframe(struct mc_track *t, int layer)
{
	for (int i = 0; i < __atomic_load_n(&t->n_layers, __ATOMIC_ACQUIRE); i++)
		if (layer < 0 || layer == i)
			mc_layer_request_keyframe(&t->layers[i]);
}

static void deliver(struct mc_layer *l, AVPacket *pkt)
{
	struct mc_track *t = l->track;
	bool key = pkt->flags & AV_PKT_FLAG_KEY;
	mc_count_inc(&l->stats.frames_encoded);
	mc_count_add(&l->stats.bytes, (uint64_t)pkt->size);
	mc_count_set(&l->stats.last_encoded_us, (uint64_t)mc_now_us());
	if (key)
		mc_count_inc(&l->stats.keyframes);
	bool dropped = false;
	pthread_mutex_lock(&t->outputs_lock); /* a reload may remove an output; uncontended otherwise */
	for (int i = 0; i < t->n_outputs; i++)
		dropped |= mc_output_deliver(t->outputs[i], pkt, l->index, key, pkt->pts) == -ENOSPC;
	pthread_mutex_unlock(&t->outputs_lock);
	/* A frame that never left leaves no gap in the sequence numbers (they are given on the network thread):
	 * the receiver cannot NACK it and decodes garbage until the next keyframe, so make that one now. */
	if (dropped) {
		mc_count_inc(&l->stats.frames_dropped_net);
		mc_layer_request_keyframe(l);
	}
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

/* A test-only fault switch (tests/integration/notify.py; never set it in production):
 * MIXCAST_TEST_STALL_LAYER=N:K makes the encoder thread of layer N of every track stop taking frames after
 * its K-th, as a hung encoder would, so that the watchdog's pings stop. It waits for the mailbox to close,
 * so a stop still ends the daemon cleanly. Returns K, or -1 when the switch is off for this layer. */
static long test_stall_after(const struct mc_layer *l)
{
	const char *v = getenv("MIXCAST_TEST_STALL_LAYER");
	int n;
	long k;
	if (!v || sscanf(v, "%d:%ld", &n, &k) != 2 || n != l->index || k < 0)
		return -1;
	mc_warn(MOD, "%s: layer %d: MIXCAST_TEST_STALL_LAYER: the encoder thread stalls after %ld frames (test only)",
		l->track->cfg->name, l->index, k);
	return k;
}

static void test_stall(struct mc_layer *l)
{
	struct timespec ts = { 0, 10 * 1000 * 1000 };
	while (!mc_mailbox_is_closed(&l->mailbox))
		nanosleep(&ts, NULL);
}

/* What congestion control asks of this layer (src/media/layer_ctl.h), applied between frames on the layer's own
 * thread, which owns the encoder. Returns true when the layer is paused (the frame is not encoded);
 * *key when it resumes (a decoder that saw nothing for a while needs a keyframe). */
static bool apply_control(struct mc_layer *l, bool *key)
{
	bool paused;
	int target = mc_layer_ctl_target(&l->ctl, &paused);
	if (paused != l->paused) {
		mc_info(MOD, "%s: layer %d %s", l->track->cfg->name, l->index,
			paused ? "paused: the bandwidth estimate does not cover it" : "resumed");
		l->paused = paused;
		if (!paused) {
			mc_count_set(&l->resumed_us, (uint64_t)mc_now_us());
			*key = true;
		}
		mc_count_set(&l->paused_now, paused);
	}
	if (paused) {
		mc_count_inc(&l->frames_paused);
		return true;
	}
	/* the configured rate is the ceiling: congestion control may ask for less, a reload moves it */
	int ceiling = __atomic_load_n(&l->ceiling_bps, __ATOMIC_RELAXED);
	bool new_ceiling = ceiling != l->ceiling_seen;
	l->ceiling_seen = ceiling;
	if (target <= 0 || target > ceiling)
		target = ceiling;
	/* 5 %: an estimate that moves a little each feedback does not reconfigure the encoder every frame */
	int diff = target > l->bitrate ? target - l->bitrate : l->bitrate - target;
	if (diff * 20 > l->bitrate) {
		int rc = mc_encoder_set_bitrate(l->encoder, target);
		if (rc == 0) {
			mc_debug(MOD, "%s: layer %d: %d -> %d kbit/s", l->track->cfg->name, l->index, l->bitrate / 1000,
				 target / 1000);
			l->bitrate = target;
			mc_count_set(&l->bitrate_now, (uint64_t)target);
			mc_count_inc(&l->bitrate_changes);
		} else if (new_ceiling && rc != -EAGAIN) {
			mc_warn(MOD, "%s: layer %d: the encoder (%s) cannot change its bitrate while it runs (%s): it stays at "
				"%d kbit/s; a restart of the track applies %d kbit/s", l->track->cfg->name, l->index,
				mc_encoder_backend_name(l->encoder), strerror(-rc), l->bitrate / 1000, ceiling / 1000);
		}
	}
	return false;
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
	int sched = l->index == 0 && __atomic_load_n(&t->n_layers, __ATOMIC_ACQUIRE) > 1 ? mc_thread_sched(0, 2) : mc_thread_sched(2000 >> l->index, 0);
	if (sched)
		mc_debug(MOD, "%s: layer %d: scheduling not changed: %s", t->cfg->name, l->index, strerror(-sched));
	AVPacket *pkt = av_packet_alloc();
	AVFrame *frame;
	int64_t put_us;
	struct mc_ratelimit rl = MC_RATELIMIT_INIT(10000, 2);
	long stall_after = test_stall_after(l), taken = 0;
	while (pkt && mc_mailbox_take(&l->mailbox, &frame, &put_us) == 0) {
		if (++taken == stall_after + 1) {
			av_frame_free(&frame);
			test_stall(l);
			continue;
		}
		int64_t t0 = mc_now_us();
		mc_hist_add(&l->stats.queue_age, t0 - put_us);
		/* Keyframes come from the track's schedule on the capture clock (the same source frame for every
		 * layer due on it), from a request, or when congestion control resumes the layer; a request does
		 * not move the schedule. */
		int64_t pts = frame->pts;
		bool resumed = false;
		if (apply_control(l, &resumed)) {
			av_frame_free(&frame);
			continue;
		}
		if (mc_frame_get_dmabuf(frame))
			mc_count_inc(&l->stats.device_frames);
		uint64_t requests = mc_count_get(&l->stats.keyframes_requested);
		bool key = resumed || requests != l->requests_done ||
			   mc_key_owed(pts, __atomic_load_n(&l->key_from_pts, __ATOMIC_ACQUIRE), l->last_key_pts);
		int rc = mc_encoder_send(l->encoder, frame, key);
		if (rc == -EAGAIN) { /* the encoder wants its output read first */
			drain_encoder(l, pkt);
			rc = mc_encoder_send(l->encoder, frame, key);
		}
		av_frame_free(&frame);
		if (rc == 0) {
			if (key) {
				l->last_key_pts = pts;
				l->requests_done = requests;
			}
			rc = drain_encoder(l, pkt);
		}
		if (rc < 0)
			mc_count_inc(&l->stats.encode_errors);
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

/* Compares a frame with the last changed one (a static screen need not be encoded 15 times a second). The
 * comparison is sampled (unchanged.h): a producer that delivers the same buffer again (kms, a mix, a solid
 * testsrc) costs no compare at all. */
static bool unchanged(struct mc_track *t, AVFrame *frame)
{
	int64_t t0 = mc_now_us();
	bool same = t->prev && mc_unchanged_frames(&t->unchanged, frame, t->prev);
	mc_hist_add(&t->compare, mc_now_us() - t0);
	if (!same) {
		av_frame_free(&t->prev);
		t->prev = av_frame_clone(frame);
	}
	return same;
}

/* Which layers take this frame: decimation on the source's frame clock first, then the unchanged-frame skip.
 * A layer skips its slot only when nothing changed since its last frame and it owes no keyframe: a change
 * between a small layer's slots is encoded at its next slot, and a static screen still gets a keyframe
 * every keyframe interval (a viewer who joins sees a picture within it; the stream never falls silent). */
static int layers_due(struct mc_track *t, AVFrame *frame, int n_layers, bool due[])
{
	int64_t slot = mc_frame_clock_slot(&t->clock, frame->pts);
	int64_t key_slots = __atomic_load_n(&t->key_slots, __ATOMIC_RELAXED);
	if (key_slots != t->key_slots_used) {
		/* a reload changed the interval: the period we are in is counted anew, no keyframe for that */
		t->key_slots_used = key_slots;
		t->key_epoch = slot / key_slots;
	}
	bool key_slot = mc_key_slot(&t->key_epoch, slot, key_slots);
	bool changed = true;
	if (t->cfg->skip_unchanged && unchanged(t, frame)) {
		changed = false;
		mc_count_inc(&t->frames_unchanged);
	}
	int last_needed = -1;
	for (int i = 0; i < n_layers; i++) {
		struct mc_layer *l = &t->layers[i];
		l->dirty |= changed;
		l->owes_key |= key_slot;
		bool requested = mc_count_get(&l->stats.keyframes_requested) != l->requests_handed;
		int fps = __atomic_load_n(&l->fps, __ATOMIC_RELAXED);
		if (fps != l->fps_used) {
			/* a reload changed the rate: its intervals are counted anew, from this frame on */
			l->fps_used = fps;
			l->slot_interval = slot * fps / t->src_fps - 1;
		}
		due[i] = mc_layer_slot_due(&l->slot_interval, slot, fps, t->src_fps) &&
			 (l->dirty || l->owes_key || requested);
		if (due[i])
			last_needed = i;
	}
	return last_needed;
}

/* Hands a scaled frame to its layer; the keyframe owed goes with it (and to the next frame if the layer's
 * mailbox drops this one). */
static void hand_over(struct mc_layer *l, AVFrame *frame)
{
	AVFrame *ref = av_frame_clone(frame);
	if (!ref)
		return;
	if (l->owes_key)
		__atomic_store_n(&l->key_from_pts, ref->pts, __ATOMIC_RELEASE);
	l->owes_key = l->dirty = false;
	/* read before the put: a request that comes later gets a frame of its own */
	l->requests_handed = mc_count_get(&l->stats.keyframes_requested);
	mc_count_inc(&l->stats.frames_in);
	mc_mailbox_put(&l->mailbox, ref);
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
		/* busy before the layer count is read: a reload that removes a layer waits for this frame
		 * (mc_track_remove_last_layer; both sequentially consistent) */
		__atomic_store_n(&t->busy, true, __ATOMIC_SEQ_CST);
		int n_layers = __atomic_load_n(&t->n_layers, __ATOMIC_SEQ_CST);
		mc_hist_add(&t->mailbox_age, mc_now_us() - put_us);
		mc_count_inc(&t->frames_in);
		mc_tap_offer(&t->tap, frame);
		bool due[MC_MAX_LAYERS];
		int last_needed = layers_due(t, frame, n_layers, due);
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
			if (mc_scaler_on_device(l->scaler))
				mc_count_inc(&l->stats.device_scaled);
			else if (scaled->data[0] != from->data[0])
				mc_count_inc(&l->stats.copies);
			if (from != frame)
				av_frame_free(&from);
			from = scaled;
			if (due[i])
				hand_over(l, scaled);
		}
		if (from != frame)
			av_frame_free(&from);
		av_frame_free(&frame);
		__atomic_add_fetch(&t->frames_done, 1, __ATOMIC_SEQ_CST);
		__atomic_store_n(&t->busy, false, __ATOMIC_SEQ_CST);
	}
	for (int i = 0; i < __atomic_load_n(&t->n_layers, __ATOMIC_SEQ_CST); i++)
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
	for (int i = 0; i < t->n_layers; i++)
		layer_finish(&t->layers[i]);
	mc_mailbox_finish(&t->input);
	mc_tap_finish(&t->tap);
	pthread_mutex_destroy(&t->outputs_lock);
	free(t);
}

uint64_t mc_layer_dropped(struct mc_layer *l) { return mc_mailbox_dropped(&l->mailbox); }
