/* The watchdog's question: are the media threads making progress? Asked by the daemon's main thread before
 * each WATCHDOG=1 to systemd (src/ops/notify.h), from what the threads publish:
 * - each consumer of a mailbox (a track's thread, a layer's encoder thread) has taken the frame waiting for
 *   it within `limit` (the mailbox's waiting_since_us). A consumer with nothing to do is not stalled: on a
 *   static screen whose unchanged frames are skipped a layer gets a frame once per keyframe interval, and
 *   between those frames its mailbox is empty;
 * - each source that has not ended delivered a frame since the previous check (a camera paces its thread;
 *   a source stuck in the driver does not); a placeholder counts (a camera without signal is not stalled);
 * - each mix sent a picture since the previous check (it ticks at its own rate, repeating an unchanged
 *   picture) and took its inputs' frames within `limit`;
 * - the network thread turned its loop within `limit` (it does at least every 500 ms).
 * Not thread-safe: one caller (the daemon's main thread). */
#ifndef MC_WATCHDOG_H
#define MC_WATCHDOG_H

#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "strbuf.h"

struct mc_daemon;

struct mc_watchdog {
	uint64_t source_frames[MC_MAX_SOURCES]; /* at the previous check */
	uint64_t mix_frames[MC_MAX_MIXES];      /* at the previous check */
	bool checked;                           /* a previous check exists */
};

/* true while everything progresses; otherwise false, with one line per stalled thread appended to `why`. */
bool mc_watchdog_check(struct mc_watchdog *w, const struct mc_daemon *d, int64_t now_us, int64_t limit_us,
		       struct mc_strbuf *why);

#endif
