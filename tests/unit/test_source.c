/* The source core (src/media/source.c) with a scripted backend (a mock of one module): a source that loses its
 * signal keeps running, its sink gets the placeholder at a low rate, the core reopens with backoff, and
 * frames come back; absent at start is "no signal" too; a wrong device at start is fatal; a source that
 * does not reconnect still ends as before. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "frame.h"
#include "log.h"
#include "placeholder.h"
#include "source.h"

struct script {
	int open_fails;      /* open() returns open_rc this many times first */
	int open_rc;
	int frames_then_lose; /* read_frame() gives this many frames, then -ENODEV (once); 0: never */
	int opens, reads;
	bool lost;
	struct mc_frame_pool *pool;
	int64_t pts_lag_us; /* the device's capture times lag the read: behind the last placeholder's */
	int64_t last_pts;   /* of the frames taken */
	int pts_backwards;  /* frames taken whose capture time did not increase */
	char node[256];     /* plug_like: the device is there while this file exists */
};
static struct script g;

struct fake {
	int n;
};

static int fake_open(void *priv, const struct mc_source_config *cfg, struct mc_source_info *info,
		     struct mc_source_report *report)
{
	g.opens++;
	if (g.open_fails > 0) {
		g.open_fails--;
		snprintf(report->why, sizeof(report->why), "fake: cannot open (%d)", g.open_rc);
		return g.open_rc;
	}
	*info = (struct mc_source_info){ 64, 48, 50, 1, "fake", AV_PIX_FMT_YUV420P };
	return 0;
}

static int fake_read(void *priv, AVFrame **out, const bool *stop)
{
	struct fake *f = priv;
	struct timespec ts = { 0, 20 * 1000000 };
	nanosleep(&ts, NULL);
	g.reads++;
	if (g.frames_then_lose && f->n == g.frames_then_lose && !g.lost) {
		g.lost = true;
		return -ENODEV;
	}
	AVFrame *fr = mc_frame_pool_get(g.pool);
	memset(fr->data[0], 1, (size_t)fr->linesize[0] * 48); /* not the placeholder's background */
	fr->pts = mc_now_us() - g.pts_lag_us;
	f->n++;
	*out = fr;
	return 0;
}

static int eof_read(void *priv, AVFrame **out, const bool *stop) { return -EIO; }
static void fake_close(void *priv) {}

static const struct mc_source_ops camera_like = {
	.name = "fake",
	.priv_size = sizeof(struct fake),
	.reconnects = true,
	.open = fake_open,
	.read_frame = fake_read,
	.close = fake_close,
};

/* A camera whose node is a file: open() fails with -ENODEV while it is absent; watch_path names it. */
static int plug_open(void *priv, const struct mc_source_config *cfg, struct mc_source_info *info,
		     struct mc_source_report *report)
{
	__atomic_fetch_add(&g.opens, 1, __ATOMIC_RELEASE); /* the test thread polls it while the source runs */
	if (access(g.node, F_OK)) {
		snprintf(report->why, sizeof(report->why), "fake: no %s", g.node);
		return -ENODEV;
	}
	*info = (struct mc_source_info){ 64, 48, 50, 1, "fake", AV_PIX_FMT_YUV420P };
	return 0;
}

static int plug_watch(const struct mc_source_config *cfg, char *buf, size_t len)
{
	snprintf(buf, len, "%s", g.node);
	return 0;
}

static const struct mc_source_ops plug_like = {
	.name = "fake-plug",
	.priv_size = sizeof(struct fake),
	.reconnects = true,
	.watch_path = plug_watch,
	.open = plug_open,
	.read_frame = fake_read,
	.close = fake_close,
};

static const struct mc_source_ops file_like = {
	.name = "fake-file",
	.priv_size = sizeof(struct fake),
	.open = fake_open,
	.read_frame = eof_read,
	.close = fake_close,
};

static struct mc_source_config config(const struct mc_source_ops *ops)
{
	struct mc_source_config c = { .name = "cam", .line = 1, .backend = ops, .width = 320, .height = 180, .fps = 30 };
	return c;
}

/* Take frames for up to `ms`; count placeholders (I420 with the slate's background, at the configured size
 * when the source never had a picture, else at the last picture's size) and real ones. */
static void take(struct mc_mailbox *mb, int ms, int ph_width, int *placeholders, int *real)
{
	int64_t end = mc_now_us() + ms * 1000;
	while (mc_now_us() < end) {
		AVFrame *f = NULL;
		pthread_mutex_lock(&mb->lock);
		f = mb->frame;
		mb->frame = NULL;
		pthread_mutex_unlock(&mb->lock);
		if (!f) {
			struct timespec ts = { 0, 5 * 1000000 };
			nanosleep(&ts, NULL);
			continue;
		}
		if (g.last_pts && f->pts <= g.last_pts)
			g.pts_backwards++;
		g.last_pts = f->pts;
		if (f->width == ph_width && f->format == AV_PIX_FMT_YUV420P && f->data[0][0] == MC_PLACEHOLDER_BG)
			(*placeholders)++;
		else if (f->width == 64 && f->data[0][0] == 1)
			(*real)++;
		av_frame_free(&f);
	}
}

static void test_absent_at_start_then_plugged(void)
{
	memset(&g, 0, sizeof(g));
	g.pool = mc_frame_pool_create(64, 48, AV_PIX_FMT_YUV420P);
	g.open_fails = 3; /* at start, and twice more while reconnecting */
	g.open_rc = -ENODEV;
	struct mc_source_config cfg = config(&camera_like);
	struct mc_source *s = NULL;
	CHECK_EQ(mc_source_create(&s, &cfg), 0);
	if (!s)
		return;
	CHECK_EQ(mc_count_get(&s->stats.state), MC_SOURCE_NO_SIGNAL);
	CHECK_EQ(mc_count_get(&s->stats.signal_losses), 1);
	CHECK_EQ(mc_count_get(&s->stats.last_error), ENODEV);
	CHECK_EQ(s->out.info.width, 320); /* the configuration's size, for the placeholder */
	CHECK_EQ(mc_count_get(&s->stats.width), 320); /* as /stats shows it, from another thread */
	CHECK_EQ(mc_count_get(&s->stats.fps_num), 30);
	struct mc_mailbox mb;
	mc_mailbox_init(&mb, false);
	mc_producer_add_sink(&s->out, &mb);
	CHECK_EQ(mc_source_start(s), 0);
	int ph = 0, real = 0;
	/* reopens at +200 ms and +600 ms fail, +1100 ms works: placeholders at 0, 0.5 s, 1 s, then frames */
	take(&mb, 1600, 320, &ph, &real);
	CHECK(ph >= 2 && ph <= 4);
	CHECK(real >= 5);
	CHECK_EQ(g.opens, 4);
	CHECK_EQ(mc_count_get(&s->stats.state), MC_SOURCE_LIVE);
	CHECK_EQ(mc_count_get(&s->stats.width), 64); /* the device's, after the reopen */
	CHECK_EQ(mc_count_get(&s->stats.height), 48);
	CHECK_EQ(mc_count_get(&s->stats.fps_num), 50);
	CHECK_STR_EQ(__atomic_load_n(&s->stats.path, __ATOMIC_ACQUIRE), "fake");
	uint64_t restore = mc_count_get(&s->stats.last_restore_us);
	CHECK(restore > 900000 && restore < 1600000);
	CHECK_EQ(mc_count_get(&s->stats.placeholder_frames), (uint64_t)ph);
	mc_source_destroy(s);
	mc_mailbox_finish(&mb);
	mc_frame_pool_destroy(g.pool);
}

static void test_lost_mid_stream(void)
{
	memset(&g, 0, sizeof(g));
	g.pool = mc_frame_pool_create(64, 48, AV_PIX_FMT_YUV420P);
	g.frames_then_lose = 10;
	struct mc_source_config cfg = config(&camera_like);
	struct mc_source *s = NULL;
	CHECK_EQ(mc_source_create(&s, &cfg), 0);
	if (!s)
		return;
	struct mc_mailbox mb;
	mc_mailbox_init(&mb, false);
	mc_producer_add_sink(&s->out, &mb);
	CHECK_EQ(mc_source_start(s), 0);
	int ph = 0, real = 0;
	take(&mb, 1000, 64, &ph, &real);
	/* lost after 10 frames; the placeholder at once; reopened 200 ms later; frames again */
	CHECK(ph >= 1);
	CHECK(real >= 15);
	CHECK_EQ(g.opens, 2);
	CHECK_EQ(mc_count_get(&s->stats.signal_losses), 1);
	CHECK(!mc_producer_ended(&s->out));
	CHECK_EQ(mc_count_get(&s->stats.state), MC_SOURCE_LIVE);
	uint64_t restore = mc_count_get(&s->stats.last_restore_us);
	CHECK(restore >= 200000 && restore < 600000);
	CHECK_EQ(g.pts_backwards, 0);
	mc_source_destroy(s);
	mc_mailbox_finish(&mb);
	mc_frame_pool_destroy(g.pool);
}

static void test_capture_times_increase_across_a_loss(void)
{
	/* the device stamps its frames 300 ms before they are read: its first frame after the reopen was
	 * captured before the last placeholder was made, and is delivered after it, with a later time */
	memset(&g, 0, sizeof(g));
	g.pool = mc_frame_pool_create(64, 48, AV_PIX_FMT_YUV420P);
	g.frames_then_lose = 10;
	g.pts_lag_us = 300000;
	struct mc_source_config cfg = config(&camera_like);
	struct mc_source *s = NULL;
	CHECK_EQ(mc_source_create(&s, &cfg), 0);
	if (!s)
		return;
	struct mc_mailbox mb;
	mc_mailbox_init(&mb, false);
	mc_producer_add_sink(&s->out, &mb);
	CHECK_EQ(mc_source_start(s), 0);
	int ph = 0, real = 0;
	take(&mb, 1000, 64, &ph, &real);
	CHECK(ph >= 1);
	CHECK(real >= 15);
	CHECK_EQ(g.pts_backwards, 0);
	mc_source_destroy(s);
	mc_mailbox_finish(&mb);
	mc_frame_pool_destroy(g.pool);
}

static void test_fatal_and_non_reconnecting(void)
{
	memset(&g, 0, sizeof(g));
	/* the device is there but wrong (not a capture device): an error at start, no retrying */
	g.open_fails = 1;
	g.open_rc = -ENOTTY;
	struct mc_source_config cfg = config(&camera_like);
	struct mc_source *s = (struct mc_source *)1;
	CHECK_EQ(mc_source_create(&s, &cfg), -ENOTTY);
	CHECK(s == NULL);
	/* a source that does not reconnect ends on an error, as before */
	memset(&g, 0, sizeof(g));
	cfg = config(&file_like);
	CHECK_EQ(mc_source_create(&s, &cfg), 0);
	if (!s)
		return;
	struct mc_mailbox mb;
	mc_mailbox_init(&mb, false);
	mc_producer_add_sink(&s->out, &mb);
	CHECK_EQ(mc_source_start(s), 0);
	AVFrame *f = NULL;
	CHECK_EQ(mc_mailbox_take(&mb, &f, NULL), -EPIPE); /* closed, no placeholder */
	mc_source_stop(s);
	CHECK(mc_producer_ended(&s->out) && s->out.failed);
	CHECK_EQ(mc_count_get(&s->stats.placeholder_frames), 0);
	CHECK_EQ(mc_count_get(&s->stats.state), MC_SOURCE_ENDED);
	mc_source_destroy(s);
	mc_mailbox_finish(&mb);
}

/* A device that appears is reopened at once (inotify on its folder), not at the next try of the backoff: the
 * node is created just after a failed try, when the next one is 500 ms away. */
static void test_reopened_when_the_device_appears(void)
{
	memset(&g, 0, sizeof(g));
	g.pool = mc_frame_pool_create(64, 48, AV_PIX_FMT_YUV420P);
	char dir[] = "/tmp/mixcast-test-source.XXXXXX";
	CHECK(mkdtemp(dir) != NULL);
	snprintf(g.node, sizeof(g.node), "%s/video0", dir);
	struct mc_source_config cfg = config(&plug_like);
	struct mc_source *s = NULL;
	CHECK_EQ(mc_source_create(&s, &cfg), 0); /* absent at start: no signal */
	if (!s)
		return;
	struct mc_mailbox mb;
	mc_mailbox_init(&mb, false);
	mc_producer_add_sink(&s->out, &mb);
	CHECK_EQ(mc_source_start(s), 0);
	/* tries at +200, +600, +1100 ms, then every 500 ms: wait for the third (bounded), then plug in */
	for (int i = 0; i < 300 && __atomic_load_n(&g.opens, __ATOMIC_ACQUIRE) < 4; i++) {
		struct timespec ts = { 0, 10 * 1000000 };
		nanosleep(&ts, NULL);
	}
	CHECK_EQ(__atomic_load_n(&g.opens, __ATOMIC_ACQUIRE), 4);
	int64_t plugged = mc_now_us();
	int fd = open(g.node, O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
	CHECK(fd >= 0);
	if (fd >= 0)
		close(fd);
	int ph = 0, real = 0;
	int64_t first_real = 0;
	for (int i = 0; i < 100 && !real; i++) {
		take(&mb, 10, 320, &ph, &real);
		if (real)
			first_real = mc_now_us();
	}
	CHECK(real > 0);
	/* the reopen plus one 20 ms read; the backoff alone would take 500 ms */
	CHECK(first_real - plugged < 300000);
	CHECK_EQ(__atomic_load_n(&g.opens, __ATOMIC_ACQUIRE), 5);
	mc_source_destroy(s);
	mc_mailbox_finish(&mb);
	mc_frame_pool_destroy(g.pool);
	unlink(g.node);
	rmdir(dir);
}

int main(void)
{
	mc_log_set_level(MC_LOG_ERROR);
	RUN(test_absent_at_start_then_plugged);
	RUN(test_lost_mid_stream);
	RUN(test_capture_times_increase_across_a_loss);
	RUN(test_fatal_and_non_reconnecting);
	RUN(test_reopened_when_the_device_appears);
	return check_done();
}
