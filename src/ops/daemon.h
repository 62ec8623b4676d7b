/* The daemon: builds sources, mixes, tracks, outputs and the network loop from a configuration, runs them until
 * a signal or the end of every source, then shuts down in order (sources, encoders, network with BYE). */
#ifndef MC_DAEMON_H
#define MC_DAEMON_H

#include <stdint.h>

#include "config.h"
#include "mixer.h"
#include "netloop.h"
#include "output.h"
#include "source.h"
#include "track.h"

struct mc_http;

struct mc_daemon {
	const struct mc_config *cfg;
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
};

/* Runs until stopped. Returns the process exit status: 0 after a clean stop, 2 when start-up failed. */
int mc_daemon_run(const struct mc_config *cfg, const char *stats_out);

#endif
