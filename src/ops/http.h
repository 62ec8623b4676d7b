/* The stats endpoint (libmicrohttpd, a thread per connection): GET / (status page), /stats (JSON), /metrics
 * (Prometheus), /healthz and /snapshot.jpg. Loopback by default; with [daemon] stats_token every request but
 * the page needs "Authorization: Bearer TOKEN" (else 401). Handlers read the live objects only through
 * figures.c (mc_counter, atomics) and the snapshot tap (tap.h), never a lock a media thread waits on. */
#ifndef MC_HTTP_H
#define MC_HTTP_H

struct mc_daemon;
struct mc_daemon_config;
struct mc_http;

/* Listens on the address and port of stats_listen (parsed by the config). -ENOTSUP when built without
 * libmicrohttpd. */
int mc_http_start(struct mc_http **out, const struct mc_daemon_config *dc, const struct mc_daemon *d);
void mc_http_stop(struct mc_http *h);

#endif
