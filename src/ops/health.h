/* /healthz: is the daemon doing its job? Every track producing frames (each layer encoded one recently)
 * and every output sending (its network thread alive, packets of each layer leaving). Read on the HTTP
 * thread from the counters the other threads publish. */
#ifndef MC_HEALTH_H
#define MC_HEALTH_H

#include <stdbool.h>
#include <stdint.h>

#include "strbuf.h"

struct mc_daemon;
struct mc_track;
struct mc_layer;

/* How long a layer may go without an encoded frame: a few of its frame intervals (at least 1 s, so that
 * a loaded machine's stall is not an outage), plus the keyframe interval when unchanged frames are
 * skipped: a static screen is encoded once per keyframe interval, and that is producing. */
int64_t mc_health_deadline_us(const struct mc_track *t, const struct mc_layer *l);
/* The network thread's loop runs at least every 500 ms (its epoll time-out). */
#define MC_HEALTH_NET_DEADLINE_US 2000000

/* true when healthy; otherwise false with one line per problem appended to `why`. */
bool mc_health_check(const struct mc_daemon *d, int64_t now_us, struct mc_strbuf *why);
/* Healthy but degraded: a source without signal is still producing (its placeholder is encoded and sent,
 * which mc_health_check sees), so it does not fail the check; one line per such source is appended to
 * `notes`. Returns how many. */
int mc_health_degraded(const struct mc_daemon *d, int64_t now_us, struct mc_strbuf *notes);

#endif
