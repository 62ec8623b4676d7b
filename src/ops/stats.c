#include "stats.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon.h"
#include "figures.h"
#include "histogram.h"
#include "log.h"

/* /stats: the figures of figures.c as JSON, nested as sources, tracks with their layers, outputs with theirs. */

static void json_hist(struct mc_strbuf *b, const struct mc_histogram *h)
{
	struct mc_hist_summary s = { 0 };
	if (h)
		mc_hist_summarize(h, &s);
	mc_strbuf_printf(b, "{\"count\":%llu,\"mean\":%.1f,\"p50\":%.1f,\"p99\":%.1f,\"max\":%.1f}",
			 (unsigned long long)s.count, s.mean, s.p50, s.p99, s.max);
}

static void json_value(struct mc_strbuf *b, const struct mc_figure *f, const struct mc_fig_obj *o)
{
	static const char *const fmt[] = { [MC_JSON_INT] = "%.0f", [MC_JSON_F1] = "%.1f", [MC_JSON_F3] = "%.3f",
					   [MC_JSON_F4] = "%.4f" };
	if (f->kind == MC_FIG_HISTOGRAM) {
		json_hist(b, mc_fig_hist(f, o));
		return;
	}
	if (f->str) {
		mc_strbuf_json_string(b, f->str(o));
		return;
	}
	double v = mc_fig_value(f, o) * (f->json_scale ? f->json_scale : 1);
	if (f->json == MC_JSON_BOOL)
		mc_strbuf_printf(b, "%s", v != 0 ? "true" : "false");
	else
		mc_strbuf_printf(b, fmt[f->json], v);
}

static bool same(const char *a, const char *b) { return a == b || (a && b && strcmp(a, b) == 0); }

/* The object's figures as "key":value pairs (the caller prints the braces); `sep` is printed before the first. */
static void json_figs(struct mc_strbuf *b, enum mc_fig_scope scope, const struct mc_fig_obj *o, const char *sep)
{
	const struct mc_fig_table *t = &mc_fig_tables[scope];
	const char *group = NULL;
	bool first_in_group = false;
	for (int i = 0; i < t->n; i++) {
		const struct mc_figure *f = &t->figs[i];
		if (!f->key || f->json == MC_JSON_NONE || !mc_fig_present(f, o))
			continue;
		if (!same(group, f->group)) {
			if (group)
				mc_strbuf_printf(b, "}");
			if (f->group) {
				mc_strbuf_printf(b, "%s\"%s\":{", sep, f->group);
				sep = ",";
				first_in_group = true;
			}
			group = f->group;
		}
		if (group) {
			mc_strbuf_printf(b, "%s\"%s\":", first_in_group ? "" : ",", f->key);
			first_in_group = false;
		} else {
			mc_strbuf_printf(b, "%s\"%s\":", sep, f->key);
			sep = ",";
		}
		json_value(b, f, o);
	}
	if (group)
		mc_strbuf_printf(b, "}");
}

/* "name":[{...},...] of a scope's objects (of one parent), with the child scope's objects inside each */
static void json_array(struct mc_strbuf *b, const struct mc_daemon *d, const struct mc_proc_figures *p,
		       const char *name, enum mc_fig_scope scope, enum mc_fig_scope child, const char *child_name,
		       struct mc_fig_obj *objs, struct mc_fig_obj *child_objs)
{
	int n = mc_fig_objects(d, p, scope, NULL, objs, MC_FIG_MAX_OBJS);
	mc_strbuf_printf(b, ",\"%s\":[", name);
	for (int i = 0; i < n; i++) {
		mc_strbuf_printf(b, "%s{", i ? "," : "");
		json_figs(b, scope, &objs[i], "");
		if (child != scope) {
			int m = mc_fig_objects(d, p, child, mc_fig_parent(scope, &objs[i]), child_objs, MC_FIG_MAX_OBJS);
			mc_strbuf_printf(b, ",\"%s\":[", child_name);
			for (int k = 0; k < m; k++) {
				mc_strbuf_printf(b, "%s{", k ? "," : "");
				json_figs(b, child, &child_objs[k], "");
				mc_strbuf_printf(b, "}");
			}
			mc_strbuf_printf(b, "]");
		}
		mc_strbuf_printf(b, "}");
	}
	mc_strbuf_printf(b, "]");
}

static void json_log(struct mc_strbuf *b)
{
	struct mc_log_entry e[MC_LOG_RECENT];
	int n = mc_log_recent(e, MC_LOG_RECENT);
	mc_strbuf_printf(b, ",\"warnings\":[");
	for (int i = 0; i < n; i++) {
		mc_strbuf_printf(b, "%s{\"time_s\":%.3f,\"level\":\"%s\",\"module\":", i ? "," : "", (double)e[i].wall_us / 1e6,
				 e[i].level == MC_LOG_ERROR ? "error" : "warn");
		mc_strbuf_json_string(b, e[i].module);
		mc_strbuf_printf(b, ",\"text\":");
		mc_strbuf_json_string(b, e[i].text);
		mc_strbuf_printf(b, "}");
	}
	mc_strbuf_printf(b, "]");
}

void mc_stats_json(const struct mc_daemon *d, struct mc_strbuf *b)
{
	struct mc_proc_figures p;
	mc_proc_figures_read(d, &p);
	struct mc_fig_obj *objs = malloc(2 * MC_FIG_MAX_OBJS * sizeof(*objs));
	if (!objs) {
		b->failed = true;
		return;
	}
	int n = mc_fig_objects(d, &p, MC_SCOPE_PROCESS, NULL, objs, MC_FIG_MAX_OBJS);
	mc_strbuf_printf(b, "{");
	if (n == 1)
		json_figs(b, MC_SCOPE_PROCESS, &objs[0], "");
	struct mc_fig_obj *child = objs + MC_FIG_MAX_OBJS;
	json_array(b, d, &p, "threads", MC_SCOPE_THREAD, MC_SCOPE_THREAD, NULL, objs, child);
	json_array(b, d, &p, "sources", MC_SCOPE_SOURCE, MC_SCOPE_SOURCE, NULL, objs, child);
	json_array(b, d, &p, "mixes", MC_SCOPE_MIX, MC_SCOPE_MIX_INPUT, "inputs", objs, child);
	json_array(b, d, &p, "tracks", MC_SCOPE_TRACK, MC_SCOPE_LAYER, "layers", objs, child);
	json_array(b, d, &p, "outputs", MC_SCOPE_OUTPUT, MC_SCOPE_OUTPUT_LAYER, "layers", objs, child);
	json_log(b);
	mc_strbuf_printf(b, "}\n");
	free(objs);
}

int mc_stats_write_file(const struct mc_daemon *d, const char *path)
{
	struct mc_strbuf b = { 0 };
	mc_stats_json(d, &b);
	int rc = 0;
	FILE *f = b.failed ? NULL : fopen(path, "we");
	if (!f || fwrite(b.data, 1, b.len, f) != b.len)
		rc = b.failed ? -ENOMEM : -errno;
	if (f && fclose(f) && !rc)
		rc = -errno;
	if (rc)
		mc_err("stats", "cannot write '%s': %s", path, strerror(-rc));
	mc_strbuf_free(&b);
	return rc;
}
