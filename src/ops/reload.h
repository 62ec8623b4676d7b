/* Live reload (SIGHUP, `mixcastd --reload`): the file is loaded and validated as --check-config does; an
 * invalid one is refused (its errors logged with file, line and key) and nothing changes. A valid one is
 * compared with the configuration in effect section by section (mc_config_diff, pure), and each change is
 * applied where its object lives:
 *  - live, without touching the stream: [daemon] log_level; a layer's bitrate (the encoder's rate and
 *    congestion control's ceiling) and frame rate; a track's keyframe_interval; an output's host, ports and
 *    rtcp_port (the same socket, SSRCs, sequence numbers and SRTP session);
 *  - by restarting that part only (remove, then add; the rest keeps flowing): an added or removed source,
 *    track or output; a source whose other keys changed (device, size, ...) with its tracks and their
 *    outputs; a track whose other keys changed (codec, encoder, preset, its layers' number or sizes, input)
 *    with its outputs; an output whose other keys changed (SRTP key, SSRCs, payload types, ...). A restarted
 *    output starts new RTP streams (new SSRCs unless fixed) and sent BYE on the old ones;
 *  - refused, the running value stays (it needs the daemon restarted): [daemon] stats_listen, state_dir.
 * Each is logged with what was done and how. */
#ifndef MC_RELOAD_H
#define MC_RELOAD_H

#include <stdbool.h>
#include <stddef.h>

#include <stddef.h>

#include "config.h"

struct mc_daemon;
struct mc_notify;

/* What kind of section a change is about. A new section type ([mix.NAME]) adds one here and one row to the
 * table of section kinds in reload.c. */
enum mc_reload_section { MC_RELOAD_DAEMON = 0, MC_RELOAD_SOURCE, MC_RELOAD_TRACK, MC_RELOAD_OUTPUT };

enum mc_reload_action {
	MC_RELOAD_LIVE = 0, /* applied to the running object */
	MC_RELOAD_ADD,      /* a new section: its object is built and started */
	MC_RELOAD_REMOVE,   /* gone from the file: its object is stopped */
	MC_RELOAD_RESTART,  /* the object is stopped and built again from the new section */
	MC_RELOAD_REFUSED,  /* needs a restart of the daemon: the running value stays */
};

#define MC_RELOAD_MAX_CHANGES 64

struct mc_reload_change {
	enum mc_reload_section section;
	enum mc_reload_action action;
	char name[MC_NAME_MAX]; /* the section's NAME ("" for [daemon]) */
	char what[320];         /* for the log: the keys and values, e.g. "layer 0 bitrate 700k -> 1200k" */
};

struct mc_reload_diff {
	int n;
	struct mc_reload_change changes[MC_RELOAD_MAX_CHANGES];
};

/* Compares the configuration in effect with a new one: one entry per section that differs (several for a
 * section with live changes of several kinds). A restart of a source restarts the tracks that take it, a
 * restart of a track the outputs that send it (each listed, saying why). Pure: no object is touched. */
void mc_config_diff(const struct mc_config *old, const struct mc_config *nw, struct mc_reload_diff *diff);
/* The change of `section`/`name` with `action`, or NULL (tests, and the apply step). */
const struct mc_reload_change *mc_reload_find(const struct mc_reload_diff *diff, enum mc_reload_section section,
					      const char *name, enum mc_reload_action action);
const char *mc_reload_section_name(enum mc_reload_section s);
/* Why `diff` cannot be applied to a configuration with [mix.NAME] sections (written to why; false: it can).
 * Mixes are not rebuilt by a reload yet: a change to a [mix] section, or a part to add, remove or restart
 * while mixes run, refuses the whole reload (the running configuration stays); live changes are applied. */
bool mc_reload_mix_blocker(const struct mc_config *old, const struct mc_config *nw, const struct mc_reload_diff *diff,
			   char *why, size_t why_len);

/* The daemon's thread, on SIGHUP: RELOADING=1, load d->config_path, refuse it or apply the changes, READY=1.
 * Returns 0 when applied (or nothing changed), -EINVAL when the file was refused. */
int mc_reload(struct mc_daemon *d, struct mc_notify *n);

#endif
