/* mixcastd: command line, configuration, then the daemon. */
#include <errno.h>
#include <getopt.h>
#include <libavutil/log.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "daemon.h"
#include "log.h"

static void usage(FILE *f)
{
	fprintf(f, "usage: mixcastd -c FILE [--check-config] [--log-level LEVEL] [--stats-out FILE] [--pid-file FILE]\n"
		   "       mixcastd --reload (--pid-file FILE | --pid PID) [-c FILE]\n"
		   "  -c, --config FILE     configuration (INI; see docs/CONFIG.md)\n"
		   "      --check-config    validate the configuration and its files, then exit\n"
		   "      --log-level LEVEL error, warn, info or debug (overrides [daemon] log_level)\n"
		   "      --stats-out FILE  write the final statistics as JSON at exit\n"
		   "      --pid-file FILE   the daemon writes its pid there (and removes it at exit)\n"
		   "      --reload          make the running daemon (its --pid-file, or --pid) reload its\n"
		   "                        configuration (SIGHUP); with -c, the file is checked first\n"
		   "  -h, --help, --version\n");
}

/* --reload: the running daemon's pid from its pid file or --pid, then SIGHUP. systemd's units do the same
 * with ExecReload=kill -HUP $MAINPID. */
static int send_reload(const char *pid_file, const char *pid_arg)
{
	char buf[32] = "";
	const char *text = pid_arg;
	if (!text) {
		FILE *f = fopen(pid_file, "re");
		if (!f || !fgets(buf, sizeof(buf), f)) {
			fprintf(stderr, "mixcastd: --reload: cannot read the pid file %s: %s\n", pid_file,
				f ? "empty" : strerror(errno));
			if (f)
				fclose(f);
			return 1;
		}
		fclose(f);
		text = buf;
	}
	char *end;
	errno = 0;
	long pid = strtol(text, &end, 10);
	if (errno || end == text || (*end && *end != '\n') || pid < 2) {
		fprintf(stderr, "mixcastd: --reload: not a pid: '%s'%s%s\n", text, pid_file ? " in " : "",
			pid_file ? pid_file : "");
		return 1;
	}
	if (kill((pid_t)pid, SIGHUP) != 0) {
		fprintf(stderr, "mixcastd: --reload: cannot signal pid %ld: %s\n", pid, strerror(errno));
		return 1;
	}
	printf("mixcastd: asked pid %ld to reload its configuration (its log says what it applied)\n", pid);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },  { "check-config", no_argument, NULL, 'k' },
		{ "log-level", required_argument, NULL, 'l' }, { "stats-out", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },          { "version", no_argument, NULL, 'V' },
		{ "reload", no_argument, NULL, 'r' },        { "pid-file", required_argument, NULL, 'p' },
		{ "pid", required_argument, NULL, 'P' },
		{ NULL, 0, NULL, 0 },
	};
	const char *config = NULL, *stats_out = NULL, *level = NULL, *pid_file = NULL, *pid = NULL;
	bool check = false, reload = false;
	int c;
	mc_log_init();
	while ((c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		switch (c) {
		case 'c': config = optarg; break;
		case 'k': check = true; break;
		case 'l': level = optarg; break;
		case 's': stats_out = optarg; break;
		case 'r': reload = true; break;
		case 'p': pid_file = optarg; break;
		case 'P': pid = optarg; break;
		case 'h': usage(stdout); return 0;
		case 'V': printf("mixcastd %s\n", MIXCAST_VERSION); return 0;
		default: usage(stderr); return 1;
		}
	}
	if (reload && optind == argc && (pid_file || pid) && !(pid_file && pid) && !check && !stats_out) {
		if (config) { /* refuse early what the daemon would refuse: the caller sees the errors */
			struct mc_config *cfg;
			if (mc_config_load(config, &cfg, NULL)) {
				fprintf(stderr, "mixcastd: --reload: %s is not valid; the daemon was not asked\n", config);
				return 1;
			}
			mc_config_free(cfg);
		}
		return send_reload(pid_file, pid);
	}
	if (!config || optind < argc || reload || pid) {
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
	struct mc_daemon_options opt = { .config_path = config, .stats_out = stats_out, .pid_file = pid_file,
					 .log_level_fixed = level != NULL };
	int status = mc_daemon_run(cfg, &opt);
	mc_config_free(cfg);
	return status;
}
