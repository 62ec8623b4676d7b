#include "notify.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-daemon.h>
#include <time.h>

#include "daemon.h"
#include "log.h"

#define MOD "notify"
#define READY_POLL_MS 20 /* until READY=1: how soon after the first packets it goes out */

void mc_notify_init(struct mc_notify *n)
{
	*n = (struct mc_notify){ 0 };
	const char *sock = getenv("NOTIFY_SOCKET");
	n->enabled = sock && *sock;
	uint64_t usec = 0;
	/* > 0 only when WATCHDOG_USEC is set (and WATCHDOG_PID, if set, is this process) */
	if (n->enabled && sd_watchdog_enabled(0, &usec) > 0 && usec > 0)
		n->watchdog_us = (int64_t)usec;
	if (n->watchdog_us)
		mc_info(MOD, "systemd watchdog: %.1f s; pinging every %.1f s while the media threads progress",
			(double)n->watchdog_us / 1e6, (double)n->watchdog_us / 2e6);
}

int mc_notify_timeout_ms(const struct mc_notify *n, int64_t now_us)
{
	if (!n->enabled)
		return -1;
	if (!n->ready)
		return READY_POLL_MS;
	int64_t ms = 1000; /* STATUS= follows the sources' states */
	if (n->watchdog_us) {
		int64_t due = (n->next_check_us - now_us + 999) / 1000;
		ms = due < ms ? (due > 0 ? due : 0) : ms;
	}
	return (int)ms;
}

static int layers_sent(const struct mc_output *o)
{
	int sent = 0;
	for (int l = 0; l < o->n_layers; l++)
		sent += mc_count_get(&o->layer_stats[l].last_sent_us) != 0;
	return sent;
}

static bool all_sent(const struct mc_daemon *d)
{
	for (int i = 0; i < d->n_outputs; i++)
		if (layers_sent(d->outputs[i]) < d->outputs[i]->n_layers)
			return false;
	return true;
}

/* One line for `systemctl status`: what is streaming where, what is missing. */
static void make_status(const struct mc_daemon *d, bool ready, const char *stall, char *buf, size_t len)
{
	struct mc_strbuf b = { 0 };
	if (stall) {
		mc_strbuf_printf(&b, "stalled: %s; watchdog pings stopped", stall);
	} else if (!ready) {
		mc_strbuf_printf(&b, "starting: waiting for the first packets (");
		for (int i = 0; i < d->n_outputs; i++)
			mc_strbuf_printf(&b, "%soutput %s: %d of %d layers sent", i ? ", " : "", d->outputs[i]->cfg->name,
					 layers_sent(d->outputs[i]), d->outputs[i]->n_layers);
		mc_strbuf_printf(&b, ")");
	} else if (d->n_outputs == 0) {
		mc_strbuf_printf(&b, "encoding %d track(s), no output", d->n_tracks);
	} else {
		mc_strbuf_printf(&b, "streaming");
		for (int i = 0; i < d->n_outputs; i++) {
			const struct mc_output *o = d->outputs[i];
			mc_strbuf_printf(&b, "%s %d layer%s to %s", i ? "," : "", o->n_layers, o->n_layers == 1 ? "" : "s",
					 o->cfg->host);
			if (d->n_outputs > 1)
				mc_strbuf_printf(&b, " (%s)", o->cfg->name);
		}
	}
	for (int i = 0; i < d->n_sources; i++)
		if (mc_producer_ended(&d->sources[i]->out))
			mc_strbuf_printf(&b, "; source %s: %s", d->sources[i]->cfg->name,
					 __atomic_load_n(&d->sources[i]->out.failed, __ATOMIC_RELAXED) ? "failed" : "ended");
		else if (mc_count_get(&d->sources[i]->stats.state) == MC_SOURCE_NO_SIGNAL)
			mc_strbuf_printf(&b, "; source %s: no signal, retrying", d->sources[i]->cfg->name);
	snprintf(buf, len, "%s", b.data && !b.failed ? b.data : "running");
	mc_strbuf_free(&b);
}

static void send_status(struct mc_notify *n, const char *status, bool ready_now)
{
	if (!ready_now && strcmp(status, n->status) == 0)
		return;
	snprintf(n->status, sizeof(n->status), "%s", status);
	int rc = sd_notifyf(0, "%sSTATUS=%s", ready_now ? "READY=1\n" : "", status);
	if (rc < 0)
		mc_warn(MOD, "sd_notify: %s", strerror(-rc));
}

/* The watchdog: ping only when every media thread progressed; log each change of state once. */
static void watchdog_tick(struct mc_notify *n, const struct mc_daemon *d, int64_t now_us, struct mc_strbuf *why)
{
	n->next_check_us = now_us + n->watchdog_us / 2;
	bool ok = mc_watchdog_check(&n->wd, d, now_us, n->watchdog_us / 2, why);
	if (ok)
		sd_notify(0, "WATCHDOG=1");
	if (ok == !n->stalled)
		return;
	n->stalled = !ok;
	if (ok)
		mc_info(MOD, "the media threads progress again: watchdog pings resume");
	else
		mc_err(MOD, "stalled, watchdog pings stop (systemd restarts the daemon after WatchdogSec=): %s",
		       why->data ? why->data : "?");
}

void mc_notify_tick(struct mc_notify *n, const struct mc_daemon *d, int64_t now_us)
{
	if (!n->enabled)
		return;
	struct mc_strbuf why = { 0 };
	if (n->watchdog_us && now_us >= n->next_check_us)
		watchdog_tick(n, d, now_us, &why);
	bool ready_now = !n->ready && all_sent(d);
	if (ready_now) {
		n->ready = true;
		mc_info(MOD, "the first packets of every output have left: READY=1");
	}
	char stall[256] = "";
	if (n->stalled && why.data) {
		snprintf(stall, sizeof(stall), "%s", why.data);
		stall[strcspn(stall, "\n")] = '\0';
	}
	char status[sizeof(n->status)];
	if (n->stalled && !stall[0]) /* between checks: keep the reason of the last one */
		snprintf(status, sizeof(status), "%s", n->status);
	else
		make_status(d, n->ready, stall[0] ? stall : NULL, status, sizeof(status));
	send_status(n, status, ready_now);
	mc_strbuf_free(&why);
}

void mc_notify_reloading(struct mc_notify *n)
{
	if (!n->enabled)
		return;
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	unsigned long long usec = (unsigned long long)ts.tv_sec * 1000000ull + (unsigned long long)ts.tv_nsec / 1000;
	int rc = sd_notifyf(0, "RELOADING=1\nMONOTONIC_USEC=%llu\nSTATUS=reloading the configuration", usec);
	if (rc < 0)
		mc_warn(MOD, "sd_notify: %s", strerror(-rc));
	snprintf(n->status, sizeof(n->status), "reloading the configuration");
}

void mc_notify_reloaded(struct mc_notify *n, const char *status)
{
	if (!n->enabled)
		return;
	/* the sources may have other indexes now: the next check takes their frame counts afresh */
	n->wd.checked = false;
	/* READY=1 only if it was sent before: a reload before the first packets left does not make it early */
	int rc = sd_notifyf(0, "%sSTATUS=%s", n->ready ? "READY=1\n" : "", status);
	if (rc < 0)
		mc_warn(MOD, "sd_notify: %s", strerror(-rc));
	snprintf(n->status, sizeof(n->status), "%s", status);
}

void mc_notify_stopping(struct mc_notify *n, const char *why)
{
	if (n->enabled)
		sd_notifyf(0, "STOPPING=1\nSTATUS=stopping: %s", why);
}
