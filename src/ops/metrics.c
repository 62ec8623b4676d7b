#include "metrics.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "figures.h"
#include "histogram.h"
#include "log.h"

/* Bucket bounds of the timing histograms: powers of two microseconds from 64 us to 16.8 s, bounds of our
 * own log-linear buckets, so the counts are exact (histogram.h). A value is an integer number of
 * microseconds; one exactly on a bound counts in the next bucket. */
#define N_EDGES 19
static const uint64_t edges_us[N_EDGES] = { 1u << 6,  1u << 7,  1u << 8,  1u << 9,  1u << 10, 1u << 11, 1u << 12,
					    1u << 13, 1u << 14, 1u << 15, 1u << 16, 1u << 17, 1u << 18, 1u << 19,
					    1u << 20, 1u << 21, 1u << 22, 1u << 23, 1u << 24 };

static void full_name(char *out, size_t n, const struct mc_fig_table *t, const struct mc_figure *f)
{
	const char *suffix = f->kind == MC_FIG_COUNTER ? "_total" : f->kind == MC_FIG_INFO ? "_info" : "";
	if (strncmp(f->name, "mixcast_", 8) == 0)
		snprintf(out, n, "%s%s", f->name, suffix);
	else
		snprintf(out, n, "%s_%s%s", t->prefix, f->name, suffix);
}

/* A label value: backslash, double quote and newline escaped (the text format's rules). */
static void label_value(struct mc_strbuf *b, const char *v)
{
	for (; *v; v++) {
		if (*v == '\\' || *v == '"')
			mc_strbuf_printf(b, "\\%c", *v);
		else if (*v == '\n')
			mc_strbuf_printf(b, "\\n");
		else
			mc_strbuf_printf(b, "%c", *v);
	}
}

/* {labels of the object, the figure's constant label, one more (name=value) if given} */
static void labels(struct mc_strbuf *b, const struct mc_figure *f, const struct mc_fig_obj *o, const char *name,
		   const char *value)
{
	const char *sep = "";
	if (!o->n_labels && !f->xlabel && !name)
		return;
	mc_strbuf_printf(b, "{");
	for (int i = 0; i < o->n_labels; i++) {
		mc_strbuf_printf(b, "%s%s=\"", sep, o->label_name[i]);
		label_value(b, o->label_value[i]);
		mc_strbuf_printf(b, "\"");
		sep = ",";
	}
	if (f->xlabel) {
		mc_strbuf_printf(b, "%s%s", sep, f->xlabel);
		sep = ",";
	}
	if (name) {
		mc_strbuf_printf(b, "%s%s=\"", sep, name);
		label_value(b, value);
		mc_strbuf_printf(b, "\"");
	}
	mc_strbuf_printf(b, "}");
}

static void sample(struct mc_strbuf *b, const char *name, const char *suffix, const struct mc_figure *f,
		   const struct mc_fig_obj *o, const char *lname, const char *lvalue, double v)
{
	mc_strbuf_printf(b, "%s%s", name, suffix);
	labels(b, f, o, lname, lvalue);
	mc_strbuf_printf(b, " %.15g\n", v);
}

static void samples(struct mc_strbuf *b, const char *name, const struct mc_figure *f, const struct mc_fig_obj *o)
{
	double scale = f->prom_scale ? f->prom_scale : 1;
	switch (f->kind) {
	case MC_FIG_COUNTER:
	case MC_FIG_GAUGE:
		sample(b, name, "", f, o, NULL, NULL, mc_fig_value(f, o) * scale);
		break;
	case MC_FIG_INFO: {
		char num[32];
		const char *v = f->str ? f->str(o) : (snprintf(num, sizeof(num), "%.0f", mc_fig_value(f, o)), num);
		sample(b, name, "", f, o, f->label, v, 1);
		break;
	}
	case MC_FIG_STATE: {
		int now = (int)mc_fig_value(f, o);
		for (int i = 0; f->state_name(i); i++)
			sample(b, name, "", f, o, f->label, f->state_name(i), i == now);
		break;
	}
	case MC_FIG_HISTOGRAM: {
		const struct mc_histogram *h = mc_fig_hist(f, o);
		uint64_t counts[N_EDGES], total = 0, sum = 0;
		if (!h || mc_hist_cumulative(h, edges_us, N_EDGES, counts, &total, &sum))
			return;
		char le[32];
		for (int i = 0; i < N_EDGES; i++) {
			snprintf(le, sizeof(le), "%.9g", (double)edges_us[i] * 1e-6);
			sample(b, name, "_bucket", f, o, "le", le, (double)counts[i]);
		}
		sample(b, name, "_bucket", f, o, "le", "+Inf", (double)total);
		sample(b, name, "_sum", f, o, NULL, NULL, (double)sum * 1e-6);
		sample(b, name, "_count", f, o, NULL, NULL, (double)total);
		break;
	}
	}
}

static const char *type_name(enum mc_fig_kind k)
{
	switch (k) {
	case MC_FIG_COUNTER: return "counter";
	case MC_FIG_HISTOGRAM: return "histogram";
	default: return "gauge"; /* info and state sets are gauges in the 0.0.4 format */
	}
}

/* One family: every figure of the table with f's name (a family's members differ by xlabel), over the objects. */
static void family(struct mc_strbuf *b, const struct mc_fig_table *t, int first, const struct mc_fig_obj *objs, int n)
{
	const struct mc_figure *f = &t->figs[first];
	bool any = false;
	const char *help = NULL;
	for (int k = first; k < t->n; k++) {
		const struct mc_figure *g = &t->figs[k];
		if (!g->name || strcmp(g->name, f->name) != 0)
			continue;
		help = help ? help : g->help;
		for (int i = 0; i < n && !any; i++)
			any = mc_fig_present(g, &objs[i]);
	}
	if (!any)
		return;
	char name[128];
	full_name(name, sizeof(name), t, f);
	mc_strbuf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help ? help : f->key, name, type_name(f->kind));
	for (int k = first; k < t->n; k++) {
		const struct mc_figure *g = &t->figs[k];
		if (!g->name || strcmp(g->name, f->name) != 0)
			continue;
		for (int i = 0; i < n; i++)
			if (mc_fig_present(g, &objs[i]))
				samples(b, name, g, &objs[i]);
	}
}

static void log_counts(struct mc_strbuf *b)
{
	mc_strbuf_printf(b, "# HELP mixcast_log_messages_total Warnings and errors logged\n"
			    "# TYPE mixcast_log_messages_total counter\n"
			    "mixcast_log_messages_total{level=\"error\"} %llu\nmixcast_log_messages_total{level=\"warn\"} %llu\n",
			 (unsigned long long)mc_log_count(MC_LOG_ERROR), (unsigned long long)mc_log_count(MC_LOG_WARN));
}

void mc_metrics_text(const struct mc_daemon *d, struct mc_strbuf *b)
{
	struct mc_proc_figures p;
	mc_proc_figures_read(d, &p);
	struct mc_fig_obj *objs = malloc(MC_FIG_MAX_OBJS * sizeof(*objs));
	if (!objs) {
		b->failed = true;
		return;
	}
	for (int s = 0; s < MC_SCOPE_N; s++) {
		const struct mc_fig_table *t = &mc_fig_tables[s];
		int n = mc_fig_objects(d, &p, (enum mc_fig_scope)s, NULL, objs, MC_FIG_MAX_OBJS);
		for (int i = 0; i < t->n; i++) {
			const struct mc_figure *f = &t->figs[i];
			if (!f->name)
				continue;
			bool seen = false; /* printed with an earlier member of its family */
			for (int k = 0; k < i && !seen; k++)
				seen = t->figs[k].name && strcmp(t->figs[k].name, f->name) == 0;
			if (!seen)
				family(b, t, i, objs, n);
		}
	}
	log_counts(b);
	free(objs);
}
