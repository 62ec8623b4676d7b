/* Statistics of a running daemon as JSON (the HTTP /stats endpoint and --stats-out). Read from any thread:
 * the counters are mc_counter and flags are read with __atomic loads, no locks (a value may be one update old). */
#ifndef MC_STATS_H
#define MC_STATS_H

#include "strbuf.h"

struct mc_daemon;

void mc_stats_json(const struct mc_daemon *d, struct mc_strbuf *out);
int mc_stats_write_file(const struct mc_daemon *d, const char *path);

#endif
