/* The daemon: builds sources, mixes, tracks, outputs and the network loop from a configuration, runs them until
 * a signal or the end of every source, then shuts down in order (sources, encoders, network with BYE). */
#ifndef MC_DAEMON_H
#define MC_DAEMON_H

#include <pthread.h>
#include <stdint.h>

#include "config.h"
#include "mixer.h"
#include "netloop.h"
#include "output.h"
#include "source.h"
#include "track.h"

struct mc_http;

struct mc_daemon {
	/* the configuration in effect: the one it started with, after a reload the merged one (src/ops/reload.c) */
	const struct mc_config *cfg;
	struct mc_config *cfg_reloaded; /* owned: what cfg points to after a reload; NULL before */
	const char *config_path;        /* re-read on SIGHUP */
	/* The HTTP thread reads the objects below; a reload adds and removes them (and changes their copies of
	 * the configuration) only while it holds this for writing, so a reader never sees a freed one. */
	pthread_rwlock_t lock;
	int n_sources, n_mixes, n_tracks, n_outputs;
	struct mc_source *sources[MC_MAX_SOURCES];
	struct mc_mixer *mixes[MC_MAX_MIXES]; /* in dependency order: a mix after the mixes it takes */
	struct mc_track *tracks[MC_MAX_TRACKS];
	struct mc_output *outputs[MC_MAX_OUTPUTS];
	const char *output_track[MC_MAX_OUTPUTS];
	struct mc_netloop net;
	struct mc_http *http;
	int ended_fd;
	int64_t start_us;
	bool running;          /* started: objects a reload adds are started at once */
	bool log_level_fixed;  /* --log-level: a reload keeps it */
};

struct mc_daemon_options {
	const char *config_path; /* for reloads: SIGHUP reads it again */
	const char *stats_out;   /* the final statistics as JSON at exit */
	const char *pid_file;    /* written at start, removed at exit (mixcastd --reload finds the daemon there) */
	bool log_level_fixed;    /* --log-level was given: a reload does not change the level */
};

/* Runs until stopped. Returns the process exit status: 0 after a clean stop, 2 when start-up failed. */
int mc_daemon_run(const struct mc_config *cfg, const struct mc_daemon_options *opt);

/* For a reload (src/ops/reload.c), on the daemon's thread. Each builds or tears down one object with what it
 * is wired to, and starts it when the daemon runs; the caller holds d->lock for writing. A source is
 * opened and started; a track attaches to its source (opened already); an output to its track. */
int mc_daemon_add_source(struct mc_daemon *d, const struct mc_source_config *sc);
int mc_daemon_add_track(struct mc_daemon *d, const struct mc_track_config *tc);
int mc_daemon_add_output(struct mc_daemon *d, const struct mc_output_config *oc);
/* Removing: an output sends what it has and BYE; a track first loses its outputs; a source its tracks. */
void mc_daemon_remove_output(struct mc_daemon *d, struct mc_output *o);
void mc_daemon_remove_track(struct mc_daemon *d, struct mc_track *t);
void mc_daemon_remove_source(struct mc_daemon *d, struct mc_source *s);
/* Whether a track of `cfg` takes the source `name` (one nobody uses is not opened). */
struct mc_source *mc_daemon_find_source(const struct mc_daemon *d, const char *name);
struct mc_track *mc_daemon_find_track(const struct mc_daemon *d, const char *name);
struct mc_output *mc_daemon_find_output(const struct mc_daemon *d, const char *name);
/* The track an output sends. */
struct mc_track *mc_daemon_output_track(const struct mc_daemon *d, const struct mc_output *o);

#endif
