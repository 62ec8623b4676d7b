/* /healthz's rules on a hand-built daemon state (sources, tracks, outputs and the network loop as their
 * threads publish them): healthy while every layer encodes and every output's packets leave; otherwise
 * each problem named. The daemon answering over HTTP is tests/integration/healthz.py. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "daemon.h"
#include "health.h"
#include "log.h"
#include "output_cc.h"
#include "watchdog.h"

#define NOW 100000000 /* us */

struct state {
	struct mc_daemon d;
	struct mc_source_config sc;
	struct mc_track_config tc;
	struct mc_output_config oc;
	struct mc_source src;
	struct mc_track track;
	struct mc_output out;
};

/* A source, a track of two layers (30 and 15 fps, keyframe interval 2 s) and an output, all busy now. */
static void setup(struct state *s, bool skip_unchanged)
{
	memset(s, 0, sizeof(*s));
	strcpy(s->sc.name, "cam");
	strcpy(s->tc.name, "video");
	s->tc.skip_unchanged = skip_unchanged;
	s->tc.keyframe_interval = 2.0;
	strcpy(s->oc.name, "sfu");
	s->src.cfg = &s->sc;
	s->track.cfg = &s->tc;
	s->track.keyframe_interval_us = 2000000;
	s->track.n_layers = 2;
	s->track.layers[0].fps = 30;
	s->track.layers[1].fps = 15;
	s->out.cfg = &s->oc;
	s->out.n_layers = 2;
	for (int l = 0; l < 2; l++) {
		mc_count_set(&s->track.layers[l].stats.last_encoded_us, NOW - 40000);
		mc_count_set(&s->out.layer_stats[l].last_sent_us, NOW - 30000);
	}
	s->d.start_us = NOW - 60000000;
	s->d.n_sources = s->d.n_tracks = s->d.n_outputs = 1;
	s->d.sources[0] = &s->src;
	s->d.tracks[0] = &s->track;
	s->d.outputs[0] = &s->out;
	s->d.output_track[0] = s->tc.name;
	s->d.net.started = true;
	mc_count_set(&s->d.net.heartbeat_us, NOW - 100000);
}

/* Runs the check; returns whether healthy, with the reasons in `why` (a static buffer). */
static bool healthy(struct state *s, const char **why)
{
	static char buf[2048];
	struct mc_strbuf b = { 0 };
	bool ok = mc_health_check(&s->d, NOW, &b);
	snprintf(buf, sizeof(buf), "%s", b.data ? b.data : "");
	mc_strbuf_free(&b);
	*why = buf;
	return ok;
}

static void test_streaming(void)
{
	struct state s;
	setup(&s, false);
	const char *why;
	CHECK(healthy(&s, &why));
	CHECK_STR_EQ(why, "");
	/* start-up: nothing encoded or sent yet, within the first deadline */
	s.d.start_us = NOW - 500000;
	for (int l = 0; l < 2; l++) {
		mc_count_set(&s.track.layers[l].stats.last_encoded_us, 0);
		mc_count_set(&s.out.layer_stats[l].last_sent_us, 0);
	}
	mc_count_set(&s.d.net.heartbeat_us, 0);
	CHECK(healthy(&s, &why));
	/* ... but not after it */
	s.d.start_us = NOW - 5000000;
	CHECK(!healthy(&s, &why));
	CHECK(strstr(why, "track video layer 0: no frame encoded for 5.0 s") != NULL);
	CHECK(strstr(why, "network thread: stuck") != NULL);
}

static void test_encoder_failing(void)
{
	struct state s;
	setup(&s, false);
	/* the 15 fps layer's encoder refuses every frame: no frame for 1.5 s (deadline: 1 s) */
	mc_count_set(&s.track.layers[1].stats.last_encoded_us, NOW - 1500000);
	mc_count_add(&s.track.layers[1].stats.encode_errors, 22);
	mc_count_set(&s.out.layer_stats[1].last_sent_us, NOW - 1500000);
	const char *why;
	CHECK(!healthy(&s, &why));
	CHECK(strstr(why, "track video layer 1: no frame encoded for 1.5 s (deadline 1.0 s; 22 encode errors)") != NULL);
	CHECK(strstr(why, "output sfu layer 1: no packet sent for 1.5 s") != NULL);
	CHECK(strstr(why, "layer 0") == NULL);
}

/* Congestion control pausing the top layer (the track's and this output's) is no failure; after the resume
 * the deadline counts from the resume, not from the last frame before the pause. */
static void test_paused_layer(void)
{
	struct state s;
	setup(&s, false);
	static struct mc_output_cc cc;
	memset(&cc, 0, sizeof(cc));
	s.out.cc = &cc;
	mc_count_set(&s.track.layers[0].stats.last_encoded_us, NOW - 8000000);
	mc_count_set(&s.out.layer_stats[0].last_sent_us, NOW - 8000000);
	mc_count_set(&s.track.layers[0].paused_now, 1);
	mc_count_set(&cc.layer_paused[0], 1);
	const char *why;
	CHECK(healthy(&s, &why));
	CHECK_STR_EQ(why, "");
	/* resumed 0.2 s ago, no frame yet: within the deadline */
	mc_count_set(&s.track.layers[0].paused_now, 0);
	mc_count_set(&s.track.layers[0].resumed_us, NOW - 200000);
	mc_count_set(&cc.layer_paused[0], 0);
	mc_count_set(&cc.layer_resumed_us[0], NOW - 200000);
	CHECK(healthy(&s, &why));
	/* resumed 2 s ago and still nothing: both named */
	mc_count_set(&s.track.layers[0].resumed_us, NOW - 2000000);
	mc_count_set(&cc.layer_resumed_us[0], NOW - 2000000);
	CHECK(!healthy(&s, &why));
	CHECK(strstr(why, "track video layer 0: no frame encoded for 2.0 s") != NULL);
	CHECK(strstr(why, "output sfu layer 0: no packet sent for 2.0 s") != NULL);
}

static void test_static_screen(void)
{
	/* unchanged frames skipped: a layer encodes once per keyframe interval (2 s), and that is producing */
	struct state s;
	setup(&s, true);
	for (int l = 0; l < 2; l++) {
		mc_count_set(&s.track.layers[l].stats.last_encoded_us, NOW - 2500000);
		mc_count_set(&s.out.layer_stats[l].last_sent_us, NOW - 2500000);
	}
	const char *why;
	CHECK(healthy(&s, &why));
	CHECK_STR_EQ(why, "");
	CHECK_EQ(mc_health_deadline_us(&s.track, &s.track.layers[0]), 3000000);
	/* a moving picture has no such excuse */
	s.tc.skip_unchanged = false;
	CHECK(!healthy(&s, &why));
	CHECK_EQ(mc_health_deadline_us(&s.track, &s.track.layers[0]), 1000000);
	/* and even a static screen is not healthy when nothing came for longer than the interval */
	s.tc.skip_unchanged = true;
	mc_count_set(&s.track.layers[0].stats.last_encoded_us, NOW - 3500000);
	CHECK(!healthy(&s, &why));
	CHECK(strstr(why, "track video layer 0: no frame encoded for 3.5 s (deadline 3.0 s") != NULL);
}

static void test_network_thread(void)
{
	struct state s;
	setup(&s, false);
	const char *why;
	s.d.net.exited = true;
	CHECK(!healthy(&s, &why));
	CHECK_STR_EQ(why, "network thread: not running\n");
	s.d.net.exited = false;
	mc_count_set(&s.d.net.heartbeat_us, NOW - 3000000);
	CHECK(!healthy(&s, &why));
	CHECK_STR_EQ(why, "network thread: stuck for 3.0 s\n");
}

static void test_source_ended(void)
{
	struct state s;
	setup(&s, false);
	const char *why;
	s.src.out.ended = true;
	CHECK(!healthy(&s, &why));
	CHECK_STR_EQ(why, "source cam: ended\n");
	s.src.out.failed = true;
	CHECK(!healthy(&s, &why));
	CHECK_STR_EQ(why, "source cam: failed\n");
}

/* A mix whose inputs have all ended has stopped composing: its tracks get nothing more. */
static void test_mix_ended(void)
{
	struct state s;
	setup(&s, false);
	struct mc_mix_config mc = { .name = "main" };
	struct mc_mixer m = { .cfg = &mc };
	s.d.mixes[0] = &m;
	s.d.n_mixes = 1;
	const char *why;
	CHECK(healthy(&s, &why));
	m.out.ended = true;
	CHECK(!healthy(&s, &why));
	CHECK_STR_EQ(why, "mix main: ended (every input has ended)\n");
}

/* The watchdog (src/ops/watchdog.h) on the same state: a mix must send a picture between two checks and take
 * its inputs' frames within the limit; an ended mix is /healthz's business, not a stall. */
static void test_watchdog_mix(void)
{
	struct state s;
	setup(&s, false);
	struct mc_mix_config mc = { .name = "main" };
	struct mc_mixer m = { .cfg = &mc, .n_inputs = 1 };
	struct mc_producer cam;
	mc_producer_init(&cam, "cam", "source");
	m.inputs[0].from = &cam;
	mc_mailbox_init(&m.inputs[0].mailbox, false);
	s.d.mixes[0] = &m;
	s.d.n_mixes = 1;
	struct mc_watchdog w = { 0 };
	struct mc_strbuf b = { 0 };
	mc_count_set(&s.src.stats.frames, 10);
	CHECK(mc_watchdog_check(&w, &s.d, NOW, 2000000, &b)); /* the first check only records */
	mc_count_set(&s.src.stats.frames, 20);
	mc_count_set(&m.frames, 5);
	CHECK(mc_watchdog_check(&w, &s.d, NOW, 2000000, &b));
	mc_count_set(&s.src.stats.frames, 30);
	CHECK(!mc_watchdog_check(&w, &s.d, NOW, 2000000, &b)); /* no picture since the previous check */
	CHECK_STR_EQ(b.data ? b.data : "", "mix main: no picture since the previous check\n");
	mc_strbuf_free(&b);
	/* a frame waiting 3 s for the mixer thread */
	mc_count_set(&m.frames, 6);
	mc_count_set(&s.src.stats.frames, 40);
	mc_count_set(&m.inputs[0].mailbox.waiting_since_us, NOW - 3000000);
	b = (struct mc_strbuf){ 0 };
	CHECK(!mc_watchdog_check(&w, &s.d, NOW, 2000000, &b));
	CHECK_STR_EQ(b.data ? b.data : "", "mix main input cam: a frame has waited 3.0 s for the mixer thread\n");
	mc_strbuf_free(&b);
	/* ended: not a stall */
	mc_count_set(&m.inputs[0].mailbox.waiting_since_us, 0);
	mc_count_set(&s.src.stats.frames, 50);
	m.out.ended = true;
	b = (struct mc_strbuf){ 0 };
	CHECK(mc_watchdog_check(&w, &s.d, NOW, 2000000, &b));
	mc_strbuf_free(&b);
	mc_mailbox_finish(&m.inputs[0].mailbox);
}

static void test_source_no_signal(void)
{
	/* a camera unplugged 3 s ago: its placeholder is encoded and sent, so healthy, but degraded */
	struct state s;
	setup(&s, false);
	mc_count_set(&s.src.stats.state, MC_SOURCE_NO_SIGNAL);
	mc_count_set(&s.src.stats.no_signal_since_us, NOW - 3000000);
	mc_count_set(&s.src.stats.last_error, ENODEV);
	const char *why;
	CHECK(healthy(&s, &why));
	CHECK_STR_EQ(why, "");
	struct mc_strbuf b = { 0 };
	CHECK_EQ(mc_health_degraded(&s.d, NOW, &b), 1);
	CHECK_STR_EQ(b.data ? b.data : "", "source cam: no signal for 3.0 s (No such device), sending the placeholder\n");
	mc_strbuf_free(&b);
	/* ... but when the placeholder does not get through either, the layers' deadlines fail it */
	for (int l = 0; l < 2; l++) {
		mc_count_set(&s.track.layers[l].stats.last_encoded_us, NOW - 2000000);
		mc_count_set(&s.out.layer_stats[l].last_sent_us, NOW - 2000000);
	}
	CHECK(!healthy(&s, &why));
	CHECK(strstr(why, "track video layer 0: no frame encoded for 2.0 s") != NULL);
	/* a live source is not degraded */
	setup(&s, false);
	struct mc_strbuf c = { 0 };
	CHECK_EQ(mc_health_degraded(&s.d, NOW, &c), 0);
	CHECK(c.data == NULL || c.data[0] == '\0');
	mc_strbuf_free(&c);
}

int main(void)
{
	RUN(test_streaming);
	RUN(test_encoder_failing);
	RUN(test_paused_layer);
	RUN(test_static_screen);
	RUN(test_network_thread);
	RUN(test_source_ended);
	RUN(test_mix_ended);
	RUN(test_watchdog_mix);
	RUN(test_source_no_signal);
	return check_done();
}
