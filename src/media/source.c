#include "source.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
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

/* s->out.info for the other threads (stats): set where the source's thread changes it */
static void publish_info(struct mc_source *s)
{
	mc_count_set(&s->stats.width, (uint64_t)s->out.info.width);
	mc_count_set(&s->stats.height, (uint64_t)s->out.info.height);
	mc_count_set(&s->stats.fps_num, (uint64_t)s->out.info.fps_num);
	mc_count_set(&s->stats.fps_den, (uint64_t)s->out.info.fps_den);
	__atomic_store_n(&s->stats.path, s->out.info.path, __ATOMIC_RELEASE);
}

static int backend_open(struct mc_source *s)
{
	memset(s->priv, 0, s->ops->priv_size ? s->ops->priv_size : 1);
	s->stats.backend.why[0] = '\0';
	int rc = s->ops->open(s->priv, s->cfg, &s->out.info, &s->stats.backend);
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
	__atomic_store_n(&s->out.no_signal, true, __ATOMIC_RELEASE);
	mc_count_inc(&s->stats.signal_losses);
	mc_count_set(&s->stats.last_error, (uint64_t)-rc);
	mc_count_set(&s->stats.no_signal_since_us, (uint64_t)mc_now_us());
	const char *why = s->stats.backend.why;
	mc_warn(MOD, "%s: no signal (%s%s)%s%s: sending the placeholder and reopening", s->cfg->name,
		at_start ? "at start: " : "", strerror(-rc), *why ? ": " : "", why);
	if (s->out.info.width < 16 || s->out.info.height < 16) { /* the placeholder's size: the configuration's */
		s->out.info.width = s->cfg->width;
		s->out.info.height = s->cfg->height;
	}
	if (s->out.info.fps_num <= 0 || s->out.info.fps_den <= 0)
		s->out.info.fps_num = s->cfg->fps, s->out.info.fps_den = 1;
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
	s->ops = ops;
	if (ops->options_size && cfg->opts && !(s->cfg_own.opts = malloc(ops->options_size))) {
		free(s);
		return -ENOMEM;
	}
	if (s->cfg_own.opts)
		memcpy(s->cfg_own.opts, cfg->opts, ops->options_size);
	cfg = s->cfg;
	mc_producer_init(&s->out, s->cfg->name, "source");
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
		s->out.info = (struct mc_source_info){ cfg->width, cfg->height, cfg->fps, 1, "none", AV_PIX_FMT_NONE };
		lose_signal(s, rc, true);
		rc = 0;
	}
	if (rc) {
		mc_source_destroy(s);
		return rc;
	}
	s->out.lossless = s->open && ops->lossless && ops->lossless(s->priv);
	*out = s;
	return 0;
}

static bool stopping(struct mc_source *s) { return __atomic_load_n(&s->stop, __ATOMIC_ACQUIRE); }

/* One reference per sink: the frame is shared, never copied. Capture times strictly increase across a
 * loss and a reopen too (placeholder pictures stamped with the time they are made, a device's own clock
 * after it): the tracks' frame clocks and the RTP timestamps of every layer depend on it. */
static void deliver(struct mc_source *s, AVFrame *frame)
{
	if (frame->pts <= s->last_pts)
		frame->pts = s->last_pts + 1;
	s->last_pts = frame->pts;
	mc_producer_deliver(&s->out, frame);
}

static void send_placeholder(struct mc_source *s, int64_t now)
{
	/* the size and format of the source's last pictures: the tracks' scalers and encoders stay as they are
	 * (an NV12 camera's top layer encodes NV12: an I420 slate would cost a conversion per frame) */
	enum AVPixelFormat fmt = s->out.info.format == AV_PIX_FMT_NV12 ? AV_PIX_FMT_NV12 : AV_PIX_FMT_YUV420P;
	if (s->slate && (mc_frame_pool_width(s->slate) != s->out.info.width ||
			 mc_frame_pool_height(s->slate) != s->out.info.height || mc_frame_pool_format(s->slate) != fmt)) {
		mc_frame_pool_destroy(s->slate);
		s->slate = NULL;
	}
	if (!s->slate && !(s->slate = mc_frame_pool_create(s->out.info.width, s->out.info.height, fmt)))
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

/* The folder of the backend's device (watch_path): a camera plugged in again shows up there as a new node
 * or link, and its permissions may follow a moment later (udev). The backoff's polling finds it too, up to
 * REOPEN_MAX_US later; on a replug those are a quarter of the 2 s the picture may take to come back. */
struct watch {
	int fd; /* inotify, -1: none (polling only) */
	char name[NAME_MAX + 1];
};

static void watch_start(struct mc_source *s, struct watch *w)
{
	w->fd = -1;
	char path[PATH_MAX];
	if (!s->ops->watch_path || s->ops->watch_path(s->cfg, path, sizeof(path)))
		return;
	char *slash = strrchr(path, '/');
	if (!slash || !slash[1] || strlen(slash + 1) > NAME_MAX)
		return;
	snprintf(w->name, sizeof(w->name), "%s", slash + 1);
	if (slash == path)
		slash[1] = '\0'; /* "/name": the root folder */
	else
		*slash = '\0';
	w->fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	/* a folder that is not there (yet) or an inotify limit: the backoff polls, as without a watch */
	if (w->fd >= 0 && inotify_add_watch(w->fd, path, IN_CREATE | IN_MOVED_TO | IN_ATTRIB) < 0) {
		mc_debug(MOD, "%s: no inotify watch on %s (%s): reopening on the backoff only", s->cfg->name, path,
			 strerror(errno));
		close(w->fd);
		w->fd = -1;
	}
}

static void watch_stop(struct watch *w)
{
	if (w->fd >= 0)
		close(w->fd);
	w->fd = -1;
}

/* Whether the device's name came up in the events waiting on the watch (drains them). */
static bool watch_hit(struct watch *w)
{
	bool hit = false;
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	ssize_t n;
	while ((n = read(w->fd, buf, sizeof(buf))) > 0)
		for (char *p = buf; p < buf + n;) {
			const struct inotify_event *e = (const struct inotify_event *)p;
			hit |= e->len && strcmp(e->name, w->name) == 0;
			p += sizeof(*e) + e->len;
		}
	return hit;
}

/* Sleeps until `deadline` or a stop (seen within 100 ms); true, early, when the watched device appeared. */
static bool sleep_until(struct mc_source *s, int64_t deadline, struct watch *w)
{
	for (int64_t now = mc_now_us(); now < deadline && !stopping(s); now = mc_now_us()) {
		int64_t d = deadline - now > 100000 ? 100000 : deadline - now;
		if (w->fd < 0) {
			struct timespec ts = { 0, (long)d * 1000 };
			nanosleep(&ts, NULL);
			continue;
		}
		struct pollfd p = { .fd = w->fd, .events = POLLIN };
		if (poll(&p, 1, (int)((d + 999) / 1000)) > 0 && watch_hit(w))
			return true;
	}
	return false;
}

/* Without signal until the backend opens again (true) or the source stops (false). */
static bool wait_for_signal(struct mc_source *s)
{
	int64_t next_frame = mc_now_us(), backoff = REOPEN_FIRST_US, next_open = next_frame + backoff;
	int last_rc = -(int)mc_count_get(&s->stats.last_error);
	char last_why[sizeof(s->stats.backend.why)];
	snprintf(last_why, sizeof(last_why), "%s", s->stats.backend.why);
	struct watch w;
	watch_start(s, &w);
	bool back = false;
	while (!stopping(s) && !back) {
		int64_t now = mc_now_us();
		if (now >= next_frame) {
			send_placeholder(s, now);
			next_frame = now - next_frame > PLACEHOLDER_PERIOD_US ? now + PLACEHOLDER_PERIOD_US
									      : next_frame + PLACEHOLDER_PERIOD_US;
		}
		if (now >= next_open) {
			int rc = backend_open(s);
			if (rc == 0) {
				back = true;
				break;
			}
			const char *why = s->stats.backend.why;
			if (rc != last_rc || strcmp(why, last_why)) /* once per change of the reason, not every try */
				mc_warn(MOD, "%s: still no signal: %s%s%s", s->cfg->name, strerror(-rc), *why ? ": " : "", why);
			last_rc = rc;
			snprintf(last_why, sizeof(last_why), "%s", why);
			mc_count_set(&s->stats.last_error, (uint64_t)-rc);
			backoff = backoff * 2 > REOPEN_MAX_US ? REOPEN_MAX_US : backoff * 2;
			next_open = mc_now_us() + backoff;
		}
		if (sleep_until(s, next_frame < next_open ? next_frame : next_open, &w)) {
			mc_debug(MOD, "%s: %s appeared: reopening now", s->cfg->name, w.name);
			next_open = mc_now_us();
		}
	}
	watch_stop(&w);
	return back;
}

static void *source_thread(void *arg)
{
	struct mc_source *s = arg;
	char tname[16];
	snprintf(tname, sizeof(tname), "src.%.11s", s->cfg->name);
	pthread_setname_np(pthread_self(), tname);
	mc_thread_cpu_begin(&s->cpu);
	bool failed = false;
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
			failed = true;
			break;
		}
		if (restoring) {
			int64_t since = (int64_t)mc_count_get(&s->stats.no_signal_since_us);
			mc_count_set(&s->stats.last_restore_us, (uint64_t)(t1 - since));
			mc_count_set(&s->stats.state, MC_SOURCE_LIVE);
			__atomic_store_n(&s->out.no_signal, false, __ATOMIC_RELEASE);
			mc_count_set(&s->stats.no_signal_since_us, 0);
			mc_info(MOD, "%s: signal back: %dx%d, first frame %.3f s after the loss", s->cfg->name, s->out.info.width,
				s->out.info.height, (double)(t1 - since) / 1e6);
			restoring = false;
		}
		mc_hist_add(&s->stats.capture_wait, t1 - t0);
		mc_count_inc(&s->stats.frames);
		deliver(s, frame);
	}
	mc_count_set(&s->stats.state, MC_SOURCE_ENDED);
	mc_producer_end(&s->out, failed);
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
	/* a lossless put() may be waiting for a consumer that is gone (it holds the producer's sink lock; the
	 * sinks change only on this, the daemon's, thread) */
	mc_producer_close_sinks(&s->out);
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
	mc_producer_finish(&s->out);
	free(s->cfg_own.opts);
	free(s);
}
