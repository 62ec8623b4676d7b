#include "daemon.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "http.h"
#include "log.h"
#include "notify.h"
#include "stats.h"

#define MOD "daemon"

/* The source or mix called `name`, once built; NULL before. */
static struct mc_producer *find_producer(struct mc_daemon *d, const char *name)
{
	for (int k = 0; k < d->n_sources; k++)
		if (strcmp(d->sources[k]->cfg->name, name) == 0)
			return &d->sources[k]->out;
	for (int k = 0; k < d->n_mixes; k++)
		if (strcmp(d->mixes[k]->cfg->name, name) == 0)
			return &d->mixes[k]->out;
	return NULL;
}

/* Mixes in dependency order: each pass builds those whose inputs all exist (the config has no cycles). */
static int build_mixes(struct mc_daemon *d)
{
	const struct mc_config *cfg = d->cfg;
	bool built[MC_MAX_MIXES] = { false };
	for (int pass = 0; pass < cfg->n_mixes; pass++) {
		for (int i = 0; i < cfg->n_mixes; i++) {
			const struct mc_mix_config *mc = &cfg->mixes[i];
			if (built[i] || !mc_config_input_used(cfg, mc->name))
				continue;
			struct mc_producer *in[MC_MIX_MAX_INPUTS];
			bool ready = true;
			for (int k = 0; k < mc->n_inputs; k++)
				ready &= (in[k] = find_producer(d, mc->inputs[k])) != NULL;
			if (!ready)
				continue;
			int rc = mc_mixer_create(&d->mixes[d->n_mixes], mc, in);
			if (rc) {
				mc_err(MOD, "mix %s: cannot set up: %s", mc->name, strerror(-rc));
				return rc;
			}
			d->n_mixes++;
			built[i] = true;
		}
	}
	for (int i = 0; i < cfg->n_mixes; i++)
		if (!built[i])
			mc_warn(MOD, "mix %s: no track uses it; not started", cfg->mixes[i].name);
	return 0;
}

static int build(struct mc_daemon *d)
{
	const struct mc_config *cfg = d->cfg;
	int rc;
	/* Sources that some track uses, directly or through a mix; a source nobody uses is not opened. */
	for (int i = 0; i < cfg->n_sources; i++) {
		const struct mc_source_config *sc = &cfg->sources[i];
		if (!mc_config_input_used(cfg, sc->name)) {
			mc_warn(MOD, "source %s: no track uses it; not opened", sc->name);
			continue;
		}
		struct mc_source *s;
		if ((rc = mc_source_create(&s, sc))) {
			mc_err(MOD, "source %s: cannot open: %s", sc->name, strerror(-rc));
			return rc;
		}
		s->out.ended_fd = d->ended_fd;
		d->sources[d->n_sources++] = s;
	}
	if ((rc = build_mixes(d)))
		return rc;
	for (int i = 0; i < cfg->n_tracks; i++) {
		const struct mc_track_config *tc = &cfg->tracks[i];
		if ((rc = mc_track_create(&d->tracks[d->n_tracks], tc, find_producer(d, tc->input)))) {
			mc_err(MOD, "track %s: cannot set up: %s", tc->name, strerror(-rc));
			return rc;
		}
		d->n_tracks++;
	}
	for (int i = 0; i < cfg->n_outputs; i++) {
		const struct mc_output_config *oc = &cfg->outputs[i];
		struct mc_track *t = NULL;
		for (int k = 0; k < d->n_tracks; k++)
			if (strcmp(d->tracks[k]->cfg->name, oc->track) == 0)
				t = d->tracks[k];
		struct mc_output *o;
		if ((rc = mc_output_create(&o, oc, t->n_layers, t->cfg->codec, d->net.wake_fd))) {
			mc_err(MOD, "output %s: cannot set up: %s", oc->name, strerror(-rc));
			return rc;
		}
		for (int l = 0; l < t->n_layers; l++)
			o->layers[l] = &t->layers[l]; /* PLI/FIR → the layer's encoder */
		d->outputs[d->n_outputs] = o;
		d->output_track[d->n_outputs++] = t->cfg->name;
		if ((rc = mc_netloop_add_output(&d->net, o)) || (rc = mc_track_add_output(t, o)))
			return rc;
		struct mc_layer_ctl *ctl[MC_MAX_LAYERS];
		for (int l = 0; l < t->n_layers; l++)
			ctl[l] = &t->layers[l].ctl;
		if ((rc = mc_output_attach_layers(o, t->cfg->layers, ctl, t->n_outputs - 1)))
			return rc;
	}
	for (int i = 0; i < d->n_tracks; i++)
		if (d->tracks[i]->n_outputs == 0)
			mc_warn(MOD, "track %s: no output sends it; it is encoded for the stats only", d->tracks[i]->cfg->name);
	return 0;
}

static int start(struct mc_daemon *d)
{
	int rc;
	if ((rc = mc_netloop_start(&d->net)))
		return rc;
	for (int i = 0; i < d->n_tracks; i++)
		if ((rc = mc_track_start(d->tracks[i])))
			return rc;
	for (int i = 0; i < d->n_mixes; i++)
		if ((rc = mc_mixer_start(d->mixes[i])))
			return rc;
	for (int i = 0; i < d->n_sources; i++)
		if ((rc = mc_source_start(d->sources[i])))
			return rc;
	if (d->cfg->daemon.stats_port && (rc = mc_http_start(&d->http, &d->cfg->daemon, d)))
		return rc;
	return 0;
}

/* Waits for SIGINT/SIGTERM or for every source to end. Returns the exit status. */
static int wait_for_end(struct mc_daemon *d, int sfd, struct mc_notify *n)
{
	struct pollfd fds[2] = { { .fd = sfd, .events = POLLIN }, { .fd = d->ended_fd, .events = POLLIN } };
	for (;;) {
		mc_notify_tick(n, d, mc_now_us());
		int rc = poll(fds, 2, mc_notify_timeout_ms(n, mc_now_us()));
		if (rc == 0)
			continue;
		if (rc < 0) {
			if (errno == EINTR)
				continue;
			mc_err(MOD, "poll: %s", strerror(errno));
			return 2;
		}
		if (fds[0].revents & POLLIN) {
			struct signalfd_siginfo si;
			if (read(sfd, &si, sizeof(si)) == sizeof(si)) {
				if (si.ssi_signo == SIGHUP) {
					mc_info(MOD, "SIGHUP: this version applies configuration changes at restart only");
					continue;
				}
				mc_info(MOD, "%s: stopping", strsignal((int)si.ssi_signo));
				mc_notify_stopping(n, strsignal((int)si.ssi_signo));
				return 0;
			}
		}
		if (fds[1].revents & POLLIN) {
			uint64_t v;
			if (read(d->ended_fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
				continue;
			int ended = 0, failed = 0;
			for (int i = 0; i < d->n_sources; i++) {
				ended += mc_producer_ended(&d->sources[i]->out);
				failed += __atomic_load_n(&d->sources[i]->out.failed, __ATOMIC_RELAXED);
			}
			if (ended == d->n_sources) {
				mc_info(MOD, "every source has ended: finishing");
				mc_notify_stopping(n, "every source has ended");
				return failed ? 2 : 0;
			}
		}
	}
}

static void shutdown_all(struct mc_daemon *d)
{
	/* In data-flow order, so that what was captured is encoded and sent: sources stop and close their
	 * mailboxes, mixes stop (upstream first), tracks drain and flush their encoders, the network loop sends
	 * the rest and BYE. */
	for (int i = 0; i < d->n_sources; i++)
		mc_source_stop(d->sources[i]);
	for (int i = 0; i < d->n_mixes; i++)
		mc_mixer_stop(d->mixes[i]);
	for (int i = 0; i < d->n_tracks; i++)
		mc_track_join(d->tracks[i]);
	mc_netloop_stop(&d->net);
	mc_http_stop(d->http);
	d->http = NULL;
}

static void destroy(struct mc_daemon *d)
{
	/* first: its threads read the objects below (after a failed start-up shutdown_all did not stop it) */
	mc_http_stop(d->http);
	d->http = NULL;
	for (int i = 0; i < d->n_sources; i++)
		mc_source_stop(d->sources[i]);
	for (int i = 0; i < d->n_mixes; i++)
		mc_mixer_stop(d->mixes[i]);
	for (int i = 0; i < d->n_tracks; i++)
		mc_track_destroy(d->tracks[i]);
	for (int i = 0; i < d->n_mixes; i++)
		mc_mixer_destroy(d->mixes[i]);
	mc_netloop_finish(&d->net);
	for (int i = 0; i < d->n_outputs; i++)
		mc_output_destroy(d->outputs[i]);
	for (int i = 0; i < d->n_sources; i++)
		mc_source_destroy(d->sources[i]);
	if (d->ended_fd >= 0)
		close(d->ended_fd);
}

int mc_daemon_run(const struct mc_config *cfg, const char *stats_out)
{
	/* every fd -1 until it exists: a start that fails half-way closes only what it opened */
	struct mc_daemon d = { .cfg = cfg, .ended_fd = -1, .net = MC_NETLOOP_EMPTY, .start_us = mc_now_us() };
	sigset_t mask;
	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGHUP);
	/* block before any thread starts: threads inherit the mask, so signals arrive at the signalfd only */
	pthread_sigmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	int sfd = signalfd(-1, &mask, SFD_CLOEXEC);
	d.ended_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	int status = 2;
	if (sfd < 0 || d.ended_fd < 0 || mc_netloop_init(&d.net)) {
		mc_err(MOD, "cannot create the event loop: %s", strerror(errno));
		goto out;
	}
	if (build(&d) || start(&d)) {
		mc_err(MOD, "start-up failed");
		shutdown_all(&d);
		goto out;
	}
	mc_info(MOD, "running: %d source(s), %d mix(es), %d track(s), %d output(s)", d.n_sources, d.n_mixes, d.n_tracks,
		d.n_outputs);
	struct mc_notify notify;
	mc_notify_init(&notify);
	status = wait_for_end(&d, sfd, &notify);
	shutdown_all(&d);
	for (int i = 0; i < d.n_outputs; i++) {
		const struct mc_output *o = d.outputs[i];
		uint64_t packets = 0;
		for (int l = 0; l < o->n_layers; l++)
			packets += mc_count_get(&o->layer_stats[l].packets);
		mc_info(MOD, "output %s: %llu packets sent, %llu send errors", o->cfg->name, (unsigned long long)packets,
			(unsigned long long)mc_count_get(&o->send_errors));
	}
out:
	if (stats_out && mc_stats_write_file(&d, stats_out) && status == 0)
		status = 2;
	destroy(&d);
	if (sfd >= 0)
		close(sfd);
	return status;
}
