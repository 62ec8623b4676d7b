#include "source.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "frame.h"
#include "log.h"
#include "placeholder.h"

#define MOD "source"

/* Without signal: the placeholder at 2 fps (enough for the SFU to keep the stream, and a keyframe each
 * interval for viewers who join), and a reopen 200 ms after the loss, then every 400 ms, then every 500 ms:
 * an open() that fails costs next to nothing, and a camera that is plugged in again is found within half a
 * second, which leaves time for its first frame within the 2 s a replug may take. */
#define PLACEHOLDER_PERIOD_US 500000
#define REOPEN_FIRST_US 200000
#define REOPEN_MAX_US 500000

const char *mc_source_state_name(enum mc_source_state st)
{
	switch (st) {
	case MC_SOURCE_LIVE: return "live";
	case MC_SOURCE_NO_SIGNAL: return "no signal";
	default: return "ended";
	}
}

/* s->info for the other threads (stats): set where the source's thread changes it */
static void publish_info(struct mc_source *s)
{
	mc_count_set(&s->stats.width, (uint64_t)s->info.width);
	mc_count_set(&s->stats.height, (uint64_t)s->info.height);
	mc_count_set(&s->stats.fps_num, (uint64_t)s->info.fps_num);
	mc_count_set(&s->stats.fps_den, (uint64_t)s->info.fps_den);
	__atomic_store_n(&s->stats.path, s->info.path, __ATOMIC_RELEASE);
}

static int backend_open(struct mc_source *s)
{
	memset(s->priv, 0, s->ops->priv_size ? s->ops->priv_size : 1);
	s->stats.backend.why[0] = '\0';
	int rc = s->ops->open(s->priv, s->cfg, &s->info, &s->stats.backend);
	if (rc) {
		s->ops->close(s->priv);
		return rc;
	}
	s->open = true;
	publish_info(s);
	return 0;
}

static void backend_close(struct mc_source *s)
{
	if (s->open)
		s->ops->close(s->priv);
	s->open = false;
}

/* The state "no signal", entered at start or on a loss: logged once here, not at every reopen. */
static void lose_signal(struct mc_source *s, int rc, bool at_start)
{
	mc_count_set(&s->stats.state, MC_SOURCE_NO_SIGNAL);
	mc_count_inc(&s->stats.signal_losses);
	mc_count_set(&s->stats.last_error, (uint64_t)-rc);
	mc_count_set(&s->stats.no_signal_since_us, (uint64_t)mc_now_us());
	const char *why = s->stats.backend.why;
	mc_warn(MOD, "%s: no signal (%s%s)%s%s: sending the placeholder and reopening", s->cfg->name,
		at_start ? "at start: " : "", strerror(-rc), *why ? ": " : "", why);
	if (s->info.width < 16 || s->info.height < 16) { /* the placeholder's size: the configuration's */
		s->info.width = s->cfg->width;
		s->info.height = s->cfg->height;
	}
	if (s->info.fps_num <= 0 || s->info.fps_den <= 0)
		s->info.fps_num = s->cfg->fps, s->info.fps_den = 1;
	publish_info(s);
}

int mc_source_create(struct mc_source **out, const struct mc_source_config *cfg)
{
	*out = NULL;
	const struct mc_source_ops *ops = cfg->backend;
	if (!ops)
		return -ENOTSUP;
	struct mc_source *s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	/* the source's own copy: the configuration it came from is freed by a reload */
	s->cfg_own = *cfg;
	snprintf(s->cfg_file, sizeof(s->cfg_file), "%s", cfg->file ? cfg->file : "?");
	s->cfg_own.file = s->cfg_file;
	s->cfg_own.opts = NULL;
	s->cfg = &s->cfg_own;
	pthread_mutex_init(&s->sinks_lock, NULL);
	s->ops = ops;
	if (ops->options_size && cfg->opts && !(s->cfg_own.opts = malloc(ops->options_size))) {
		pthread_mutex_destroy(&s->sinks_lock);
		free(s);
		return -ENOMEM;
	}
	if (s->cfg_own.opts)
		memcpy(s->cfg_own.opts, cfg->opts, ops->options_size);
	cfg = s->cfg;
	s->ended_fd = -1;
	s->last_pts = INT64_MIN;
	s->priv = calloc(1, ops->priv_size ? ops->priv_size : 1);
	if (!s->priv) {
		mc_source_destroy(s);
		return -ENOMEM;
	}
	int rc = backend_open(s);
	if (rc && s->stats.backend.why[0] && !(ops->reconnects && (rc == -ENODEV || rc == -ENOENT)))
		mc_err(MOD, "%s", s->stats.backend.why);
	if (rc && ops->reconnects && (rc == -ENODEV || rc == -ENOENT)) {
		/* Absent at start (not plugged in yet): the daemon runs, the source comes when the device does. */
		s->info = (struct mc_source_info){ cfg->width, cfg->height, cfg->fps, 1, "none", AV_PIX_FMT_NONE };
		lose_signal(s, rc, true);
		rc = 0;
	}
	if (rc) {
		mc_source_destroy(s);
		return rc;
	}
	*out = s;
	return 0;
}

int mc_source_add_sink(struct mc_source *s, struct mc_mailbox *mb)
{
	pthread_mutex_lock(&s->sinks_lock);
	int rc = s->n_sinks == MC_SOURCE_MAX_SINKS ? -ENOSPC : 0;
	if (!rc)
		s->sinks[s->n_sinks++] = mb;
	pthread_mutex_unlock(&s->sinks_lock);
	return rc;
}

void mc_source_remove_sink(struct mc_source *s, struct mc_mailbox *mb)
{
	pthread_mutex_lock(&s->sinks_lock);
	for (int i = 0; i < s->n_sinks; i++)
		if (s->sinks[i] == mb) {
			memmove(&s->sinks[i], &s->sinks[i + 1], sizeof(s->sinks[0]) * (size_t)(s->n_sinks - i - 1));
			s->n_sinks--;
			break;
		}
	pthread_mutex_unlock(&s->sinks_lock);
}

bool mc_source_lossless(struct mc_source *s) { return s->open && s->ops->lossless && s->ops->lossless(s->priv); }

static bool stopping(struct mc_source *s) { return __atomic_load_n(&s->stop, __ATOMIC_ACQUIRE); }

/* One reference per sink: the frame is shared, never copied. Capture times strictly increase across a
 * loss and a reopen too (placeholder pictures stamped with the time they are made, a device's own clock
 * after it): the tracks' frame clocks and the RTP timestamps of every layer depend on it. */
static void deliver(struct mc_source *s, AVFrame *frame)
{
	if (frame->pts <= s->last_pts)
		frame->pts = s->last_pts + 1;
	s->last_pts = frame->pts;
	/* held across a lossless put() that waits for its consumer: a reload closes a sink's mailbox (which
	 * ends the wait) before it removes the sink */
	pthread_mutex_lock(&s->sinks_lock);
	int n = s->n_sinks;
	for (int i = 0; i < n; i++) {
		AVFrame *ref = i + 1 < n ? av_frame_clone(frame) : frame;
		if (ref)
			mc_mailbox_put(s->sinks[i], ref);
	}
	pthread_mutex_unlock(&s->sinks_lock);
	if (n == 0)
		av_frame_free(&frame);
}

static void send_placeholder(struct mc_source *s, int64_t now)
{
	/* the size and format of the source's last pictures: the tracks' scalers and encoders stay as they are
	 * (an NV12 camera's top layer encodes NV12: an I420 slate would cost a conversion per frame) */
	enum AVPixelFormat fmt = s->info.format == AV_PIX_FMT_NV12 ? AV_PIX_FMT_NV12 : AV_PIX_FMT_YUV420P;
	if (s->slate && (mc_frame_pool_width(s->slate) != s->info.width ||
			 mc_frame_pool_height(s->slate) != s->info.height || mc_frame_pool_format(s->slate) != fmt)) {
		mc_frame_pool_destroy(s->slate);
		s->slate = NULL;
	}
	if (!s->slate && !(s->slate = mc_frame_pool_create(s->info.width, s->info.height, fmt)))
		return;
	AVFrame *f = mc_frame_pool_get(s->slate);
	if (!f)
		return;
	/* how long, so that a viewer sees the picture is live (and the track does not skip it as unchanged) */
	int64_t since = (int64_t)mc_count_get(&s->stats.no_signal_since_us);
	int secs = (int)((now - since) / 1000000);
	char elapsed[32];
	snprintf(elapsed, sizeof(elapsed), "%d:%02d", secs / 60, secs % 60);
	const char *lines[] = { s->cfg->name, "no signal", elapsed };
	mc_placeholder_draw(f, lines, 3);
	f->pts = now;
	mc_count_inc(&s->stats.placeholder_frames);
	deliver(s, f);
}

static void sleep_until(struct mc_source *s, int64_t deadline)
{
	for (int64_t now = mc_now_us(); now < deadline && !stopping(s); now = mc_now_us()) {
		int64_t d = deadline - now > 100000 ? 100000 : deadline - now; /* see a stop within 100 ms */
		struct timespec ts = { 0, (long)d * 1000 };
		nanosleep(&ts, NULL);
	}
}

/* Without signal until the backend opens again (true) or the source stops (false). */
static bool wait_for_signal(struct mc_source *s)
{
	int64_t next_frame = mc_now_us(), backoff = REOPEN_FIRST_US, next_open = next_frame + backoff;
	int last_rc = -(int)mc_count_get(&s->stats.last_error);
	char last_why[sizeof(s->stats.backend.why)];
	snprintf(last_why, sizeof(last_why), "%s", s->stats.backend.why);
	while (!stopping(s)) {
		int64_t now = mc_now_us();
		if (now >= next_frame) {
			send_placeholder(s, now);
			next_frame = now - next_frame > PLACEHOLDER_PERIOD_US ? now + PLACEHOLDER_PERIOD_US
									      : next_frame + PLACEHOLDER_PERIOD_US;
		}
		if (now >= next_open) {
			int rc = backend_open(s);
			if (rc == 0)
				return true;
			const char *why = s->stats.backend.why;
			if (rc != last_rc || strcmp(why, last_why)) /* once per change of the reason, not every try */
				mc_warn(MOD, "%s: still no signal: %s%s%s", s->cfg->name, strerror(-rc), *why ? ": " : "", why);
			last_rc = rc;
			snprintf(last_why, sizeof(last_why), "%s", why);
			mc_count_set(&s->stats.last_error, (uint64_t)-rc);
			backoff = backoff * 2 > REOPEN_MAX_US ? REOPEN_MAX_US : backoff * 2;
			next_open = mc_now_us() + backoff;
		}
		sleep_until(s, next_frame < next_open ? next_frame : next_open);
	}
	return false;
}

static void *source_thread(void *arg)
{
	struct mc_source *s = arg;
	char tname[16];
	snprintf(tname, sizeof(tname), "src.%.11s", s->cfg->name);
	pthread_setname_np(pthread_self(), tname);
	mc_thread_cpu_begin(&s->cpu);

	bool restoring = false; /* reopened after a loss: the first frame ends the outage */
	while (!stopping(s)) {
		if (!s->open) {
			if (!wait_for_signal(s))
				break;
			restoring = true;
		}
		AVFrame *frame = NULL;
		int64_t t0 = mc_now_us();
		int rc = s->ops->read_frame(s->priv, &frame, &s->stop);
		int64_t t1 = mc_now_us();
		if (rc == MC_SOURCE_EOF) {
			mc_info(MOD, "%s: end of stream after %llu frames", s->cfg->name,
				(unsigned long long)mc_count_get(&s->stats.frames));
			break;
		}
		if (rc < 0) {
			if (rc == -EINTR || stopping(s))
				break;
			if (s->ops->reconnects) {
				backend_close(s);
				lose_signal(s, rc, false);
				continue;
			}
			mc_err(MOD, "%s: %s; the source stops", s->cfg->name, strerror(-rc));
			__atomic_store_n(&s->failed, true, __ATOMIC_RELAXED);
			break;
		}
		if (restoring) {
			int64_t since = (int64_t)mc_count_get(&s->stats.no_signal_since_us);
			mc_count_set(&s->stats.last_restore_us, (uint64_t)(t1 - since));
			mc_count_set(&s->stats.state, MC_SOURCE_LIVE);
			mc_count_set(&s->stats.no_signal_since_us, 0);
			mc_info(MOD, "%s: signal back: %dx%d, first frame %.3f s after the loss", s->cfg->name, s->info.width,
				s->info.height, (double)(t1 - since) / 1e6);
			restoring = false;
		}
		mc_hist_add(&s->stats.capture_wait, t1 - t0);
		mc_count_inc(&s->stats.frames);
		deliver(s, frame);
	}
	mc_count_set(&s->stats.state, MC_SOURCE_ENDED);
	__atomic_store_n(&s->ended, true, __ATOMIC_RELEASE);
	pthread_mutex_lock(&s->sinks_lock);
	for (int i = 0; i < s->n_sinks; i++)
		mc_mailbox_close(s->sinks[i]);
	pthread_mutex_unlock(&s->sinks_lock);
	if (s->ended_fd >= 0) {
		uint64_t one = 1;
		ssize_t w = write(s->ended_fd, &one, sizeof(one));
		(void)w;
	}
	mc_thread_cpu_end(&s->cpu);
	return NULL;
}

int mc_source_start(struct mc_source *s)
{
	int rc = pthread_create(&s->thread, NULL, source_thread, s);
	if (rc)
		return -rc;
	s->thread_started = true;
	return 0;
}

void mc_source_stop(struct mc_source *s)
{
	if (!s || !s->thread_started)
		return;
	__atomic_store_n(&s->stop, true, __ATOMIC_RELEASE);
	/* a lossless put() may be waiting for a consumer that is gone (it holds sinks_lock; the sinks change
	 * only on this, the daemon's, thread) */
	for (int i = 0; i < s->n_sinks; i++)
		mc_mailbox_close(s->sinks[i]);
	pthread_join(s->thread, NULL);
	s->thread_started = false;
}

void mc_source_destroy(struct mc_source *s)
{
	if (!s)
		return;
	mc_source_stop(s);
	if (s->priv && s->ops)
		backend_close(s);
	free(s->priv);
	mc_frame_pool_destroy(s->slate);
	free(s->cfg_own.opts);
	pthread_mutex_destroy(&s->sinks_lock);
	free(s);
}
