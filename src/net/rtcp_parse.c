#include "rtcp_parse.h"

#include <errno.h>
#include <string.h>

#define MAX_REMB_SSRCS 16

static uint16_t rd16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static uint32_t rd24(const uint8_t *p) { return (uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | p[2]; }
static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

bool mc_rtcp_is_rtcp(const uint8_t *buf, size_t len)
{
	return len >= 4 && (buf[0] >> 6) == 2 && buf[1] >= 192 && buf[1] <= 223;
}

/* Report blocks follow the fixed part of an SR (24 bytes) or RR (4 bytes) after the sender SSRC. */
static bool report_blocks(const uint8_t *p, size_t len, size_t off, int count, uint32_t sender,
			  const struct mc_rtcp_handler *h, void *ctx)
{
	if (off + (size_t)count * 24 > len)
		return false; /* RC lies: RFC 3550 §6.4.1 allows profile extensions after, never fewer bytes */
	for (int i = 0; i < count && h->report; i++, off += 24) {
		const uint8_t *b = p + off;
		uint32_t lost = rd24(b + 5);
		struct mc_rtcp_report_block rb = {
			.ssrc = rd32(b),
			.fraction_lost = b[4],
			.cumulative_lost = (int32_t)(lost & 0x800000 ? lost | 0xff000000u : lost),
			.highest_seq = rd32(b + 8),
			.jitter = rd32(b + 12),
			.lsr = rd32(b + 16),
			.dlsr = rd32(b + 20),
		};
		h->report(ctx, sender, &rb);
	}
	return true;
}

/* SDES chunks (RFC 3550 §6.5): SC chunks, each an SSRC and items up to an END item, padded to 32 bits.
 * Nothing in them is used by a sender; they are walked to check the packet. */
static bool sdes_ok(const uint8_t *p, size_t len, int count)
{
	size_t off = 4;
	for (int c = 0; c < count; c++) {
		if (off + 4 > len)
			return false;
		off += 4;
		for (;;) {
			if (off >= len)
				return false;
			if (p[off] == 0) { /* END, then padding to the next 32-bit boundary */
				off = (off + 4) & ~(size_t)3;
				break;
			}
			if (off + 2 > len || off + 2 + p[off + 1] > len)
				return false;
			off += 2 + p[off + 1];
		}
	}
	return off <= len;
}

static bool bye(const uint8_t *p, size_t len, int count, const struct mc_rtcp_handler *h, void *ctx)
{
	if (4 + (size_t)count * 4 > len)
		return false;
	size_t off = 4 + (size_t)count * 4;
	if (off < len && off + 1 + p[off] > len) /* optional reason: length byte + text */
		return false;
	for (int i = 0; i < count && h->bye; i++)
		h->bye(ctx, rd32(p + 4 + 4 * i));
	return true;
}

/* RTPFB / PSFB (RFC 4585 §6.1): header, sender SSRC, media SSRC, FCI. Returns 1 understood, 0 unknown
 * format, -1 malformed. */
static int rtpfb(const uint8_t *p, size_t len, int fmt, const struct mc_rtcp_handler *h, void *ctx)
{
	if (len < 12)
		return -1;
	uint32_t sender = rd32(p + 4), media = rd32(p + 8);
	const uint8_t *fci = p + 12;
	size_t n = len - 12;
	switch (fmt) {
	case 1: /* generic NACK: one or more (PID, BLP) pairs */
		if (n == 0 || n % 4)
			return -1;
		for (size_t i = 0; i < n && h->nack; i += 4)
			h->nack(ctx, sender, media, rd16(fci + i), rd16(fci + i + 2));
		return 1;
	case 15: { /* transport-wide congestion control feedback */
		if (n < 8)
			return -1;
		uint32_t ref = rd24(fci + 4);
		struct mc_rtcp_twcc fb = {
			.media_ssrc = media,
			.base_seq = rd16(fci),
			.status_count = rd16(fci + 2),
			.reference_time = (int32_t)(ref & 0x800000 ? ref | 0xff000000u : ref),
			.fb_count = fci[7],
			.chunks = fci + 8,
			.chunks_len = n - 8,
		};
		/* each status needs at least 2 bits of chunk (one 16-bit chunk holds up to 7..8191 statuses),
		 * and a feedback with none is meaningless */
		if (fb.status_count == 0 || fb.chunks_len < 2)
			return -1;
		if (h->twcc)
			h->twcc(ctx, sender, &fb);
		return 1;
	}
	default:
		return 0;
	}
}

static int psfb(const uint8_t *p, size_t len, int fmt, const struct mc_rtcp_handler *h, void *ctx)
{
	if (len < 12)
		return -1;
	uint32_t sender = rd32(p + 4), media = rd32(p + 8);
	const uint8_t *fci = p + 12;
	size_t n = len - 12;
	switch (fmt) {
	case 1: /* PLI: no FCI (RFC 4585 §6.3.1) */
		if (h->pli)
			h->pli(ctx, sender, media);
		return 1;
	case 4: /* FIR: entries of SSRC + seq nr + 3 reserved (RFC 5104 §4.3.1); media SSRC is unused (0) */
		if (n == 0 || n % 8)
			return -1;
		for (size_t i = 0; i < n && h->fir; i += 8)
			h->fir(ctx, sender, rd32(fci + i), fci[i + 4]);
		return 1;
	case 15: { /* application layer feedback: REMB is the one we know */
		if (n < 4 || memcmp(fci, "REMB", 4) != 0)
			return 0;
		if (n < 8)
			return -1;
		int num = fci[4];
		unsigned exp = fci[5] >> 2;
		uint64_t mantissa = (uint64_t)(fci[5] & 3) << 16 | (uint64_t)fci[6] << 8 | fci[7];
		if (n < 8 + (size_t)num * 4)
			return -1;
		/* 18-bit mantissa, 6-bit exponent: up to 2^81; saturate rather than wrap */
		uint64_t bitrate = mantissa == 0 ? 0 : exp > 46 && (mantissa >> (64 - exp)) ? UINT64_MAX : mantissa << exp;
		uint32_t ssrcs[MAX_REMB_SSRCS];
		int k = num < MAX_REMB_SSRCS ? num : MAX_REMB_SSRCS;
		for (int i = 0; i < k; i++)
			ssrcs[i] = rd32(fci + 8 + 4 * i);
		if (h->remb)
			h->remb(ctx, sender, bitrate, ssrcs, k);
		return 1;
	}
	default:
		return 0;
	}
}

int mc_rtcp_parse(const uint8_t *buf, size_t len, const struct mc_rtcp_handler *h, void *ctx,
		  struct mc_rtcp_parse_result *res)
{
	struct mc_rtcp_parse_result r = { 0 };
	size_t off = 0;
	while (off < len) {
		const uint8_t *p = buf + off;
		size_t left = len - off;
		if (left < 4 || (p[0] >> 6) != 2) {
			r.malformed++;
			break;
		}
		size_t plen = ((size_t)rd16(p + 2) + 1) * 4;
		if (plen > left) {
			r.malformed++;
			break;
		}
		off += plen;
		int count = p[0] & 0x1f, type = p[1];
		size_t body = plen;
		if (p[0] & 0x20) { /* padding: only the last packet of a compound may have it (RFC 3550 §6.4.1) */
			uint8_t pad = p[plen - 1];
			if (off != len || pad == 0 || pad > plen - 4) {
				r.malformed++;
				continue;
			}
			body = plen - pad;
		}
		int ok; /* 1 understood, 0 unknown, -1 malformed */
		switch (type) {
		case MC_RTCP_SR:
			if (body < 28 + (size_t)count * 24) {
				ok = -1;
				break;
			}
			if (h->sr)
				h->sr(ctx, rd32(p + 4), (uint64_t)rd32(p + 8) << 32 | rd32(p + 12), rd32(p + 16), rd32(p + 20),
				      rd32(p + 24));
			ok = report_blocks(p, body, 28, count, rd32(p + 4), h, ctx) ? 1 : -1;
			break;
		case MC_RTCP_RR:
			ok = body >= 8 && report_blocks(p, body, 8, count, rd32(p + 4), h, ctx) ? 1 : -1;
			break;
		case MC_RTCP_SDES: ok = sdes_ok(p, body, count) ? 1 : -1; break;
		case MC_RTCP_BYE: ok = bye(p, body, count, h, ctx) ? 1 : -1; break;
		case MC_RTCP_RTPFB: ok = rtpfb(p, body, count, h, ctx); break;
		case MC_RTCP_PSFB: ok = psfb(p, body, count, h, ctx); break;
		default: ok = type >= 192 && type <= 223 ? 0 : -1; break; /* not even RTCP: stop trusting it */
		}
		if (ok > 0)
			r.packets++;
		else if (ok == 0)
			r.unknown++;
		else
			r.malformed++;
	}
	if (res)
		*res = r;
	return r.malformed ? -EBADMSG : 0;
}
