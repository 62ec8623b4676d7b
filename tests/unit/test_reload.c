/* The reload diff (src/ops/reload.c): which change of a configuration is live, which restarts which part
 * (and what hangs on it), which is refused. Configurations are parsed by the real loader from text. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "config.h"
#include "log.h"
#include "reload.h"

/* The base: a testsrc and a file source, two tracks, two outputs. Each test edits a copy with replace(). */
static const char base[] = "[daemon]\n"
			   "log_level = info\n"
			   "stats_listen = 127.0.0.1:8090\n"
			   "[source.cam]\n"
			   "type = testsrc\n"
			   "size = 640x360\n"
			   "fps = 30\n"
			   "[source.other]\n"
			   "type = testsrc\n"
			   "size = 320x240\n"
			   "[track.video]\n"
			   "input = cam\n"
			   "layers = 640x360@30:700k, 320x180@15:150k\n"
			   "keyframe_interval = 2\n"
			   "[track.screen]\n"
			   "input = other\n"
			   "layers = 320x240@10:200k\n"
			   "[output.sfu]\n"
			   "type = rtp\n"
			   "track = video\n"
			   "host = 127.0.0.1\n"
			   "ports = 5004, 5006\n"
			   "[output.share]\n"
			   "type = rtp\n"
			   "track = screen\n"
			   "host = 127.0.0.1\n"
			   "port = 5010\n";

static struct mc_config *load(const char *text)
{
	struct mc_config *c = NULL;
	int n = 0;
	if (mc_config_load_buffer("reload.ini", text, strlen(text), &c, &n) != 0) {
		fprintf(stderr, "test config does not load (%d errors):\n%s\n", n, text);
		exit(1);
	}
	return c;
}

/* base with `from` replaced by `to` (once; `from` must be there) */
static struct mc_config *load_edit(const char *from, const char *to)
{
	static char buf[4096];
	const char *at = strstr(base, from);
	if (!at) {
		fprintf(stderr, "'%s' is not in the base config\n", from);
		exit(1);
	}
	snprintf(buf, sizeof(buf), "%.*s%s%s", (int)(at - base), base, to, at + strlen(from));
	return load(buf);
}

static void diff_edit(const char *from, const char *to, struct mc_reload_diff *d)
{
	struct mc_config *a = load(base), *b = load_edit(from, to);
	mc_config_diff(a, b, d);
	for (int i = 0; i < d->n; i++)
		fprintf(stderr, "  change: [%s.%s] action %d: %s\n", mc_reload_section_name(d->changes[i].section),
			d->changes[i].name, d->changes[i].action, d->changes[i].what);
	mc_config_free(a);
	mc_config_free(b);
}

static void test_same_file(void)
{
	struct mc_reload_diff d;
	/* the same content on other lines (a comment added) is no change */
	diff_edit("[daemon]\n", "; a comment\n[daemon]\n", &d);
	CHECK_EQ(d.n, 0);
}

static void test_bitrate_fps_keyframe_live(void)
{
	struct mc_reload_diff d;
	diff_edit("640x360@30:700k, 320x180@15:150k", "640x360@30:1200k, 320x180@10:150k", &d);
	CHECK_EQ(d.n, 1);
	const struct mc_reload_change *c = mc_reload_find(&d, MC_RELOAD_TRACK, "video", MC_RELOAD_LIVE);
	CHECK(c != NULL);
	CHECK(c && strstr(c->what, "layer 0 bitrate 700k -> 1200k") != NULL);
	CHECK(c && strstr(c->what, "layer 1 fps 15 -> 10") != NULL);
	diff_edit("keyframe_interval = 2", "keyframe_interval = 5", &d);
	CHECK_EQ(d.n, 1);
	c = mc_reload_find(&d, MC_RELOAD_TRACK, "video", MC_RELOAD_LIVE);
	CHECK(c && strstr(c->what, "keyframe_interval 2 -> 5") != NULL);
}

static void test_log_level_live_stats_listen_refused(void)
{
	struct mc_reload_diff d;
	diff_edit("log_level = info", "log_level = debug", &d);
	CHECK_EQ(d.n, 1);
	const struct mc_reload_change *c = mc_reload_find(&d, MC_RELOAD_DAEMON, "", MC_RELOAD_LIVE);
	CHECK(c && strcmp(c->what, "log_level info -> debug") == 0);
	diff_edit("127.0.0.1:8090", "127.0.0.1:8091", &d);
	CHECK_EQ(d.n, 1);
	c = mc_reload_find(&d, MC_RELOAD_DAEMON, "", MC_RELOAD_REFUSED);
	CHECK(c && strcmp(c->what, "stats_listen") == 0);
}

static void test_output_destination_live(void)
{
	struct mc_reload_diff d;
	diff_edit("ports = 5004, 5006", "ports = 6004, 6006", &d);
	CHECK_EQ(d.n, 1);
	const struct mc_reload_change *c = mc_reload_find(&d, MC_RELOAD_OUTPUT, "sfu", MC_RELOAD_LIVE);
	CHECK(c && strstr(c->what, "127.0.0.1:5004,5006 -> 127.0.0.1:6004,6006") != NULL);
	diff_edit("port = 5010", "port = 5010\nrtcp_port = 5020", &d);
	CHECK(mc_reload_find(&d, MC_RELOAD_OUTPUT, "share", MC_RELOAD_LIVE) != NULL);
	/* one port for all layers instead of one each: another kind of output */
	diff_edit("ports = 5004, 5006", "port = 5004", &d);
	CHECK(mc_reload_find(&d, MC_RELOAD_OUTPUT, "sfu", MC_RELOAD_RESTART) != NULL);
}

static void test_output_other_keys_restart_it(void)
{
	struct mc_reload_diff d;
	diff_edit("ports = 5004, 5006\n", "ports = 5004, 5006\nmtu = 1000\npayload_type = 100\n", &d);
	CHECK_EQ(d.n, 1);
	const struct mc_reload_change *c = mc_reload_find(&d, MC_RELOAD_OUTPUT, "sfu", MC_RELOAD_RESTART);
	CHECK(c && strcmp(c->what, "payload_type, mtu") == 0);
	CHECK(mc_reload_find(&d, MC_RELOAD_TRACK, "video", MC_RELOAD_RESTART) == NULL);
}

static void test_layer_added_removed_at_the_end_live(void)
{
	struct mc_reload_diff d;
	/* a third layer needs a third port too: two edits */
	struct mc_config *a = load(base);
	static char buf[4096];
	snprintf(buf, sizeof(buf), "%s", base);
	char *p = strstr(buf, "320x180@15:150k\n");
	char tail[4096];
	snprintf(tail, sizeof(tail), "%s", p + strlen("320x180@15:150k\n"));
	snprintf(p, sizeof(buf) - (size_t)(p - buf), "320x180@15:150k, 160x90@15:60k\n%s", tail);
	p = strstr(buf, "ports = 5004, 5006");
	snprintf(tail, sizeof(tail), "%s", p + strlen("ports = 5004, 5006"));
	snprintf(p, sizeof(buf) - (size_t)(p - buf), "ports = 5004, 5006, 5008%s", tail);
	struct mc_config *b = load(buf);
	mc_config_diff(a, b, &d);
	CHECK_EQ(d.n, 1);
	const struct mc_reload_change *c = mc_reload_find(&d, MC_RELOAD_TRACK, "video", MC_RELOAD_LIVE);
	CHECK(c && strcmp(c->what, "layer 2 160x90@15:60k added") == 0);
	CHECK(mc_reload_find(&d, MC_RELOAD_OUTPUT, "sfu", MC_RELOAD_RESTART) == NULL);
	/* and back: removed */
	mc_config_diff(b, a, &d);
	CHECK_EQ(d.n, 1);
	c = mc_reload_find(&d, MC_RELOAD_TRACK, "video", MC_RELOAD_LIVE);
	CHECK(c && strcmp(c->what, "layer 2 160x90 removed") == 0);
	mc_config_free(a);
	mc_config_free(b);
}

static void test_track_restart_takes_its_outputs(void)
{
	struct mc_reload_diff d;
	/* a layer of another size: the track's encoders and its outputs' streams start again */
	diff_edit("320x180@15:150k", "480x270@15:150k", &d);
	const struct mc_reload_change *c = mc_reload_find(&d, MC_RELOAD_TRACK, "video", MC_RELOAD_RESTART);
	CHECK(c && strcmp(c->what, "layers (their sizes)") == 0);
	c = mc_reload_find(&d, MC_RELOAD_OUTPUT, "sfu", MC_RELOAD_RESTART);
	CHECK(c && strcmp(c->what, "its track video restarts") == 0);
	/* the other track and output are untouched */
	CHECK(mc_reload_find(&d, MC_RELOAD_TRACK, "screen", MC_RELOAD_RESTART) == NULL);
	CHECK(mc_reload_find(&d, MC_RELOAD_OUTPUT, "share", MC_RELOAD_RESTART) == NULL);
	CHECK_EQ(d.n, 2);
	diff_edit("layers = 640x360@30:700k", "preset = fast\nlayers = 640x360@30:700k", &d);
	c = mc_reload_find(&d, MC_RELOAD_TRACK, "video", MC_RELOAD_RESTART);
	CHECK(c && strcmp(c->what, "preset") == 0);
}

static void test_source_restart_takes_tracks_and_outputs(void)
{
	struct mc_reload_diff d;
	diff_edit("size = 640x360\nfps = 30", "size = 1280x720\nfps = 30", &d);
	const struct mc_reload_change *c = mc_reload_find(&d, MC_RELOAD_SOURCE, "cam", MC_RELOAD_RESTART);
	CHECK(c && strcmp(c->what, "size") == 0);
	c = mc_reload_find(&d, MC_RELOAD_TRACK, "video", MC_RELOAD_RESTART);
	CHECK(c && strcmp(c->what, "its source cam restarts") == 0);
	CHECK(mc_reload_find(&d, MC_RELOAD_OUTPUT, "sfu", MC_RELOAD_RESTART) != NULL);
	CHECK(mc_reload_find(&d, MC_RELOAD_SOURCE, "other", MC_RELOAD_RESTART) == NULL);
	CHECK(mc_reload_find(&d, MC_RELOAD_TRACK, "screen", MC_RELOAD_RESTART) == NULL);
	CHECK_EQ(d.n, 3);
	diff_edit("type = testsrc\nsize = 320x240", "type = testsrc\nsize = 320x240\nfps = 15", &d);
	c = mc_reload_find(&d, MC_RELOAD_SOURCE, "other", MC_RELOAD_RESTART);
	CHECK(c && strcmp(c->what, "fps") == 0);
	/* a backend's own key (from its option table): a camera's device */
	diff_edit("type = testsrc\nsize = 320x240", "type = v4l2\ndevice = /dev/video7\nsize = 320x240", &d);
	c = mc_reload_find(&d, MC_RELOAD_SOURCE, "other", MC_RELOAD_RESTART);
	CHECK(c && strcmp(c->what, "type") == 0);
	struct mc_config *a = load_edit("type = testsrc\nsize = 320x240", "type = v4l2\ndevice = /dev/video7\nsize = 320x240");
	struct mc_config *b = load_edit("type = testsrc\nsize = 320x240", "type = v4l2\ndevice = /dev/video8\nsize = 320x240");
	mc_config_diff(a, b, &d);
	c = mc_reload_find(&d, MC_RELOAD_SOURCE, "other", MC_RELOAD_RESTART);
	CHECK(c && strcmp(c->what, "device") == 0);
	CHECK(mc_reload_find(&d, MC_RELOAD_TRACK, "screen", MC_RELOAD_RESTART) != NULL);
	CHECK_EQ(d.n, 3);
	mc_config_free(a);
	mc_config_free(b);
}

static void test_sections_added_removed(void)
{
	struct mc_reload_diff d;
	/* the screen track and its output removed, a new output of the video track */
	struct mc_config *a = load(base);
	static char buf[4096];
	const char *cut = strstr(base, "[track.screen]");
	const char *cut_end = strstr(base, "[output.sfu]");
	snprintf(buf, sizeof(buf), "%.*s%.*s[output.second]\ntype = rtp\ntrack = video\nhost = 127.0.0.2\nports = 7004, 7006\n",
		 (int)(cut - base), base, (int)(strstr(base, "[output.share]") - cut_end), cut_end);
	struct mc_config *b = load(buf);
	mc_config_diff(a, b, &d);
	CHECK(mc_reload_find(&d, MC_RELOAD_TRACK, "screen", MC_RELOAD_REMOVE) != NULL);
	CHECK(mc_reload_find(&d, MC_RELOAD_OUTPUT, "share", MC_RELOAD_REMOVE) != NULL);
	CHECK(mc_reload_find(&d, MC_RELOAD_OUTPUT, "second", MC_RELOAD_ADD) != NULL);
	CHECK(mc_reload_find(&d, MC_RELOAD_TRACK, "video", MC_RELOAD_RESTART) == NULL);
	CHECK(mc_reload_find(&d, MC_RELOAD_OUTPUT, "sfu", MC_RELOAD_RESTART) == NULL);
	CHECK_EQ(d.n, 3); /* [source.other] stays in the file: the daemon closes it as unused */
	mc_config_free(a);
	mc_config_free(b);
}

/* Mixes are not rebuilt by a reload: a live change next to a mix is applied, anything else is refused. */
static void test_mix_blocks_all_but_live_changes(void)
{
	static const char with_mix[] = "[source.cam]\ntype = testsrc\nsize = 640x360\n"
				       "[source.scr]\ntype = testsrc\nsize = 640x360\n"
				       "[mix.m]\ninputs = scr, cam\nlayout = pip\nsize = 640x360\n"
				       "[track.video]\ninput = m\nlayers = 640x360@30:700k\n"
				       "[output.sfu]\ntype = rtp\ntrack = video\nhost = 127.0.0.1\nport = 5004\n";
	struct { const char *from, *to; bool blocked; const char *why; } cases[] = {
		{ "640x360@30:700k", "640x360@30:900k", false, NULL },
		{ "port = 5004", "port = 5010", false, NULL },
		{ "layout = pip", "layout = side-by-side", true, "[mix.m] changed" },
		{ "inputs = scr, cam", "inputs = cam, scr", true, "[mix.m] changed" },
		{ "[track.video]", "[mix.n]\ninputs = cam\nsize = 320x180\n[track.video]", true, "[mix.n] added" },
		{ "[source.scr]\ntype = testsrc\nsize = 640x360", "[source.scr]\ntype = testsrc\nsize = 320x240", true,
		  "[source.scr]" },
	};
	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		char buf[2048];
		const char *at = strstr(with_mix, cases[k].from);
		CHECK(at != NULL);
		if (!at)
			continue;
		snprintf(buf, sizeof(buf), "%.*s%s%s", (int)(at - with_mix), with_mix, cases[k].to, at + strlen(cases[k].from));
		struct mc_config *a = load(with_mix), *b = load(buf);
		struct mc_reload_diff d;
		mc_config_diff(a, b, &d);
		char why[200] = "";
		bool blocked = mc_reload_mix_blocker(a, b, &d, why, sizeof(why));
		fprintf(stderr, "  %s -> %s: %s %s\n", cases[k].from, cases[k].to, blocked ? "refused:" : "applied", why);
		CHECK_EQ(blocked, cases[k].blocked);
		CHECK(!cases[k].why || strstr(why, cases[k].why) != NULL);
		mc_config_free(a);
		mc_config_free(b);
	}
	/* without mixes nothing is blocked: the base's source change restarts parts as usual */
	struct mc_config *a = load(base), *b = load_edit("size = 640x360", "size = 320x240");
	struct mc_reload_diff d;
	mc_config_diff(a, b, &d);
	char why[200] = "";
	CHECK(!mc_reload_mix_blocker(a, b, &d, why, sizeof(why)));
	mc_config_free(a);
	mc_config_free(b);
}

int main(void)
{
	mc_log_init();
	RUN(test_same_file);
	RUN(test_bitrate_fps_keyframe_live);
	RUN(test_log_level_live_stats_listen_refused);
	RUN(test_output_destination_live);
	RUN(test_output_other_keys_restart_it);
	RUN(test_layer_added_removed_at_the_end_live);
	RUN(test_track_restart_takes_its_outputs);
	RUN(test_source_restart_takes_tracks_and_outputs);
	RUN(test_sections_added_removed);
	RUN(test_mix_blocks_all_but_live_changes);
	return check_done();
}
