#include "rtp.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void mc_rtp_batch_init(struct mc_rtp_batch *b)
{
	b->pkts = NULL;
	b->count = b->cap = 0;
}

void mc_rtp_batch_finish(struct mc_rtp_batch *b)
{
	free(b->pkts);
	mc_rtp_batch_init(b);
}

void mc_rtp_batch_reset(struct mc_rtp_batch *b) { b->count = 0; }

struct mc_rtp_packet *mc_rtp_batch_add(struct mc_rtp_batch *b)
{
	if (b->count == b->cap) {
		int cap = b->cap ? b->cap * 2 : 16;
		struct mc_rtp_packet *p = realloc(b->pkts, (size_t)cap * sizeof(*p));
		if (!p)
			return NULL;
		b->pkts = p;
		b->cap = cap;
	}
	struct mc_rtp_packet *p = &b->pkts[b->count++];
	p->len = 0;
	p->twcc_off = 0;
	p->flags = 0;
	return p;
}

void mc_rtp_write_header(uint8_t *buf, uint8_t pt, bool marker, uint16_t seq, uint32_t ts, uint32_t ssrc)
{
	buf[0] = 0x80; /* V=2, no padding, no extension, no CSRC */
	buf[1] = (uint8_t)((marker ? 0x80 : 0) | (pt & 0x7f));
	buf[2] = (uint8_t)(seq >> 8);
	buf[3] = (uint8_t)seq;
	buf[4] = (uint8_t)(ts >> 24);
	buf[5] = (uint8_t)(ts >> 16);
	buf[6] = (uint8_t)(ts >> 8);
	buf[7] = (uint8_t)ts;
	buf[8] = (uint8_t)(ssrc >> 24);
	buf[9] = (uint8_t)(ssrc >> 16);
	buf[10] = (uint8_t)(ssrc >> 8);
	buf[11] = (uint8_t)ssrc;
}

size_t mc_rtp_payload_len(const uint8_t *pkt, size_t len)
{
	if (len < MC_RTP_HEADER_LEN)
		return 0;
	size_t hdr = MC_RTP_HEADER_LEN + 4u * (pkt[0] & 0x0f);
	if ((pkt[0] & 0x10) && hdr + 4 <= len)
		hdr += 4 + 4u * (((size_t)pkt[hdr + 2] << 8) | pkt[hdr + 3]);
	else if (pkt[0] & 0x10)
		return 0;
	size_t pad = (pkt[0] & 0x20) && len > hdr ? pkt[len - 1] : 0;
	return hdr + pad <= len ? len - hdr - pad : 0;
}

uint32_t mc_rtp_next_timestamp(struct mc_rtp_stream *s, uint32_t ts, bool *adjusted)
{
	*adjusted = s->have_ts && (int32_t)(ts - s->last_ts) <= 0;
	if (*adjusted)
		ts = s->last_ts + 1;
	s->last_ts = ts;
	s->have_ts = true;
	return ts;
}

size_t mc_rtp_stream_header(struct mc_rtp_stream *s, struct mc_rtp_packet *p, bool marker, uint32_t ts)
{
	mc_rtp_write_header(p->data, s->payload_type, marker, s->seq++, ts, s->ssrc);
	p->twcc_off = 0;
	if (s->ext_len) {
		p->data[0] |= 0x10; /* X: an extension block follows */
		memcpy(p->data + MC_RTP_HEADER_LEN, s->ext, s->ext_len);
		if (s->ext_twcc_off)
			p->twcc_off = (uint8_t)(MC_RTP_HEADER_LEN + s->ext_twcc_off);
	}
	p->len = (uint16_t)mc_rtp_header_len(s);
	return p->len;
}

void mc_rtp_set_twcc_seq(struct mc_rtp_packet *p, uint16_t seq)
{
	if (!p->twcc_off)
		return;
	p->data[p->twcc_off] = (uint8_t)(seq >> 8);
	p->data[p->twcc_off + 1] = (uint8_t)seq;
}
