/* The stats endpoint (libmicrohttpd, its own thread): GET /stats (JSON) and /healthz. Loopback by default. */
#ifndef MC_HTTP_H
#define MC_HTTP_H

struct mc_daemon;
struct mc_http;

/* `listen` is "ADDR:PORT" (IPv4). -ENOTSUP when built without libmicrohttpd. */
int mc_http_start(struct mc_http **out, const char *listen, const struct mc_daemon *d);
void mc_http_stop(struct mc_http *h);

#endif
