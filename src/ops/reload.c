#include "reload.h"

#include <arpa/inet.h>
#include <errno.h>
#include <libavutil/log.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon.h"
#include "log.h"
#include "notify.h"
#include "option.h"
#include "source.h"

#define MOD "reload"

/* ---- the diff ------------------------------------------------------------------------------------- */

const char *mc_reload_section_name(enum mc_reload_section s)
{
	switch (s) {
	case MC_RELOAD_DAEMON: return "daemon";
	case MC_RELOAD_SOURCE: return "source";
	case MC_RELOAD_TRACK: return "track";
	default: return "output";
	}
}

__attribute__((format(printf, 5, 6))) static struct mc_reload_change *
add_change(struct mc_reload_diff *d, enum mc_reload_section sec, const char *name, enum mc_reload_action a,
	   const char *fmt, ...)
{
	if (d->n == MC_RELOAD_MAX_CHANGES)
		return NULL; /* cannot happen: at most a few per section, and sections are bounded */
	struct mc_reload_change *c = &d->changes[d->n++];
	*c = (struct mc_reload_change){ .section = sec, .action = a };
	snprintf(c->name, sizeof(c->name), "%s", name);
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(c->what, sizeof(c->what), fmt, ap);
	va_end(ap);
	return c;
}

const struct mc_reload_change *mc_reload_find(const struct mc_reload_diff *diff, enum mc_reload_section section,
					      const char *name, enum mc_reload_action action)
{
	for (int i = 0; i < diff->n; i++) {
		const struct mc_reload_change *c = &diff->changes[i];
		if (c->section == section && c->action == action && strcmp(c->name, name) == 0)
			return c;
	}
	return NULL;
}

static bool restarts(const struct mc_reload_diff *d, enum mc_reload_section sec, const char *name)
{
	return mc_reload_find(d, sec, name, MC_RELOAD_RESTART) != NULL;
}

/* A list of the keys that differ, "a, b, c". */
static void key_differs(char *list, size_t len, bool differs, const char *key)
{
	if (!differs)
		return;
	size_t l = strlen(list);
	snprintf(list + l, len - l, "%s%s", l ? ", " : "", key);
}

#define DIFF_FIELD(list, a, b, f, key) key_differs(list, sizeof(list), memcmp(&(a)->f, &(b)->f, sizeof((a)->f)) != 0, key)

static void bitrate_str(char *buf, size_t len, int bps)
{
	if (bps % 1000000 == 0)
		snprintf(buf, len, "%dM", bps / 1000000);
	else if (bps % 1000 == 0)
		snprintf(buf, len, "%dk", bps / 1000);
	else
		snprintf(buf, len, "%d", bps);
}

static void diff_daemon(const struct mc_config *o, const struct mc_config *n, struct mc_reload_diff *d)
{
	static const char *const levels[] = { "error", "warn", "info", "debug" };
	const struct mc_daemon_config *a = &o->daemon, *b = &n->daemon;
	if (a->log_level != b->log_level && a->log_level >= 0 && a->log_level <= 3 && b->log_level >= 0 && b->log_level <= 3)
		add_change(d, MC_RELOAD_DAEMON, "", MC_RELOAD_LIVE, "log_level %s -> %s", levels[a->log_level],
			   levels[b->log_level]);
	char keys[160] = "";
	key_differs(keys, sizeof(keys), strcmp(a->stats_listen, b->stats_listen) != 0, "stats_listen");
	key_differs(keys, sizeof(keys), strcmp(a->state_dir, b->state_dir) != 0, "state_dir");
	if (keys[0])
		add_change(d, MC_RELOAD_DAEMON, "", MC_RELOAD_REFUSED, "%s", keys);
}

/* A backend key's size in its options struct, from its parser (option.h lists the field types). */
static size_t opt_size(const struct mc_option *o)
{
	if (o->parse == mc_opt_string || o->parse == mc_opt_name)
		return (size_t)o->max;
	if (o->parse == mc_opt_bool)
		return sizeof(bool);
	if (o->parse == mc_opt_size)
		return 2 * sizeof(int);
	return sizeof(int);
}

static void diff_source(const struct mc_source_config *a, const struct mc_source_config *b, struct mc_reload_diff *d)
{
	char keys[200] = "";
	key_differs(keys, sizeof(keys), a->backend != b->backend, "type");
	key_differs(keys, sizeof(keys), a->width != b->width || a->height != b->height, "size");
	key_differs(keys, sizeof(keys), a->fps != b->fps, "fps");
	if (a->backend == b->backend && a->backend && a->backend->options) {
		for (const struct mc_option *o = a->backend->options; o->name; o++) {
			bool differs = a->opts && b->opts &&
				       memcmp((const char *)a->opts + o->offset, (const char *)b->opts + o->offset, opt_size(o)) != 0;
			key_differs(keys, sizeof(keys), differs, o->name);
		}
	}
	if (keys[0])
		add_change(d, MC_RELOAD_SOURCE, b->name, MC_RELOAD_RESTART, "%s", keys);
}

static void diff_track(const struct mc_track_config *a, const struct mc_track_config *b, struct mc_reload_diff *d)
{
	char keys[200] = "";
	DIFF_FIELD(keys, a, b, input, "input");
	DIFF_FIELD(keys, a, b, codec, "codec");
	DIFF_FIELD(keys, a, b, encoder, "encoder");
	key_differs(keys, sizeof(keys), strcmp(a->encoder_device, b->encoder_device) != 0, "encoder_device");
	DIFF_FIELD(keys, a, b, scaler, "scaler");
	key_differs(keys, sizeof(keys), strcmp(a->scaler_device, b->scaler_device) != 0, "scaler_device");
	key_differs(keys, sizeof(keys), strcmp(a->preset, b->preset) != 0, "preset");
	DIFF_FIELD(keys, a, b, threads, "threads");
	DIFF_FIELD(keys, a, b, skip_unchanged, "skip_unchanged");
	/* the layers both have keep their sizes: a layer added or removed at the end is live */
	int common = a->n_layers < b->n_layers ? a->n_layers : b->n_layers;
	bool sizes = false, encoders = false;
	for (int i = 0; i < common; i++) {
		sizes |= a->layers[i].width != b->layers[i].width || a->layers[i].height != b->layers[i].height;
		encoders |= a->layers[i].encoder != b->layers[i].encoder;
	}
	key_differs(keys, sizeof(keys), sizes, "layers (their sizes)");
	key_differs(keys, sizeof(keys), encoders, "layer_encoders");
	if (keys[0]) {
		add_change(d, MC_RELOAD_TRACK, b->name, MC_RELOAD_RESTART, "%s", keys);
		return;
	}
	/* the same layers: their rates change live */
	char what[320] = "";
	for (int i = 0; i < common; i++) {
		const struct mc_layer_config *x = &a->layers[i], *y = &b->layers[i];
		size_t l = strlen(what);
		if (x->bitrate != y->bitrate) {
			char f[16], t[16];
			bitrate_str(f, sizeof(f), x->bitrate);
			bitrate_str(t, sizeof(t), y->bitrate);
			snprintf(what + l, sizeof(what) - l, "%slayer %d bitrate %s -> %s", l ? ", " : "", i, f, t);
			l = strlen(what);
		}
		if (x->fps != y->fps)
			snprintf(what + l, sizeof(what) - l, "%slayer %d fps %d -> %d", l ? ", " : "", i, x->fps, y->fps);
	}
	if (what[0])
		add_change(d, MC_RELOAD_TRACK, b->name, MC_RELOAD_LIVE, "%s", what);
	what[0] = '\0';
	for (int i = common; i < b->n_layers; i++) {
		const struct mc_layer_config *y = &b->layers[i];
		char r[16];
		bitrate_str(r, sizeof(r), y->bitrate);
		snprintf(what + strlen(what), sizeof(what) - strlen(what), "%slayer %d %dx%d@%d:%s added", i > common ? ", " : "",
			 i, y->width, y->height, y->fps, r);
	}
	for (int i = common; i < a->n_layers; i++)
		snprintf(what + strlen(what), sizeof(what) - strlen(what), "%slayer %d %dx%d removed", i > common ? ", " : "", i,
			 a->layers[i].width, a->layers[i].height);
	if (what[0])
		add_change(d, MC_RELOAD_TRACK, b->name, MC_RELOAD_LIVE, "%s", what);
	if (a->keyframe_interval != b->keyframe_interval)
		add_change(d, MC_RELOAD_TRACK, b->name, MC_RELOAD_LIVE, "keyframe_interval %g -> %g s", a->keyframe_interval,
			   b->keyframe_interval);
}

static void ports_str(char *buf, size_t len, const struct mc_output_config *o)
{
	size_t l = 0;
	buf[0] = '\0';
	for (int i = 0; i < o->n_ports && l < len; i++, l = strlen(buf))
		snprintf(buf + l, len - l, "%s%u", i ? "," : "", o->ports[i]);
}

/* `common`: the layers the output's track keeps when a reload adds or removes its last layers live (the
 * per-layer lists ports, ssrcs, rids, rtx_ssrcs grow or shrink with them); 0: the track keeps its layers. */
static void diff_output(const struct mc_output_config *a, const struct mc_output_config *b, int common,
			struct mc_reload_diff *d)
{
	char keys[320] = "";
	bool layers_change = common > 0;
	int np = layers_change && !a->single_port ? common : b->n_ports;
	int ns = layers_change && a->n_ssrcs && b->n_ssrcs ? common : a->n_ssrcs;
	int nr = layers_change && a->n_rids && b->n_rids ? common : a->n_rids;
	int nx = layers_change && a->n_rtx_ssrcs && b->n_rtx_ssrcs ? common : a->n_rtx_ssrcs;
	DIFF_FIELD(keys, a, b, type, "type");
	DIFF_FIELD(keys, a, b, track, "track");
	key_differs(keys, sizeof(keys), a->single_port != b->single_port, a->single_port ? "port (now ports)" : "ports (now port)");
	key_differs(keys, sizeof(keys), !layers_change && !a->single_port && a->n_ports != b->n_ports, "ports (their number)");
	DIFF_FIELD(keys, a, b, local_port, "local_port");
	key_differs(keys, sizeof(keys), strcmp(a->srtp_key_file, b->srtp_key_file) != 0, "srtp_key_file");
	key_differs(keys, sizeof(keys),
		    strcmp(a->srtp_key_file, b->srtp_key_file) == 0 &&
			    (a->srtp_key_len != b->srtp_key_len || memcmp(a->srtp_key, b->srtp_key, a->srtp_key_len) != 0),
		    "srtp_key_file (the key in it)");
	DIFF_FIELD(keys, a, b, srtp_suite, "srtp_suite");
	DIFF_FIELD(keys, a, b, payload_type, "payload_type");
	DIFF_FIELD(keys, a, b, mtu, "mtu");
	key_differs(keys, sizeof(keys),
		    (!layers_change && a->n_ssrcs != b->n_ssrcs) || (a->n_ssrcs == 0) != (b->n_ssrcs == 0) ||
			    memcmp(a->ssrcs, b->ssrcs, sizeof(a->ssrcs[0]) * (size_t)ns) != 0,
		    "ssrcs");
	key_differs(keys, sizeof(keys), strcmp(a->cname, b->cname) != 0, "cname");
	DIFF_FIELD(keys, a, b, rtcp_mux, "rtcp_mux");
	DIFF_FIELD(keys, a, b, rtcp, "rtcp");
	key_differs(keys, sizeof(keys), strcmp(a->state_dir, b->state_dir) != 0, "[daemon] state_dir");
	DIFF_FIELD(keys, a, b, ext_rid, "ext_rid");
	DIFF_FIELD(keys, a, b, ext_mid, "ext_mid");
	DIFF_FIELD(keys, a, b, ext_twcc, "ext_twcc");
	key_differs(keys, sizeof(keys),
		    (!layers_change && a->n_rids != b->n_rids) || (a->n_rids == 0) != (b->n_rids == 0) ||
			    memcmp(a->rids, b->rids, sizeof(a->rids[0]) * (size_t)nr) != 0,
		    "rids");
	key_differs(keys, sizeof(keys), strcmp(a->mid, b->mid) != 0, "mid");
	DIFF_FIELD(keys, a, b, pacing, "pacing");
	DIFF_FIELD(keys, a, b, pacer_queue_ms, "pacer_queue_ms");
	DIFF_FIELD(keys, a, b, cc, "cc");
	DIFF_FIELD(keys, a, b, min_bitrate, "min_bitrate");
	DIFF_FIELD(keys, a, b, keyframe_on_pli, "keyframe_on_pli");
	DIFF_FIELD(keys, a, b, keyframe_repeat_ms, "keyframe_repeat_ms");
	DIFF_FIELD(keys, a, b, rtx, "rtx");
	DIFF_FIELD(keys, a, b, rtx_payload_type, "rtx_payload_type");
	key_differs(keys, sizeof(keys),
		    (!layers_change && a->n_rtx_ssrcs != b->n_rtx_ssrcs) || (a->n_rtx_ssrcs == 0) != (b->n_rtx_ssrcs == 0) ||
			    memcmp(a->rtx_ssrcs, b->rtx_ssrcs, sizeof(a->rtx_ssrcs[0]) * (size_t)nx) != 0,
		    "rtx_ssrcs");
	/* an SRTP index state fixes an output's streams at its start: a layer more or less restarts it */
	key_differs(keys, sizeof(keys), layers_change && a->srtp_key_file[0] && a->state_dir[0],
		    "the track's layers (with an SRTP index state in [daemon] state_dir)");
	bool ports_differ = memcmp(a->ports, b->ports, sizeof(a->ports[0]) * (size_t)np) != 0;
	if (keys[0]) {
		add_change(d, MC_RELOAD_OUTPUT, b->name, MC_RELOAD_RESTART, "%s", keys);
		return;
	}
	if (strcmp(a->host, b->host) != 0 || ports_differ || a->rtcp_port != b->rtcp_port) {
		char pa[40], pb[40], ra[16] = "", rb[16] = "";
		ports_str(pa, sizeof(pa), a);
		ports_str(pb, sizeof(pb), b);
		if (a->rtcp_port != b->rtcp_port) {
			snprintf(ra, sizeof(ra), " rtcp %u", a->rtcp_port);
			snprintf(rb, sizeof(rb), " rtcp %u", b->rtcp_port);
		}
		add_change(d, MC_RELOAD_OUTPUT, b->name, MC_RELOAD_LIVE, "destination %s:%s%s -> %s:%s%s", a->host, pa, ra,
			   b->host, pb, rb);
	}
}

/* The section kinds, each with how to list, name and compare its entries. A new kind ([mix.NAME]) is one
 * row here and a diff function. */
struct section_kind {
	enum mc_reload_section section;
	int (*count)(const struct mc_config *c);
	const char *(*name)(const struct mc_config *c, int i);
	void (*diff)(const struct mc_config *o, int i, const struct mc_config *n, int j, struct mc_reload_diff *d);
};

static int n_sources(const struct mc_config *c) { return c->n_sources; }
static int n_tracks(const struct mc_config *c) { return c->n_tracks; }
static int n_outputs(const struct mc_config *c) { return c->n_outputs; }
static const char *source_name(const struct mc_config *c, int i) { return c->sources[i].name; }
static const char *track_name(const struct mc_config *c, int i) { return c->tracks[i].name; }
static const char *output_name(const struct mc_config *c, int i) { return c->outputs[i].name; }
static void source_diff(const struct mc_config *o, int i, const struct mc_config *n, int j, struct mc_reload_diff *d)
{
	diff_source(&o->sources[i], &n->sources[j], d);
}
static void track_diff(const struct mc_config *o, int i, const struct mc_config *n, int j, struct mc_reload_diff *d)
{
	diff_track(&o->tracks[i], &n->tracks[j], d);
}
static void output_diff(const struct mc_config *o, int i, const struct mc_config *n, int j, struct mc_reload_diff *d)
{
	const struct mc_track_config *a = mc_config_find_track(o, o->outputs[i].track);
	const struct mc_track_config *b = mc_config_find_track(n, n->outputs[j].track);
	int common = 0;
	if (a && b && strcmp(a->name, b->name) == 0 && a->n_layers != b->n_layers)
		common = a->n_layers < b->n_layers ? a->n_layers : b->n_layers;
	diff_output(&o->outputs[i], &n->outputs[j], common, d);
}

static const struct section_kind kinds[] = {
	{ MC_RELOAD_SOURCE, n_sources, source_name, source_diff },
	{ MC_RELOAD_TRACK, n_tracks, track_name, track_diff },
	{ MC_RELOAD_OUTPUT, n_outputs, output_name, output_diff },
};

static int find_entry(const struct section_kind *k, const struct mc_config *c, const char *name)
{
	for (int i = 0; i < k->count(c); i++)
		if (strcmp(k->name(c, i), name) == 0)
			return i;
	return -1;
}

void mc_config_diff(const struct mc_config *old, const struct mc_config *nw, struct mc_reload_diff *d)
{
	d->n = 0;
	diff_daemon(old, nw, d);
	for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
		const struct section_kind *sk = &kinds[k];
		for (int i = 0; i < sk->count(old); i++)
			if (find_entry(sk, nw, sk->name(old, i)) < 0)
				add_change(d, sk->section, sk->name(old, i), MC_RELOAD_REMOVE, "section removed");
		for (int j = 0; j < sk->count(nw); j++) {
			int i = find_entry(sk, old, sk->name(nw, j));
			if (i < 0)
				add_change(d, sk->section, sk->name(nw, j), MC_RELOAD_ADD, "section added");
			else
				sk->diff(old, i, nw, j, d);
		}
	}
	/* What hangs on a restarted part restarts with it: a source's tracks, a track's outputs (in the new
	 * file; an added or removed one is built or stopped anyway). */
	for (int j = 0; j < nw->n_tracks; j++) {
		const struct mc_track_config *t = &nw->tracks[j];
		if (mc_config_find_track(old, t->name) && !restarts(d, MC_RELOAD_TRACK, t->name) &&
		    restarts(d, MC_RELOAD_SOURCE, t->input))
			add_change(d, MC_RELOAD_TRACK, t->name, MC_RELOAD_RESTART, "its source %s restarts", t->input);
	}
	for (int j = 0; j < nw->n_outputs; j++) {
		const struct mc_output_config *o = &nw->outputs[j];
		bool existed = false;
		for (int i = 0; i < old->n_outputs; i++)
			existed |= strcmp(old->outputs[i].name, o->name) == 0;
		if (existed && !restarts(d, MC_RELOAD_OUTPUT, o->name) && restarts(d, MC_RELOAD_TRACK, o->track))
			add_change(d, MC_RELOAD_OUTPUT, o->name, MC_RELOAD_RESTART, "its track %s restarts", o->track);
	}
}

static bool mix_same(const struct mc_mix_config *a, const struct mc_mix_config *b)
{
	if (a->n_inputs != b->n_inputs || a->width != b->width || a->height != b->height || a->fps != b->fps ||
	    a->layout != b->layout || a->pip_position != b->pip_position || a->pip_size != b->pip_size ||
	    a->margin != b->margin)
		return false;
	for (int k = 0; k < a->n_inputs; k++)
		if (strcmp(a->inputs[k], b->inputs[k]) != 0)
			return false;
	return true;
}

bool mc_reload_mix_blocker(const struct mc_config *old, const struct mc_config *nw, const struct mc_reload_diff *diff,
			   char *why, size_t why_len)
{
	if (!old->n_mixes && !nw->n_mixes)
		return false;
	for (int j = 0; j < nw->n_mixes; j++) {
		const struct mc_mix_config *b = &nw->mixes[j], *a = NULL;
		for (int i = 0; i < old->n_mixes && !a; i++)
			if (strcmp(old->mixes[i].name, b->name) == 0)
				a = &old->mixes[i];
		if (!a || !mix_same(a, b)) {
			snprintf(why, why_len, "[mix.%s] %s", b->name, a ? "changed" : "added");
			return true;
		}
	}
	if (old->n_mixes != nw->n_mixes) {
		snprintf(why, why_len, "a [mix] section removed");
		return true;
	}
	for (int i = 0; i < diff->n; i++) {
		const struct mc_reload_change *c = &diff->changes[i];
		if (c->section != MC_RELOAD_DAEMON && c->action != MC_RELOAD_LIVE && c->action != MC_RELOAD_REFUSED) {
			snprintf(why, why_len, "[%s.%s] %s (a part to %s)", mc_reload_section_name(c->section), c->name, c->what,
				 c->action == MC_RELOAD_ADD ? "add" : c->action == MC_RELOAD_REMOVE ? "remove" : "restart");
			return true;
		}
	}
	return false;
}

/* ---- applying it ------------------------------------------------------------------------------------ */

static void log_change(const struct mc_reload_change *c, const char *how)
{
	const char *sec = mc_reload_section_name(c->section);
	if (c->section == MC_RELOAD_DAEMON)
		mc_info(MOD, "[%s] %s: %s", sec, c->what, how);
	else
		mc_info(MOD, "[%s.%s] %s: %s", sec, c->name, c->what, how);
}

struct dest_ctx {
	struct mc_output *o;
	const struct mc_output_config *c;
	int bitrates[MC_MAX_LAYERS];
};

static void set_dest(struct mc_netloop *nl, void *arg)
{
	struct dest_ctx *c = arg;
	mc_output_set_dest(c->o, c->c);
}

static void set_bitrates(struct mc_netloop *nl, void *arg)
{
	struct dest_ctx *c = arg;
	mc_output_set_bitrates(c->o, c->bitrates);
}

struct layer_ctx {
	struct mc_output *o;
	const struct mc_output_config *c;
	struct mc_layer *layer;
	int rc;
};

static void add_layer(struct mc_netloop *nl, void *arg)
{
	struct layer_ctx *x = arg;
	x->rc = mc_output_add_layer(x->o, x->c, x->layer, &x->layer->ctl, x->layer->ceiling_bps);
}

static void remove_layer(struct mc_netloop *nl, void *arg)
{
	struct layer_ctx *x = arg;
	mc_output_remove_layer(x->o);
}

static const struct mc_output_config *find_output_config(const struct mc_config *c, const char *name)
{
	for (int k = 0; k < c->n_outputs; k++)
		if (strcmp(c->outputs[k].name, name) == 0)
			return &c->outputs[k];
	return NULL;
}

/* Layers added or removed at the end: removed ones are flushed and get their BYE, the others' streams go on;
 * an added one gets its stream on every output before the track thread feeds it. */
static void apply_track_layers(struct mc_daemon *d, struct mc_track *t, const struct mc_track_config *c,
			       const struct mc_config *nw)
{
	while (t->n_layers > c->n_layers) {
		mc_track_remove_last_layer(t);
		for (int i = 0; i < t->n_outputs; i++) {
			struct layer_ctx x = { .o = t->outputs[i] };
			mc_netloop_call(&d->net, remove_layer, &x);
		}
	}
	while (t->n_layers < c->n_layers) {
		int l = t->n_layers, rc = mc_track_add_layer(t, &c->layers[l]);
		if (rc) {
			mc_err(MOD, "[track.%s] layer %d: cannot set up: %s", t->cfg->name, l, strerror(-rc));
			break;
		}
		for (int i = 0; i < t->n_outputs; i++) {
			struct layer_ctx x = { .o = t->outputs[i], .c = find_output_config(nw, t->outputs[i]->cfg->name),
					       .layer = &t->layers[l] };
			if (x.c)
				mc_netloop_call(&d->net, add_layer, &x);
			if (!x.c || x.rc)
				mc_err(MOD, "[output.%s] layer %d: no stream for it: %s", t->outputs[i]->cfg->name, l,
				       x.c ? strerror(-x.rc) : "not in the new file");
			else
				mc_info(MOD, "[output.%s] layer %d: new stream, SSRC %u, to port %u", t->outputs[i]->cfg->name, l,
					mc_output_ssrc(t->outputs[i], l), ntohs(t->outputs[i]->rtp_dest[l].sin_port));
		}
		mc_track_publish_layers(t, l + 1);
	}
}

static void apply_track_live(struct mc_daemon *d, struct mc_track *t, const struct mc_track_config *c)
{
	struct mc_track_config *own = &t->cfg_own;
	if (own->keyframe_interval != c->keyframe_interval) {
		own->keyframe_interval = c->keyframe_interval;
		mc_track_set_keyframe_interval(t, c->keyframe_interval);
	}
	bool bitrates = false;
	for (int i = 0; i < t->n_layers && i < c->n_layers; i++) {
		bitrates |= own->layers[i].bitrate != c->layers[i].bitrate;
		own->layers[i].bitrate = c->layers[i].bitrate;
		own->layers[i].fps = c->layers[i].fps;
		mc_layer_set_config(&t->layers[i], c->layers[i].bitrate, c->layers[i].fps);
	}
	if (!bitrates)
		return;
	/* congestion control splits the new rates: on the network thread, which owns it */
	for (int i = 0; i < t->n_outputs; i++) {
		struct dest_ctx x = { .o = t->outputs[i] };
		for (int l = 0; l < t->n_layers; l++)
			x.bitrates[l] = c->layers[l].bitrate;
		mc_netloop_call(&d->net, set_bitrates, &x);
	}
}

/* Takes the running values of what is refused into the configuration that takes effect. */
static void keep_refused(const struct mc_config *old, struct mc_config *nw)
{
	snprintf(nw->daemon.stats_listen, sizeof(nw->daemon.stats_listen), "%s", old->daemon.stats_listen);
	nw->daemon.stats_addr = old->daemon.stats_addr;
	nw->daemon.stats_port = old->daemon.stats_port;
	snprintf(nw->daemon.state_dir, sizeof(nw->daemon.state_dir), "%s", old->daemon.state_dir);
}

/* Builds what the new file has and the daemon does not run; returns the failures. */
static int add_missing(struct mc_daemon *d, const struct mc_config *nw)
{
	int failed = 0;
	for (int i = 0; i < nw->n_sources; i++) {
		const struct mc_source_config *sc = &nw->sources[i];
		if (mc_daemon_find_source(d, sc->name) || !mc_config_input_used(nw, sc->name))
			continue;
		int rc = mc_daemon_add_source(d, sc);
		mc_info(MOD, "[source.%s] %s", sc->name, rc ? "could not be opened (see above)" : "opened and started");
		failed += rc != 0;
	}
	for (int i = 0; i < nw->n_tracks; i++) {
		const struct mc_track_config *tc = &nw->tracks[i];
		if (mc_daemon_find_track(d, tc->name))
			continue;
		int rc = mc_daemon_add_track(d, tc);
		mc_info(MOD, "[track.%s] %s", tc->name, rc ? "could not be set up (see above)" : "encoders opened and started");
		failed += rc != 0;
	}
	for (int i = 0; i < nw->n_outputs; i++) {
		const struct mc_output_config *oc = &nw->outputs[i];
		if (mc_daemon_find_output(d, oc->name))
			continue;
		int rc = mc_daemon_add_output(d, oc);
		struct mc_output *o = rc ? NULL : mc_daemon_find_output(d, oc->name);
		if (o) {
			char ssrcs[48] = "";
			for (int l = 0; l < o->n_layers; l++)
				snprintf(ssrcs + strlen(ssrcs), sizeof(ssrcs) - strlen(ssrcs), "%s%u", l ? "," : "",
					 mc_output_ssrc(o, l));
			mc_info(MOD, "[output.%s] sending to %s (SSRCs %s)", oc->name, oc->host, ssrcs);
		} else {
			mc_info(MOD, "[output.%s] could not be set up (see above)", oc->name);
		}
		failed += rc != 0;
	}
	return failed;
}

/* Stops what is removed or restarts, outputs first (BYE), then tracks, then sources. */
static void remove_gone(struct mc_daemon *d, const struct mc_reload_diff *diff)
{
	for (int pass = MC_RELOAD_OUTPUT; pass >= MC_RELOAD_SOURCE; pass--) {
		for (int i = 0; i < diff->n; i++) {
			const struct mc_reload_change *c = &diff->changes[i];
			if ((int)c->section != pass || (c->action != MC_RELOAD_REMOVE && c->action != MC_RELOAD_RESTART))
				continue;
			if (c->section == MC_RELOAD_OUTPUT) {
				struct mc_output *o = mc_daemon_find_output(d, c->name);
				if (!o)
					continue;
				log_change(c, c->action == MC_RELOAD_REMOVE ? "output stopped (RTCP BYE sent)"
									     : "output restarts (BYE on its streams, then new ones)");
				mc_daemon_remove_output(d, o);
			} else if (c->section == MC_RELOAD_TRACK) {
				struct mc_track *t = mc_daemon_find_track(d, c->name);
				if (!t)
					continue;
				log_change(c, c->action == MC_RELOAD_REMOVE ? "track stopped" : "track restarts (encoders opened again)");
				mc_daemon_remove_track(d, t);
			} else if (c->section == MC_RELOAD_SOURCE) {
				struct mc_source *s = mc_daemon_find_source(d, c->name);
				if (!s)
					continue;
				log_change(c, c->action == MC_RELOAD_REMOVE ? "source closed" : "source restarts (opened again)");
				mc_daemon_remove_source(d, s);
			}
		}
	}
}

/* A source that no track takes any more is closed (as at start, where it is not opened). */
static void close_unused(struct mc_daemon *d, const struct mc_config *nw)
{
	for (int i = d->n_sources - 1; i >= 0; i--) {
		struct mc_source *s = d->sources[i];
		bool used = false;
		for (int k = 0; k < d->n_tracks; k++)
			used |= d->tracks[k]->producer == &s->out;
		if (!used && !mc_config_input_used(nw, s->cfg->name)) {
			mc_info(MOD, "[source.%s] no track takes it any more: closed", s->cfg->name);
			mc_daemon_remove_source(d, s);
		}
	}
}

static void apply(struct mc_daemon *d, struct mc_config *nw, const struct mc_reload_diff *diff)
{
	for (int i = 0; i < diff->n; i++) {
		const struct mc_reload_change *c = &diff->changes[i];
		if (c->action == MC_RELOAD_REFUSED)
			mc_warn(MOD, "needs a restart: [%s] %s (the running value stays; `systemctl restart` applies it)",
				mc_reload_section_name(c->section), c->what);
	}
	keep_refused(d->cfg, nw);
	const struct mc_reload_change *lvl = mc_reload_find(diff, MC_RELOAD_DAEMON, "", MC_RELOAD_LIVE);
	if (lvl && d->log_level_fixed) {
		log_change(lvl, "not applied: --log-level on the command line wins");
	} else if (lvl) {
		mc_log_set_level((enum mc_log_level)nw->daemon.log_level);
		av_log_set_level(mc_log_get_level() >= MC_LOG_DEBUG ? AV_LOG_INFO : AV_LOG_ERROR);
		log_change(lvl, "applied");
	}
	remove_gone(d, diff);
	close_unused(d, nw);
	/* live changes before additions: an output added now starts at its track's new rates */
	for (int i = 0; i < diff->n; i++) {
		const struct mc_reload_change *c = &diff->changes[i];
		if (c->action != MC_RELOAD_LIVE || c->section == MC_RELOAD_DAEMON)
			continue;
		if (c->section == MC_RELOAD_TRACK) {
			struct mc_track *t = mc_daemon_find_track(d, c->name);
			const struct mc_track_config *tc = mc_config_find_track(nw, c->name);
			if (!t || !tc)
				continue;
			/* a track's live changes are applied together, at its first entry */
			if (mc_reload_find(diff, MC_RELOAD_TRACK, c->name, MC_RELOAD_LIVE) == c) {
				apply_track_layers(d, t, tc, nw);
				apply_track_live(d, t, tc);
			}
			log_change(c, strstr(c->what, "keyframe") ? "live: the keyframe schedule"
				      : strstr(c->what, "added") || strstr(c->what, "removed")
					      ? "live: the other layers' streams go on (same SSRCs and sequence numbers)"
					      : "live: the encoders' rate and congestion control's ceiling (the layers' "
						"decimation for a frame rate)");
		} else if (c->section == MC_RELOAD_OUTPUT) {
			struct mc_output *o = mc_daemon_find_output(d, c->name);
			const struct mc_output_config *oc = find_output_config(nw, c->name);
			if (!o || !oc)
				continue;
			struct dest_ctx x = { .o = o, .c = oc };
			mc_netloop_call(&d->net, set_dest, &x);
			log_change(c, "live: the same socket, SSRCs, sequence numbers and SRTP session");
		}
	}
	int failed = add_missing(d, nw);
	if (failed)
		mc_warn(MOD, "%d part(s) could not be started; the next reload tries again", failed);
}

/* The configuration in effect from now on: the new file, less what could not be started (so that the next
 * reload sees it as new again). */
static void drop_unbuilt(struct mc_daemon *d, struct mc_config *nw)
{
	for (int i = nw->n_outputs - 1; i >= 0; i--)
		if (!mc_daemon_find_output(d, nw->outputs[i].name)) {
			explicit_bzero(nw->outputs[i].srtp_key, sizeof(nw->outputs[i].srtp_key));
			memmove(&nw->outputs[i], &nw->outputs[i + 1], sizeof(nw->outputs[0]) * (size_t)(nw->n_outputs - i - 1));
			nw->n_outputs--;
			memset(&nw->outputs[nw->n_outputs], 0, sizeof(nw->outputs[0]));
		}
	for (int i = 0; i < nw->n_tracks; i++) {
		/* a layer that could not be added is not in effect: the next reload adds it again */
		struct mc_track *t = mc_daemon_find_track(d, nw->tracks[i].name);
		if (t && t->n_layers < nw->tracks[i].n_layers)
			nw->tracks[i].n_layers = t->n_layers;
	}
	for (int i = nw->n_tracks - 1; i >= 0; i--)
		if (!mc_daemon_find_track(d, nw->tracks[i].name)) {
			memmove(&nw->tracks[i], &nw->tracks[i + 1], sizeof(nw->tracks[0]) * (size_t)(nw->n_tracks - i - 1));
			nw->n_tracks--;
			memset(&nw->tracks[nw->n_tracks], 0, sizeof(nw->tracks[0]));
		}
}

int mc_reload(struct mc_daemon *d, struct mc_notify *n)
{
	mc_info(MOD, "SIGHUP: reloading %s", d->config_path ? d->config_path : "(no file)");
	mc_notify_reloading(n);
	struct mc_config *nw = NULL;
	int errors = 0;
	int rc = d->config_path ? mc_config_load(d->config_path, &nw, &errors) : -ENOENT;
	if (rc) {
		mc_err(MOD, "%s: %d error(s): the new configuration is refused; the running one stays unchanged",
		       d->config_path ? d->config_path : "(no file)", errors ? errors : 1);
		mc_notify_reloaded(n, "running; the last reload was refused (invalid configuration, see the log)");
		return -EINVAL;
	}
	struct mc_reload_diff *diff = calloc(1, sizeof(*diff));
	if (!diff) {
		mc_config_free(nw);
		mc_notify_reloaded(n, "running; the last reload failed (out of memory)");
		return -ENOMEM;
	}
	mc_config_diff(d->cfg, nw, diff);
	char why[200];
	if (mc_reload_mix_blocker(d->cfg, nw, diff, why, sizeof(why))) {
		mc_err(MOD, "%s: %s: a configuration with [mix] sections is reloaded only where every change is live "
		       "(bitrates, frame rates, keyframe interval, log level, destinations); the new configuration is "
		       "refused and the running one stays unchanged (restart mixcastd to apply it)", d->config_path, why);
		mc_config_free(nw);
		free(diff);
		mc_notify_reloaded(n, "running; the last reload was refused (a change to the mixes needs a restart)");
		return -ENOTSUP;
	}
	if (diff->n == 0) {
		mc_info(MOD, "%s: no change", d->config_path);
	} else {
		int64_t t0 = mc_now_us();
		/* the HTTP thread reads the objects: it waits while they change */
		pthread_rwlock_wrlock(&d->lock);
		apply(d, nw, diff);
		drop_unbuilt(d, nw);
		struct mc_config *old = d->cfg_reloaded;
		d->cfg = d->cfg_reloaded = nw;
		nw = NULL;
		pthread_rwlock_unlock(&d->lock);
		mc_config_free(old); /* the objects have their own copies */
		mc_info(MOD, "%d change(s) applied in %lld ms: %d source(s), %d track(s), %d output(s)", diff->n,
			(long long)(mc_now_us() - t0) / 1000, d->n_sources, d->n_tracks, d->n_outputs);
	}
	mc_config_free(nw);
	free(diff);
	mc_notify_reloaded(n, "running; configuration reloaded");
	return 0;
}
