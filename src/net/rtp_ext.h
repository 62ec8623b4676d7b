/* RTP header extensions, RFC 8285 one-byte form: the RTP stream id (RFC 8852 `rid`), the media id (RFC 8843
 * `mid`) and the transport-wide sequence number (draft-holmer-rmcat-transport-wide-cc-extensions-01). Pure:
 * bytes in, bytes out. The ids come from the output's config (the SFU's `a=extmap` lines). */
#ifndef MC_RTP_EXT_H
#define MC_RTP_EXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MC_RTP_EXT_PROFILE 0xBEDE /* RFC 8285 §4.2 */
/* 4-byte block header + rid (1 + 16) + mid (1 + 16) + twcc (1 + 2), padded to 32 bits */
#define MC_RTP_EXT_MAX 60
#define MC_RTP_EXT_VALUE_MAX 16 /* the one-byte form's longest element */

struct mc_rtp_ext_ids {
	uint8_t rid, mid, twcc; /* 1..14; 0: not sent */
};

/* Writes the extension block (profile, length, elements, zero padding) for one stream into `out`.
 * `rid`/`mid` may be NULL or empty (not sent). *twcc_off is the offset of the 2-byte transport-wide
 * sequence number within the block (0 when not sent; it is filled in per packet as it leaves). Returns the
 * block's length (0 when nothing is sent), or -EINVAL (an id out of 1..14, ids not distinct, a value longer
 * than 16 bytes) or -ENOSPC. */
int mc_rtp_ext_build(uint8_t *out, size_t cap, const struct mc_rtp_ext_ids *ids, const char *rid, const char *mid,
		     size_t *twcc_off);

/* Finds element `id` of a one-byte-form extension block in an RTP packet. Never trusts a length from the
 * packet. Returns true with [*val, *val_len] inside `pkt`; false when absent or the packet is malformed. */
bool mc_rtp_ext_find(const uint8_t *pkt, size_t len, int id, const uint8_t **val, size_t *val_len);

/* The offset of the payload in an RTP packet (after CSRCs and extensions), or 0 when malformed. */
size_t mc_rtp_payload_offset(const uint8_t *pkt, size_t len);

#endif
