#include "source.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "registry.h"

int mc_source_create(struct mc_source **out, const struct mc_source_config *cfg)
{
	*out = NULL;
	const struct mc_source_ops *ops = mc_registry_find_source(cfg->type);
	if (!ops)
		return -ENOTSUP;
	struct mc_source *s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->cfg = cfg;
	s->ops = ops;
	s->ended_fd = -1;
	s->priv = calloc(1, ops->priv_size ? ops->priv_size : 1);
	if (!s->priv) {
		free(s);
		return -ENOMEM;
	}
	int rc = ops->open(s->priv, cfg, &s->info);
	if (rc) {
		mc_source_destroy(s);
		return rc;
	}
	*out = s;
	return 0;
}

int mc_source_add_sink(struct mc_source *s, struct mc_mailbox *mb)
{
	if (s->n_sinks == MC_SOURCE_MAX_SINKS)
		return -ENOSPC;
	s->sinks[s->n_sinks++] = mb;
	return 0;
}

bool mc_source_lossless(struct mc_source *s) { return s->ops->lossless && s->ops->lossless(s->priv); }

static void *source_thread(void *arg)
{
	struct mc_source *s = arg;
	char tname[16];
	snprintf(tname, sizeof(tname), "src.%.11s", s->cfg->name);
	pthread_setname_np(pthread_self(), tname);
	mc_thread_cpu_begin(&s->cpu);

	while (!__atomic_load_n(&s->stop, __ATOMIC_ACQUIRE)) {
		AVFrame *frame = NULL;
		int64_t t0 = mc_now_us();
		int rc = s->ops->read_frame(s->priv, &frame, &s->stop);
		int64_t t1 = mc_now_us();
		if (rc == MC_SOURCE_EOF) {
			mc_info("source", "%s: end of stream after %llu frames", s->cfg->name,
				(unsigned long long)mc_count_get(&s->stats.frames));
			break;
		}
		if (rc < 0) {
			if (rc == -EINTR || __atomic_load_n(&s->stop, __ATOMIC_ACQUIRE))
				break;
			mc_err("source", "%s: %s; the source stops", s->cfg->name, strerror(-rc));
			__atomic_store_n(&s->failed, true, __ATOMIC_RELAXED);
			break;
		}
		mc_hist_add(&s->stats.capture_wait, t1 - t0);
		mc_count_inc(&s->stats.frames);
		/* One reference per sink: the frame is shared, never copied. */
		for (int i = 0; i < s->n_sinks; i++) {
			AVFrame *ref = i + 1 < s->n_sinks ? av_frame_clone(frame) : frame;
			if (ref)
				mc_mailbox_put(s->sinks[i], ref);
		}
		if (s->n_sinks == 0)
			av_frame_free(&frame);
	}
	__atomic_store_n(&s->ended, true, __ATOMIC_RELEASE);
	for (int i = 0; i < s->n_sinks; i++)
		mc_mailbox_close(s->sinks[i]);
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
	/* a lossless put() may be waiting for a consumer that is gone */
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
		s->ops->close(s->priv);
	free(s->priv);
	free(s);
}
