/* Config parser: a full valid file with every field checked, then every error path, each asserting that the
 * message on stderr ("error config: test.ini:LINE: ...") names the right line and the key. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "config.h"
#include "log.h"
#include "registry.h"
#include "source.h"

#define NAME "test.ini"

static char g_dir[256];  /* mkdtemp directory for key files and Y4M paths */
static char g_log[16384]; /* what the last load wrote to stderr */

/* 30 bytes 0x00..0x1d, 28 bytes 0x00..0x1b, 16 bytes 0x00..0x0f, in base64 */
#define KEY30_B64 "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwd"
#define KEY28_B64 "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGw=="
#define KEY16_B64 "AAECAwQFBgcICQoLDA0ODw=="

/* ---- helpers ------------------------------------------------------------------------------------------ */

/* Run mc_config_load_buffer with stderr redirected to a temporary file; the text lands in g_log. */
static int load_len(const char *text, size_t len, struct mc_config **cfg, int *nerr)
{
	fflush(stderr);
	FILE *tmp = tmpfile();
	if (!tmp) {
		perror("tmpfile");
		exit(1);
	}
	int saved = dup(STDERR_FILENO);
	dup2(fileno(tmp), STDERR_FILENO);
	*nerr = -1;
	int rc = mc_config_load_buffer(NAME, text, len, cfg, nerr);
	fflush(stderr);
	dup2(saved, STDERR_FILENO);
	close(saved);
	rewind(tmp);
	size_t n = fread(g_log, 1, sizeof(g_log) - 1, tmp);
	g_log[n] = '\0';
	fclose(tmp);
	return rc;
}

static int load(const char *text, struct mc_config **cfg, int *nerr) { return load_len(text, strlen(text), cfg, nerr); }

static int count_lines_with(const char *log, const char *needle)
{
	int n = 0;
	for (const char *p = log; (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}

/* Is there one log line "error config: test.ini:LINE: ..." that contains both `key` and `what`? */
static bool log_has(const char *log, int line, const char *key, const char *what)
{
	char prefix[64];
	snprintf(prefix, sizeof(prefix), "error config: " NAME ":%d: ", line);
	for (const char *p = log; *p;) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		char one[2048];
		snprintf(one, sizeof(one), "%.*s", (int)len, p);
		if (strncmp(one, prefix, strlen(prefix)) == 0 && strstr(one, key) && strstr(one, what))
			return true;
		p += len + (nl ? 1 : 0);
	}
	return false;
}

/* The text must be rejected with exactly `nerrs` errors, one of them on `line` naming `key` and `what`. */
static bool expect_error_len(int test_line, const char *text, size_t len, int nerrs, int line, const char *key,
			     const char *what)
{
	struct mc_config *cfg = (struct mc_config *)1;
	int nerr;
	int rc = load_len(text, len, &cfg, &nerr);
	bool ok = rc == -EINVAL && cfg == NULL && nerr == nerrs &&
		  count_lines_with(g_log, "error config: ") == nerrs && log_has(g_log, line, key, what);
	if (!ok) {
		fprintf(stderr,
			"  case at line %d: rc=%d nerr=%d (want -EINVAL, %d errors, line %d, '%s', '%s'); stderr was:\n%s\n",
			test_line, rc, nerr, nerrs, line, key, what, g_log);
		if (rc == 0)
			mc_config_free(cfg);
	}
	return ok;
}

static bool expect_error(int test_line, const char *text, int nerrs, int line, const char *key, const char *what)
{
	return expect_error_len(test_line, text, strlen(text), nerrs, line, key, what);
}

/* The text loads without errors. */
static bool expect_valid(const char *text)
{
	struct mc_config *cfg = NULL;
	int nerr = -1;
	int rc = load_len(text, strlen(text), &cfg, &nerr);
	if (rc != 0 || !cfg || nerr != 0) {
		fprintf(stderr, "  expected a valid config, rc=%d nerr=%d; stderr was:\n%s\n", rc, nerr, g_log);
		return false;
	}
	mc_config_free(cfg);
	return true;
}

/* One error on LINE naming KEY and WHAT. */
#define ERR1(text, line, key, what) CHECK(expect_error(__LINE__, text, 1, line, key, what))

static void write_file(const char *path, const char *content, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		perror(path);
		exit(1);
	}
	size_t len = strlen(content);
	if (write(fd, content, len) != (ssize_t)len || fchmod(fd, mode) != 0) {
		perror(path);
		exit(1);
	}
	close(fd);
}

static void path_in_dir(char *out, size_t cap, const char *file) { snprintf(out, cap, "%s/%s", g_dir, file); }

/* A minimal valid configuration, built up from pieces so that line numbers are easy to count. */
#define SRC "[source.cam]\ntype = testsrc\n"                                          /* lines 1-2 */
#define TRK "[track.main]\ninput = cam\nlayers = 640x360@30:800k, 320x180@30:200k\n"  /* 3 lines */
#define OUTH "[output.o]\ntype = rtp\ntrack = main\nhost = 127.0.0.1\n"                /* 4 lines */
#define VALID SRC TRK OUTH "ports = 5004, 5002\n"                                    /* lines 1-10 */

/* ---- the valid configuration ----------------------------------------------------------------------------- */

static void test_valid_full(void)
{
	char y4m[300], key[300], text[4096];
	path_in_dir(y4m, sizeof(y4m), "in.y4m");
	path_in_dir(key, sizeof(key), "full.key");
	write_file(y4m, "YUV4MPEG2 W16 H16 F30:1 C420\n", 0644);
	write_file(key, "inline:" KEY30_B64 "\n", 0600);
	snprintf(text, sizeof(text),
		 "; a comment\n"
		 "# another comment\n"
		 "[daemon]\n"
		 "log_level = debug\n"
		 "stats_listen = 127.0.0.1:8088\n"
		 "\n"
		 "[source.cam]\n"
		 "type = testsrc\n"
		 "size = 640x360\n"
		 "fps = 25\n"
		 "[source.dflt]\n"
		 "type = testsrc\n"
		 "[source.clip]\n"
		 "type = file\n"
		 "path = %s\n"
		 "loop = yes\n"
		 "realtime = false\n"
		 "\n"
		 "[track.main]\n"
		 "input = cam\n"
		 "codec = vp8\n"
		 "encoder = software\n"
		 "layers = 640x360@25:1.2M, 320x180@25:300k ,160x90@15:100000\n"
		 "keyframe_interval = 1.5\n"
		 "threads = 2\n"
		 "skip_unchanged = off\n"
		 "[track.plain]\n"
		 "input = clip\n"
		 "preset = ultrafast\n"
		 "layers = 1280x720@30:2500k\n"
		 "\n"
		 "[output.janus]\n"
		 "type = rtp\n"
		 "track = main\n"
		 "host = 192.0.2.7\n"
		 "ports = 5008, 5006, 5004 ; highest first\n"
		 "local_port = 6000\n"
		 "srtp_key_file = %s\n"
		 "payload_type = 100\n"
		 "mtu = 1400\n"
		 "ssrcs = 111, 0x2222, 4294967295\n"
		 "cname = test-cname\n"
		 "rtcp_port = 5010\n"
		 "rtcp = plain\n"
		 "[output.ms]\n"
		 "type = rtp\n"
		 "track = plain\n"
		 "host = 127.0.0.1\n"
		 "port = 7000\n"
		 "rtcp_mux = true\n",
		 y4m, key);
	struct mc_config *cfg = NULL;
	int nerr;
	/* fixed SSRCs with a key need a state directory: here systemd's, from StateDirectory= (the first of a list) */
	char env[600];
	snprintf(env, sizeof(env), "%s:/nonexistent", g_dir);
	setenv("STATE_DIRECTORY", env, 1);
	int rc = load(text, &cfg, &nerr);
	unsetenv("STATE_DIRECTORY");
	CHECK_EQ(rc, 0);
	CHECK_EQ(nerr, 0);
	CHECK_STR_EQ(g_log, "");
	if (!cfg)
		return;
	CHECK_STR_EQ(cfg->daemon.state_dir, g_dir);
	CHECK_EQ(cfg->daemon.state_dir_line, 0);
	CHECK_STR_EQ(cfg->outputs[0].state_dir, g_dir); /* the SRTP output records its indexes there */
	CHECK_STR_EQ(cfg->outputs[1].state_dir, "");    /* plain RTP: nothing to record */
	CHECK_STR_EQ(cfg->path, NAME);
	CHECK_EQ(cfg->daemon.log_level, MC_LOG_DEBUG);
	CHECK_STR_EQ(cfg->daemon.stats_listen, "127.0.0.1:8088");
	CHECK_EQ(cfg->daemon.stats_port, 8088);
	CHECK_EQ_U64(cfg->daemon.stats_addr, htonl(0x7f000001));
	CHECK_EQ(cfg->n_sources, 3);
	CHECK_EQ(cfg->n_tracks, 2);
	CHECK_EQ(cfg->n_outputs, 2);

	const struct mc_source_config *cam = mc_config_find_source(cfg, "cam");
	const struct mc_source_config *dflt = mc_config_find_source(cfg, "dflt");
	const struct mc_source_config *clip = mc_config_find_source(cfg, "clip");
	CHECK(cam && dflt && clip);
	CHECK(mc_config_find_source(cfg, "nope") == NULL);
	if (cam) {
		CHECK_EQ(cam->line, 7);
		CHECK(cam->backend && strcmp(cam->backend->name, "testsrc") == 0);
		CHECK_EQ(cam->width, 640);
		CHECK_EQ(cam->height, 360);
		CHECK_EQ(cam->fps, 25);
	}
	if (dflt) { /* defaults: 1280x720 at 30 */
		CHECK(dflt->backend && strcmp(dflt->backend->name, "testsrc") == 0);
		CHECK_EQ(dflt->width, 1280);
		CHECK_EQ(dflt->height, 720);
		CHECK_EQ(dflt->fps, 30);
	}
	if (clip) {
		/* the file backend's own keys, through its option table */
		CHECK(clip->backend && strcmp(clip->backend->name, "file") == 0);
		const char *path = mc_source_opt(clip, "path", NULL);
		const bool *loop = mc_source_opt(clip, "loop", NULL), *realtime = mc_source_opt(clip, "realtime", NULL);
		CHECK(path && loop && realtime);
		if (path && loop && realtime) {
			CHECK_STR_EQ(path, y4m);
			CHECK(*loop);
			CHECK(!*realtime);
		}
	}

	const struct mc_track_config *main_t = mc_config_find_track(cfg, "main");
	const struct mc_track_config *plain = mc_config_find_track(cfg, "plain");
	CHECK(main_t && plain);
	CHECK(mc_config_find_track(cfg, "cam") == NULL);
	if (main_t) {
		CHECK_EQ(main_t->line, 19);
		CHECK_STR_EQ(main_t->input, "cam");
		CHECK_EQ(main_t->codec, MC_CODEC_VP8);
		CHECK_EQ(main_t->encoder, MC_ENCODER_SOFTWARE);
		CHECK_EQ(main_t->n_layers, 3);
		CHECK_EQ(main_t->layers[0].width, 640);
		CHECK_EQ(main_t->layers[0].height, 360);
		CHECK_EQ(main_t->layers[0].fps, 25);
		CHECK_EQ(main_t->layers[0].bitrate, 1200000);
		CHECK_EQ(main_t->layers[1].width, 320);
		CHECK_EQ(main_t->layers[1].height, 180);
		CHECK_EQ(main_t->layers[1].fps, 25);
		CHECK_EQ(main_t->layers[1].bitrate, 300000);
		CHECK_EQ(main_t->layers[2].width, 160);
		CHECK_EQ(main_t->layers[2].height, 90);
		CHECK_EQ(main_t->layers[2].fps, 15);
		CHECK_EQ(main_t->layers[2].bitrate, 100000);
		CHECK_NEAR(main_t->keyframe_interval, 1.5, 1e-9);
		CHECK_STR_EQ(main_t->preset, "veryfast"); /* the default; VP8 does not use it */
		CHECK_EQ(main_t->threads, 2);
		CHECK(!main_t->skip_unchanged);
	}
	if (plain) { /* defaults: h264, auto, keyframe every 10 s, threads auto (-1) (the preset is set) */
		CHECK_STR_EQ(plain->input, "clip");
		CHECK_EQ(plain->codec, MC_CODEC_H264);
		CHECK_EQ(plain->encoder, MC_ENCODER_AUTO);
		CHECK_EQ(plain->n_layers, 1);
		CHECK_EQ(plain->layers[0].width, 1280);
		CHECK_EQ(plain->layers[0].height, 720);
		CHECK_EQ(plain->layers[0].fps, 30);
		CHECK_EQ(plain->layers[0].bitrate, 2500000);
		CHECK_NEAR(plain->keyframe_interval, 10.0, 1e-9);
		CHECK_STR_EQ(plain->preset, "ultrafast");
		CHECK_EQ(plain->threads, -1);
		CHECK(plain->skip_unchanged);
	}

	const struct mc_output_config *j = &cfg->outputs[0], *ms = &cfg->outputs[1];
	CHECK_STR_EQ(j->name, "janus");
	CHECK_EQ(j->line, 32);
	CHECK_EQ(j->type, MC_OUTPUT_RTP);
	CHECK_STR_EQ(j->track, "main");
	CHECK_STR_EQ(j->host, "192.0.2.7");
	CHECK_EQ(j->n_ports, 3);
	CHECK_EQ(j->ports[0], 5008); /* in file order: highest layer first */
	CHECK_EQ(j->ports[1], 5006);
	CHECK_EQ(j->ports[2], 5004);
	CHECK_EQ(j->local_port, 6000);
	CHECK_STR_EQ(j->srtp_key_file, key);
	CHECK_EQ(j->srtp_suite, MC_SRTP_AES_CM_128_HMAC_SHA1_80); /* the default once a key file is given */
	CHECK_EQ(j->srtp_key_len, 30);
	uint8_t want[30];
	for (int i = 0; i < 30; i++)
		want[i] = (uint8_t)i;
	CHECK_MEM_EQ(j->srtp_key, want, 30);
	CHECK_EQ(j->payload_type, 100);
	CHECK_EQ(j->mtu, 1400);
	CHECK_EQ(j->n_ssrcs, 3);
	CHECK_EQ(j->ssrcs[0], 111);
	CHECK_EQ(j->ssrcs[1], 0x2222);
	CHECK_EQ(j->ssrcs[2], 4294967295u);
	CHECK_STR_EQ(j->cname, "test-cname");
	CHECK_EQ(j->rtcp_port, 5010);
	CHECK(!j->rtcp_mux);
	CHECK_EQ(j->rtcp, MC_RTCP_PLAIN);
	CHECK(!j->single_port);

	CHECK_STR_EQ(ms->name, "ms");
	CHECK_STR_EQ(ms->track, "plain");
	CHECK_EQ(ms->n_ports, 1);
	CHECK(ms->single_port);
	CHECK_EQ(ms->ports[0], 7000);
	CHECK_EQ(ms->rtcp, MC_RTCP_ON); /* the default */
	CHECK_EQ(ms->local_port, 0);
	CHECK_EQ(ms->srtp_suite, MC_SRTP_NONE); /* plain RTP */
	CHECK_EQ(ms->srtp_key_len, 0);
	CHECK_EQ(ms->payload_type, 96);
	CHECK_EQ(ms->mtu, 1200);
	CHECK_EQ(ms->n_ssrcs, 0);
	CHECK_STR_EQ(ms->cname, "mixcast");
	CHECK_EQ(ms->rtcp_port, 0); /* RTP port + 1, decided by the output */
	CHECK(ms->rtcp_mux);
	mc_config_free(cfg);
	unlink(y4m);
	unlink(key);
}

/* encoder on the track, overridden per layer; "track" and a short list keep the track's */
static void test_layer_encoders(void)
{
	struct mc_config *cfg = NULL;
	int nerr;
	CHECK_EQ(load(SRC "[track.main]\ninput = cam\nlayers = 640x360@30:800k, 320x180@30:200k, 160x90@15:50k\n"
		      "encoder = openh264\nlayer_encoders = auto, track\n" OUTH "ports = 5004, 5002, 5000\n", &cfg, &nerr), 0);
	CHECK_EQ(nerr, 0);
	if (!cfg)
		return;
	CHECK_EQ(cfg->tracks[0].encoder, MC_ENCODER_OPENH264);
	CHECK_EQ(cfg->tracks[0].layers[0].encoder, MC_ENCODER_AUTO);
	CHECK_EQ(cfg->tracks[0].layers[1].encoder, MC_ENCODER_TRACK);
	CHECK_EQ(cfg->tracks[0].layers[2].encoder, MC_ENCODER_TRACK);
	mc_config_free(cfg);
}

static void test_valid_minimal(void)
{
	struct mc_config *cfg = NULL;
	int nerr;
	CHECK_EQ(load(VALID, &cfg, &nerr), 0);
	CHECK_EQ(nerr, 0);
	if (!cfg)
		return;
	CHECK_EQ(cfg->daemon.log_level, MC_LOG_INFO);
	CHECK_EQ(cfg->tracks[0].n_layers, 2);
	CHECK_EQ(cfg->tracks[0].layers[0].bitrate, 800000);
	CHECK_EQ(cfg->tracks[0].layers[1].bitrate, 200000);
	CHECK_EQ(cfg->outputs[0].n_ports, 2);
	CHECK_EQ(cfg->outputs[0].ports[0], 5004);
	CHECK_EQ(cfg->outputs[0].ports[1], 5002);
	mc_config_free(cfg);

	/* CRLF line ends, tabs around "=" and an inline comment parse the same */
	const char *crlf = "[source.cam]\r\ntype\t=\ttestsrc\r\n[track.main]\r\ninput = cam\r\n"
			   "layers = 640x360@30:800k\r\n[output.o]\r\ntype = rtp\r\ntrack = main\r\n"
			   "host = 127.0.0.1\r\nport = 5004 ; one port, SSRC demux\r\n";
	CHECK_EQ(load(crlf, &cfg, &nerr), 0);
	CHECK_EQ(nerr, 0);
	if (cfg) {
		CHECK_EQ(cfg->outputs[0].n_ports, 1);
		CHECK_EQ(cfg->outputs[0].ports[0], 5004);
		CHECK_STR_EQ(cfg->outputs[0].host, "127.0.0.1");
		mc_config_free(cfg);
	}

	/* a UTF-8 byte order mark (which inih skips) does not hide the first section */
	CHECK_EQ(load("\xEF\xBB\xBF" VALID, &cfg, &nerr), 0);
	CHECK_EQ(nerr, 0);
	CHECK_STR_EQ(g_log, "");
	if (cfg) {
		CHECK_EQ(cfg->n_sources, 1);
		CHECK_EQ(cfg->sources[0].line, 1);
		mc_config_free(cfg);
	}

	/* mc_config_load reads the same from a file; a missing file is -ENOENT with one error */
	char path[300];
	path_in_dir(path, sizeof(path), "valid.ini");
	write_file(path, VALID, 0644);
	nerr = -1;
	cfg = NULL;
	fflush(stderr);
	CHECK_EQ(mc_config_load(path, &cfg, &nerr), 0);
	CHECK_EQ(nerr, 0);
	if (cfg) {
		CHECK_STR_EQ(cfg->path, path);
		CHECK_EQ(cfg->n_outputs, 1);
		mc_config_free(cfg);
	}
	unlink(path);
	FILE *tmp = tmpfile();
	int saved = dup(STDERR_FILENO);
	dup2(fileno(tmp), STDERR_FILENO);
	int rc = mc_config_load(path, &cfg, &nerr);
	dup2(saved, STDERR_FILENO);
	close(saved);
	fclose(tmp);
	CHECK_EQ(rc, -ENOENT);
	CHECK_EQ(nerr, 1);
	CHECK(cfg == NULL);
}

/* ---- syntax and structure ------------------------------------------------------------------------------ */

static void test_structure_errors(void)
{
	ERR1(SRC "colour = red\n" TRK, 3, "colour:", "unknown key in [source.cam]");
	ERR1("[daemon]\nverbose = 1\n" SRC TRK, 2, "verbose:", "unknown key in [daemon]");
	ERR1(SRC TRK "inptu = cam\n", 6, "inptu:", "unknown key in [track.main]");
	ERR1(VALID "bitrate = 1M\n", 11, "bitrate:", "unknown key in [output.o]");
	/* an unknown section is one error; its keys are not reported again */
	ERR1("[sink.x]\nfoo = 1\nbar = 2\n" SRC TRK, 1, "[sink.x]", "unknown section");
	ERR1(SRC TRK "[Track.x]\n", 6, "[Track.x]", "unknown section");
	/* bad section names */
	ERR1("[track]\ninput = cam\n" SRC, 1, "[track]", "bad section name");
	ERR1(SRC "[track.]\n", 3, "[track.]", "bad section name");
	ERR1(SRC "[track.main!]\ninput = cam\n", 3, "[track.main!]", "bad section name");
	ERR1(SRC "[track.my main]\n", 3, "[track.my main]", "bad section name");
	ERR1("[source.abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuv]\ntype = testsrc\n", 1,
	     "[source.abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuv]", "bad section name");
	/* duplicate section: the second one is the error, and its keys are not looked at */
	ERR1(SRC TRK "[source.cam]\ntype = file\n", 6, "[source.cam]", "section defined twice");
	ERR1(VALID "[output.o]\ntype = rtp\n", 11, "[output.o]", "section defined twice");
	ERR1("[daemon]\nlog_level = warn\n" SRC TRK "[daemon]\nlog_level = debug\n", 8, "[daemon]",
	     "section defined twice (first on line 1)");
	/* duplicate key names the first line too */
	ERR1(SRC "fps = 25\nfps = 30\n" TRK, 4, "fps:", "duplicate key (first set on line 3)");
	ERR1(SRC TRK "layers = 320x180@30:200k\n", 6, "layers:", "duplicate key (first set on line 5)");
	/* key before any section */
	ERR1("fps = 30\n" SRC TRK, 1, "fps:", "key outside of any section");
	/* syntax errors: no '=', an unclosed section */
	ERR1(SRC "fps 30\n" TRK, 3, "syntax error", "expected '[section]' or 'key = value'");
	ERR1(SRC TRK "[output.o\n", 6, "syntax error", "expected '[section]' or 'key = value'");
	/* a configuration without any track */
	ERR1(SRC, 1, "[track.NAME]", "nothing to send");
	/* too many sections of one kind */
	char many[1024] = "";
	for (int i = 0; i < MC_MAX_SOURCES + 1; i++) {
		size_t l = strlen(many);
		snprintf(many + l, sizeof(many) - l, "[source.s%d]\ntype = testsrc\n", i);
	}
	ERR1(many, 2 * MC_MAX_SOURCES + 1, "[source.s8]", "too many source sections (at most 8)");

	/* several errors are all reported, each on its own line */
	const char *multi = SRC "fps = 0\nsize = 1x1\n[track.t]\n";
	struct mc_config *cfg = (struct mc_config *)1;
	int nerr;
	CHECK_EQ(load(multi, &cfg, &nerr), -EINVAL);
	CHECK(cfg == NULL);
	CHECK_EQ(nerr, 4);
	CHECK(log_has(g_log, 3, "fps:", "expected an integer from 1 to 120, got '0'"));
	CHECK(log_has(g_log, 4, "size:", "got '1x1'"));
	CHECK(log_has(g_log, 5, "[track.t]", "missing required key 'input'"));
	CHECK(log_has(g_log, 5, "[track.t]", "missing required key 'layers'"));
}

static void test_long_lines(void)
{
	/* inih hands the reader INI_MAX_LINE (200) bytes: 198 characters + "\n" + NUL fit, 199 do not */
	char text[1024], comment[256];
	memset(comment, 'x', sizeof(comment));
	comment[0] = ';';
	snprintf(text, sizeof(text), "%s%.*s\n", VALID, 198, comment);
	struct mc_config *cfg = NULL;
	int nerr;
	CHECK_EQ(load(text, &cfg, &nerr), 0);
	CHECK_EQ(nerr, 0);
	mc_config_free(cfg);
	snprintf(text, sizeof(text), "%s%.*s\n", VALID, 199, comment);
	ERR1(text, 11, "line longer than 198 characters", NAME);
	/* a long key line is dropped, not cut: no half-parsed value, and the key counts as absent */
	char host[256];
	snprintf(host, sizeof(host), "host = 127.0.0.1 ;%0190d", 0);
	snprintf(text, sizeof(text), SRC TRK "[output.o]\ntype = rtp\ntrack = main\n%s\nport = 5004\n", host);
	CHECK(expect_error(__LINE__, text, 2, 9, "line longer than 198 characters", NAME));
	CHECK(log_has(g_log, 6, "[output.o]", "missing required key 'host'"));
	/* a NUL byte */
	static const char nul[] = SRC "fps = 3\0" "0\n" TRK;
	CHECK(expect_error_len(__LINE__, nul, sizeof(nul) - 1, 1, 3, "NUL byte in the line", NAME));
}

/* ---- values ---------------------------------------------------------------------------------------------- */

static void test_value_errors(void)
{
	/* sizes */
	ERR1(SRC "size = 12x\n" TRK, 3, "size:", "got '12x'");
	ERR1(SRC "size = 641x360\n" TRK, 3, "size:", "even, from 16x16 to 4096x4096, got '641x360'");
	ERR1(SRC "size = 640x361\n" TRK, 3, "size:", "got '640x361'");
	ERR1(SRC "size = 8192x720\n" TRK, 3, "size:", "got '8192x720'");
	ERR1(SRC "size = 8x8\n" TRK, 3, "size:", "got '8x8'");
	ERR1(SRC "size = 640*360\n" TRK, 3, "size:", "got '640*360'");
	ERR1(SRC "size = 640x360x2\n" TRK, 3, "size:", "got '640x360x2'");
	/* frame rates */
	ERR1(SRC "fps = 0\n" TRK, 3, "fps:", "expected an integer from 1 to 120, got '0'");
	ERR1(SRC "fps = 121\n" TRK, 3, "fps:", "got '121'");
	ERR1(SRC "fps = 30fps\n" TRK, 3, "fps:", "got '30fps'");
	ERR1(SRC "fps = 29.97\n" TRK, 3, "fps:", "got '29.97'");
	ERR1(SRC "fps =\n" TRK, 3, "fps:", "got ''");
	/* bitrates, inside a layer */
	ERR1(SRC "[track.main]\ninput = cam\nlayers = 640x360@30:abc\n", 5, "layers:", "layer 1: bad bitrate 'abc'");
	ERR1(SRC "[track.main]\ninput = cam\nlayers = 640x360@30:5\n", 5, "layers:", "layer 1: bad bitrate '5'");
	ERR1(SRC "[track.main]\ninput = cam\nlayers = 640x360@30:100G\n", 5, "layers:", "bad bitrate '100G'");
	ERR1(SRC "[track.main]\ninput = cam\nlayers = 640x360@30:800k, 320x180@30:-1k\n", 5, "layers:",
	     "layer 2: bad bitrate '-1k'");
	/* layers */
	ERR1(SRC "[track.main]\ninput = cam\nlayers = 640x360:800k\n", 5, "layers:",
	     "layer 1 '640x360:800k': expected WIDTHxHEIGHT@FPS:BITRATE");
	ERR1(SRC "[track.main]\ninput = cam\nlayers = 640x360@30\n", 5, "layers:", "expected WIDTHxHEIGHT@FPS:BITRATE");
	ERR1(SRC "[track.main]\ninput = cam\nlayers = 1280x720@30:2M, 640x360@30:800k, 320x180@30:200k, 160x90@15:80k\n",
	     5, "layers:", "at most 3 layers");
	ERR1(SRC "[track.main]\ninput = cam\nlayers = 320x180@30:200k, 640x360@30:800k\n", 5, "layers:",
	     "layer 2 is larger than layer 1: list layers highest first");
	ERR1(SRC "[track.main]\ninput = cam\nlayers = 640x360@30:800k, 640x180@30:200k, 320x360@15:100k\n", 5,
	     "layers:", "layer 3 is larger than layer 2");
	ERR1(SRC "[track.main]\ninput = cam\nlayers = 640x360@0:800k\n", 5, "layers:", "layer 1: bad frame rate '0'");
	ERR1(SRC "[track.main]\ninput = cam\nlayers = 640x360@30:800k, 320x180@x:200k\n", 5, "layers:",
	     "layer 2: bad frame rate 'x'");
	ERR1(SRC "[track.main]\ninput = cam\nlayers = 641x360@30:800k\n", 5, "layers:", "layer 1: bad size '641x360'");
	ERR1(SRC "[track.main]\ninput = cam\nlayers = ,\n", 5, "layers:", "no layers");
	/* other track keys */
	ERR1(SRC TRK "codec = h265\n", 6, "codec:", "expected one of h264, vp8, got 'h265'");
	ERR1(SRC TRK "encoder = nvenc\n", 6, "encoder:",
	     "expected one of auto, software, openh264, v4l2m2m, vaapi, got 'nvenc'");
	ERR1(SRC TRK "layer_encoders = vaapi, nvenc\n", 6, "layer_encoders:",
	     "expected one of auto, software, openh264, v4l2m2m, vaapi, track, got 'nvenc'");
	ERR1(SRC TRK "layer_encoders = vaapi, software, software\n", 6, "layer_encoders:", "3 encoders for 2 layers");
	ERR1(SRC TRK "layer_encoders = ,\n", 6, "layer_encoders:", "expected encoders separated by commas");
	ERR1(SRC TRK "codec = vp8\nlayer_encoders = software, openh264\n", 7, "layer_encoders:",
	     "openh264 encodes H.264 only");
	ERR1(SRC TRK "keyframe_interval = 0.05\n", 6, "keyframe_interval:", "expected seconds from 0.1 to 60");
	ERR1(SRC TRK "keyframe_interval = 61\n", 6, "keyframe_interval:", "got '61'");
	ERR1(SRC TRK "threads = 17\n", 6, "threads:", "expected auto or an integer from 0 to 16, got '17'");
	ERR1(SRC TRK "threads = some\n", 6, "threads:", "expected auto or an integer from 0 to 16, got 'some'");
	ERR1(SRC TRK "skip_unchanged = perhaps\n", 6, "skip_unchanged:", "expected true or false");
	ERR1(SRC TRK "preset = very fast\n", 6, "preset:", "expected a libx264 preset (ultrafast, superfast, veryfast, faster, fast, medium, slow, slower, veryslow, placebo), got 'very fast'");
	/* libx264 refuses an unknown preset only when the encoder opens: a restart loop under systemd */
	ERR1(SRC TRK "preset = turbo\n", 6, "preset:", "expected a libx264 preset (ultrafast, superfast, veryfast, faster, fast, medium, slow, slower, veryslow, placebo), got 'turbo'");
	ERR1(SRC TRK "preset = 3\n", 6, "preset:", "got '3'");
	ERR1(SRC TRK "preset = \n", 6, "preset:", "got ''");
	ERR1(SRC TRK "codec = vp8\npreset = fast\n", 7, "preset:", "VP8 has no presets");
	ERR1(SRC TRK "preset = fast\ncodec = vp8\n", 6, "preset:", "VP8 has no presets");
	CHECK(expect_valid(VALID "[track.t2]\ninput = cam\nlayers = 320x180@30:200k\npreset = Medium\n"));
	ERR1(SRC "[track.main]\ninput = my cam\nlayers = 640x360@30:800k\n", 4, "input:", "expected a name");
	/* source keys */
	ERR1("[source.cam]\ntype = camera\n" TRK, 2, "type:", "expected one of testsrc, file, v4l2");
	ERR1("[source.f]\ntype = file\npath = /dev/null\nloop = maybe\n" TRK, 4, "loop:",
	     "expected true or false, got 'maybe'");
	/* daemon keys */
	ERR1("[daemon]\nlog_level = verbose\n" SRC TRK, 2, "log_level:", "expected one of error, warn, info, debug");
	/* stats_listen: parsed at load; before, strtol took trailing junk and the rest waited for start-up */
	ERR1("[daemon]\nstats_listen = 127.0.0.1:8080x\n" SRC TRK, 2, "stats_listen:",
	     "expected IPV4ADDR:PORT (port 1..65535), e.g. 127.0.0.1:8090, got '127.0.0.1:8080x'");
	ERR1("[daemon]\nstats_listen = 127.0.0.1\n" SRC TRK, 2, "stats_listen:", "got '127.0.0.1'");
	ERR1("[daemon]\nstats_listen = localhost:8080\n" SRC TRK, 2, "stats_listen:", "got 'localhost:8080'");
	ERR1("[daemon]\nstats_listen = 127.0.0.1:0\n" SRC TRK, 2, "stats_listen:", "got '127.0.0.1:0'");
	ERR1("[daemon]\nstats_listen = 127.0.0.1:65536\n" SRC TRK, 2, "stats_listen:", "got '127.0.0.1:65536'");
	ERR1("[daemon]\nstats_listen = 127.0.0.1:\n" SRC TRK, 2, "stats_listen:", "got '127.0.0.1:'");
	ERR1("[daemon]\nstats_listen = :8080\n" SRC TRK, 2, "stats_listen:", "got ':8080'");
	ERR1("[daemon]\nstats_listen = 127.0.0.1:+80\n" SRC TRK, 2, "stats_listen:", "got '127.0.0.1:+80'");
	ERR1("[daemon]\nstats_listen = 127.0.0.1: 80\n" SRC TRK, 2, "stats_listen:", "got '127.0.0.1: 80'");
	ERR1("[daemon]\nstats_listen = ::1:8080\n" SRC TRK, 2, "stats_listen:", "got '::1:8080'");
	ERR1("[daemon]\nstats_listen = 127.0.0.1:8080 x\n" SRC TRK, 2, "stats_listen:", "got '127.0.0.1:8080 x'");
	/* output keys */
	ERR1(SRC TRK OUTH "ports = 5004, 70000\n", 10, "ports:", "expected 1 to 3 UDP ports");
	ERR1(SRC TRK OUTH "ports = 5004, 0\n", 10, "ports:", "got '5004, 0'");
	ERR1(SRC TRK OUTH "ports = 5004, 5002, 5000, 4998\n", 10, "ports:", "expected 1 to 3 UDP ports");
	ERR1(SRC TRK OUTH "port = 65536\n", 10, "port:", "expected a UDP port from 1 to 65535");
	ERR1(SRC TRK OUTH "port = 0\n", 10, "port:", "got '0'"); /* a destination port cannot be 0 */
	ERR1(SRC TRK "[output.o]\ntype = rtp\ntrack = main\nhost = localhost\nport = 5004\n", 9, "host:",
	     "expected an IPv4 address, got 'localhost'");
	ERR1(SRC TRK "[output.o]\ntype = udp\ntrack = main\nhost = 127.0.0.1\nport = 5004\n", 7, "type:",
	     "expected one of rtp, got 'udp'");
	ERR1(VALID "payload_type = 95\n", 11, "payload_type:", "expected an integer from 96 to 127, got '95'");
	ERR1(VALID "mtu = 1501\n", 11, "mtu:", "expected an integer from 300 to 1500");
	ERR1(VALID "mtu = 299\n", 11, "mtu:", "got '299'");
	ERR1(VALID "local_port = -1\n", 11, "local_port:", "expected a UDP port from 0 to 65535");
	ERR1(VALID "rtcp_port = 0\n", 11, "rtcp_port:", "expected a UDP port from 1 to 65535");
	ERR1(VALID "rtcp_mux = sometimes\n", 11, "rtcp_mux:", "expected true or false");
	ERR1(VALID "rtcp = srtcp\n", 11, "rtcp:", "expected one of on, plain, off, got 'srtcp'");
	ERR1(VALID "ssrcs = 0, 1\n", 11, "ssrcs:", "expected 1 to 3 SSRCs");
	ERR1(VALID "ssrcs = 1, 4294967296\n", 11, "ssrcs:", "got '1, 4294967296'");
	ERR1(VALID "ssrcs = 1, -2\n", 11, "ssrcs:", "got '1, -2'");
	/* a bad suite, which is also one set without a key file */
	CHECK(expect_error(__LINE__, VALID "srtp_suite = AES_256_CM\n", 2, 11, "srtp_suite:",
			   "expected one of AES_CM_128_HMAC_SHA1_80, AES_CM_128_HMAC_SHA1_32, AEAD_AES_128_GCM"));
	ERR1(VALID "cname =\n", 11, "cname:", "empty value");
}

/* ---- whole-section and cross-section checks -------------------------------------------------------------- */

static void test_section_checks(void)
{
	char text[2048];
	/* missing required keys are reported on the section's line */
	ERR1("[source.cam]\nfps = 30\n" TRK, 1, "[source.cam]", "missing required key 'type'");
	ERR1(SRC "[track.main]\nlayers = 640x360@30:800k\n", 3, "[track.main]", "missing required key 'input'");
	ERR1(SRC "[track.main]\ninput = cam\n", 3, "[track.main]", "missing required key 'layers'");
	ERR1(SRC TRK "[output.o]\ntrack = main\nhost = 127.0.0.1\nport = 5004\n", 6, "[output.o]",
	     "missing required key 'type'");
	ERR1(SRC TRK "[output.o]\ntype = rtp\nhost = 127.0.0.1\nport = 5004\n", 6, "[output.o]",
	     "missing required key 'track'");
	ERR1(SRC TRK "[output.o]\ntype = rtp\ntrack = main\nport = 5004\n", 6, "[output.o]",
	     "missing required key 'host'");
	ERR1(SRC TRK OUTH, 6, "[output.o]", "missing required key 'ports' or 'port'");
	ERR1("[source.f]\ntype = file\n" TRK, 1, "[source.f]", "missing required key 'path' (type = file)");
	/* keys of another source type, reported on their own line even when given before `type` */
	ERR1("[source.f]\ntype = file\npath = /dev/null\nsize = 640x360\n" TRK, 4, "size:", "not a key of this source type");
	ERR1("[source.f]\nfps = 30\ntype = file\npath = /dev/null\n" TRK, 2, "fps:", "not a key of this source type");
	ERR1(SRC "loop = true\n" TRK, 3, "loop:", "not a key of this source type");
	ERR1(SRC "path = /dev/null\n" TRK, 3, "path:", "not a key of this source type");
	/* the highest port leaves no port + 1 for RTCP unless RTCP goes elsewhere */
	ERR1(SRC TRK OUTH "port = 65535\n", 10, "port:", "65535 leaves no port + 1 for RTCP");
	ERR1(SRC TRK OUTH "ports = 65535, 5002\n", 10, "ports:", "65535 leaves no port + 1 for RTCP");
	CHECK(expect_valid(SRC TRK OUTH "port = 65535\nrtcp_mux = true\n"));
	CHECK(expect_valid(SRC TRK OUTH "ports = 65535, 5002\nrtcp_port = 6000\n"));
	/* port and ports together; counts that do not match the layers */
	ERR1(SRC TRK OUTH "ports = 5004, 5002\nport = 5000\n", 10, "ports:",
	     "give either 'ports' (one per layer) or 'port' (all layers), not both");
	ERR1(SRC TRK OUTH "port = 5000\nports = 5004, 5002\n", 11, "ports:", "not both");
	ERR1(SRC TRK OUTH "ports = 5004, 5002, 5000\n", 10, "[output.o] ports:", "3 ports for 2 layers of track 'main'");
	/* one port in `ports` is not `port`: it must match the layers too */
	ERR1(SRC TRK OUTH "ports = 5004\n", 10, "[output.o] ports:", "1 ports for 2 layers of track 'main'");
	ERR1(VALID "ssrcs = 1, 2, 3\n", 11, "[output.o] ssrcs:", "3 SSRCs for 2 layers");
	ERR1(VALID "ssrcs = 1\n", 11, "[output.o] ssrcs:", "1 SSRCs for 2 layers");
	ERR1(VALID "ssrcs = 7, 7\n", 11, "[output.o] ssrcs:", "SSRC 7 used twice");
	/* one port for all layers is fine with any number of layers */
	struct mc_config *cfg = NULL;
	int nerr;
	CHECK_EQ(load(SRC TRK OUTH "port = 5000\nssrcs = 10, 20\nrtcp = off\n", &cfg, &nerr), 0);
	if (cfg) {
		CHECK_EQ(cfg->outputs[0].rtcp, MC_RTCP_OFF);
		CHECK(cfg->outputs[0].single_port);
		CHECK_EQ(cfg->outputs[0].n_ports, 1);
		CHECK_EQ(cfg->outputs[0].n_ssrcs, 2);
		mc_config_free(cfg);
	}
	/* RTCP */
	ERR1(VALID "rtcp_port = 5009\nrtcp_mux = true\n", 11, "rtcp_port:", "conflicts with rtcp_mux = true");
	ERR1(VALID "rtcp_mux = on\nrtcp_port = 5009\n", 12, "rtcp_port:", "conflicts with rtcp_mux");
	ERR1(VALID "srtp_suite = AEAD_AES_128_GCM\n", 11, "srtp_suite:", "set without srtp_key_file");
	/* references between sections */
	ERR1(SRC "[track.main]\ninput = nope\nlayers = 640x360@30:800k\n" OUTH "port = 5004\n", 4, "[track.main] input:",
	     "no [source.nope] or [mix.nope] section");
	ERR1(SRC TRK "[output.o]\ntype = rtp\ntrack = other\nhost = 127.0.0.1\nport = 5004\n", 8, "[output.o] track:",
	     "no [track.other] section");
	/* a file source whose file is not there */
	char missing[300];
	path_in_dir(missing, sizeof(missing), "missing.y4m");
	snprintf(text, sizeof(text), "[source.f]\ntype = file\npath = %s\n[track.main]\ninput = f\nlayers = 640x360@30:800k\n",
		 missing);
	ERR1(text, 3, "[source.f] path:", "cannot read");
	CHECK(strstr(g_log, missing) != NULL);
}

/* ---- SRTP key files ------------------------------------------------------------------------------------- */

/* VALID plus a key file (and a suite when not NULL): lines 11 and 12 */
static void key_config(char *text, size_t cap, const char *key_path, const char *suite)
{
	snprintf(text, cap, VALID "srtp_key_file = %s\n%s%s%s", key_path, suite ? "srtp_suite = " : "", suite ? suite : "",
		 suite ? "\n" : "");
}

/* [mix.NAME]: values, the layouts' input counts, references, self and cycles. */
#define SRC2 "[source.scr]\ntype = testsrc\n"                                   /* lines 3-4 after SRC */
#define MTRK "[track.main]\ninput = m\nlayers = 640x360@30:800k\n"             /* 3 lines */
static void test_mix(void)
{
	struct mc_config *cfg = NULL;
	int nerr;
	const char *ok = SRC SRC2 "[mix.m]\ninputs = scr, cam\nsize = 1920x1080\nfps = 15\nlayout = pip\n"
			 "pip_position = top-left\npip_size = 0.3\nmargin = 8\n" MTRK;
	CHECK_EQ(load(ok, &cfg, &nerr), 0);
	if (cfg) {
		const struct mc_mix_config *m = mc_config_find_mix(cfg, "m");
		CHECK(m != NULL);
		if (m) {
			CHECK_EQ(m->n_inputs, 2);
			CHECK_STR_EQ(m->inputs[0], "scr");
			CHECK_STR_EQ(m->inputs[1], "cam");
			CHECK_EQ(m->inputs_line, 6);
			CHECK_EQ(m->width, 1920);
			CHECK_EQ(m->height, 1080);
			CHECK_EQ(m->fps, 15);
			CHECK_EQ(m->layout, MC_LAYOUT_PIP);
			CHECK_EQ(m->pip_position, MC_CORNER_TOP_LEFT);
			CHECK_NEAR(m->pip_size, 0.3, 1e-9);
			CHECK_EQ(m->margin, 8);
		}
		CHECK(mc_config_input_used(cfg, "cam"));
		CHECK(mc_config_input_used(cfg, "m"));
		mc_config_free(cfg);
	}
	/* defaults; a mix of a mix; a source used directly and in a mix */
	CHECK(expect_valid(SRC SRC2 "[mix.a]\ninputs = cam\n[mix.m]\ninputs = a, scr, cam\n" MTRK
			   "[track.t2]\ninput = cam\nlayers = 320x180@30:200k\n"));
	CHECK_EQ(load(SRC "[mix.m]\ninputs = cam\n" MTRK, &cfg, &nerr), 0);
	if (cfg) {
		const struct mc_mix_config *m = &cfg->mixes[0];
		CHECK_EQ(m->width, 1280);
		CHECK_EQ(m->height, 720);
		CHECK_EQ(m->fps, 30);
		CHECK_EQ(m->layout, MC_LAYOUT_GRID);
		CHECK_EQ(m->pip_position, MC_CORNER_BOTTOM_RIGHT);
		CHECK_NEAR(m->pip_size, 0.25, 1e-9);
		CHECK_EQ(m->margin, 16);
		mc_config_free(cfg);
	}
	/* a mix nobody uses: loads, and its inputs are not used through it */
	CHECK_EQ(load(SRC SRC2 "[mix.m]\ninputs = scr\n" TRK, &cfg, &nerr), 0);
	if (cfg) {
		CHECK(!mc_config_input_used(cfg, "scr"));
		CHECK(!mc_config_input_used(cfg, "m"));
		CHECK(mc_config_input_used(cfg, "cam"));
		mc_config_free(cfg);
	}
	/* testsrc's pattern */
	CHECK_EQ(load(SRC "pattern = solid:C0ff20\n" TRK, &cfg, &nerr), 0);
	if (cfg) {
		int line = 0;
		/* testsrc's own key (its option table); the colour itself is checked on decoded pictures by
		 * tests/integration/mixer.py */
		CHECK(mc_source_opt(&cfg->sources[0], "pattern", &line) != NULL);
		CHECK_EQ(line, 3);
		mc_config_free(cfg);
	}
	CHECK(expect_valid(SRC "pattern = bars\n" TRK));
	ERR1(SRC "pattern = solid:12345\n" TRK, 3, "pattern:", "expected bars or solid:RRGGBB");
	ERR1(SRC "pattern = solid:12345g\n" TRK, 3, "pattern:", "expected bars or solid:RRGGBB");
	ERR1(SRC "pattern = solid:+12345\n" TRK, 3, "pattern:", "expected bars or solid:RRGGBB");
	CHECK(expect_error(__LINE__, "[source.f]\ntype = file\npattern = bars\n[track.main]\ninput = f\nlayers = 640x360@30:800k\n",
			   2, 3, "pattern:", "not a key of this source type"));
	/* values */
	ERR1(SRC "[mix.m]\ninputs = cam\nlayout = mosaic\n" MTRK, 5, "layout:",
	     "expected one of single, pip, side-by-side, grid");
	ERR1(SRC SRC2 "[mix.m]\ninputs = scr, cam\nlayout = pip\npip_position = middle\n" MTRK, 8, "pip_position:",
	     "expected one of bottom-right");
	ERR1(SRC SRC2 "[mix.m]\ninputs = scr, cam\nlayout = pip\npip_size = 1.5\n" MTRK, 8, "pip_size:",
	     "from 0.05 to 0.9");
	ERR1(SRC "[mix.m]\ninputs = cam\nmargin = -1\n" MTRK, 5, "margin:", "from 0 to 256");
	ERR1(SRC "[mix.m]\ninputs = cam\nsize = 1281x720\n" MTRK, 5, "size:", "even");
	ERR1(SRC "[mix.m]\ninputs = cam\nfps = 0\n" MTRK, 5, "fps:", "from 1 to 120");
	ERR1(SRC "[mix.m]\ninputs = cam, cam\n" MTRK, 4, "inputs:", "'cam' is listed twice");
	ERR1(SRC "[mix.m]\ninputs = cam, bad name\n" MTRK, 4, "inputs:", "input 2 'bad name'");
	ERR1(SRC "[mix.m]\ninputs = ,\n" MTRK, 4, "inputs:", "expected the names of 1 to 4");
	ERR1(SRC "[mix.m]\ninputs = a, b, c, d, e\n" MTRK, 4, "inputs:", "at most 4 inputs");
	ERR1(SRC "[mix.m]\nsize = 640x360\n" MTRK, 3, "[mix.m]:", "missing required key 'inputs'");
	ERR1(SRC "[mix.m]\ninputs = cam\nfoo = 1\n" MTRK, 5, "foo:", "unknown key in [mix.m]");
	/* layouts and their inputs */
	ERR1(SRC SRC2 "[mix.m]\ninputs = scr, cam\nlayout = single\n" MTRK, 6, "inputs:", "layout single takes 1 input, got 2");
	ERR1(SRC "[mix.m]\nlayout = pip\ninputs = cam\n" MTRK, 5, "inputs:", "layout pip takes 2 inputs, got 1");
	ERR1(SRC "[mix.m]\ninputs = cam\nlayout = side-by-side\n" MTRK, 4, "inputs:",
	     "layout side-by-side takes 2 to 4 inputs, got 1");
	ERR1(SRC "[mix.m]\ninputs = cam\npip_size = 0.3\n" MTRK, 5, "pip_size:", "only with layout = pip");
	ERR1(SRC SRC2 "[mix.m]\ninputs = scr, cam\nlayout = side-by-side\npip_position = top-left\n" MTRK, 8,
	     "pip_position:", "only with layout = pip (this mix's layout is side-by-side)");
	/* references: unknown, itself, a cycle, a name shared with a source */
	ERR1(SRC "[mix.m]\ninputs = cam, nope\n" MTRK, 4, "[mix.m] inputs:", "no [source.nope] or [mix.nope] section");
	ERR1(SRC "[mix.m]\ninputs = cam, m\n" MTRK, 4, "[mix.m] inputs:", "the mix names itself");
	CHECK(expect_error(__LINE__, SRC "[mix.a]\ninputs = cam, b\n[mix.b]\ninputs = a\n[track.t]\ninput = a\n"
				"layers = 320x180@30:200k\n", 2, 4, "[mix.a] inputs:", "'b' takes mix a as an input in turn"));
	CHECK(strstr(g_log, "test.ini:6: [mix.b] inputs: 'a' takes mix b as an input in turn (a cycle)") != NULL);
	ERR1(SRC SRC2 "[mix.cam]\ninputs = scr\n" TRK, 5, "[mix.cam]:", "a [source.cam] has the same name");
	/* a track naming a mix that is not there */
	ERR1(SRC "[track.main]\ninput = m\nlayers = 640x360@30:800k\n", 4, "[track.main] input:",
	     "no [source.m] or [mix.m] section");
	/* five consumers of one source */
	ERR1(SRC "[mix.a]\ninputs = cam\n[mix.b]\ninputs = cam\n[mix.c]\ninputs = cam\n[mix.d]\ninputs = cam\n"
		 "[track.main]\ninput = cam\nlayers = 640x360@30:800k\n", 1, "[source.cam]:", "5 tracks and mixes take it");
}

static void test_key_files(void)
{
	char key[300], text[1024];
	struct mc_config *cfg = NULL;
	int nerr;
	uint8_t want[30];
	for (int i = 0; i < 30; i++)
		want[i] = (uint8_t)i;
	path_in_dir(key, sizeof(key), "k.key");

	/* missing: the error names the output (section line), the key and the path */
	key_config(text, sizeof(text), key, NULL);
	ERR1(text, 11, "[output.o] srtp_key_file:", "cannot open");
	CHECK(strstr(g_log, key) != NULL);

	/* world-readable: refused, and the key never read */
	write_file(key, KEY30_B64 "\n", 0644);
	ERR1(text, 11, "[output.o] srtp_key_file:", "is readable by everyone (mode 0644): chmod 600 it");
	write_file(key, KEY30_B64 "\n", 0604);
	ERR1(text, 11, "srtp_key_file:", "readable by everyone");

	/* 0600 and 0640 are fine; bare base64 */
	write_file(key, KEY30_B64 "\n", 0640);
	CHECK_EQ(load(text, &cfg, &nerr), 0);
	if (cfg) {
		CHECK_EQ(cfg->outputs[0].srtp_suite, MC_SRTP_AES_CM_128_HMAC_SHA1_80);
		CHECK_EQ(cfg->outputs[0].srtp_key_len, 30);
		CHECK_MEM_EQ(cfg->outputs[0].srtp_key, want, 30);
		mc_config_free(cfg);
	}
	/* the SDP form inline:KEY|LIFETIME or |MKI: refused (this sender neither rekeys nor sends an MKI) */
	write_file(key, "inline:" KEY30_B64 "|2^31\n", 0600);
	ERR1(text, 11, "[output.o] srtp_key_file:", "a lifetime or MKI after '|' is not supported");
	write_file(key, "inline:" KEY30_B64 "|1:4\n", 0600);
	ERR1(text, 11, "srtp_key_file:", "a lifetime or MKI after '|'");
	write_file(key, "inline:" KEY30_B64 "\n", 0600);
	CHECK_EQ(load(text, &cfg, &nerr), 0);
	if (cfg) {
		CHECK_MEM_EQ(cfg->outputs[0].srtp_key, want, 30);
		mc_config_free(cfg);
	}
	/* writable by group or others: anyone who may write it chooses the key */
	write_file(key, KEY30_B64 "\n", 0620);
	ERR1(text, 11, "[output.o] srtp_key_file:", "is writable by its group (mode 0620): chmod go-w it");
	CHECK(strstr(g_log, key) != NULL);
	write_file(key, KEY30_B64 "\n", 0602);
	ERR1(text, 11, "srtp_key_file:", "is writable by everyone (mode 0602)");
	write_file(key, KEY30_B64 "\n", 0600);
	/* owned by another user than root or us (only root can give a file away to try it) */
	if (geteuid() == 0 && chown(key, 4242, (gid_t)-1) == 0) {
		ERR1(text, 11, "[output.o] srtp_key_file:", "is owned by uid 4242, neither root nor the daemon's user (uid 0)");
		CHECK(strstr(g_log, key) != NULL);
		CHECK_EQ(chown(key, 0, (gid_t)-1), 0);
	} else {
		CHECK_EQ(load(text, &cfg, &nerr), 0); /* our own file */
		mc_config_free(cfg);
	}
	/* a directory is not a key file */
	key_config(text, sizeof(text), g_dir, NULL);
	ERR1(text, 11, "srtp_key_file:", "is not a regular file");
	key_config(text, sizeof(text), key, NULL);
	/* with the _32 suite */
	key_config(text, sizeof(text), key, "AES_CM_128_HMAC_SHA1_32");
	CHECK_EQ(load(text, &cfg, &nerr), 0);
	if (cfg) {
		CHECK_EQ(cfg->outputs[0].srtp_suite, MC_SRTP_AES_CM_128_HMAC_SHA1_32);
		mc_config_free(cfg);
	}

	/* bad base64, empty file, wrong length */
	key_config(text, sizeof(text), key, NULL);
	write_file(key, "this is not base64!\n", 0600);
	ERR1(text, 11, "srtp_key_file:", "not valid base64");
	write_file(key, "", 0600);
	ERR1(text, 11, "srtp_key_file:", "not valid base64");
	write_file(key, KEY16_B64 "\n", 0600);
	ERR1(text, 11, "srtp_key_file:", "decodes to 16 bytes; the suite needs 30 (master key + salt)");

	/* AEAD_AES_128_GCM takes 28 bytes: a 30-byte key is refused, a 28-byte one accepted */
	key_config(text, sizeof(text), key, "AEAD_AES_128_GCM");
	write_file(key, KEY30_B64 "\n", 0600);
	ERR1(text, 11, "srtp_key_file:", "decodes to 30 bytes; the suite needs 28");
	write_file(key, "inline:" KEY28_B64 "\n", 0600);
	CHECK_EQ(load(text, &cfg, &nerr), 0);
	if (cfg) {
		CHECK_EQ(cfg->outputs[0].srtp_suite, MC_SRTP_AEAD_AES_128_GCM);
		CHECK_EQ(cfg->outputs[0].srtp_key_len, 28);
		CHECK_MEM_EQ(cfg->outputs[0].srtp_key, want, 28);
		mc_config_free(cfg);
	}
	unlink(key);
}

/* ---- backend option tables ------------------------------------------------------------------------------ */

/* Each source backend declares its own keys; the central table keeps type, size and fps. */
static void test_backend_options(void)
{
	struct mc_config *cfg = NULL;
	int nerr;
	/* v4l2's keys, given before and after `type`; the generic size and fps apply to it */
	CHECK_EQ(load("[source.cam]\ndevice = usb-Cam_123-video-index0\ntype = v4l2\nformat = mjpeg\nsize = 640x360\n"
		      "fps = 15\n" TRK, &cfg, &nerr), 0);
	if (cfg) {
		const struct mc_source_config *c = &cfg->sources[0];
		CHECK(c->backend && strcmp(c->backend->name, "v4l2") == 0);
		int line = 0;
		const char *dev = mc_source_opt(c, "device", &line);
		CHECK(dev && strcmp(dev, "usb-Cam_123-video-index0") == 0);
		CHECK_EQ(line, 2);
		const int *fmt = mc_source_opt(c, "format", &line);
		CHECK(fmt && *fmt == 3); /* MC_V4L2_MJPEG */
		CHECK_EQ(line, 4);
		CHECK_EQ(c->width, 640);
		CHECK_EQ(c->fps, 15);
		CHECK_EQ(c->size_line, 5);
		CHECK_EQ(c->fps_line, 6);
		CHECK_EQ(c->consumers, 1); /* the track takes it: a camera sizes its buffer pool by this */
		CHECK(mc_source_opt(c, "path", &line) == NULL); /* not its key */
		CHECK_EQ(line, 0);
		CHECK_STR_EQ(c->file, NAME);
		mc_config_free(cfg);
	}
	/* defaults of a backend key: format = auto (0), set on no line */
	CHECK_EQ(load("[source.cam]\ntype = v4l2\ndevice = /dev/video0\n" TRK, &cfg, &nerr), 0);
	if (cfg) {
		int line = -1;
		const int *fmt = mc_source_opt(&cfg->sources[0], "format", &line);
		CHECK(fmt && *fmt == 0);
		CHECK_EQ(line, 0);
		CHECK_EQ(cfg->sources[0].size_line, 0);
		mc_config_free(cfg);
	}
	/* file's defaults: realtime on, loop off */
	CHECK_EQ(load("[source.f]\ntype = file\npath = /dev/null\n[track.main]\ninput = f\nlayers = 640x360@30:800k\n", &cfg,
		      &nerr), 0);
	if (cfg) {
		const bool *rt = mc_source_opt(&cfg->sources[0], "realtime", NULL), *loop = mc_source_opt(&cfg->sources[0], "loop", NULL);
		CHECK(rt && *rt && loop && !*loop);
		mc_config_free(cfg);
	}
	/* errors, each on its line naming the key */
	ERR1("[source.cam]\ntype = v4l2\n" TRK, 1, "[source.cam]", "missing required key 'device' (type = v4l2)");
	ERR1("[source.cam]\ntype = v4l2\ndevice = /dev/video0\nformat = rgb\n" TRK, 4, "format:",
	     "expected one of auto, nv12, yuyv, mjpeg, rgb24, got 'rgb'");
	ERR1("[source.cam]\nformat = nv12\ntype = v4l2\ndevice = /dev/video0\nformat = yuyv\n" TRK, 5, "format:",
	     "duplicate key (first set on line 2)");
	ERR1("[source.cam]\ntype = v4l2\ndevice =\n" TRK, 3, "device:", "empty value");
	ERR1("[source.cam]\ntype = v4l2\ndevice = /dev/video0\npath = /dev/null\n" TRK, 4, "path:",
	     "not a key of this source type");
	ERR1("[source.f]\ndevice = /dev/video0\ntype = file\npath = /dev/null\n" TRK, 2, "device:",
	     "not a key of this source type");
	ERR1("[source.cam]\ntype = v4l2\ndevice = /dev/video0\nexposure = 3\n" TRK, 4, "exposure:",
	     "unknown key in [source.cam]");
	/* an unknown key is an error even when the type is missing or wrong (the type's error comes too) */
	CHECK(expect_error(__LINE__, "[source.cam]\nexposure = 3\n" TRK, 2, 2, "exposure:", "unknown key in [source.cam]"));
	CHECK(expect_error(__LINE__, "[source.cam]\ntype = vnc\ndevice = /dev/dri/card0\n" TRK, 1, 2, "type:",
			   "expected one of testsrc, file, v4l2"));
	/* kms (when built with libdrm): device and connector are its own keys, fps the generic one, size not */
	bool have_kms = false;
	for (size_t i = 0; mc_source_backends[i]; i++)
		have_kms |= strcmp(mc_source_backends[i]->name, "kms") == 0;
	if (have_kms) {
		CHECK_EQ(load("[source.s]\ntype = kms\ndevice = vc4\nconnector = HDMI-A-1\nfps = 10\n"
			      "[track.main]\ninput = s\nlayers = 640x360@10:800k\n", &cfg, &nerr), 0);
		if (cfg) {
			int line = 0;
			CHECK_STR_EQ((const char *)mc_source_opt(&cfg->sources[0], "device", NULL), "vc4");
			CHECK_STR_EQ((const char *)mc_source_opt(&cfg->sources[0], "connector", &line), "HDMI-A-1");
			CHECK_EQ(line, 4);
			CHECK_EQ(cfg->sources[0].fps, 10);
			mc_config_free(cfg);
		}
		CHECK(expect_valid("[source.cam]\ntype = kms\n" TRK)); /* the first lit card and CRTC */
		ERR1("[source.cam]\ntype = kms\nsize = 1280x720\n" TRK, 3, "size:", "not a key of this source type");
		ERR1("[source.cam]\ntype = kms\nconnector = HDMI A 1\n" TRK, 3, "connector:", "expected a name");
		ERR1("[source.cam]\ntype = kms\nformat = nv12\n" TRK, 3, "format:", "not a key of this source type");
	}
	/* a key of some backend with a missing type: only the type's error */
	ERR1("[source.cam]\ndevice = /dev/video0\n" TRK, 1, "[source.cam]", "missing required key 'type'");
	/* a value longer than a key's field */
	char text[1024], longv[600];
	memset(longv, 'd', sizeof(longv) - 1);
	longv[sizeof(longv) - 1] = '\0';
	snprintf(text, sizeof(text), "[source.cam]\ntype = v4l2\ndevice = /dev/%.180s\n" TRK, longv);
	CHECK(expect_valid(text));
	/* two sources with their own tables in one file; consumers counted per source */
	CHECK_EQ(load("[source.a]\ntype = v4l2\ndevice = /dev/video0\n[source.b]\ntype = testsrc\n"
		      "[track.t1]\ninput = a\nlayers = 640x360@30:800k\n[track.t2]\ninput = a\nlayers = 320x180@15:200k\n",
		      &cfg, &nerr), 0);
	if (cfg) {
		CHECK_EQ(cfg->sources[0].consumers, 2);
		CHECK_EQ(cfg->sources[1].consumers, 0);
		mc_config_free(cfg);
	}
}


/* ---- the SRTP state directory --------------------------------------------------------------------------- */

static void test_state_dir(void)
{
	char key[300], text[2048], file[300];
	struct mc_config *cfg = NULL;
	int nerr;
	path_in_dir(key, sizeof(key), "k.key");
	path_in_dir(file, sizeof(file), "in.y4m");
	write_file(key, KEY30_B64 "\n", 0600);
	write_file(file, "x", 0600);
	unsetenv("STATE_DIRECTORY");

	/* fixed SSRCs and a static key without a state directory: refused, saying why and what to set */
	snprintf(text, sizeof(text), VALID "srtp_key_file = %s\nssrcs = 10, 20\n", key);
	ERR1(text, 12, "[output.o] ssrcs:", "fixed SSRCs with a static SRTP key need a writable [daemon] state_dir");
	CHECK(strstr(g_log, "reuses keystream") != NULL);
	CHECK(strstr(g_log, "StateDirectory=") != NULL);
	/* fixed RTX SSRCs too: their streams have SRTP indexes of their own */
	snprintf(text, sizeof(text), VALID "srtp_key_file = %s\nrtx = on\nrtx_ssrcs = 30, 40\n", key);
	ERR1(text, 13, "[output.o] rtx_ssrcs:", "fixed RTX SSRCs with a static SRTP key need a writable [daemon] state_dir");
	CHECK(expect_valid(VALID "rtx = on\nrtx_ssrcs = 30, 40\n")); /* plain RTP: nothing to reuse */
	/* random SSRCs without one: allowed; fixed SSRCs of plain RTP too */
	snprintf(text, sizeof(text), VALID "srtp_key_file = %s\n", key);
	CHECK(expect_valid(text));
	CHECK(expect_valid(VALID "ssrcs = 10, 20\n"));

	/* with [daemon] state_dir (lines 1-2, VALID from line 3) */
	snprintf(text, sizeof(text), "[daemon]\nstate_dir = %s\n" VALID "srtp_key_file = %s\nssrcs = 10, 20\n", g_dir, key);
	CHECK_EQ(load(text, &cfg, &nerr), 0);
	if (cfg) {
		CHECK_STR_EQ(cfg->daemon.state_dir, g_dir);
		CHECK_EQ(cfg->daemon.state_dir_line, 2);
		CHECK_STR_EQ(cfg->outputs[0].state_dir, g_dir);
		mc_config_free(cfg);
	}
	/* ... it wins over $STATE_DIRECTORY */
	setenv("STATE_DIRECTORY", "/nonexistent-state", 1);
	CHECK_EQ(load(text, &cfg, &nerr), 0);
	if (cfg) {
		CHECK_STR_EQ(cfg->daemon.state_dir, g_dir);
		mc_config_free(cfg);
	}
	/* a state directory that is not one: refused, named by line or by the variable */
	snprintf(text, sizeof(text), VALID "srtp_key_file = %s\n", key);
	ERR1(text, 1, "[daemon] state_dir:", "'/nonexistent-state' (from $STATE_DIRECTORY): No such file or directory");
	unsetenv("STATE_DIRECTORY");
	snprintf(text, sizeof(text), "[daemon]\nstate_dir = /nonexistent-state\n" VALID "srtp_key_file = %s\n", key);
	ERR1(text, 2, "[daemon] state_dir:", "'/nonexistent-state': No such file or directory");
	snprintf(text, sizeof(text), "[daemon]\nstate_dir = %s\n" VALID "srtp_key_file = %s\n", file, key);
	ERR1(text, 2, "[daemon] state_dir:", "not a directory");
	/* ... and with fixed SSRCs both errors */
	snprintf(text, sizeof(text), "[daemon]\nstate_dir = %s\n" VALID "srtp_key_file = %s\nssrcs = 1, 2\n", file, key);
	CHECK(expect_error(__LINE__, text, 2, 14, "[output.o] ssrcs:", "need a writable [daemon] state_dir"));

	/* two outputs with one key and a common fixed SSRC: keystream reuse within one run */
	snprintf(text, sizeof(text),
		 "[daemon]\nstate_dir = %s\n" SRC TRK OUTH "ports = 5004, 5002\nsrtp_key_file = %s\nssrcs = 1, 2\n"
		 "[output.p]\ntype = rtp\ntrack = main\nhost = 127.0.0.1\nports = 6004, 6002\nsrtp_key_file = %s\n"
		 "ssrcs = 3, 2\n",
		 g_dir, key, key);
	ERR1(text, 21, "[output.p] ssrcs:", "SSRC 2 is also in [output.o] under the same SRTP key");
	unlink(file);
	unlink(key);
}

/* ---- the shared parsers ------------------------------------------------------------------------------------ */

static void test_parse_size(void)
{
	int w = -1, h = -1;
	CHECK_EQ(mc_parse_size("1280x720", &w, &h), 0);
	CHECK_EQ(w, 1280);
	CHECK_EQ(h, 720);
	CHECK_EQ(mc_parse_size("16x16", &w, &h), 0);
	CHECK_EQ(w, 16);
	CHECK_EQ(mc_parse_size("4096x4096 ", &w, &h), 0);
	CHECK_EQ(h, 4096);
	w = h = -1;
	CHECK_EQ(mc_parse_size("12x", &w, &h), -EINVAL);
	CHECK_EQ(mc_parse_size("x720", &w, &h), -EINVAL);
	CHECK_EQ(mc_parse_size("1280", &w, &h), -EINVAL);
	CHECK_EQ(mc_parse_size("1280X720", &w, &h), -EINVAL);
	CHECK_EQ(mc_parse_size("1280x720p", &w, &h), -EINVAL);
	CHECK_EQ(mc_parse_size("", &w, &h), -EINVAL);
	CHECK_EQ(mc_parse_size("99999999999999999999x720", &w, &h), -EINVAL);
	CHECK_EQ(mc_parse_size("641x360", &w, &h), -ERANGE);
	CHECK_EQ(mc_parse_size("640x361", &w, &h), -ERANGE);
	CHECK_EQ(mc_parse_size("14x16", &w, &h), -ERANGE);
	CHECK_EQ(mc_parse_size("4098x720", &w, &h), -ERANGE);
	CHECK_EQ(mc_parse_size("640x-360", &w, &h), -ERANGE);
	CHECK_EQ(w, -1); /* untouched on failure */
	CHECK_EQ(h, -1);
}

static void test_parse_listen(void)
{
	uint32_t a = 0;
	uint16_t p = 0;
	CHECK_EQ(mc_parse_listen("127.0.0.1:8090", &a, &p), 0);
	CHECK_EQ_U64(a, htonl(0x7f000001));
	CHECK_EQ(p, 8090);
	CHECK_EQ(mc_parse_listen("0.0.0.0:1", &a, &p), 0);
	CHECK_EQ_U64(a, 0);
	CHECK_EQ(p, 1);
	CHECK_EQ(mc_parse_listen("10.1.2.3:65535", &a, &p), 0);
	CHECK_EQ(p, 65535);
	a = 7, p = 7;
	CHECK_EQ(mc_parse_listen("127.0.0.1:8090x", &a, &p), -EINVAL);
	CHECK_EQ(mc_parse_listen("127.0.0.1:00080x", &a, &p), -EINVAL);
	CHECK_EQ(mc_parse_listen("127.0.0.1:000080", &a, &p), -EINVAL);
	CHECK_EQ(mc_parse_listen("127.0.0.1:-1", &a, &p), -EINVAL);
	CHECK_EQ(mc_parse_listen("127.0.0.1:0", &a, &p), -ERANGE);
	CHECK_EQ(mc_parse_listen("127.0.0.1:99999", &a, &p), -ERANGE);
	CHECK_EQ(mc_parse_listen("127.0.0.256:80", &a, &p), -EINVAL);
	CHECK_EQ(mc_parse_listen("8090", &a, &p), -EINVAL);
	CHECK_EQ(mc_parse_listen("", &a, &p), -EINVAL);
	CHECK_EQ(a, 7); /* untouched on error */
	CHECK_EQ(p, 7);
	CHECK(mc_x264_preset_valid("ultrafast"));
	CHECK(mc_x264_preset_valid("placebo"));
	CHECK(mc_x264_preset_valid("VeryFast"));
	CHECK(!mc_x264_preset_valid("realtime"));
	CHECK(!mc_x264_preset_valid(""));
}

static void test_parse_bitrate(void)
{
	int b = -1;
	CHECK_EQ(mc_parse_bitrate("700k", &b), 0);
	CHECK_EQ(b, 700000);
	CHECK_EQ(mc_parse_bitrate("2500K", &b), 0);
	CHECK_EQ(b, 2500000);
	CHECK_EQ(mc_parse_bitrate("2.5M", &b), 0);
	CHECK_EQ(b, 2500000);
	CHECK_EQ(mc_parse_bitrate("1m", &b), 0);
	CHECK_EQ(b, 1000000);
	CHECK_EQ(mc_parse_bitrate("150000", &b), 0);
	CHECK_EQ(b, 150000);
	CHECK_EQ(mc_parse_bitrate("10k", &b), 0); /* the bounds: 10k .. 50M */
	CHECK_EQ(b, 10000);
	CHECK_EQ(mc_parse_bitrate("50M", &b), 0);
	CHECK_EQ(b, 50000000);
	b = -1;
	CHECK_EQ(mc_parse_bitrate("abc", &b), -EINVAL);
	CHECK_EQ(mc_parse_bitrate("", &b), -EINVAL);
	CHECK_EQ(mc_parse_bitrate("100G", &b), -EINVAL);
	CHECK_EQ(mc_parse_bitrate("700kb", &b), -EINVAL);
	CHECK_EQ(mc_parse_bitrate("0", &b), -EINVAL);
	CHECK_EQ(mc_parse_bitrate("-700k", &b), -EINVAL);
	CHECK_EQ(mc_parse_bitrate("nan", &b), -EINVAL);
	CHECK_EQ(mc_parse_bitrate("5", &b), -ERANGE);
	CHECK_EQ(mc_parse_bitrate("9.9k", &b), -ERANGE);
	CHECK_EQ(mc_parse_bitrate("51M", &b), -ERANGE);
	CHECK_EQ(mc_parse_bitrate("1e300", &b), -ERANGE);
	CHECK_EQ(b, -1);
}

static void test_parse_layers(void)
{
	struct mc_layer_config l[MC_MAX_LAYERS];
	char err[200];
	int n = -1;
	CHECK_EQ(mc_parse_layers("1280x720@30:2500k, 640x360@30:700k, 320x180@15:150k", l, &n, err, sizeof(err)), 0);
	CHECK_EQ(n, 3);
	CHECK_EQ(l[0].width, 1280);
	CHECK_EQ(l[0].height, 720);
	CHECK_EQ(l[0].fps, 30);
	CHECK_EQ(l[0].bitrate, 2500000);
	CHECK_EQ(l[1].width, 640);
	CHECK_EQ(l[1].bitrate, 700000);
	CHECK_EQ(l[2].height, 180);
	CHECK_EQ(l[2].fps, 15);
	CHECK_EQ(l[2].bitrate, 150000);
	CHECK_EQ(mc_parse_layers("  640x360@30:1M  ", l, &n, err, sizeof(err)), 0);
	CHECK_EQ(n, 1);
	CHECK_EQ(l[0].bitrate, 1000000);
	/* equal sizes are not "increasing" */
	CHECK_EQ(mc_parse_layers("640x360@30:1M,640x360@15:500k", l, &n, err, sizeof(err)), 0);
	CHECK_EQ(n, 2);

	n = -1;
	CHECK_EQ(mc_parse_layers("640x360:800k", l, &n, err, sizeof(err)), -EINVAL);
	CHECK(strstr(err, "layer 1 '640x360:800k': expected WIDTHxHEIGHT@FPS:BITRATE") != NULL);
	CHECK_EQ(mc_parse_layers("1280x720@30:2M,640x360@30:1M,320x180@30:300k,160x90@30:100k", l, &n, err, sizeof(err)),
		 -EINVAL);
	CHECK(strstr(err, "at most 3 layers") != NULL);
	CHECK_EQ(mc_parse_layers("320x180@30:300k,640x360@30:1M", l, &n, err, sizeof(err)), -EINVAL);
	CHECK(strstr(err, "layer 2 is larger than layer 1") != NULL);
	CHECK_EQ(mc_parse_layers("640x360@121:1M", l, &n, err, sizeof(err)), -EINVAL);
	CHECK(strstr(err, "layer 1: bad frame rate '121'") != NULL);
	CHECK_EQ(mc_parse_layers("640x360@30:abc", l, &n, err, sizeof(err)), -EINVAL);
	CHECK(strstr(err, "layer 1: bad bitrate 'abc'") != NULL);
	CHECK_EQ(mc_parse_layers("640x360@30:5", l, &n, err, sizeof(err)), -EINVAL);
	CHECK(strstr(err, "bad bitrate '5'") != NULL);
	CHECK_EQ(mc_parse_layers("640x360@30:100G", l, &n, err, sizeof(err)), -EINVAL);
	CHECK(strstr(err, "bad bitrate '100G'") != NULL);
	CHECK_EQ(mc_parse_layers("12x@30:1M", l, &n, err, sizeof(err)), -EINVAL);
	CHECK(strstr(err, "layer 1: bad size '12x'") != NULL);
	CHECK_EQ(mc_parse_layers("", l, &n, err, sizeof(err)), -EINVAL);
	CHECK(strstr(err, "no layers") != NULL);
	char longv[300];
	memset(longv, 'a', sizeof(longv) - 1);
	longv[sizeof(longv) - 1] = '\0';
	CHECK_EQ(mc_parse_layers(longv, l, &n, err, sizeof(err)), -EINVAL);
	CHECK(strstr(err, "too long") != NULL);
	CHECK_EQ(n, -1); /* untouched on failure */
}

/* Feedback keys (issue 15): defaults, values, and what conflicts. */
static void test_feedback_keys(void)
{
	struct mc_config *cfg = NULL;
	int n = 0;
	const char *text = VALID "keyframe_on_pli = all\nrtx = on\nrtx_payload_type = 99\nrtx_ssrcs = 11, 12\n"
			   "keyframe_repeat_ms = 250\n";
	CHECK_EQ(mc_config_load_buffer("fb.ini", text, strlen(text), &cfg, &n), 0);
	if (cfg) {
		const struct mc_output_config *o = &cfg->outputs[0];
		CHECK_EQ(o->keyframe_on_pli, MC_KEYFRAME_ON_PLI_ALL);
		CHECK(o->rtx);
		CHECK_EQ(o->rtx_payload_type, 99);
		CHECK_EQ(o->n_rtx_ssrcs, 2);
		CHECK_EQ(o->rtx_ssrcs[1], 12);
		CHECK_EQ(o->keyframe_repeat_ms, 250);
		mc_config_free(cfg);
	}
	cfg = NULL;
	CHECK_EQ(mc_config_load_buffer("fb.ini", VALID, strlen(VALID), &cfg, &n), 0);
	if (cfg) {
		const struct mc_output_config *o = &cfg->outputs[0];
		CHECK_EQ(o->keyframe_on_pli, MC_KEYFRAME_ON_PLI_LAYER); /* RFC 4585: the SSRC named */
		CHECK(!o->rtx);
		CHECK_EQ(o->rtx_payload_type, 97);
		CHECK_EQ(o->keyframe_repeat_ms, 0);
		mc_config_free(cfg);
	}
	ERR1(VALID "keyframe_on_pli = some\n", 11, "keyframe_on_pli:", "expected one of layer, all, got 'some'");
	ERR1(VALID "rtx = maybe\n", 11, "rtx:", "expected true or false");
	ERR1(VALID "rtx = on\nrtx_payload_type = 96\n", 12, "rtx_payload_type:", "is the media payload type too");
	ERR1(VALID "rtx = on\nrtx_payload_type = 128\n", 12, "rtx_payload_type:", "expected an integer from 96 to 127");
	ERR1(VALID "rtx_payload_type = 98\n", 11, "rtx_payload_type:", "set without rtx = on");
	ERR1(VALID "rtx_ssrcs = 1, 2\n", 11, "rtx_ssrcs:", "set without rtx = on");
	ERR1(VALID "rtx = on\nrtx_ssrcs = 1\n", 12, "rtx_ssrcs:", "1 SSRCs for 2 layers");
	ERR1(VALID "ssrcs = 5, 6\nrtx = on\nrtx_ssrcs = 6, 7\n", 13, "rtx_ssrcs:", "6 is a media SSRC too");
	ERR1(VALID "keyframe_repeat_ms = 1001\n", 11, "keyframe_repeat_ms:", "expected an integer from 0 to 1000");
}

static void test_srtp_key_decode(void)
{
	uint8_t key[MC_SRTP_KEY_MAX];
	size_t len = 0;
	char err[160];
	CHECK_EQ(mc_srtp_suite_key_len(MC_SRTP_AES_CM_128_HMAC_SHA1_80), 30);
	CHECK_EQ(mc_srtp_suite_key_len(MC_SRTP_AES_CM_128_HMAC_SHA1_32), 30);
	CHECK_EQ(mc_srtp_suite_key_len(MC_SRTP_AEAD_AES_128_GCM), 28);
	CHECK_EQ(mc_srtp_suite_key_len(MC_SRTP_NONE), 0);
	CHECK_EQ(mc_srtp_key_decode("  inline:" KEY30_B64 "|2^31|1:1\n", MC_SRTP_AES_CM_128_HMAC_SHA1_80, key, &len, err,
				    sizeof(err)),
		 -EINVAL);
	CHECK(strstr(err, "a lifetime or MKI after '|' is not supported") != NULL);
	CHECK_EQ(mc_srtp_key_decode("  inline:" KEY30_B64 " \n", MC_SRTP_AES_CM_128_HMAC_SHA1_80, key, &len, err,
				    sizeof(err)),
		 0);
	CHECK_EQ(len, 30);
	CHECK_EQ(key[0], 0);
	CHECK_EQ(key[29], 29);
	/* whitespace inside the base64 (a wrapped line) is ignored */
	CHECK_EQ(mc_srtp_key_decode("AAECAwQFBgcICQoLDA0O\nDxAREhMUFRYXGBkaGxwd", MC_SRTP_AES_CM_128_HMAC_SHA1_32, key, &len,
				    err, sizeof(err)),
		 0);
	CHECK_EQ(len, 30);
	CHECK_EQ(mc_srtp_key_decode(KEY28_B64, MC_SRTP_AEAD_AES_128_GCM, key, &len, err, sizeof(err)), 0);
	CHECK_EQ(len, 28);
	CHECK_EQ(key[27], 27);
	CHECK_EQ(mc_srtp_key_decode(KEY16_B64, MC_SRTP_AES_CM_128_HMAC_SHA1_80, key, &len, err, sizeof(err)), -EINVAL);
	CHECK(strstr(err, "decodes to 16 bytes") != NULL);
	CHECK_EQ(mc_srtp_key_decode("@@@@", MC_SRTP_AES_CM_128_HMAC_SHA1_80, key, &len, err, sizeof(err)), -EINVAL);
	CHECK(strstr(err, "not valid base64") != NULL);
	CHECK_EQ(mc_srtp_key_decode("inline:", MC_SRTP_AES_CM_128_HMAC_SHA1_80, key, &len, err, sizeof(err)), -EINVAL);
	CHECK(strstr(err, "not valid base64") != NULL);
	char longv[200];
	memset(longv, 'A', sizeof(longv) - 1);
	longv[sizeof(longv) - 1] = '\0';
	CHECK_EQ(mc_srtp_key_decode(longv, MC_SRTP_AES_CM_128_HMAC_SHA1_80, key, &len, err, sizeof(err)), -EINVAL);
	CHECK(strstr(err, "too long") != NULL);
}

/* Header extensions, pacing and congestion control keys of an output. */
static void test_extension_keys(void)
{
	struct mc_config *cfg = NULL;
	int nerr = -1;
	const char *ok = VALID "ext_rid = 10\nrids = h, q\next_mid = 4\nmid = v\next_twcc = 3\npacing = off\n"
			 "pacer_queue_ms = 250\ncc = off\nmin_bitrate = 100k\n";
	CHECK_EQ(load(ok, &cfg, &nerr), 0);
	if (cfg) {
		const struct mc_output_config *o = &cfg->outputs[0];
		CHECK_EQ(o->ext_rid, 10);
		CHECK_EQ(o->ext_mid, 4);
		CHECK_EQ(o->ext_twcc, 3);
		CHECK_EQ(o->n_rids, 2);
		CHECK_STR_EQ(o->rids[0], "h");
		CHECK_STR_EQ(o->rids[1], "q");
		CHECK_STR_EQ(o->mid, "v");
		CHECK(!o->pacing && !o->cc);
		CHECK_EQ(o->pacer_queue_ms, 250);
		CHECK_EQ(o->min_bitrate, 100000);
		mc_config_free(cfg);
	}
	CHECK_EQ(load(VALID, &cfg, &nerr), 0);
	if (cfg) { /* defaults: paced, congestion control on, no extensions */
		CHECK(cfg->outputs[0].pacing && cfg->outputs[0].cc);
		CHECK_EQ(cfg->outputs[0].ext_rid + cfg->outputs[0].ext_mid + cfg->outputs[0].ext_twcc, 0);
		mc_config_free(cfg);
	}
	ERR1(VALID "ext_rid = 15\nrids = a, b\n", 11, "ext_rid:", "from 1 to 14");
	ERR1(VALID "ext_rid = 2\n", 11, "ext_rid:", "without rids");
	ERR1(VALID "rids = a, b\n", 11, "rids:", "without ext_rid");
	ERR1(VALID "ext_rid = 2\nrids = a, b-c\n", 12, "rids:", "letters and digits");
	ERR1(VALID "ext_rid = 2\nrids = a, abcdefghijklmnopq\n", 12, "rids:", "up to 16");
	ERR1(VALID "ext_rid = 2\nrids = a\n", 12, "rids:", "1 RIDs for 2 layers");
	ERR1(VALID "ext_rid = 2\nrids = a, a\n", 12, "rids:", "'a' used twice");
	ERR1(VALID "ext_mid = 2\n", 11, "ext_mid:", "without mid");
	ERR1(VALID "mid = v v\next_mid = 1\n", 11, "mid:", "expected a MID");
	ERR1(VALID "ext_twcc = 2\next_mid = 2\nmid = 0\n", 12, "ext_mid:", "id 2 used twice");
	ERR1(VALID "pacer_queue_ms = 10\n", 11, "pacer_queue_ms:", "from 50 to 5000");
}

/* [daemon] stats_token / stats_token_file: a bearer token; off loopback the endpoint needs one. */
static void test_stats_token(void)
{
	char tok[300], text[1024];
	struct mc_config *cfg = NULL;
	int nerr;
	path_in_dir(tok, sizeof(tok), "stats.token");
	CHECK(expect_valid("[daemon]\nstats_listen = 127.0.0.1:8090\n" SRC TRK));
	CHECK(expect_valid("[daemon]\nstats_listen = 127.1.2.3:8090\n" SRC TRK));
	ERR1("[daemon]\nstats_listen = 0.0.0.0:8090\n" SRC TRK, 2, "[daemon] stats_listen:",
	     "0.0.0.0:8090 is not a loopback address, and the endpoint shows the device's pictures and figures to "
	     "whoever connects: set stats_token or stats_token_file");
	ERR1("[daemon]\nstats_listen = 10.0.0.5:8090\n" SRC TRK, 2, "stats_listen:", "not a loopback address");
	CHECK_EQ(load("[daemon]\nstats_listen = 0.0.0.0:8090\nstats_token = abcdefghijklmnop-_.~+/==\n" SRC TRK, &cfg, &nerr), 0);
	if (cfg) {
		CHECK_STR_EQ(cfg->daemon.stats_token, "abcdefghijklmnop-_.~+/==");
		mc_config_free(cfg);
	}
	ERR1("[daemon]\nstats_listen = 0.0.0.0:8090\nstats_token = short\n" SRC TRK, 3, "[daemon] stats_token:",
	     "expected 16 to 128 characters of letters, digits and -._~+/ (then '=' padding)");
	ERR1("[daemon]\nstats_listen = 0.0.0.0:8090\nstats_token = abcdefghijklmnop qrst\n" SRC TRK, 3, "stats_token:",
	     "got another character");
	ERR1("[daemon]\nstats_token = abcdefghijklmnopq\n" SRC TRK, 2, "stats_token:", "set without stats_listen");
	/* a file: trailing newline dropped; as private as a key file; not both */
	snprintf(text, sizeof(text), "[daemon]\nstats_listen = 10.0.0.5:8090\nstats_token_file = %s\n" SRC TRK, tok);
	ERR1(text, 3, "[daemon] stats_token_file:", "cannot open");
	write_file(tok, "0123456789abcdefXYZ\n", 0644);
	ERR1(text, 3, "[daemon] stats_token_file:", "is readable or writable by others (mode 0644): chmod 600 it");
	write_file(tok, "0123456789abcdefXYZ\n", 0600);
	CHECK_EQ(load(text, &cfg, &nerr), 0);
	if (cfg) {
		CHECK_STR_EQ(cfg->daemon.stats_token, "0123456789abcdefXYZ");
		mc_config_free(cfg);
	}
	write_file(tok, "0123456789 abcdefXYZ\n", 0600);
	ERR1(text, 3, "stats_token_file:", "got another character");
	CHECK(strstr(g_log, "0123456789 abcdef") == NULL); /* never the token in a message */
	snprintf(text, sizeof(text), "[daemon]\nstats_listen = 10.0.0.5:8090\nstats_token = abcdefghijklmnopq\n"
		 "stats_token_file = %s\n" SRC TRK, tok);
	ERR1(text, 4, "[daemon] stats_token_file:", "set together with stats_token (line 3): keep one");
	unlink(tok);
}

int main(void)
{
	unsetenv("STATE_DIRECTORY"); /* systemd's default for [daemon] state_dir: the tests set it themselves */
	const char *tmp = getenv("TMPDIR");
	snprintf(g_dir, sizeof(g_dir), "%s/mixcast-test-config-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(g_dir)) {
		perror("mkdtemp");
		return 1;
	}
	RUN(test_valid_full);
	RUN(test_valid_minimal);
	RUN(test_layer_encoders);
	RUN(test_structure_errors);
	RUN(test_long_lines);
	RUN(test_value_errors);
	RUN(test_section_checks);
	RUN(test_mix);
	RUN(test_key_files);
	RUN(test_backend_options);
	RUN(test_state_dir);
	RUN(test_parse_size);
	RUN(test_parse_listen);
	RUN(test_parse_bitrate);
	RUN(test_parse_layers);
	RUN(test_srtp_key_decode);
	RUN(test_extension_keys);
	RUN(test_feedback_keys);
	RUN(test_stats_token);
	/* whatever a failed test left behind */
	static const char *const files[] = { "in.y4m", "full.key", "valid.ini", "k.key", "stats.token" };
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		char path[300];
		path_in_dir(path, sizeof(path), files[i]);
		unlink(path);
	}
	if (rmdir(g_dir) != 0)
		perror(g_dir);
	return check_done();
}
