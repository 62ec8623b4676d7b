/* systemd's service notification protocol (sd_notify(3), through libsystemd), for Type=notify and
 * WatchdogSec=. All on the daemon's main thread, from what the other threads publish:
 * - READY=1 once the first packet of every layer of every output has left (the network thread sets each
 *   layer's last_sent_us after the kernel took the packet), so `systemctl start` returns when the stream
 *   flows, and fails (TimeoutStartSec=) when it never does;
 * - STATUS= with the state ("streaming 3 layers to 10.0.0.5"), sent when it changes;
 * - WATCHDOG=1 every WATCHDOG_USEC/2, but only while the media threads make progress (src/ops/watchdog.h):
 *   a stalled encoder thread stops the pings, and systemd restarts the daemon (Restart=on-failure).
 * Without NOTIFY_SOCKET (not under systemd) nothing is sent. */
#ifndef MC_NOTIFY_H
#define MC_NOTIFY_H

#include <stdbool.h>
#include <stdint.h>

#include "watchdog.h"

struct mc_daemon;

struct mc_notify {
	bool enabled;        /* NOTIFY_SOCKET is set */
	int64_t watchdog_us; /* WATCHDOG_USEC for this process; 0: no watchdog */
	bool ready;          /* READY=1 sent */
	bool stalled;        /* the last check found a stall: no pings */
	int64_t next_check_us;
	struct mc_watchdog wd;
	char status[512];    /* the last STATUS= sent */
};

void mc_notify_init(struct mc_notify *n);
/* How long the main loop may wait before the next mc_notify_tick(), in ms; -1: forever. */
int mc_notify_timeout_ms(const struct mc_notify *n, int64_t now_us);
/* READY=1 when due, STATUS= on a change, WATCHDOG=1 when due and everything progresses. */
void mc_notify_tick(struct mc_notify *n, const struct mc_daemon *d, int64_t now_us);
/* Around a reload (systemd ≥ 253's Type=notify-reload protocol, which plain notify accepts too):
 * RELOADING=1 with MONOTONIC_USEC= (the clock systemd matches it with), then READY=1 and the STATUS=. */
void mc_notify_reloading(struct mc_notify *n);
void mc_notify_reloaded(struct mc_notify *n, const char *status);
/* STOPPING=1 with the reason as STATUS=. */
void mc_notify_stopping(struct mc_notify *n, const char *why);

#endif
