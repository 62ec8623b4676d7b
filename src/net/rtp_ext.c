#include "rtp_ext.h"

#include <errno.h>
#include <string.h>

static int put(uint8_t *out, size_t cap, size_t *pos, int id, const void *val, size_t len)
{
	if (len == 0 || len > MC_RTP_EXT_VALUE_MAX)
		return -EINVAL;
	if (*pos + 1 + len > cap)
		return -ENOSPC;
	out[(*pos)++] = (uint8_t)(id << 4 | (len - 1)); /* ID | L, L = length - 1 (RFC 8285 §4.2) */
	memcpy(out + *pos, val, len);
	*pos += len;
	return 0;
}

int mc_rtp_ext_build(uint8_t *out, size_t cap, const struct mc_rtp_ext_ids *ids, const char *rid, const char *mid,
		     size_t *twcc_off)
{
	*twcc_off = 0;
	int idv[3] = { ids->rid, ids->mid, ids->twcc };
	for (int i = 0; i < 3; i++) {
		/* 0 is padding and 15 is reserved in the one-byte form */
		if (idv[i] < 0 || idv[i] > 14)
			return -EINVAL;
		for (int j = 0; j < i; j++)
			if (idv[i] && idv[i] == idv[j])
				return -EINVAL;
	}
	bool send_rid = ids->rid && rid && *rid, send_mid = ids->mid && mid && *mid;
	if (!send_rid && !send_mid && !ids->twcc)
		return 0;
	if (cap < 4)
		return -ENOSPC;
	size_t pos = 4;
	int rc;
	if (send_rid && (rc = put(out, cap, &pos, ids->rid, rid, strlen(rid))))
		return rc;
	if (send_mid && (rc = put(out, cap, &pos, ids->mid, mid, strlen(mid))))
		return rc;
	if (ids->twcc) {
		static const uint8_t zero[2];
		if ((rc = put(out, cap, &pos, ids->twcc, zero, 2)))
			return rc;
		*twcc_off = pos - 2;
	}
	while (pos % 4) {
		if (pos == cap)
			return -ENOSPC;
		out[pos++] = 0; /* padding */
	}
	size_t words = (pos - 4) / 4;
	out[0] = MC_RTP_EXT_PROFILE >> 8;
	out[1] = MC_RTP_EXT_PROFILE & 0xff;
	out[2] = (uint8_t)(words >> 8);
	out[3] = (uint8_t)words;
	return (int)pos;
}

/* Start and length of the extension block's elements, after the 4-byte block header. */
static bool ext_block(const uint8_t *pkt, size_t len, size_t *start, size_t *elen)
{
	if (len < 12 || pkt[0] >> 6 != 2 || !(pkt[0] & 0x10))
		return false;
	size_t off = 12 + 4 * (size_t)(pkt[0] & 0x0f);
	if (off + 4 > len)
		return false;
	size_t words = (size_t)pkt[off + 2] << 8 | pkt[off + 3];
	if (off + 4 + 4 * words > len)
		return false;
	if (((size_t)pkt[off] << 8 | pkt[off + 1]) != MC_RTP_EXT_PROFILE)
		return false;
	*start = off + 4;
	*elen = 4 * words;
	return true;
}

bool mc_rtp_ext_find(const uint8_t *pkt, size_t len, int id, const uint8_t **val, size_t *val_len)
{
	size_t p, n;
	if (id < 1 || id > 14 || !ext_block(pkt, len, &p, &n))
		return false;
	size_t end = p + n;
	while (p < end) {
		uint8_t b = pkt[p];
		if (b == 0) { /* padding */
			p++;
			continue;
		}
		int eid = b >> 4;
		size_t l = (size_t)(b & 0x0f) + 1;
		if (eid == 15) /* reserved: stop parsing (RFC 8285 §4.2) */
			return false;
		if (p + 1 + l > end)
			return false;
		if (eid == id) {
			*val = pkt + p + 1;
			*val_len = l;
			return true;
		}
		p += 1 + l;
	}
	return false;
}

size_t mc_rtp_payload_offset(const uint8_t *pkt, size_t len)
{
	if (len < 12 || pkt[0] >> 6 != 2)
		return 0;
	size_t off = 12 + 4 * (size_t)(pkt[0] & 0x0f);
	if (pkt[0] & 0x10) {
		if (off + 4 > len)
			return 0;
		off += 4 + 4 * ((size_t)pkt[off + 2] << 8 | pkt[off + 3]);
	}
	return off <= len ? off : 0;
}
