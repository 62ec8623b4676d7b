#include "http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config.h"
#include "daemon.h"
#include "health.h"
#include "log.h"
#include "metrics.h"
#include "snapshot.h"
#include "status_page.h"
#include "stats.h"

#ifdef HAVE_MICROHTTPD
#include <microhttpd.h>

struct mc_http {
	struct MHD_Daemon *mhd;
	const struct mc_daemon *d;
	const char *token; /* "" : none */
	struct mc_snapshots *snapshots;
};

/* Constant time in the token's content, so that the answer's timing does not tell how much of a guess was right. */
static bool token_ok(struct MHD_Connection *c, const char *token)
{
	const char *auth = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
	if (!auth || strncasecmp(auth, "Bearer ", 7) != 0)
		return false;
	auth += 7;
	size_t n = strlen(token), m = strlen(auth);
	unsigned char diff = n != m;
	for (size_t i = 0; i < n; i++)
		diff |= (unsigned char)token[i] ^ (unsigned char)(i < m ? auth[i] : 0);
	return diff == 0;
}

static enum MHD_Result reply(struct MHD_Connection *c, unsigned status, const char *type, char *body, size_t len)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
	if (!r) {
		free(body);
		return MHD_NO;
	}
	MHD_add_response_header(r, "Content-Type", type);
	MHD_add_response_header(r, "Cache-Control", "no-store");
	enum MHD_Result ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result text(struct MHD_Connection *c, unsigned status, const char *msg)
{
	char *body = strdup(msg);
	return body ? reply(c, status, "text/plain", body, strlen(body)) : MHD_NO;
}

static enum MHD_Result snapshot(struct mc_http *h, struct MHD_Connection *c)
{
	const char *track = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "track");
	const char *source = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "source");
	if (!track == !source)
		return text(c, MHD_HTTP_BAD_REQUEST, "expected ?track=NAME or ?source=NAME\n");
	uint8_t *jpeg = NULL;
	size_t len = 0;
	int rc = mc_snapshot_get(h->snapshots, source != NULL, source ? source : track, &jpeg, &len);
	if (rc == -ENOENT)
		return text(c, MHD_HTTP_NOT_FOUND, source ? "no such source\n" : "no such track\n");
	if (rc == -EAGAIN)
		return text(c, MHD_HTTP_SERVICE_UNAVAILABLE, "no picture yet (no frame within 1 s)\n");
	if (rc)
		return text(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "cannot encode the picture\n");
	return reply(c, MHD_HTTP_OK, "image/jpeg", (char *)jpeg, len);
}

static enum MHD_Result page(struct MHD_Connection *c)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(strlen(mc_status_page_html), (void *)mc_status_page_html,
								 MHD_RESPMEM_PERSISTENT);
	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, "Content-Type", "text/html; charset=utf-8");
	/* nothing from elsewhere, even if the page were changed to ask for it */
	MHD_add_response_header(r, "Content-Security-Policy", "default-src 'none'; script-src 'unsafe-inline'; "
				"style-src 'unsafe-inline'; img-src blob:; connect-src 'self'");
	enum MHD_Result ret = MHD_queue_response(c, MHD_HTTP_OK, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result handle(struct mc_http *h, struct MHD_Connection *c, const char *url, const char *method);
/* A reload changes the objects the handlers read only while it holds the daemon's lock for writing. */
static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
				  const char *version, const char *upload, size_t *upload_size, void **state)
{
	struct mc_http *h = cls;
	struct mc_daemon *d = (struct mc_daemon *)h->d;
	pthread_rwlock_rdlock(&d->lock);
	enum MHD_Result r = handle(h, c, url, method);
	pthread_rwlock_unlock(&d->lock);
	return r;
}

static enum MHD_Result handle(struct mc_http *h, struct MHD_Connection *c, const char *url, const char *method)
{
	if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
		return reply(c, MHD_HTTP_METHOD_NOT_ALLOWED, "text/plain", strdup("GET only\n"), 9);
	/* the page holds no figures: it fetches them with the token it is given (status_page.h) */
	if (strcmp(url, "/") == 0)
		return page(c);
	if (h->token[0] && !token_ok(c, h->token)) {
		struct MHD_Response *r = MHD_create_response_from_buffer(13, (void *)"unauthorized\n", MHD_RESPMEM_PERSISTENT);
		if (!r)
			return MHD_NO;
		MHD_add_response_header(r, "Content-Type", "text/plain");
		MHD_add_response_header(r, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer realm=\"mixcast\"");
		enum MHD_Result ret = MHD_queue_response(c, MHD_HTTP_UNAUTHORIZED, r);
		MHD_destroy_response(r);
		return ret;
	}
	if (strcmp(url, "/stats") == 0) {
		struct mc_strbuf b = { 0 };
		mc_stats_json(h->d, &b);
		if (b.failed) {
			mc_strbuf_free(&b);
			return MHD_NO;
		}
		return reply(c, MHD_HTTP_OK, "application/json", b.data, b.len);
	}
	if (strcmp(url, "/metrics") == 0) {
		struct mc_strbuf b = { 0 };
		mc_metrics_text(h->d, &b);
		if (b.failed) {
			mc_strbuf_free(&b);
			return MHD_NO;
		}
		return reply(c, MHD_HTTP_OK, MC_METRICS_CONTENT_TYPE, b.data, b.len);
	}
	if (strcmp(url, "/snapshot.jpg") == 0)
		return snapshot(h, c);
	if (strcmp(url, "/healthz") == 0) {
		struct mc_strbuf b = { 0 };
		mc_strbuf_printf(&b, "unhealthy:\n");
		int64_t now = mc_now_us();
		if (mc_health_check(h->d, now, &b)) {
			mc_strbuf_free(&b);
			/* still 200: a source on its placeholder is producing; the body says it is degraded */
			struct mc_strbuf n = { 0 };
			mc_strbuf_printf(&n, "ok, degraded:\n");
			if (mc_health_degraded(h->d, now, &n) == 0 || n.failed) {
				mc_strbuf_free(&n);
				return reply(c, MHD_HTTP_OK, "text/plain", strdup("ok\n"), 3);
			}
			return reply(c, MHD_HTTP_OK, "text/plain", n.data, n.len);
		}
		if (b.failed) {
			mc_strbuf_free(&b);
			return MHD_NO;
		}
		return reply(c, MHD_HTTP_SERVICE_UNAVAILABLE, "text/plain", b.data, b.len);
	}
	return text(c, MHD_HTTP_NOT_FOUND, "not found: try /, /stats, /metrics, /healthz or /snapshot.jpg?track=NAME\n");
}

int mc_http_start(struct mc_http **out, const struct mc_daemon_config *dc, const struct mc_daemon *d)
{
	*out = NULL;
	const char *listen = dc->stats_listen;
	struct sockaddr_in addr = { .sin_family = AF_INET, .sin_port = htons(dc->stats_port),
				    .sin_addr.s_addr = dc->stats_addr };
	if (!dc->stats_port)
		return -EINVAL; /* the config sets both or neither */
	struct mc_http *h = calloc(1, sizeof(*h));
	if (!h)
		return -ENOMEM;
	h->d = d;
	h->token = dc->stats_token;
	h->snapshots = mc_snapshots_create(d);
	if (!h->snapshots) {
		free(h);
		return -ENOMEM;
	}
	/* a thread per connection: a snapshot waiting for its frame holds up no other request */
	h->mhd = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION | MHD_USE_ERROR_LOG, 0,
				  NULL, NULL, on_request, h,
				  MHD_OPTION_SOCK_ADDR, &addr, MHD_OPTION_CONNECTION_LIMIT, 16,
				  MHD_OPTION_CONNECTION_TIMEOUT, 10, MHD_OPTION_END);
	if (!h->mhd) {
		mc_err("http", "cannot listen on %s (in use, or not an address of this machine)", listen);
		mc_snapshots_destroy(h->snapshots);
		free(h);
		return -EADDRINUSE;
	}
	mc_info("http", "stats on http://%s/stats", listen);
	*out = h;
	return 0;
}

void mc_http_stop(struct mc_http *h)
{
	if (!h)
		return;
	MHD_stop_daemon(h->mhd);
	mc_snapshots_destroy(h->snapshots);
	free(h);
}

#else

int mc_http_start(struct mc_http **out, const struct mc_daemon_config *dc, const struct mc_daemon *d)
{
	*out = NULL;
	mc_err("http", "stats_listen is set, but this build has no libmicrohttpd");
	return -ENOTSUP;
}

void mc_http_stop(struct mc_http *h) { (void)h; }

#endif
