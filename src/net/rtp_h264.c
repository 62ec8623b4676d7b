/* H.264 RTP packetization, RFC 6184 packetization-mode 1 (non-interleaved). */
#include <errno.h>
#include <string.h>

#include "rtp.h"

#define NAL_STAP_A 24
#define NAL_FU_A 28

bool mc_h264_next_nal(const uint8_t *buf, size_t len, size_t *pos, const uint8_t **nal, size_t *nal_len)
{
	size_t i = *pos;
	for (;;) {
		/* a start code 00 00 01 (a 4-byte 00 00 00 01 ends in the same three bytes) */
		while (i + 3 <= len && !(buf[i] == 0 && buf[i + 1] == 0 && buf[i + 2] == 1))
			i++;
		if (i + 3 > len) {
			*pos = len;
			return false;
		}
		size_t start = i + 3, j = start;
		while (j + 3 <= len && !(buf[j] == 0 && buf[j + 1] == 0 && (buf[j + 2] == 1 || buf[j + 2] == 0)))
			j++;
		if (j + 3 > len)
			j = len;
		size_t end = j;
		/* trailing zero bytes belong to the next start code (or are trailing_zero_8bits) */
		while (end > start && buf[end - 1] == 0)
			end--;
		i = j;
		if (end == start) /* an empty NAL unit: skip it */
			continue;
		*pos = j;
		*nal = buf + start;
		*nal_len = end - start;
		return true;
	}
}

static bool is_vcl(uint8_t nal_type) { return nal_type >= 1 && nal_type <= 5; }

static struct mc_rtp_packet *new_packet(struct mc_rtp_stream *s, uint32_t ts, struct mc_rtp_batch *out)
{
	struct mc_rtp_packet *p = mc_rtp_batch_add(out);
	if (!p)
		return NULL;
	mc_rtp_stream_header(s, p, false, ts);
	return p;
}

/* Aggregation state: the NALs collected for the next STAP-A. */
struct pending {
	const uint8_t *nal[32];
	size_t len[32];
	int n;
	size_t size; /* STAP-A payload size: 1 + sum(2 + len) */
};

static int flush_pending(struct mc_rtp_stream *s, uint32_t ts, struct pending *pd, struct mc_rtp_batch *out)
{
	if (pd->n == 0)
		return 0;
	struct mc_rtp_packet *p = new_packet(s, ts, out);
	if (!p)
		return -ENOMEM;
	uint8_t *w = p->data + p->len;
	if (pd->n == 1) { /* one NAL: a single NAL unit packet (§5.6) */
		memcpy(w, pd->nal[0], pd->len[0]);
		w += pd->len[0];
	} else { /* STAP-A (§5.7.1): F and NRI are the maximum of the aggregated units' */
		uint8_t nri = 0, f = 0;
		for (int i = 0; i < pd->n; i++) {
			f |= pd->nal[i][0] & 0x80;
			if ((pd->nal[i][0] & 0x60) > nri)
				nri = pd->nal[i][0] & 0x60;
		}
		*w++ = (uint8_t)(f | nri | NAL_STAP_A);
		for (int i = 0; i < pd->n; i++) {
			*w++ = (uint8_t)(pd->len[i] >> 8);
			*w++ = (uint8_t)pd->len[i];
			memcpy(w, pd->nal[i], pd->len[i]);
			w += pd->len[i];
		}
	}
	p->len = (uint16_t)(w - p->data);
	pd->n = 0;
	pd->size = 1;
	return 0;
}

/* FU-A (§5.8): the NAL header's F/NRI go into the FU indicator, its type into the FU header. */
static int fragment(struct mc_rtp_stream *s, uint32_t ts, const uint8_t *nal, size_t len, size_t max_payload,
		    struct mc_rtp_batch *out)
{
	uint8_t indicator = (uint8_t)((nal[0] & 0xe0) | NAL_FU_A), type = nal[0] & 0x1f;
	const uint8_t *src = nal + 1;
	size_t left = len - 1, chunk_max = max_payload - 2;
	bool first = true;
	while (left > 0) {
		size_t chunk = left < chunk_max ? left : chunk_max;
		struct mc_rtp_packet *p = new_packet(s, ts, out);
		if (!p)
			return -ENOMEM;
		uint8_t *w = p->data + p->len;
		w[0] = indicator;
		w[1] = (uint8_t)((first ? 0x80 : 0) | (chunk == left ? 0x40 : 0) | type);
		memcpy(w + 2, src, chunk);
		p->len = (uint16_t)(p->len + 2 + chunk);
		src += chunk;
		left -= chunk;
		first = false;
	}
	return 0;
}

int mc_rtp_h264_packetize(struct mc_rtp_stream *s, uint32_t ts, const uint8_t *au, size_t len,
			  struct mc_rtp_batch *out)
{
	/* the extension block counts against the MTU */
	size_t max_payload = (size_t)s->mtu - mc_rtp_header_len(s);
	int first_pkt = out->count;
	struct pending pd = { .n = 0, .size = 1 };
	size_t pos = 0;
	const uint8_t *nal;
	size_t nal_len;
	int rc = 0;
	bool any = false;

	while (mc_h264_next_nal(au, len, &pos, &nal, &nal_len)) {
		uint8_t type = nal[0] & 0x1f;
		/* Types 0 and 24-31 are not for encoders (RFC 6184 §5.2 uses them for its payload structures):
		 * sent as they are, a receiver would misread them as STAP/FU packets. */
		if (type == 0 || type >= 24)
			continue;
		any = true;
		/* Aggregate non-VCL units (SPS, PPS, SEI, AUD) that fit together; they precede the IDR slice in
		 * the same access unit, which is what Janus and browsers look for in a keyframe. */
		if (!is_vcl(type) && nal_len + 2 + 1 <= max_payload) {
			if (pd.size + 2 + nal_len > max_payload || pd.n == (int)(sizeof(pd.len) / sizeof(pd.len[0])))
				if ((rc = flush_pending(s, ts, &pd, out)))
					goto fail;
			pd.nal[pd.n] = nal;
			pd.len[pd.n++] = nal_len;
			pd.size += 2 + nal_len;
			continue;
		}
		if ((rc = flush_pending(s, ts, &pd, out)))
			goto fail;
		if (nal_len <= max_payload) {
			pd.nal[0] = nal;
			pd.len[0] = nal_len;
			pd.n = 1;
			if ((rc = flush_pending(s, ts, &pd, out)))
				goto fail;
		} else if ((rc = fragment(s, ts, nal, nal_len, max_payload, out))) {
			goto fail;
		}
	}
	if (!any)
		return -EINVAL;
	if ((rc = flush_pending(s, ts, &pd, out)))
		goto fail;
	out->pkts[out->count - 1].data[1] |= 0x80; /* marker: last packet of the access unit (§5.1) */
	return out->count - first_pkt;
fail:
	out->count = first_pkt;
	return rc;
}
