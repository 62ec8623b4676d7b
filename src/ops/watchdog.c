#include "watchdog.h"

#include "daemon.h"

/* How long the frame in `mb` has waited for its consumer (0: none waiting). */
static int64_t waited(const struct mc_mailbox *mb, int64_t now_us)
{
	uint64_t since = mc_count_get(&mb->waiting_since_us);
	return since ? now_us - (int64_t)since : 0;
}

static bool check_tracks(const struct mc_daemon *d, int64_t now_us, int64_t limit_us, struct mc_strbuf *why)
{
	bool ok = true;
	for (int i = 0; i < d->n_tracks; i++) {
		const struct mc_track *t = d->tracks[i];
		int64_t w = waited(&t->input, now_us);
		if (w > limit_us) {
			mc_strbuf_printf(why, "track %s: a frame has waited %.1f s for its thread\n", t->cfg->name,
					 (double)w / 1e6);
			ok = false;
		}
		for (int k = 0; k < t->n_layers; k++) {
			w = waited(&t->layers[k].mailbox, now_us);
			if (w <= limit_us)
				continue;
			mc_strbuf_printf(why, "track %s layer %d: a frame has waited %.1f s for its encoder thread\n",
					 t->cfg->name, k, (double)w / 1e6);
			ok = false;
		}
	}
	return ok;
}

static bool check_sources(struct mc_watchdog *w, const struct mc_daemon *d, struct mc_strbuf *why)
{
	bool ok = true;
	for (int i = 0; i < d->n_sources; i++) {
		const struct mc_source *s = d->sources[i];
		/* a source without signal delivers placeholders (2 fps) while it reopens: its thread progresses,
		 * and a restart would not bring the camera back */
		uint64_t frames = mc_count_get(&s->stats.frames) + mc_count_get(&s->stats.placeholder_frames);
		/* an ended source's thread is gone by design: the daemon finishes or /healthz reports it */
		if (w->checked && frames == w->source_frames[i] && !mc_producer_ended(&s->out)) {
			mc_strbuf_printf(why, "source %s: no frame since the previous check\n", s->cfg->name);
			ok = false;
		}
		w->source_frames[i] = frames;
	}
	return ok;
}

/* A mixer ticks at its own rate and sends a picture every tick (the last one again when no input changed),
 * so its count moves between two checks unless it has ended; and it polls each input's mailbox every tick. */
static bool check_mixes(struct mc_watchdog *w, const struct mc_daemon *d, int64_t now_us, int64_t limit_us,
			struct mc_strbuf *why)
{
	bool ok = true;
	for (int i = 0; i < d->n_mixes; i++) {
		const struct mc_mixer *m = d->mixes[i];
		uint64_t frames = mc_count_get(&m->frames);
		if (w->checked && frames == w->mix_frames[i] && !mc_producer_ended(&m->out)) {
			mc_strbuf_printf(why, "mix %s: no picture since the previous check\n", m->cfg->name);
			ok = false;
		}
		w->mix_frames[i] = frames;
		for (int k = 0; k < m->n_inputs; k++) {
			int64_t wt = waited(&m->inputs[k].mailbox, now_us);
			if (wt <= limit_us)
				continue;
			mc_strbuf_printf(why, "mix %s input %s: a frame has waited %.1f s for the mixer thread\n", m->cfg->name,
					 m->inputs[k].from->name, (double)wt / 1e6);
			ok = false;
		}
	}
	return ok;
}

static bool check_net(const struct mc_daemon *d, int64_t now_us, int64_t limit_us, struct mc_strbuf *why)
{
	const struct mc_netloop *nl = &d->net;
	if (!__atomic_load_n(&nl->started, __ATOMIC_ACQUIRE) || __atomic_load_n(&nl->exited, __ATOMIC_ACQUIRE)) {
		mc_strbuf_printf(why, "network thread: not running\n");
		return false;
	}
	uint64_t beat = mc_count_get(&nl->heartbeat_us);
	int64_t idle = now_us - (beat ? (int64_t)beat : d->start_us);
	if (idle > limit_us) {
		mc_strbuf_printf(why, "network thread: no turn of its loop for %.1f s\n", (double)idle / 1e6);
		return false;
	}
	return true;
}

bool mc_watchdog_check(struct mc_watchdog *w, const struct mc_daemon *d, int64_t now_us, int64_t limit_us,
		       struct mc_strbuf *why)
{
	bool ok = check_tracks(d, now_us, limit_us, why);
	ok &= check_sources(w, d, why);
	ok &= check_mixes(w, d, now_us, limit_us, why);
	ok &= check_net(d, now_us, limit_us, why);
	w->checked = true;
	return ok;
}
