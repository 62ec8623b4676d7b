/* The one description of a running daemon's figures: a table of descriptors per scope (the process, its
 * threads, each source, mix, mix input, track, layer, output and output layer), each naming the figure's JSON key, its
 * Prometheus name, type, unit and help, and how to read it. /stats (stats.c) and /metrics (metrics.c) are
 * both printed from these tables, so a figure added here appears in both.
 * Read from any thread: values are mc_counter, histograms and __atomic flags (stats.h). */
#ifndef MC_FIGURES_H
#define MC_FIGURES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct mc_daemon;
struct mc_histogram;
struct mc_layer;
struct mc_mixer;
struct mc_output;
struct mc_source;
struct mc_thread_cpu;
struct mc_track;

enum mc_fig_kind {
	MC_FIG_COUNTER,   /* only grows: Prometheus name + "_total" */
	MC_FIG_GAUGE,     /* a current value (a bool is 0/1) */
	MC_FIG_HISTOGRAM, /* an mc_histogram of microseconds: JSON a summary, Prometheus _bucket/_sum/_count */
	MC_FIG_INFO,      /* a string (or an identifier): JSON the value, Prometheus "_info{label=value} 1" */
	MC_FIG_STATE,     /* one of state_name(0..): JSON the name, Prometheus one 0/1 line per state */
};

enum mc_fig_json {
	MC_JSON_INT = 0,
	MC_JSON_F1,   /* one decimal */
	MC_JSON_F3,
	MC_JSON_F4,
	MC_JSON_BOOL,
	MC_JSON_NONE, /* Prometheus only */
};

enum mc_fig_scope {
	MC_SCOPE_PROCESS,
	MC_SCOPE_THREAD,
	MC_SCOPE_SOURCE,
	MC_SCOPE_MIX,
	MC_SCOPE_MIX_INPUT,
	MC_SCOPE_TRACK,
	MC_SCOPE_LAYER,
	MC_SCOPE_OUTPUT,
	MC_SCOPE_OUTPUT_LAYER,
	MC_SCOPE_N,
};

/* What an mc_counter or mc_histogram figure's `off` is counted from. */
enum mc_fig_base {
	MC_BASE_NONE = 0, /* get() */
	MC_BASE_SOURCE,   /* struct mc_source */
	MC_BASE_MIX,      /* struct mc_mixer */
	MC_BASE_TRACK,    /* struct mc_track */
	MC_BASE_LAYER,    /* struct mc_layer */
	MC_BASE_OUTPUT,   /* struct mc_output */
	MC_BASE_CC,       /* struct mc_output_cc (outputs with congestion control) */
	MC_BASE_OUT_LAYER,/* struct mc_output_layer_stats of the output layer */
	MC_BASE_FB_LAYER, /* struct mc_feedback_layer_stats of the output layer */
};

#define MC_FIG_MAX_LABELS 3

/* Process figures, read once per reply. */
struct mc_proc_figures {
	double cpu_user_s, cpu_sys_s, start_time_s, uptime_s;
	double rss_bytes, vsize_bytes, open_fds, max_fds;
	long rss_peak_kb;
};

/* One object figures are read from, with its Prometheus labels (name=value). */
struct mc_fig_obj {
	const struct mc_daemon *d;
	const struct mc_proc_figures *proc;
	const struct mc_source *s;
	const struct mc_mixer *m;
	struct mc_track *t;
	struct mc_layer *l;
	const struct mc_output *o;
	int index; /* the layer's, the mix input's */
	const struct mc_thread_cpu *cpu;
	int n_labels;
	const char *label_name[MC_FIG_MAX_LABELS];
	char label_value[MC_FIG_MAX_LABELS][96];
};

struct mc_figure {
	const char *key;   /* JSON key; NULL: Prometheus only */
	const char *group; /* the JSON sub-object the key is in ("timing_us", "feedback"), NULL: none */
	const char *name;  /* Prometheus: mixcast_<scope>_<name> (process_<name> in the process scope), with the
			    * unit; "_total" is added to counters. Figures with the same name are one family told
			    * apart by `xlabel`. NULL: JSON only */
	enum mc_fig_kind kind;
	enum mc_fig_json json;
	const char *help;
	const char *xlabel; /* a constant label of this member of a family: `reason="mailbox"` */
	const char *label;  /* MC_FIG_INFO: the label that carries the value */
	double json_scale, prom_scale; /* applied to the raw value; 0 means 1 (histograms: us in JSON, s in Prometheus) */
	enum mc_fig_base base;
	size_t off;
	double (*get)(const struct mc_fig_obj *o);
	const char *(*str)(const struct mc_fig_obj *o);   /* MC_FIG_INFO / STATE JSON value, when a string */
	const char *(*state_name)(int i);                 /* MC_FIG_STATE: the names, NULL after the last */
	bool (*present)(const struct mc_fig_obj *o);      /* NULL: always */
};

struct mc_fig_table {
	const char *prefix; /* Prometheus: "mixcast_source" */
	const struct mc_figure *figs;
	int n;
};

extern const struct mc_fig_table mc_fig_tables[MC_SCOPE_N];

void mc_proc_figures_read(const struct mc_daemon *d, struct mc_proc_figures *p);

/* The objects of a scope, in /stats order: fills up to `max` (every scope fits MC_FIG_MAX_OBJS) and returns
 * their number. `parent` limits a layer scope to one track or output (NULL: all). */
#define MC_FIG_MAX_OBJS 256
int mc_fig_objects(const struct mc_daemon *d, const struct mc_proc_figures *p, enum mc_fig_scope scope,
		   const void *parent, struct mc_fig_obj *out, int max);

/* The object whose children (layers, a mix's inputs) a scope's child scope lists. */
const void *mc_fig_parent(enum mc_fig_scope scope, const struct mc_fig_obj *o);

bool mc_fig_present(const struct mc_figure *f, const struct mc_fig_obj *o);
/* The raw value (counters, gauges, numeric info/state); histograms: NULL unless kind is MC_FIG_HISTOGRAM. */
double mc_fig_value(const struct mc_figure *f, const struct mc_fig_obj *o);
const struct mc_histogram *mc_fig_hist(const struct mc_figure *f, const struct mc_fig_obj *o);

#endif
