/* The RTCP a sender receives (RFC 3550, RFC 4585, RFC 5104, draft-alvestrand-rmcat-remb,
 * draft-holmer-rmcat-transport-wide-cc-extensions): a compound packet parsed into callbacks. Pure: bytes
 * in, calls out, no sockets or clocks. Nothing in the packet is trusted: every length and count is checked
 * against the bytes that are really there; a packet that lies is counted and skipped, never read past. */
#ifndef MC_RTCP_PARSE_H
#define MC_RTCP_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MC_RTCP_SR 200
#define MC_RTCP_RR 201
#define MC_RTCP_SDES 202
#define MC_RTCP_BYE 203
#define MC_RTCP_APP 204
#define MC_RTCP_RTPFB 205
#define MC_RTCP_PSFB 206

/* RFC 5761 §4: RTP and RTCP on one port are told apart by the second byte (RTCP packet types 192-223). */
bool mc_rtcp_is_rtcp(const uint8_t *buf, size_t len);

struct mc_rtcp_report_block {
	uint32_t ssrc;           /* the source reported on (one of ours, if it concerns us) */
	uint8_t fraction_lost;   /* since the last report, /256 */
	int32_t cumulative_lost; /* 24-bit signed */
	uint32_t highest_seq;    /* extended */
	uint32_t jitter;         /* RTP timestamp units */
	uint32_t lsr;            /* middle 32 bits of the NTP timestamp of our last SR, 0 if none */
	uint32_t dlsr;           /* delay since that SR, 1/65536 s */
};

struct mc_rtcp_twcc {
	uint32_t media_ssrc;
	uint16_t base_seq, status_count;
	int32_t reference_time; /* 24-bit signed, multiples of 64 ms */
	uint8_t fb_count;
	const uint8_t *chunks; /* the packet chunks and deltas, not parsed here (the congestion controller's) */
	size_t chunks_len;
};

/* Called for what the compound holds; any may be NULL. `sender`: the SSRC of the packet's sender. */
struct mc_rtcp_handler {
	void (*sr)(void *ctx, uint32_t sender, uint64_t ntp, uint32_t rtp_ts, uint32_t packets, uint32_t octets);
	void (*report)(void *ctx, uint32_t sender, const struct mc_rtcp_report_block *rb);
	void (*bye)(void *ctx, uint32_t ssrc);
	/* generic NACK (RFC 4585 §6.2.1): one call per FCI entry: `pid` and its bitmask of the 16 after it */
	void (*nack)(void *ctx, uint32_t sender, uint32_t media_ssrc, uint16_t pid, uint16_t blp);
	void (*pli)(void *ctx, uint32_t sender, uint32_t media_ssrc);
	void (*fir)(void *ctx, uint32_t sender, uint32_t media_ssrc, uint8_t seq_nr); /* RFC 5104 §4.3.1 */
	/* REMB: the bitrate saturates at UINT64_MAX when mantissa << exponent does not fit */
	void (*remb)(void *ctx, uint32_t sender, uint64_t bitrate, const uint32_t *ssrcs, int n_ssrcs);
	void (*twcc)(void *ctx, uint32_t sender, const struct mc_rtcp_twcc *fb);
};

struct mc_rtcp_parse_result {
	int packets;   /* RTCP packets in the compound that were understood */
	int malformed; /* packets whose header, length or count did not fit the bytes */
	int unknown;   /* well-formed packets of a type or format this parser does not handle (APP, XR, ...) */
};

/* Parses one compound (or reduced-size, RFC 5506) RTCP packet. A header that does not fit stops the walk
 * (nothing after it can be located); a packet whose body is inconsistent is skipped by its (checked)
 * length. Returns 0 when everything was understood, -EBADMSG when something was malformed (counted in
 * `res`, which may be NULL). */
int mc_rtcp_parse(const uint8_t *buf, size_t len, const struct mc_rtcp_handler *h, void *ctx,
		  struct mc_rtcp_parse_result *res);

#endif
