/* Send-side congestion control, in the spirit of Google Congestion Control (draft-ietf-rmcat-gcc-02 and
 * libwebrtc's GoogCC): one bandwidth estimate per output from
 *  - transport-wide feedback: a delay-based estimator (trendline filter over packet groups, an overuse
 *    detector with an adaptive threshold, AIMD rate control bounded by the acknowledged rate) and the loss
 *    the feedback reports;
 *  - RR loss (fraction lost), when that is all the receiver sends;
 *  - REMB, as a cap only when it falls (see mc_cc_on_remb);
 * and probing: a short cluster of packets sent at a higher rate whose arrival rate, from the feedback,
 * shows how much the path takes, so the estimate climbs back after a drop in one step instead of 8 % a
 * second. Pure: every input carries the time, nothing is read from a clock; one owner (the network thread).
 *
 * mc_cc_allocate() splits an estimate over simulcast layers, lowest first, pausing the top ones. */
#ifndef MC_CC_H
#define MC_CC_H

#include <stdbool.h>
#include <stdint.h>

#include "config.h"

#define MC_CC_TREND_WINDOW 20
#define MC_CC_ACKED_RING 512

struct mc_cc_packet {
	int64_t send_us;    /* sender's clock */
	int64_t arrival_us; /* receiver's clock (only differences are used); ignored when !received */
	int size;           /* bytes on the wire */
	bool received;
	bool probe;         /* part of the probe cluster in flight */
};

enum mc_cc_usage { MC_CC_NORMAL = 0, MC_CC_OVERUSE, MC_CC_UNDERUSE };

struct mc_cc {
	int64_t min_bps, max_bps;
	int64_t estimate_bps;
	/* delay-based */
	bool have_twcc;
	double delay_bps;
	int64_t grp_first_send, grp_send, grp_arrival; /* the packet group being collected */
	int grp_size;
	bool grp_open, have_prev_grp;
	int64_t prev_grp_send, prev_grp_arrival, first_arrival;
	double acc_delay_ms, smoothed_ms, prev_trend;
	double trend_x[MC_CC_TREND_WINDOW], trend_y[MC_CC_TREND_WINDOW];
	int trend_n, trend_pos, num_deltas;
	double threshold;
	int64_t last_threshold_us;
	double time_over_ms;
	int overuse_count;
	enum mc_cc_usage usage;
	int64_t last_decrease_us, last_increase_us, last_overuse_us;
	/* the acknowledged (received) rate: a ring of the latest received packets */
	int64_t acked_arrival[MC_CC_ACKED_RING];
	int acked_size[MC_CC_ACKED_RING];
	int acked_pos, acked_n;
	int64_t acked_bps; /* 0: not known yet */
	/* loss-based */
	double loss_bps;
	int64_t last_loss_decrease_us, last_loss_us;
	double last_loss;
	int fb_lost, fb_total, rr_lost, rr_expected; /* loss accumulated until it covers 20 packets */
	/* REMB */
	int64_t remb_bps, remb_peak_bps, remb_us;
	bool remb_capping;
	/* probing */
	int64_t desired_bps;           /* what every layer at its configured rate needs */
	int64_t probe_rate_bps;        /* the cluster in flight; 0: none */
	int64_t probe_started_us, next_probe_us;
	int probe_sent, probe_bytes;   /* of the cluster, as reported by feedback */
	int64_t probe_first_arrival, probe_last_arrival, probe_first_send, probe_last_send;
	int probe_received, probe_last_size;
	int64_t rtt_us;
	/* counters for the stats */
	uint64_t overuses, probes, probes_ok, loss_decreases, remb_caps;
};

void mc_cc_init(struct mc_cc *c, int64_t start_bps, int64_t min_bps, int64_t max_bps);
/* One transport-wide feedback message, packets in sequence order, with their send times and sizes from
 * the sender's history (packets it has no record of are left out). */
void mc_cc_on_feedback(struct mc_cc *c, const struct mc_cc_packet *pkts, int n, int64_t now_us);
/* Loss from RRs: packets lost of those expected since the previous report (RFC 3550 §6.4.1, from the
 * cumulative counts); acted on once 20 or more packets are covered. */
void mc_cc_on_loss(struct mc_cc *c, int lost, int expected, int64_t now_us);
void mc_cc_on_rtt(struct mc_cc *c, int64_t rtt_us);
/* REMB from the SFU. */
void mc_cc_on_remb(struct mc_cc *c, int64_t bps, int64_t now_us);
/* The estimate now (timers: the loss-based bound grows while there is no loss). */
int64_t mc_cc_update(struct mc_cc *c, int64_t now_us);
/* Probing: when the estimate is below `desired` and the path has been quiet, a cluster is due. Returns
 * its rate (bit/s) and marks it started, or 0. The caller sends MC_CC_PROBE_PACKETS packets at that rate
 * and flags them as probe packets in the feedback it reports. */
#define MC_CC_PROBE_PACKETS 10 /* ~15-20 ms at video rates: arrival jitter matters less */
int64_t mc_cc_probe_due(struct mc_cc *c, int64_t desired_bps, int64_t now_us);

/* ---- layer allocation ---- */

struct mc_cc_alloc {
	bool paused[MC_MAX_LAYERS];
	int64_t changed_us[MC_MAX_LAYERS]; /* last pause or resume */
	int target_bps[MC_MAX_LAYERS];
};

/* Splits `budget` over n layers (configured bitrates, highest first) from the lowest up. The lowest layer
 * always flows (at what is left, at least min_bps); a higher layer keeps flowing while the rest of the
 * budget covers 60 % of its rate, is paused below that together with all above it, and resumes only when
 * the rest covers its full rate and it has been paused for at least 2 s (hysteresis: an estimate that
 * wobbles around a layer's rate does not toggle it). Returns true when anything changed. */
bool mc_cc_allocate(struct mc_cc_alloc *a, int n, const int *configured, int64_t budget, int64_t min_bps,
		    int64_t now_us);

#endif
