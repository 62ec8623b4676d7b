#include "rtp_history.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int mc_rtp_history_init(struct mc_rtp_history *h)
{
	h->ring = calloc(MC_RTP_HISTORY_PACKETS, sizeof(*h->ring));
	return h->ring ? 0 : -ENOMEM;
}

void mc_rtp_history_finish(struct mc_rtp_history *h)
{
	free(h->ring);
	h->ring = NULL;
}

void mc_rtp_history_put(struct mc_rtp_history *h, const uint8_t *pkt, size_t len, int64_t now_us)
{
	if (!h->ring || len < MC_RTP_HEADER_LEN || len > sizeof(h->ring[0].data))
		return;
	uint16_t seq = (uint16_t)(pkt[2] << 8 | pkt[3]);
	struct mc_rtp_history_entry *e = &h->ring[seq & (MC_RTP_HISTORY_PACKETS - 1)];
	e->used = true;
	e->seq = seq;
	e->len = (uint16_t)len;
	e->sent_us = now_us;
	e->resent_us = 0;
	memcpy(e->data, pkt, len);
}

enum mc_resend_verdict mc_rtp_history_get(struct mc_rtp_history *h, uint16_t seq, int64_t now_us, int64_t min_gap_us,
					  const struct mc_rtp_history_entry **out)
{
	*out = NULL;
	if (!h->ring)
		return MC_RESEND_UNKNOWN;
	struct mc_rtp_history_entry *e = &h->ring[seq & (MC_RTP_HISTORY_PACKETS - 1)];
	if (!e->used || e->seq != seq)
		return MC_RESEND_UNKNOWN;
	if (now_us - e->sent_us > MC_RTP_HISTORY_AGE_US)
		return MC_RESEND_TOO_OLD;
	if (e->resent_us && now_us - e->resent_us < min_gap_us)
		return MC_RESEND_TOO_RECENT;
	e->resent_us = now_us;
	*out = e;
	return MC_RESEND_OK;
}

int mc_rtx_wrap(const uint8_t *orig, size_t len, uint8_t pt, uint32_t ssrc, uint16_t seq, uint8_t *out, size_t cap)
{
	if (len < MC_RTP_HEADER_LEN || (orig[0] >> 6) != 2)
		return -EINVAL;
	/* the payload starts after the CSRCs and the header extension (RFC 3550 §5.3.1) */
	size_t hdr = MC_RTP_HEADER_LEN + (size_t)(orig[0] & 0x0f) * 4;
	if ((orig[0] & 0x10) && hdr + 4 <= len)
		hdr += 4 + (size_t)(orig[hdr + 2] << 8 | orig[hdr + 3]) * 4;
	else if (orig[0] & 0x10)
		return -EINVAL;
	if (hdr > len)
		return -EINVAL;
	size_t payload = len - hdr;
	if ((orig[0] & 0x20)) { /* padding is not part of the original payload */
		size_t pad = orig[len - 1];
		if (pad > payload)
			return -EINVAL;
		payload -= pad;
	}
	if (hdr + 2 + payload > cap)
		return -ENOSPC;
	memcpy(out, orig, hdr);
	out[0] &= (uint8_t)~0x20;
	out[1] = (uint8_t)((orig[1] & 0x80) | (pt & 0x7f));
	out[2] = (uint8_t)(seq >> 8);
	out[3] = (uint8_t)seq;
	out[8] = (uint8_t)(ssrc >> 24);
	out[9] = (uint8_t)(ssrc >> 16);
	out[10] = (uint8_t)(ssrc >> 8);
	out[11] = (uint8_t)ssrc;
	out[hdr] = orig[2]; /* OSN */
	out[hdr + 1] = orig[3];
	memcpy(out + hdr + 2, orig + hdr, payload);
	return (int)(hdr + 2 + payload);
}
