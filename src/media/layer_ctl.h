/* What the network thread tells a layer's encoder thread: its bitrate from congestion control and whether
 * it is paused. One writer per slot (an output's network thread), the layer's thread reads: atomics. */
#ifndef MC_LAYER_CTL_H
#define MC_LAYER_CTL_H

#include <stdbool.h>

#include "config.h"

struct mc_layer_ctl {
	/* per output that runs congestion control: its target for this layer in bit/s; 0 = no opinion */
	int target_bps[MC_MAX_OUTPUTS];
	bool paused[MC_MAX_OUTPUTS];
};

static inline void mc_layer_ctl_set(struct mc_layer_ctl *c, int slot, int bps, bool paused)
{
	__atomic_store_n(&c->target_bps[slot], bps, __ATOMIC_RELAXED);
	__atomic_store_n(&c->paused[slot], paused, __ATOMIC_RELAXED);
}

/* The lowest target any output asks for (0: none asks), and whether any output needs the layer: a layer
 * is paused only when every output that has an opinion paused it. */
static inline int mc_layer_ctl_target(const struct mc_layer_ctl *c, bool *paused)
{
	int t = 0;
	bool any = false, all_paused = true;
	for (int i = 0; i < MC_MAX_OUTPUTS; i++) {
		int v = __atomic_load_n(&c->target_bps[i], __ATOMIC_RELAXED);
		if (!v)
			continue;
		any = true;
		if (!__atomic_load_n(&c->paused[i], __ATOMIC_RELAXED)) {
			all_paused = false;
			t = t && t < v ? t : v;
		}
	}
	*paused = any && all_paused;
	return t;
}

#endif
