/* Media timing rules, each on its own: the track's frame clock (slots from capture times, or counted for a
 * lossless source), layer decimation on that clock, the keyframe schedule, the RTP timestamp that never
 * stands still, and the sources' pacing clock (a late wake-up does not move a frame's capture time; a file
 * read as fast as possible has compressed but strictly increasing ones). */
#include <libavutil/frame.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cadence.h"
#include "check.h"
#include "log.h"
#include "pace.h"
#include "rtp.h"
#include "source.h"

static void test_clock_from_capture_times(void)
{
	struct mc_frame_clock c;
	mc_frame_clock_init(&c, 30, 1, false);
	int64_t t0 = 5000000;
	CHECK_EQ(mc_frame_clock_slot(&c, t0), 0);
	CHECK_EQ(mc_frame_clock_slot(&c, t0 + 33333 + 4000), 1); /* jitter rounds to the slot */
	CHECK_EQ(mc_frame_clock_slot(&c, t0 + 2 * 33333 - 9000), 2);
	CHECK_EQ(mc_frame_clock_slot(&c, t0 + 5 * 33333), 5);     /* frames dropped before the track: a gap */
	CHECK_EQ(mc_frame_clock_slot(&c, t0 + 5 * 33333 + 100), 6); /* the same slot twice: the next one */
	CHECK_EQ(mc_frame_clock_slot(&c, t0 + 7 * 33333), 7);
	CHECK_EQ(mc_frame_clock_slot(&c, t0 - 1000), 8);         /* a clock stepping back never goes back */
	/* 30000/1001: slot 1000 is 33.3667 s in */
	mc_frame_clock_init(&c, 30000, 1001, false);
	CHECK_EQ(mc_frame_clock_slot(&c, 0), 0);
	CHECK_EQ(mc_frame_clock_slot(&c, 33366667), 1000);
}

static void test_clock_counted(void)
{
	/* a file read as fast as possible: capture times 2 ms apart are still one frame each */
	struct mc_frame_clock c;
	mc_frame_clock_init(&c, 30, 1, true);
	for (int i = 0; i < 10; i++)
		CHECK_EQ(mc_frame_clock_slot(&c, 1000000 + i * 2000), i);
}

static void test_decimation(void)
{
	/* 15 of 30: every even slot */
	int64_t last = -1;
	for (int s = 0; s < 12; s++)
		CHECK_EQ(mc_layer_slot_due(&last, s, 15, 30), s % 2 == 0);
	/* 10 of 30: slots 0, 3, 6 */
	last = -1;
	int n = 0;
	for (int s = 0; s < 30; s++)
		if (mc_layer_slot_due(&last, s, 10, 30)) {
			CHECK_EQ(s % 3, 0);
			n++;
		}
	CHECK_EQ(n, 10);
	/* a missing slot (dropped before the track) is made up by the next frame of the same interval */
	last = -1;
	CHECK(mc_layer_slot_due(&last, 0, 15, 30));
	CHECK(mc_layer_slot_due(&last, 3, 15, 30));
	CHECK(!mc_layer_slot_due(&last, 3, 15, 30)); /* the same interval: not twice */
	CHECK(mc_layer_slot_due(&last, 4, 15, 30));
	/* a layer asking for more than the source gives takes every frame */
	last = -1;
	for (int s = 0; s < 5; s++)
		CHECK(mc_layer_slot_due(&last, s, 60, 30));
}

static void test_key_schedule(void)
{
	CHECK_EQ(mc_key_slots(2.0, 30, 1), 60);
	CHECK_EQ(mc_key_slots(1.0, 30000, 1001), 30);
	CHECK_EQ(mc_key_slots(0.001, 30, 1), 1);
	int64_t epoch = -1;
	int keys = 0;
	for (int s = 0; s < 180; s++)
		if (mc_key_slot(&epoch, s, 60)) {
			CHECK_EQ(s % 60, 0);
			keys++;
		}
	CHECK_EQ(keys, 3);
	/* a gap over the keyframe slot: the first frame after it opens the period */
	epoch = -1;
	CHECK(mc_key_slot(&epoch, 0, 60));
	CHECK(!mc_key_slot(&epoch, 59, 60));
	CHECK(mc_key_slot(&epoch, 62, 60));
	CHECK(!mc_key_slot(&epoch, 63, 60));
}

static void test_key_owed(void)
{
	/* nothing owed at the start */
	CHECK(!mc_key_owed(100, INT64_MIN, INT64_MIN));
	/* owed from 2000 on: a frame before it (taken before the debt was set) is not the keyframe */
	CHECK(!mc_key_owed(1000, 2000, 0));
	CHECK(mc_key_owed(2000, 2000, 0));
	/* the frame at 2000 was dropped by the mailbox: the next one pays */
	CHECK(mc_key_owed(2033, 2000, 0));
	/* paid: not again */
	CHECK(!mc_key_owed(2066, 2000, 2033));
}

static void test_rtp_timestamp(void)
{
	struct mc_rtp_stream s = { 0 };
	bool adj;
	CHECK_EQ(mc_rtp_next_timestamp(&s, 1000, &adj), 1000);
	CHECK(!adj);
	CHECK_EQ(mc_rtp_next_timestamp(&s, 4000, &adj), 4000);
	CHECK(!adj);
	CHECK_EQ(mc_rtp_next_timestamp(&s, 4000, &adj), 4001); /* two frames in one tick */
	CHECK(adj);
	CHECK_EQ(mc_rtp_next_timestamp(&s, 3990, &adj), 4002); /* backwards */
	CHECK(adj);
	CHECK_EQ(mc_rtp_next_timestamp(&s, 7000, &adj), 7000);
	CHECK(!adj);
	/* across the wrap: 0xfffffff0 -> 0x10 is forwards */
	struct mc_rtp_stream w = { 0 };
	mc_rtp_next_timestamp(&w, 0xfffffff0u, &adj);
	CHECK_EQ(mc_rtp_next_timestamp(&w, 0x10, &adj), 0x10);
	CHECK(!adj);
	CHECK_EQ(mc_rtp_next_timestamp(&w, 0xfffffff8u, &adj), 0x11);
	CHECK(adj);
}

static void test_pace_grid(void)
{
	struct mc_pace p;
	mc_pace_init(&p, 30, 1);
	int64_t t0 = 10000000;
	CHECK_EQ(mc_pace_next(&p, t0), t0);
	p.n++;
	/* woken 20 ms late for slot 1: the frame is still slot 1's */
	CHECK_EQ(mc_pace_next(&p, t0 + 33333 + 20000), t0 + 33333);
	p.n++;
	CHECK_EQ(mc_pace_next(&p, t0 + 2 * 33333 + 1000), t0 + 66666);
	p.n++;
	/* a stall of 200 ms: skip to the latest slot that passed (no burst), still on the grid */
	int64_t now = t0 + 3 * 33333 + 200000;
	int64_t due = mc_pace_next(&p, now);
	CHECK_EQ(due, mc_pace_slot_us(&p, 8));
	CHECK(due <= now && now - due < 33334);
	CHECK_EQ(p.skipped, 5);
	/* the grid does not drift by rounding the period: slot 3000 is exactly 100 s in */
	CHECK_EQ(mc_pace_slot_us(&p, 3000), t0 + 100000000);
	/* and the real wait returns slot times, strictly increasing */
	struct mc_pace q;
	mc_pace_init(&q, 200, 1);
	bool stop = false;
	int64_t a = mc_pace_wait(&q, &stop), b = mc_pace_wait(&q, &stop), c = mc_pace_wait(&q, &stop);
	CHECK_EQ(b - a, 5000);
	CHECK_EQ(c - b, 5000);
	CHECK(mc_now_us() >= c);
}

static void sleep_us(long us)
{
	struct timespec ts = { us / 1000000, (us % 1000000) * 1000 };
	nanosleep(&ts, NULL);
}

/* A source section through the configuration loader (a backend's keys live in its own option table),
 * with a track that takes it. */
static struct mc_config *load_source(const char *section)
{
	char text[1024];
	const char *name = strstr(section, "[source.") + 8;
	int len = (int)(strchr(name, ']') - name);
	snprintf(text, sizeof(text), "%s[track.t]\ninput = %.*s\nlayers = 320x180@30:200k\n", section, len, name);
	struct mc_config *cfg = NULL;
	int nerr = 0;
	if (mc_config_load_buffer("timing.ini", text, strlen(text), &cfg, &nerr) || !cfg || cfg->n_sources != 1) {
		mc_config_free(cfg);
		return NULL;
	}
	return cfg;
}

/* Reads `n` frames straight from a source backend (no thread), sleeping `late_us` before the 3rd read (a
 * late wake-up); returns their capture times in pts[]. */
static bool read_frames(const struct mc_source_config *cfg, int n, long late_us, int64_t *pts)
{
	struct mc_source *s;
	if (mc_source_create(&s, cfg))
		return false;
	bool stop = false, ok = true;
	for (int i = 0; i < n && ok; i++) {
		if (i == 2)
			sleep_us(late_us);
		AVFrame *f = NULL;
		ok = s->ops->read_frame(s->priv, &f, &stop) == 0 && f;
		pts[i] = ok ? f->pts : 0;
		av_frame_free(&f);
	}
	mc_source_destroy(s);
	return ok;
}

/* Each step is a whole number of frame periods (to the microsecond the slot times are rounded to). */
static bool on_grid(const int64_t *pts, int n, int64_t period)
{
	for (int i = 1; i < n; i++) {
		int64_t d = pts[i] - pts[i - 1], k = (d + period / 2) / period;
		if (k < 1 || d - k * period > 1 || k * period - d > k)
			return false;
	}
	return true;
}

static void test_testsrc_capture_slots(void)
{
	/* 60 fps; the 3rd frame is read 25 ms late (1.5 periods): it is stamped with its slot, on the grid */
	struct mc_config *cfg = load_source("[source.cam]\ntype = testsrc\nsize = 64x36\nfps = 60\n");
	CHECK(cfg != NULL);
	if (!cfg)
		return;
	int64_t pts[6];
	CHECK(read_frames(&cfg->sources[0], 6, 25000, pts));
	mc_config_free(cfg);
	CHECK(on_grid(pts, 6, 16667));
	for (int i = 1; i < 6; i++)
		CHECK(pts[i] > pts[i - 1]);
}

static void test_file_capture_times(void)
{
	char path[] = "/tmp/mixcast-test-timing-XXXXXX";
	int fd = mkstemp(path);
	CHECK(fd >= 0);
	if (fd < 0)
		return;
	FILE *f = fdopen(fd, "w");
	fprintf(f, "YUV4MPEG2 W16 H16 F30:1 Ip C420jpeg\n");
	static uint8_t pixels[16 * 16 * 3 / 2];
	for (int i = 0; i < 4; i++) {
		fprintf(f, "FRAME\n");
		memset(pixels, 16 + 40 * i, sizeof(pixels));
		fwrite(pixels, 1, sizeof(pixels), f);
	}
	fclose(f);
	char text[512];
	snprintf(text, sizeof(text), "[source.clip]\ntype = file\npath = %s\nloop = true\nrealtime = true\n", path);
	struct mc_config *cfg = load_source(text);
	CHECK(cfg != NULL);
	if (!cfg) {
		unlink(path);
		return;
	}
	/* in real time: on the clip's frame clock, a late read included */
	int64_t pts[40];
	CHECK(read_frames(&cfg->sources[0], 6, 40000, pts));
	CHECK(on_grid(pts, 6, 33333));
	mc_config_free(cfg);
	/* as fast as possible: compressed (reads microseconds apart), but strictly increasing */
	snprintf(text, sizeof(text), "[source.clip]\ntype = file\npath = %s\nloop = true\nrealtime = false\n", path);
	cfg = load_source(text);
	CHECK(cfg != NULL);
	if (!cfg) {
		unlink(path);
		return;
	}
	CHECK(read_frames(&cfg->sources[0], 40, 0, pts));
	mc_config_free(cfg);
	int increasing = 0;
	for (int i = 1; i < 40; i++)
		increasing += pts[i] > pts[i - 1];
	CHECK_EQ(increasing, 39);
	CHECK(pts[39] - pts[0] < 33333 * 39); /* not paced */
	unlink(path);
}

int main(void)
{
	RUN(test_clock_from_capture_times);
	RUN(test_clock_counted);
	RUN(test_decimation);
	RUN(test_key_schedule);
	RUN(test_key_owed);
	RUN(test_rtp_timestamp);
	RUN(test_pace_grid);
	RUN(test_testsrc_capture_slots);
	RUN(test_file_capture_times);
	return check_done();
}
