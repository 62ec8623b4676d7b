/* A track with real encoders (libx264) behind a hand-fed source and in front of an output whose network
 * queue the test reads itself (no network thread; nothing is sent). It checks which source frames each
 * layer encodes and which become keyframes: decimation before the unchanged-frame skip, keyframes of all
 * layers from the same source frame, keyframe requests, and a keyframe after a frame the full network queue
 * dropped. The source is lossless (as a file read as fast as possible), so no mailbox drops a frame and the
 * outcome is exact. */
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <libavutil/log.h>

#include "check.h"
#include "frame.h"
#include "log.h"
#include "output.h"
#include "track.h"

#define W 320
#define H 176
#define PERIOD 33333
#define MAX_RECS 4096

struct rec {
	int layer;
	bool key;
	int slot;
};

struct rig {
	struct mc_producer src; /* what a source shows a track; the test puts frames itself */
	struct mc_track_config tc;
	struct mc_output_config oc;
	struct mc_track *t;
	struct mc_output *o;
	struct mc_frame_pool *pool;
	int sock;
	int64_t t0;
	int64_t period; /* between the capture times fed: PERIOD, or compressed */
	int n;
	struct rec recs[MAX_RECS];
};

/* Three layers 320x176@30, 160x88@30, 80x44@15 of a 30 fps source. */
static bool rig_open(struct rig *r, double keyframe_interval, bool skip_unchanged)
{
	memset(r, 0, sizeof(*r));
	mc_producer_init(&r->src, "fake", "source");
	r->src.info = (struct mc_source_info){ W, H, 30, 1, "fake", AV_PIX_FMT_YUV420P };
	r->src.lossless = true;
	struct mc_track_config *tc = &r->tc;
	strcpy(tc->name, "test");
	tc->codec = MC_CODEC_H264;
	tc->encoder = MC_ENCODER_SOFTWARE;
	tc->n_layers = 3;
	tc->layers[0] = (struct mc_layer_config){ W, H, 30, 300000 };
	tc->layers[1] = (struct mc_layer_config){ W / 2, H / 2, 30, 100000 };
	tc->layers[2] = (struct mc_layer_config){ W / 4, H / 4, 15, 50000 };
	tc->keyframe_interval = keyframe_interval;
	strcpy(tc->preset, "ultrafast");
	tc->threads = 1;
	tc->skip_unchanged = skip_unchanged;
	/* a destination nobody reads; the test never runs the network thread, so nothing goes there */
	r->sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t alen = sizeof(a);
	if (r->sock < 0 || bind(r->sock, (struct sockaddr *)&a, sizeof(a)) || getsockname(r->sock, (struct sockaddr *)&a, &alen))
		return false;
	struct mc_output_config *oc = &r->oc;
	strcpy(oc->name, "test");
	strcpy(oc->track, "test");
	oc->type = MC_OUTPUT_RTP;
	strcpy(oc->host, "127.0.0.1");
	oc->n_ports = 1;
	oc->single_port = true;
	oc->ports[0] = ntohs(a.sin_port);
	oc->payload_type = 96;
	oc->mtu = 1200;
	oc->rtcp = MC_RTCP_OFF;
	strcpy(oc->cname, "test");
	r->pool = mc_frame_pool_create(W, H, AV_PIX_FMT_YUV420P);
	r->t0 = 1000000;
	r->period = PERIOD;
	return r->pool && mc_track_create(&r->t, tc, &r->src) == 0 &&
	       mc_output_create(&r->o, oc, 3, MC_CODEC_H264, -1) == 0 && mc_track_add_output(r->t, r->o) == 0 &&
	       mc_track_start(r->t) == 0;
}

/* Source frame `slot` showing picture number `content` (a bright block at a position of its own). */
static void feed(struct rig *r, int slot, int content)
{
	AVFrame *f = mc_frame_pool_get(r->pool);
	if (!f) {
		fprintf(stderr, "out of memory\n");
		exit(1);
	}
	for (int y = 0; y < H; y++)
		memset(f->data[0] + (size_t)y * f->linesize[0], 60, W);
	for (int y = 0; y < H / 2; y++) {
		memset(f->data[1] + (size_t)y * f->linesize[1], 128, W / 2);
		memset(f->data[2] + (size_t)y * f->linesize[2], 128, W / 2);
	}
	int bx = (content * 37) % (W - 32), by = (content * 23) % (H - 32);
	for (int y = by; y < by + 32; y++)
		memset(f->data[0] + (size_t)y * f->linesize[0] + bx, 220, 32);
	f->pts = r->t0 + (int64_t)slot * r->period;
	mc_mailbox_put(&r->t->input, f);
}

/* Takes what the encoders queued for the network thread. */
static void collect(struct rig *r)
{
	struct mc_enc_frame f;
	while (mc_pktqueue_pop(&r->o->queue, &f)) {
		if (r->n < MAX_RECS)
			r->recs[r->n++] = (struct rec){ f.layer, f.keyframe, (int)((f.capture_us - r->t0) / r->period) };
		av_packet_free(&f.pkt);
	}
}

static int count_layer(const struct rig *r, int layer)
{
	int n = 0;
	for (int i = 0; i < r->n; i++)
		n += r->recs[i].layer == layer;
	return n;
}

static void sleep_ms(int ms)
{
	struct timespec ts = { 0, ms * 1000000L };
	nanosleep(&ts, NULL);
}

/* Collects until `layer` has `n` frames (bounded: 20 s). */
static bool wait_layer(struct rig *r, int layer, int n)
{
	for (int i = 0; i < 2000; i++) {
		collect(r);
		if (count_layer(r, layer) >= n)
			return true;
		sleep_ms(10);
	}
	return false;
}

/* Ends the input and waits for the encoders: everything encoded is in the queue, and collected. */
static void rig_finish(struct rig *r)
{
	if (r->t)
		mc_track_join(r->t);
	if (r->o)
		collect(r);
}

static void rig_close(struct rig *r)
{
	mc_track_destroy(r->t);
	mc_output_destroy(r->o);
	mc_frame_pool_destroy(r->pool);
	if (r->sock >= 0)
		close(r->sock);
}

/* "slot slot ..." of one layer's frames (all, or keyframes only), to compare with what is expected. */
static const char *slots(const struct rig *r, int layer, bool keys_only, char *buf, size_t len)
{
	buf[0] = '\0';
	for (int i = 0; i < r->n; i++)
		if (r->recs[i].layer == layer && (!keys_only || r->recs[i].key))
			snprintf(buf + strlen(buf), len - strlen(buf), "%s%d", buf[0] ? " " : "", r->recs[i].slot);
	return buf;
}

/* A mostly static screen: the picture changes on six odd source frames, which a 15 fps layer of the 30 fps
 * source is not due on. Every change must reach every layer (the 15 fps one at its next slot), and each
 * layer has a keyframe every 2 s (60 source frames) from the same source frame. */
static void test_static_screen_changes(void)
{
	struct rig r;
	if (!rig_open(&r, 2.0, true)) {
		CHECK(!"the track and the output could be set up");
		rig_close(&r);
		return;
	}
	static const int changes[] = { 5, 37, 61, 91, 123, 151 };
	int content = 0, next = 0;
	for (int s = 0; s < 180; s++) {
		if (next < 6 && changes[next] == s)
			content++, next++;
		feed(&r, s, content);
	}
	rig_finish(&r);
	char buf[512];
	CHECK_STR_EQ(slots(&r, 0, false, buf, sizeof(buf)), "0 5 37 60 61 91 120 123 151");
	CHECK_STR_EQ(slots(&r, 1, false, buf, sizeof(buf)), "0 5 37 60 61 91 120 123 151");
	CHECK_STR_EQ(slots(&r, 2, false, buf, sizeof(buf)), "0 6 38 60 62 92 120 124 152");
	for (int l = 0; l < 3; l++)
		CHECK_STR_EQ(slots(&r, l, true, buf, sizeof(buf)), "0 60 120");
	CHECK_EQ(mc_count_get(&r.t->frames_unchanged), 180 - 1 - 6);
	rig_close(&r);
}

/* A keyframe period of 15 source frames: the 30 fps layers take their keyframes on slots 0, 15, 30 ...;
 * the 15 fps layer is due on even slots only, so it takes slots 15, 45, 75 on its next frame and the
 * ones on even slots together with the others. The schedule does not drift (30 is not 32). */
static void test_keyframes_on_capture_clock(void)
{
	struct rig r;
	if (!rig_open(&r, 0.5, true)) {
		CHECK(!"the track and the output could be set up");
		rig_close(&r);
		return;
	}
	for (int s = 0; s < 90; s++) {
		feed(&r, s, s);
		collect(&r); /* 225 frames: more than the queue holds */
	}
	rig_finish(&r);
	char buf[1024];
	CHECK_STR_EQ(slots(&r, 0, true, buf, sizeof(buf)), "0 15 30 45 60 75");
	CHECK_STR_EQ(slots(&r, 1, true, buf, sizeof(buf)), "0 15 30 45 60 75");
	CHECK_STR_EQ(slots(&r, 2, true, buf, sizeof(buf)), "0 16 30 46 60 76");
	CHECK_EQ(count_layer(&r, 0), 90);
	CHECK_EQ(count_layer(&r, 2), 45);
	rig_close(&r);
}

/* A file read as fast as possible: capture times 1 ms apart (the read times), not 33 ms. The frames are
 * numbered on the frame clock, so the schedule is the same: keyframes every 15 frames, not every 500 ms. */
static void test_keyframes_compressed_times(void)
{
	struct rig r;
	if (!rig_open(&r, 0.5, true)) {
		CHECK(!"the track and the output could be set up");
		rig_close(&r);
		return;
	}
	r.period = 1000;
	for (int s = 0; s < 60; s++) {
		feed(&r, s, s);
		collect(&r);
	}
	rig_finish(&r);
	char buf[1024];
	CHECK_STR_EQ(slots(&r, 0, true, buf, sizeof(buf)), "0 15 30 45");
	CHECK_STR_EQ(slots(&r, 2, true, buf, sizeof(buf)), "0 16 30 46");
	CHECK_EQ(count_layer(&r, 1), 60);
	CHECK_EQ(count_layer(&r, 2), 30);
	rig_close(&r);
}

/* A keyframe request (what a PLI does) on a static screen: the layer encodes its next frame although it
 * is unchanged, as a keyframe; the other layers stay quiet and the schedule does not move. */
static void test_keyframe_request(void)
{
	struct rig r;
	if (!rig_open(&r, 2.0, true)) {
		CHECK(!"the track and the output could be set up");
		rig_close(&r);
		return;
	}
	for (int s = 0; s < 10; s++)
		feed(&r, s, 0);
	/* the request after layer 1's first frame (a keyframe anyway): it must bring a keyframe of its own */
	CHECK(wait_layer(&r, 2, 1) && wait_layer(&r, 1, 1));
	mc_layer_request_keyframe(&r.t->layers[1]);
	for (int s = 10; s < 70; s++)
		feed(&r, s, 0);
	rig_finish(&r);
	char buf[512];
	CHECK_STR_EQ(slots(&r, 0, false, buf, sizeof(buf)), "0 60");
	CHECK_STR_EQ(slots(&r, 2, false, buf, sizeof(buf)), "0 60");
	CHECK_EQ(count_layer(&r, 1), 3);
	int extra = -1;
	for (int i = 0; i < r.n; i++)
		if (r.recs[i].layer == 1 && r.recs[i].slot != 0 && r.recs[i].slot != 60)
			extra = r.recs[i].slot;
	CHECK(extra > 0 && extra < 60);
	char want[64];
	snprintf(want, sizeof(want), "0 %d 60", extra);
	CHECK_STR_EQ(slots(&r, 1, true, buf, sizeof(buf)), want);
	CHECK_EQ_U64(mc_count_get(&r.t->layers[1].stats.keyframes_requested), 1);
	rig_close(&r);
}

/* The network thread is far behind: the queue (128 frames) fills, later frames are dropped. Each drop is
 * counted for the output's layer and the track's layer, and the layer's next frame is a keyframe, so the
 * receiver's decoder recovers at once. */
static void test_queue_full_keyframe(void)
{
	struct rig r;
	if (!rig_open(&r, 10.0, false)) {
		CHECK(!"the track and the output could be set up");
		rig_close(&r);
		return;
	}
	for (int s = 0; s < 80; s++)
		feed(&r, s, s);
	/* 80 + 80 + 40 frames, 128 fit: 72 dropped once all are encoded (bounded: 20 s) */
	uint64_t dropped = 0;
	for (int i = 0; i < 2000 && dropped < 72; i++) {
		dropped = 0;
		for (int l = 0; l < 3; l++)
			dropped += mc_count_get(&r.o->layer_stats[l].frames_dropped);
		if (dropped < 72)
			sleep_ms(10);
	}
	CHECK_EQ_U64(dropped, 72);
	collect(&r);
	CHECK_EQ(r.n, MC_PKTQUEUE_CAP);
	int before = r.n;
	feed(&r, 80, 80);
	rig_finish(&r);
	for (int l = 0; l < 3; l++) {
		uint64_t out_drops = mc_count_get(&r.o->layer_stats[l].frames_dropped);
		CHECK_EQ_U64(mc_count_get(&r.t->layers[l].stats.frames_dropped_net), out_drops);
		CHECK(out_drops > 0);
		CHECK(mc_count_get(&r.t->layers[l].stats.keyframes_requested) > 0);
	}
	/* slot 80: every layer is due, each had drops: three keyframes */
	CHECK_EQ(r.n - before, 3);
	for (int i = before; i < r.n; i++) {
		CHECK_EQ(r.recs[i].slot, 80);
		CHECK(r.recs[i].key);
	}
	/* before the queue filled, no keyframe but the first */
	for (int i = 0; i < before; i++)
		CHECK(r.recs[i].key == (r.recs[i].slot == 0));
	rig_close(&r);
}

int main(void)
{
	mc_log_init();
	mc_log_set_level(MC_LOG_WARN);
	av_log_set_level(AV_LOG_ERROR); /* no encoder summaries */
	RUN(test_static_screen_changes);
	RUN(test_keyframes_on_capture_clock);
	RUN(test_keyframes_compressed_times);
	RUN(test_keyframe_request);
	RUN(test_queue_full_keyframe);
	return check_done();
}
