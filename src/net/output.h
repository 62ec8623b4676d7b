/* An RTP output: one UDP socket from which every layer of a track leaves (to a port per layer, or to one
 * port told apart by SSRC), RTP packetization, SRTP, RTCP SR/SDES/BYE. Everything here runs on the network
 * thread, except mc_output_deliver(), which the encoder threads call. */
#ifndef MC_OUTPUT_H
#define MC_OUTPUT_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "counter.h"
#include "feedback.h"
#include "histogram.h"
#include "log.h"
#include "pacer.h"
#include "pktqueue.h"
#include "rtp.h"
#include "rtp_history.h"

struct mc_srtp;
struct mc_srtp_state;
struct mc_layer;
struct mc_layer_ctl;
struct mc_output_cc;

/* libwebrtc's pacing factor: packets leave at 2.5x the target, fast enough that the queue stays short */
#define MC_PACING_FACTOR 2.5

struct mc_output_layer_stats {
	mc_counter frames, packets, bytes; /* bytes on the wire (after SRTP) */
	mc_counter send_errors;
	mc_counter frames_dropped;   /* the network queue was full: never sent */
	mc_counter ts_adjusted;      /* frames whose RTP timestamp was raised to keep it increasing */
	mc_counter last_sent_us;     /* CLOCK_MONOTONIC when a packet of the layer last left; 0: never */
	struct mc_histogram net_queue;       /* encoder done → network thread picks it up */
	struct mc_histogram packetize;
	struct mc_histogram srtp;
	struct mc_histogram send;
	struct mc_histogram capture_to_wire; /* capture → the frame's last packet handed to the kernel */
	struct mc_histogram pacer_wait;      /* a frame's last packet: packetized → handed to the kernel */
	struct mc_histogram pli_to_wire;     /* a PLI/FIR passed on → the keyframe's last packet handed to the kernel */
};

struct mc_output {
	const struct mc_output_config *cfg; /* &cfg_own: the output's copy (a reload frees the file's config) */
	struct mc_output_config cfg_own;
	int n_layers;
	enum mc_codec codec;
	int fd;
	int rtcp_fd; /* its own RTCP socket when RTCP goes to another port than RTP; else -1 (RTCP on fd) */
	struct in_addr peer; /* the configured host: the only source of feedback we accept */
	struct sockaddr_in rtp_dest[MC_MAX_LAYERS];
	struct sockaddr_in rtcp_dest[MC_MAX_LAYERS];
	struct mc_rtp_stream streams[MC_MAX_LAYERS];
	uint32_t ts_base[MC_MAX_LAYERS];
	bool sent_any[MC_MAX_LAYERS];
	int64_t layer_created_us[MC_MAX_LAYERS]; /* /healthz counts a layer's first deadline from then (a reload) */
	struct mc_srtp *srtp;
	struct mc_srtp_state *srtp_state; /* index reservations across restarts; NULL without a state dir */
	struct mc_srtp *srtp_in; /* SRTCP from the peer (rtcp = on with SRTP); NULL otherwise */
	struct mc_layer *layers[MC_MAX_LAYERS]; /* the track's: where a PLI asks for a keyframe */
	struct mc_rtp_history history[MC_MAX_LAYERS];
	struct mc_rtp_stream rtx[MC_MAX_LAYERS]; /* RFC 4588 streams (ssrc, seq, payload type) with rtx = on */
	int64_t key_request_us[MC_MAX_LAYERS];  /* last keyframe request passed on */
	int64_t key_repeat_us[MC_MAX_LAYERS];   /* keyframe_repeat_ms: when to ask once more; 0: nothing due */
	int64_t key_pending_us[MC_MAX_LAYERS];  /* oldest keyframe request not yet answered (pli_to_wire); 0: none */
	struct mc_feedback_stats fb;
	struct mc_ratelimit fb_rl;
	struct mc_pktqueue queue;
	struct mc_rtp_batch batch;
	struct mc_pacer pacer;
	uint16_t twcc_seq;                 /* transport-wide: one sequence over every layer of the socket */
	int layer_bitrate[MC_MAX_LAYERS];  /* configured, bit/s */
	struct mc_layer_ctl *layer_ctl[MC_MAX_LAYERS]; /* the track's layers, NULL before mc_output_attach_layers */
	int ctl_slot;
	struct mc_ratelimit pacer_rl;
	struct mc_output_cc *cc; /* congestion control, after mc_output_attach_layers */
	/* stats: written by the network thread, read by the HTTP thread */
	struct mc_output_layer_stats layer_stats[MC_MAX_LAYERS];
	mc_counter send_errors, rtcp_sent, icmp_errors;
	struct mc_ratelimit err_rl;
};

/* Opens the socket and the SRTP session. `wake_fd`: the network loop's eventfd. */
int mc_output_create(struct mc_output **out, const struct mc_output_config *cfg, int n_layers, enum mc_codec codec,
		     int wake_fd);
void mc_output_destroy(struct mc_output *o);

/* Encoder threads: hand over one encoded frame of `layer` (a new reference is taken). 0, or -ENOSPC when
 * the network queue is full and the frame was dropped (counted; the caller makes its next frame a
 * keyframe), -ENOMEM. */
int mc_output_deliver(struct mc_output *o, const AVPacket *pkt, int layer, bool keyframe, int64_t capture_us);

/* Before the network thread starts: the track's layers (configured bitrates and their control block) and
 * this output's slot in it. Starts congestion control, which sets the pacing rate. -ENOMEM. */
int mc_output_attach_layers(struct mc_output *o, const struct mc_layer_config *layers,
			    struct mc_layer_ctl *const *ctl, int slot);

/* Network thread: packetize what the encoders queued and hand it to the pacer. */
void mc_output_flush(struct mc_output *o);
/* Network thread: send what the pacer lets go now (SRTP-protected there, counted in the layers' stats and
 * the SR of the stream each packet left on); returns when to call again (INT64_MAX: nothing queued). */
int64_t mc_output_pace(struct mc_output *o, int64_t now_us);
/* Network thread: send a packet of `layer` again (a NACK); `orig`: its plaintext RTP from the history. It
 * goes into the pacer's first class (ahead of media) and gets a new transport-wide number as it leaves.
 * With rtx = on it leaves as RFC 4588 RTX on the layer's RTX stream (whose SR counts it; its SRTP index is
 * reserved now, before it leaves), else as it was. 0 when queued; -EIO: not queued (the RTX index could
 * not be reserved, counted as a send error); -EINVAL: cannot be wrapped; -ENOSPC: the pacer is full. */
int mc_output_resend(struct mc_output *o, int layer, const uint8_t *orig, size_t len);
/* Network thread: queue a copy of packet `seq` of `layer` from the history the same way (as RTX when
 * configured); `probe` flags it as part of a probe cluster. -ENOENT when the history has no such packet. */
int mc_output_queue_copy(struct mc_output *o, int layer, uint16_t seq, bool probe, int64_t now_us);
/* Network thread: the socket reported an error (ICMP): read and count them. */
void mc_output_read_errors(struct mc_output *o);
/* Network thread: RTCP SR + SDES for every layer that has sent; with `bye`, BYE too. */
void mc_output_send_rtcp(struct mc_output *o, bool bye);

uint32_t mc_output_ssrc(const struct mc_output *o, int layer);

/* Live reload, on the network thread (mc_netloop_call): the layers' configured bitrates (the ceiling that
 * congestion control splits), and a new destination (host, ports, rtcp_port of `c`); SSRCs, sequence
 * numbers, SRTP and the socket stay. */
void mc_output_set_bitrates(struct mc_output *o, const int *bitrates);
void mc_output_set_dest(struct mc_output *o, const struct mc_output_config *c);
/* A layer more at the end (the track's new last layer; its port, SSRC, RID from `c`): a new RTP stream.
 * -ENOSPC with an SRTP index state (its streams are fixed at start: the output is restarted instead). */
int mc_output_add_layer(struct mc_output *o, const struct mc_output_config *c, struct mc_layer *layer,
			struct mc_layer_ctl *ctl, int bitrate);
/* The last layer goes: what it queued is sent, then its BYE. */
void mc_output_remove_layer(struct mc_output *o);

#endif
