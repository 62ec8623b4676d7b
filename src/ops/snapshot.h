/* /snapshot.jpg: the current picture of a track or a source, encoded on demand with libavcodec's MJPEG
 * encoder from a reference to the next frame the track's (source's) thread handles (tap.h). A picture is
 * cached for MC_SNAPSHOT_CACHE_US, and at most one is made at a time, so that polling it costs the media
 * threads one atomic load per frame. Used by the HTTP threads only. */
#ifndef MC_SNAPSHOT_H
#define MC_SNAPSHOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct mc_daemon;
struct mc_snapshots;

#define MC_SNAPSHOT_CACHE_US 1000000
#define MC_SNAPSHOT_WAIT_MS 1000 /* for the next frame; none by then: no picture (503) */

struct mc_snapshots *mc_snapshots_create(const struct mc_daemon *d);
void mc_snapshots_destroy(struct mc_snapshots *s);
/* A JPEG of track (is_source false) or source `name`: 0 with a malloc'd copy in *jpeg, -ENOENT for an
 * unknown name, -EAGAIN when no frame came (the source has ended or not started), other -errno on errors. */
int mc_snapshot_get(struct mc_snapshots *s, bool is_source, const char *name, uint8_t **jpeg, size_t *len);

#endif
