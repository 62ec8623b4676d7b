/* RTP packets and packetizers. Pure code: encoded frames in, RTP packets (header + payload, before SRTP)
 * appended to a batch out; no sockets, no clocks. */
#ifndef MC_RTP_H
#define MC_RTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rtp_ext.h"

#define MC_RTP_HEADER_LEN 12
#define MC_RTP_FLAG_PROBE 1    /* a copy sent to probe the path's capacity (congestion control) */
#define MC_RTP_FLAG_KEYFRAME 2 /* a packet of a keyframe */
#define MC_RTP_FLAG_RTX 4      /* an RFC 4588 retransmission on the layer's RTX stream (its SR counts it) */
/* Room after the payload for the SRTP auth tag (10 bytes for HMAC-SHA1-80, 16 for GCM) and SRTCP index. */
#define MC_SRTP_TRAILER_MAX 32
#define MC_RTP_PACKET_MAX (1500 + MC_SRTP_TRAILER_MAX)

struct mc_rtp_packet {
	uint16_t len;
	uint8_t twcc_off; /* offset of the transport-wide sequence number, filled in as it leaves; 0: none */
	uint8_t flags;    /* MC_RTP_FLAG_* */
	uint8_t data[MC_RTP_PACKET_MAX];
};

/* A growable list of packets; reused frame after frame so that the hot path does not allocate. */
struct mc_rtp_batch {
	struct mc_rtp_packet *pkts;
	int count, cap;
};

void mc_rtp_batch_init(struct mc_rtp_batch *b);
void mc_rtp_batch_finish(struct mc_rtp_batch *b);
void mc_rtp_batch_reset(struct mc_rtp_batch *b);
/* A new empty packet at the end, or NULL when out of memory. */
struct mc_rtp_packet *mc_rtp_batch_add(struct mc_rtp_batch *b);

/* One RTP stream's header state. */
struct mc_rtp_stream {
	uint32_t ssrc;
	uint16_t seq;
	uint8_t payload_type;
	uint16_t mtu;        /* largest RTP packet (header + payload) before SRTP */
	uint16_t picture_id; /* VP8: 15-bit picture ID */
	/* for RTCP SR (RFC 3550 §6.4.1): packets and payload octets (mc_rtp_payload_len) that left, counted
	 * by the sender after a send succeeded, not by the packetizers: a packet that SRTP or the socket
	 * refused was never sent */
	uint64_t packets, octets;
	uint32_t last_ts;         /* of the last frame, once have_ts */
	bool have_ts;
	/* RFC 8285 header extension block written into every packet (mc_rtp_ext_build); 0 bytes: none. The
	 * packetizers leave room for it within the MTU. */
	uint8_t ext[MC_RTP_EXT_MAX];
	uint8_t ext_len, ext_twcc_off; /* ext_twcc_off: within ext, 0: no transport-wide sequence number */
};

/* The timestamp of a stream's next frame from its capture clock `ts`: strictly increasing (a decoder
 * orders frames by it, and FFmpeg warns "non monotonically increasing dts" at two equal ones). A frame whose
 * `ts` does not advance (two capture times within one 90 kHz tick, a clock stepping back) gets the last
 * timestamp + 1, and *adjusted is set. Compared modulo 2^32 (RFC 3550 §5.1: the timestamp wraps). */
uint32_t mc_rtp_next_timestamp(struct mc_rtp_stream *s, uint32_t ts, bool *adjusted);

void mc_rtp_write_header(uint8_t *buf, uint8_t pt, bool marker, uint16_t seq, uint32_t ts, uint32_t ssrc);
/* Payload octets of an RTP packet (without header, CSRCs, extension and padding); 0 when malformed. */
size_t mc_rtp_payload_len(const uint8_t *pkt, size_t len);
/* The header of a stream's next packet (fixed header with the next sequence number + the stream's
 * extension block); sets p->len to the header's length, which it returns. */
size_t mc_rtp_stream_header(struct mc_rtp_stream *s, struct mc_rtp_packet *p, bool marker, uint32_t ts);
static inline size_t mc_rtp_header_len(const struct mc_rtp_stream *s) { return MC_RTP_HEADER_LEN + s->ext_len; }
/* Fills in a packet's transport-wide sequence number (no-op without one). */
void mc_rtp_set_twcc_seq(struct mc_rtp_packet *p, uint16_t seq);

/* RFC 6184, packetization-mode 1: single NAL unit packets, STAP-A aggregating parameter sets (and other
 * small non-VCL NALs) that fit together, FU-A for NALs larger than the MTU. `au` is one access unit in
 * Annex B form (start codes). The marker bit is set on the access unit's last packet. Returns the number
 * of packets appended, or -errno (-EINVAL: no NAL unit found, -ENOMEM). */
int mc_rtp_h264_packetize(struct mc_rtp_stream *s, uint32_t ts, const uint8_t *au, size_t len,
			  struct mc_rtp_batch *out);

/* Find the next Annex B NAL unit at or after *pos: returns true with [*nal, *nal_len]. */
bool mc_h264_next_nal(const uint8_t *buf, size_t len, size_t *pos, const uint8_t **nal, size_t *nal_len);

/* RFC 7741: VP8 payload descriptor with a 15-bit PictureID; frame split into MTU-sized packets. */
int mc_rtp_vp8_packetize(struct mc_rtp_stream *s, uint32_t ts, const uint8_t *frame, size_t len,
			 struct mc_rtp_batch *out);

#endif
