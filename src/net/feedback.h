/* What an output does with the RTCP that comes back from the SFU or receiver: reads it from the output's
 * sockets, checks where it came from (plain RTCP is unauthenticated: only the configured host may force
 * keyframes or cut the bitrate), unprotects SRTCP, parses it (rtcp_parse.c) and acts: PLI/FIR ask the
 * layer's encoder for a keyframe (rate-limited), NACKs resend from the packet history (plain or RTX), RRs
 * give RTT, loss and jitter. Network thread only; the counters are read by the stats thread. */
#ifndef MC_FEEDBACK_H
#define MC_FEEDBACK_H

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "counter.h"

struct mc_output;

#define MC_KEYFRAME_REQUEST_GAP_US 300000 /* one keyframe on demand per 300 ms per layer: a PLI storm is not a stream of keyframes */
#define MC_RESEND_GAP_NO_RTT_US 20000     /* a NACK repeated within this (or the RTT) is not served again */

struct mc_feedback_layer_stats {
	mc_counter plis, firs;             /* naming this layer's SSRC */
	mc_counter keyframes_requested;    /* passed on to the encoder */
	mc_counter keyframes_rate_limited; /* dropped: within MC_KEYFRAME_REQUEST_GAP_US of the last */
	mc_counter keyframes_repeated;     /* keyframe_repeat_ms follow-ups */
	mc_counter nacks;                  /* sequence numbers NACKed */
	mc_counter resent;                 /* packets sent again (as RTX or plain) */
	mc_counter resend_too_old, resend_too_recent, resend_unknown;
	mc_counter rr_received;
	mc_counter rtt_us;                 /* last RTT from an RR's LSR/DLSR (0: none yet) */
	mc_counter fraction_lost;          /* last RR, /256 */
	mc_counter cumulative_lost;        /* last RR (clamped to >= 0) */
	mc_counter jitter_us;              /* last RR, interarrival jitter in microseconds */
};

struct mc_feedback_stats {
	mc_counter datagrams;       /* datagrams read on the output's sockets */
	mc_counter rtcp_packets;    /* RTCP packets understood */
	mc_counter malformed;       /* datagrams or packets that did not parse */
	mc_counter unknown;         /* well-formed, but a type/format we do not handle */
	mc_counter rejected;        /* from an address other than the configured host */
	mc_counter srtcp_failed;    /* SRTCP that did not authenticate (bad tag, replay, wrong key) */
	mc_counter not_rtcp;        /* RTP or garbage on an RTCP socket */
	mc_counter unknown_ssrc;    /* feedback naming an SSRC we do not send */
	mc_counter remb, remb_rejected; /* REMB accepted / out of range (0 or absurd) */
	mc_counter remb_bps;        /* last accepted REMB (for the congestion controller to come) */
	mc_counter twcc;            /* transport-wide feedback packets (parsed, not used yet) */
	mc_counter byes;
	struct mc_feedback_layer_stats layers[MC_MAX_LAYERS];
};

/* Network thread: read every datagram waiting on `fd` (one of the output's sockets) and act on it. */
void mc_feedback_read(struct mc_output *o, int fd);
/* Network thread: follow-up keyframe requests that are due (keyframe_repeat_ms). Returns microseconds
 * until the next one, or -1 when none is pending (the loop's wait is bounded by it). */
int64_t mc_feedback_tick(struct mc_output *o, int64_t now_us);
/* Handle one datagram from `from` (exposed for the network thread's tests). */
void mc_feedback_datagram(struct mc_output *o, uint8_t *buf, size_t len, const struct sockaddr_in *from);

#endif
