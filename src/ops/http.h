/* The stats endpoint (libmicrohttpd, its own thread): GET /stats (JSON) and /healthz. Loopback by default. */
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
