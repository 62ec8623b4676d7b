#include "health.h"

#include <string.h>

#include "daemon.h"
#include "output_cc.h"

int64_t mc_health_deadline_us(const struct mc_track *t, const struct mc_layer *l)
{
	int fps = __atomic_load_n(&l->fps, __ATOMIC_RELAXED); /* a reload may change it */
	int64_t interval = 1000000 / (fps > 0 ? fps : 1);
	int64_t d = 5 * interval > 1000000 ? 5 * interval : 1000000;
	return t->cfg->skip_unchanged ? d + __atomic_load_n(&t->keyframe_interval_us, __ATOMIC_RELAXED) : d;
}

/* Time since `last_us` (0: never; then since start-up, which gives the pipeline its first deadline). */
static int64_t since(uint64_t last_us, int64_t start_us, int64_t now_us)
{
	return now_us - (last_us ? (int64_t)last_us : start_us);
}

static uint64_t later(uint64_t a, uint64_t b) { return a > b ? a : b; }

static bool check_sources(const struct mc_daemon *d, struct mc_strbuf *why)
{
	bool ok = true;
	for (int i = 0; i < d->n_sources; i++) {
		const struct mc_source *s = d->sources[i];
		if (!mc_producer_ended(&s->out))
			continue;
		mc_strbuf_printf(why, "source %s: %s\n", s->cfg->name,
				 __atomic_load_n(&s->out.failed, __ATOMIC_RELAXED) ? "failed" : "ended");
		ok = false;
	}
	/* a mix ends when every input has; its thread is gone and its tracks get no more pictures */
	for (int i = 0; i < d->n_mixes; i++) {
		const struct mc_mixer *m = d->mixes[i];
		if (!mc_producer_ended(&m->out))
			continue;
		mc_strbuf_printf(why, "mix %s: ended (every input has ended)\n", m->cfg->name);
		ok = false;
	}
	return ok;
}

static bool check_tracks(const struct mc_daemon *d, int64_t now_us, struct mc_strbuf *why)
{
	bool ok = true;
	for (int i = 0; i < d->n_tracks; i++) {
		const struct mc_track *t = d->tracks[i];
		for (int k = 0; k < t->n_layers; k++) {
			const struct mc_layer *l = &t->layers[k];
			/* congestion control pausing a layer is no failure; its deadline counts from the resume */
			if (mc_count_get(&l->paused_now))
				continue;
			/* a layer a reload added counts from its creation, not the daemon's start */
			uint64_t last = later(later(mc_count_get(&l->stats.last_encoded_us), mc_count_get(&l->resumed_us)),
					      (uint64_t)l->created_us);
			int64_t idle = since(last, d->start_us, now_us);
			int64_t deadline = mc_health_deadline_us(t, l);
			if (idle <= deadline)
				continue;
			mc_strbuf_printf(why, "track %s layer %d: no frame encoded for %.1f s (deadline %.1f s; %llu encode errors)\n",
					 t->cfg->name, k, (double)idle / 1e6, (double)deadline / 1e6,
					 (unsigned long long)mc_count_get(&l->stats.encode_errors));
			ok = false;
		}
	}
	return ok;
}

static bool check_outputs(const struct mc_daemon *d, int64_t now_us, struct mc_strbuf *why)
{
	const struct mc_netloop *nl = &d->net;
	if (!__atomic_load_n(&nl->started, __ATOMIC_ACQUIRE) || __atomic_load_n(&nl->exited, __ATOMIC_ACQUIRE)) {
		mc_strbuf_printf(why, "network thread: not running\n");
		return false;
	}
	int64_t idle = since(mc_count_get(&nl->heartbeat_us), d->start_us, now_us);
	if (idle > MC_HEALTH_NET_DEADLINE_US) {
		mc_strbuf_printf(why, "network thread: stuck for %.1f s\n", (double)idle / 1e6);
		return false;
	}
	bool ok = true;
	for (int i = 0; i < d->n_outputs; i++) {
		const struct mc_output *o = d->outputs[i];
		const struct mc_track *t = NULL;
		for (int k = 0; k < d->n_tracks; k++)
			if (strcmp(d->tracks[k]->cfg->name, d->output_track[i]) == 0)
				t = d->tracks[k];
		for (int l = 0; t && l < o->n_layers && l < t->n_layers; l++) {
			const struct mc_output_layer_stats *st = &o->layer_stats[l];
			uint64_t last = mc_count_get(&st->last_sent_us);
			if (o->cc) { /* paused by this output's congestion control: as for the track's layers */
				if (mc_count_get(&o->cc->layer_paused[l]))
					continue;
				last = later(last, mc_count_get(&o->cc->layer_resumed_us[l]));
			}
			last = later(last, (uint64_t)o->layer_created_us[l]); /* an output or layer a reload added */
			idle = since(last, d->start_us, now_us);
			int64_t deadline = mc_health_deadline_us(t, &t->layers[l]);
			if (idle <= deadline)
				continue;
			mc_strbuf_printf(why, "output %s layer %d: no packet sent for %.1f s (deadline %.1f s; %llu send errors)\n",
					 o->cfg->name, l, (double)idle / 1e6, (double)deadline / 1e6,
					 (unsigned long long)mc_count_get(&o->send_errors));
			ok = false;
		}
	}
	return ok;
}

bool mc_health_check(const struct mc_daemon *d, int64_t now_us, struct mc_strbuf *why)
{
	bool ok = check_sources(d, why);
	ok &= check_tracks(d, now_us, why);
	ok &= check_outputs(d, now_us, why);
	return ok;
}

int mc_health_degraded(const struct mc_daemon *d, int64_t now_us, struct mc_strbuf *notes)
{
	int n = 0;
	for (int i = 0; i < d->n_sources; i++) {
		const struct mc_source_stats *st = &d->sources[i]->stats;
		if (mc_count_get(&st->state) != MC_SOURCE_NO_SIGNAL)
			continue;
		uint64_t since_us = mc_count_get(&st->no_signal_since_us);
		int err = (int)mc_count_get(&st->last_error);
		mc_strbuf_printf(notes, "source %s: no signal for %.1f s (%s), sending the placeholder\n",
				 d->sources[i]->cfg->name, since_us ? (double)(now_us - (int64_t)since_us) / 1e6 : 0.0,
				 err ? strerror(err) : "no error");
		n++;
	}
	return n;
}
