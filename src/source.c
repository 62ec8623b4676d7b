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
	mc_producer_init(&s->out, cfg->name, "source");
	s->priv = calloc(1, ops->priv_size ? ops->priv_size : 1);
	if (!s->priv) {
		free(s);
		return -ENOMEM;
	}
	int rc = ops->open(s->priv, cfg, &s->out.info);
	if (rc) {
		mc_source_destroy(s);
		return rc;
	}
	s->out.lossless = ops->lossless && ops->lossless(s->priv);
	*out = s;
	return 0;
}

static void *source_thread(void *arg)
{
	struct mc_source *s = arg;
	char tname[16];
	snprintf(tname, sizeof(tname), "src.%.11s", s->cfg->name);
	pthread_setname_np(pthread_self(), tname);
	mc_thread_cpu_begin(&s->cpu);
	bool failed = false;
	while (!__atomic_load_n(&s->stop, __ATOMIC_ACQUIRE)) {
		AVFrame *frame = NULL;
		int64_t t0 = mc_now_us();
		int rc = s->ops->read_frame(s->priv, &frame, &s->stop);
		int64_t t1 = mc_now_us();
		if (rc == MC_SOURCE_EOF) {
			mc_info("source", "%s: end of stream after %llu frames", s->cfg->name,
				(unsigned long long)s->stats.frames);
			break;
		}
		if (rc < 0) {
			if (rc == -EINTR || __atomic_load_n(&s->stop, __ATOMIC_ACQUIRE))
				break;
			mc_err("source", "%s: %s; the source stops", s->cfg->name, strerror(-rc));
			failed = true;
			break;
		}
		mc_hist_add(&s->stats.capture_wait, t1 - t0);
		s->stats.frames++;
		mc_producer_deliver(&s->out, frame);
	}
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
	/* a lossless put() may be waiting for a consumer that is gone */
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
		s->ops->close(s->priv);
	free(s->priv);
	free(s);
}
