/* /metrics: the figures of figures.c in the Prometheus text exposition format (version 0.0.4). */
#ifndef MC_METRICS_H
#define MC_METRICS_H

#include "strbuf.h"

struct mc_daemon;

#define MC_METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

void mc_metrics_text(const struct mc_daemon *d, struct mc_strbuf *out);

#endif
