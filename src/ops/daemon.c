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
#include "reload.h"
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

struct mc_source *mc_daemon_find_source(const struct mc_daemon *d, const char *name)
{
	for (int i = 0; i < d->n_sources; i++)
		if (strcmp(d->sources[i]->cfg->name, name) == 0)
			return d->sources[i];
	return NULL;
}

struct mc_track *mc_daemon_find_track(const struct mc_daemon *d, const char *name)
{
	for (int i = 0; i < d->n_tracks; i++)
		if (strcmp(d->tracks[i]->cfg->name, name) == 0)
			return d->tracks[i];
	return NULL;
}

struct mc_output *mc_daemon_find_output(const struct mc_daemon *d, const char *name)
{
	for (int i = 0; i < d->n_outputs; i++)
		if (strcmp(d->outputs[i]->cfg->name, name) == 0)
			return d->outputs[i];
	return NULL;
}

struct mc_track *mc_daemon_output_track(const struct mc_daemon *d, const struct mc_output *o)
{
	return mc_daemon_find_track(d, o->cfg->track);
}

int mc_daemon_add_source(struct mc_daemon *d, const struct mc_source_config *sc)
{
	struct mc_source *s;
	int rc;
	if (d->n_sources == MC_MAX_SOURCES)
		return -ENOSPC;
	if ((rc = mc_source_create(&s, sc))) {
		mc_err(MOD, "source %s: cannot open: %s", sc->name, strerror(-rc));
		return rc;
	}
	s->out.ended_fd = d->ended_fd;
	d->sources[d->n_sources++] = s;
	if (d->running && (rc = mc_source_start(s)))
		mc_err(MOD, "source %s: cannot start: %s", sc->name, strerror(-rc));
	return rc;
}

int mc_daemon_add_track(struct mc_daemon *d, const struct mc_track_config *tc)
{
	struct mc_producer *src = find_producer(d, tc->input);
	int rc;
	if (!src)
		return -ENOENT;
	if (d->n_tracks == MC_MAX_TRACKS)
		return -ENOSPC;
	struct mc_track *t;
	if ((rc = mc_track_create(&t, tc, src))) {
		mc_err(MOD, "track %s: cannot set up: %s", tc->name, strerror(-rc));
		return rc;
	}
	d->tracks[d->n_tracks++] = t;
	if (d->running && (rc = mc_track_start(t)))
		mc_err(MOD, "track %s: cannot start: %s", tc->name, strerror(-rc));
	return rc;
}

struct add_ctx {
	struct mc_output *o;
	int rc;
};

static void add_to_loop(struct mc_netloop *nl, void *arg)
{
	struct add_ctx *c = arg;
	c->rc = mc_netloop_add_output(nl, c->o);
}

/* The lowest slot of the track's layer control blocks no output of it uses. */
static int free_ctl_slot(const struct mc_track *t)
{
	for (int slot = 0; slot < MC_MAX_OUTPUTS; slot++) {
		bool used = false;
		for (int i = 0; i < t->n_outputs; i++)
			used |= t->outputs[i]->ctl_slot == slot;
		if (!used)
			return slot;
	}
	return -1;
}

int mc_daemon_add_output(struct mc_daemon *d, const struct mc_output_config *oc)
{
	struct mc_track *t = mc_daemon_find_track(d, oc->track);
	int rc;
	if (!t)
		return -ENOENT;
	if (d->n_outputs == MC_MAX_OUTPUTS || t->n_outputs == MC_TRACK_MAX_OUTPUTS)
		return -ENOSPC;
	struct mc_output *o;
	if ((rc = mc_output_create(&o, oc, t->n_layers, t->cfg->codec, d->net.wake_fd))) {
		mc_err(MOD, "output %s: cannot set up: %s", oc->name, strerror(-rc));
		return rc;
	}
	for (int l = 0; l < t->n_layers; l++)
		o->layers[l] = &t->layers[l]; /* PLI/FIR → the layer's encoder */
	struct mc_layer_ctl *ctl[MC_MAX_LAYERS];
	for (int l = 0; l < t->n_layers; l++)
		ctl[l] = &t->layers[l].ctl;
	int layer_bitrate[MC_MAX_LAYERS];
	struct mc_layer_config lc[MC_MAX_LAYERS];
	for (int l = 0; l < t->n_layers; l++) {
		lc[l] = *t->layers[l].cfg;
		lc[l].bitrate = layer_bitrate[l] = __atomic_load_n(&t->layers[l].ceiling_bps, __ATOMIC_RELAXED);
	}
	if ((rc = mc_output_attach_layers(o, lc, ctl, free_ctl_slot(t)))) {
		mc_output_destroy(o);
		return rc;
	}
	struct add_ctx c = { .o = o };
	mc_netloop_call(&d->net, add_to_loop, &c);
	if (c.rc) {
		mc_err(MOD, "output %s: cannot watch its sockets: %s", oc->name, strerror(-c.rc));
		for (int l = 0; l < t->n_layers; l++) /* its congestion control's opinion goes with it */
			mc_layer_ctl_set(&t->layers[l].ctl, o->ctl_slot, 0, false);
		mc_output_destroy(o);
		return c.rc;
	}
	d->outputs[d->n_outputs] = o;
	d->output_track[d->n_outputs++] = t->cfg->name;
	return mc_track_add_output(t, o);
}

struct remove_ctx {
	struct mc_output *o;
	struct mc_track *t;
};

static void remove_from_loop(struct mc_netloop *nl, void *arg)
{
	struct remove_ctx *c = arg;
	mc_netloop_remove_output(nl, c->o);
	/* its opinion of the layers' bitrates goes with it */
	for (int l = 0; c->t && l < c->o->n_layers; l++)
		mc_layer_ctl_set(&c->t->layers[l].ctl, c->o->ctl_slot, 0, false);
}

void mc_daemon_remove_output(struct mc_daemon *d, struct mc_output *o)
{
	struct remove_ctx c = { .o = o, .t = mc_daemon_output_track(d, o) };
	if (c.t)
		mc_track_remove_output(c.t, o); /* no frame comes after this */
	mc_netloop_call(&d->net, remove_from_loop, &c);
	for (int i = 0; i < d->n_outputs; i++)
		if (d->outputs[i] == o) {
			for (int k = i; k + 1 < d->n_outputs; k++) {
				d->outputs[k] = d->outputs[k + 1];
				d->output_track[k] = d->output_track[k + 1];
			}
			d->n_outputs--;
			break;
		}
	mc_output_destroy(o);
}

void mc_daemon_remove_track(struct mc_daemon *d, struct mc_track *t)
{
	for (int i = d->n_outputs - 1; i >= 0; i--)
		if (mc_daemon_output_track(d, d->outputs[i]) == t)
			mc_daemon_remove_output(d, d->outputs[i]);
	/* closed first: a lossless source may wait in put() for this track while holding its sink lock */
	mc_mailbox_close(&t->input);
	mc_producer_remove_sink(t->producer, &t->input);
	for (int i = 0; i < d->n_tracks; i++)
		if (d->tracks[i] == t) {
			memmove(&d->tracks[i], &d->tracks[i + 1], sizeof(d->tracks[0]) * (size_t)(d->n_tracks - i - 1));
			d->n_tracks--;
			break;
		}
	mc_track_destroy(t); /* joins its threads */
}

void mc_daemon_remove_source(struct mc_daemon *d, struct mc_source *s)
{
	for (int i = d->n_tracks - 1; i >= 0; i--)
		if (d->tracks[i]->producer == &s->out)
			mc_daemon_remove_track(d, d->tracks[i]);
	for (int i = 0; i < d->n_sources; i++)
		if (d->sources[i] == s) {
			memmove(&d->sources[i], &d->sources[i + 1], sizeof(d->sources[0]) * (size_t)(d->n_sources - i - 1));
			d->n_sources--;
			break;
		}
	mc_source_destroy(s);
}


static int build(struct mc_daemon *d)
{
	const struct mc_config *cfg = d->cfg;
	int rc;
	/* Sources that some track uses, directly or through a mix; a source nobody uses is not opened. */
	for (int i = 0; i < cfg->n_sources; i++) {
		if (!mc_config_input_used(cfg, cfg->sources[i].name)) {
			mc_warn(MOD, "source %s: no track uses it; not opened", cfg->sources[i].name);
			continue;
		}
		if ((rc = mc_daemon_add_source(d, &cfg->sources[i])))
			return rc;
	}
	if ((rc = build_mixes(d)))
		return rc;
	for (int i = 0; i < cfg->n_tracks; i++)
		if ((rc = mc_daemon_add_track(d, &cfg->tracks[i])))
			return rc;
	for (int i = 0; i < cfg->n_outputs; i++)
		if ((rc = mc_daemon_add_output(d, &cfg->outputs[i])))
			return rc;
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
	d->running = true;
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
					mc_reload(d, n);
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

/* The pid file: for `mixcastd --reload` (systemd has $MAINPID). Written whole or not at all. */
static int write_pid_file(const char *path)
{
	char tmp[MC_PATH_MAX + 8];
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	FILE *f = fopen(tmp, "we");
	if (!f || fprintf(f, "%ld\n", (long)getpid()) < 0 || fclose(f) != 0 || rename(tmp, path) != 0) {
		int e = errno;
		mc_err(MOD, "pid file %s: %s", path, strerror(e));
		unlink(tmp);
		return -e;
	}
	return 0;
}

int mc_daemon_run(const struct mc_config *cfg, const struct mc_daemon_options *opt)
{
	/* every fd -1 until it exists: a start that fails half-way closes only what it opened */
	struct mc_daemon d = { .cfg = cfg, .config_path = opt->config_path, .ended_fd = -1, .net = MC_NETLOOP_EMPTY,
			       .start_us = mc_now_us(), .log_level_fixed = opt->log_level_fixed };
	const char *stats_out = opt->stats_out;
	bool pid_written = false;
	pthread_rwlock_init(&d.lock, NULL);
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
	if (opt->pid_file && !(pid_written = write_pid_file(opt->pid_file) == 0))
		goto out;
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
	if (pid_written)
		unlink(opt->pid_file);
	mc_config_free(d.cfg_reloaded);
	pthread_rwlock_destroy(&d.lock);
	return status;
}
