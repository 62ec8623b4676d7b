/* mixcastd: command line, configuration, then the daemon. */
#include <errno.h>
#include <getopt.h>
#include <libavutil/log.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "daemon.h"
#include "log.h"

static void usage(FILE *f)
{
	fprintf(f, "usage: mixcastd -c FILE [--check-config] [--log-level LEVEL] [--stats-out FILE]\n"
		   "  -c, --config FILE     configuration (INI; see docs/CONFIG.md)\n"
		   "      --check-config    validate the configuration and its files, then exit\n"
		   "      --log-level LEVEL error, warn, info or debug (overrides [daemon] log_level)\n"
		   "      --stats-out FILE  write the final statistics as JSON at exit\n"
		   "  -h, --help, --version\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },  { "check-config", no_argument, NULL, 'k' },
		{ "log-level", required_argument, NULL, 'l' }, { "stats-out", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },          { "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	const char *config = NULL, *stats_out = NULL, *level = NULL;
	bool check = false;
	int c;
	mc_log_init();
	while ((c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		switch (c) {
		case 'c': config = optarg; break;
		case 'k': check = true; break;
		case 'l': level = optarg; break;
		case 's': stats_out = optarg; break;
		case 'h': usage(stdout); return 0;
		case 'V': printf("mixcastd %s\n", MIXCAST_VERSION); return 0;
		default: usage(stderr); return 1;
		}
	}
	if (!config || optind < argc) {
		usage(stderr);
		return 1;
	}
	enum mc_log_level lvl = MC_LOG_INFO;
	if (level && mc_log_level_parse(level, &lvl)) {
		fprintf(stderr, "mixcastd: --log-level: expected error, warn, info or debug, got '%s'\n", level);
		return 1;
	}
	if (level)
		mc_log_set_level(lvl);

	struct mc_config *cfg;
	int errors = 0;
	int rc = mc_config_load(config, &cfg, &errors);
	if (rc) {
		mc_err("config", "%s: %d error(s); %s", config, errors ? errors : 1,
		       check ? "the configuration is not valid" : "not starting");
		return 1;
	}
	if (check) {
		printf("%s: configuration OK (%d source(s), %d mix(es), %d track(s), %d output(s))\n", config, cfg->n_sources,
		       cfg->n_mixes, cfg->n_tracks, cfg->n_outputs);
		mc_config_free(cfg);
		return 0;
	}
	if (!level)
		mc_log_set_level((enum mc_log_level)cfg->daemon.log_level);
	/* FFmpeg's own messages only when they matter (libx264 prints its settings at info level) */
	av_log_set_level(mc_log_get_level() >= MC_LOG_DEBUG ? AV_LOG_INFO : AV_LOG_ERROR);
	int status = mc_daemon_run(cfg, stats_out);
	mc_config_free(cfg);
	return status;
}
