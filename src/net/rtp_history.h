/* The packets a stream sent lately, kept as plaintext RTP (before SRTP) so that a NACKed one can be sent
 * again (RFC 4585 §6.2.1) as it was or wrapped as RTX (RFC 4588). Bounded in packets (a ring indexed by
 * sequence number) and in age. One per layer; used by the network thread only, so no locks. Pure: the
 * caller passes the clock. */
#ifndef MC_RTP_HISTORY_H
#define MC_RTP_HISTORY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rtp.h"

#define MC_RTP_HISTORY_PACKETS 1024 /* a power of two; ~2 s of a 2.5 Mbit/s layer in 1200-byte packets */
#define MC_RTP_HISTORY_AGE_US 1000000 /* older is useless to a receiver with a jitter buffer of <= 1 s */

struct mc_rtp_history_entry {
	bool used;
	uint16_t seq, len;
	int64_t sent_us, resent_us; /* resent_us 0: never resent */
	uint8_t data[MC_RTP_PACKET_MAX - MC_SRTP_TRAILER_MAX];
};

struct mc_rtp_history {
	struct mc_rtp_history_entry *ring; /* MC_RTP_HISTORY_PACKETS entries */
};

int mc_rtp_history_init(struct mc_rtp_history *h);
void mc_rtp_history_finish(struct mc_rtp_history *h);

/* Keeps a copy of a plaintext RTP packet (its sequence number read from the header). */
void mc_rtp_history_put(struct mc_rtp_history *h, const uint8_t *pkt, size_t len, int64_t now_us);

enum mc_resend_verdict {
	MC_RESEND_OK = 0,
	MC_RESEND_UNKNOWN,   /* never sent, or overwritten by a newer packet */
	MC_RESEND_TOO_OLD,   /* older than the history's age */
	MC_RESEND_TOO_RECENT /* resent within `min_gap_us` already (a receiver repeats NACKs) */
};

/* Decides whether `seq` may be sent again now; on MC_RESEND_OK returns its entry in *out and marks it
 * resent. */
enum mc_resend_verdict mc_rtp_history_get(struct mc_rtp_history *h, uint16_t seq, int64_t now_us, int64_t min_gap_us,
					  const struct mc_rtp_history_entry **out);

/* RFC 4588 §4: the RTX packet for `orig`: the original header with the RTX payload type, SSRC and sequence
 * number, and the original sequence number (OSN) as the first two bytes of the payload. Returns its length,
 * or -EINVAL (not an RTP packet) / -ENOSPC. */
int mc_rtx_wrap(const uint8_t *orig, size_t len, uint8_t pt, uint32_t ssrc, uint16_t seq, uint8_t *out, size_t cap);

#endif
