/* An output's congestion control (src/net/cc.c) wired to its packets: what left with which transport-wide
 * sequence number and when, the feedback that comes back (TWCC, RR loss, REMB), probe clusters, and the
 * estimate turned into the layers' bitrates and pauses (src/media/layer_ctl.h) and the pacing rate. Network
 * thread only; the mc_counters are for the stats thread. */
#ifndef MC_OUTPUT_CC_H
#define MC_OUTPUT_CC_H

#include <stdbool.h>
#include <stdint.h>

#include "cc.h"
#include "counter.h"
#include "rtcp_parse.h"

struct mc_output;

#define MC_CC_SENT_RING 4096 /* transport-wide numbers remembered: seconds of packets at video rates */

struct mc_output_cc {
	struct mc_cc cc;
	struct mc_cc_alloc alloc;
	struct {
		int64_t send_us;
		uint16_t seq, size;
		bool used, probe;
	} sent[MC_CC_SENT_RING];
	int64_t desired_bps;  /* every layer at its configured bitrate */
	int64_t last_tick_us;
	int probe_left;       /* probe packets of the cluster still to leave the pacer */
	int64_t probe_rate_bps;
	struct {
		bool have;
		uint32_t highest_seq;
		int32_t cumulative_lost;
	} rr[MC_MAX_LAYERS]; /* the previous RR per layer: loss is the difference */
	/* stats */
	mc_counter estimate_bps, delay_bps, loss_bps, acked_bps, remb_bps, pacing_bps;
	mc_counter twcc_feedback, twcc_malformed, twcc_unknown_seq;
	mc_counter overuses, loss_decreases, probes, probes_ok, remb_caps;
	mc_counter layer_target[MC_MAX_LAYERS], layer_paused[MC_MAX_LAYERS];
	mc_counter layer_resumed_us[MC_MAX_LAYERS]; /* CLOCK_MONOTONIC of the layer's last resume: /healthz */
};

/* After mc_output_attach_layers (configured bitrates known). -ENOMEM. */
int mc_output_cc_create(struct mc_output *o);
void mc_output_cc_destroy(struct mc_output *o);
/* A packet left with transport-wide number `seq` (only when the output sends the extension). */
void mc_output_cc_sent(struct mc_output *o, uint16_t seq, size_t len, bool probe, int64_t now_us);
void mc_output_cc_twcc(struct mc_output *o, const struct mc_rtcp_twcc *fb, int64_t now_us);
/* An RR block on `layer`'s SSRC: its extended highest sequence number and cumulative loss. */
void mc_output_cc_rr(struct mc_output *o, int layer, uint32_t highest_seq, int32_t cumulative_lost, int64_t rtt_us,
		     int64_t now_us);
void mc_output_cc_remb(struct mc_output *o, int64_t bps, int64_t now_us);
/* The estimate applied: layers, pacing rate, a probe cluster when one is due. Cheap; called by the pacer
 * loop, acts at most every 25 ms (and at once after feedback). */
void mc_output_cc_tick(struct mc_output *o, int64_t now_us, bool force);

#endif
