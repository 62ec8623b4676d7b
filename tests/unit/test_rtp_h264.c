/* H.264 RTP packetizer (RFC 6184, packetization-mode 1) and the Annex B NAL scanner. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "rtp.h"

#define SSRC 0x11223344u
#define TS 0x89abcdefu
#define PT 96

/* ---- helpers ------------------------------------------------------------------------------------------ */

struct buf {
	uint8_t data[200000];
	size_t len;
};

/* Append a start code (3 or 4 bytes) and a NAL: header byte `hdr`, then `n - 1` payload bytes that never
 * form a start code (no zero bytes at all). */
static const uint8_t *add_nal(struct buf *b, int sc_len, uint8_t hdr, size_t n)
{
	if (sc_len == 4)
		b->data[b->len++] = 0;
	b->data[b->len++] = 0;
	b->data[b->len++] = 0;
	b->data[b->len++] = 1;
	const uint8_t *nal = b->data + b->len;
	b->data[b->len++] = hdr;
	for (size_t i = 1; i < n; i++)
		b->data[b->len++] = (uint8_t)(1 + (i * 7 + hdr) % 255);
	return nal;
}

static void stream_init(struct mc_rtp_stream *s, uint16_t seq, uint16_t mtu)
{
	memset(s, 0, sizeof(*s));
	s->ssrc = SSRC;
	s->seq = seq;
	s->payload_type = PT;
	s->mtu = mtu;
}

static uint16_t rd16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static uint32_t rd32(const uint8_t *p) { return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]; }

/* Every packet of [first, first + n): V=2, no P/X/CC, PT, TS, SSRC, consecutive sequence numbers from
 * `seq0`, marker only on the last one, and no larger than the MTU. */
static void check_headers(const struct mc_rtp_batch *b, int first, int n, uint16_t seq0, uint32_t ts, int mtu)
{
	for (int i = 0; i < n; i++) {
		const struct mc_rtp_packet *p = &b->pkts[first + i];
		CHECK(p->len > MC_RTP_HEADER_LEN);
		CHECK(p->len <= mtu);
		CHECK_EQ(p->data[0], 0x80);
		CHECK_EQ(p->data[1] & 0x7f, PT);
		CHECK_EQ(p->data[1] >> 7, i == n - 1 ? 1 : 0);
		CHECK_EQ(rd16(p->data + 2), (uint16_t)(seq0 + i));
		CHECK_EQ(rd32(p->data + 4), ts);
		CHECK_EQ(rd32(p->data + 8), SSRC);
	}
}

/* A small depacketizer: single NAL units, STAP-A and FU-A back to a list of NALs (each in `out` with a
 * 4-byte start code, so that the result compares with the input's NALs). Returns false on a malformed
 * payload. */
static bool depacketize(const struct mc_rtp_batch *b, int first, int n, struct buf *out)
{
	out->len = 0;
	bool in_fu = false;
	for (int i = first; i < first + n; i++) {
		const uint8_t *pl = b->pkts[i].data + MC_RTP_HEADER_LEN;
		size_t len = b->pkts[i].len - MC_RTP_HEADER_LEN;
		uint8_t type = pl[0] & 0x1f;
		if (type == 24) {
			if (in_fu)
				return false;
			size_t off = 1;
			while (off < len) {
				if (off + 2 > len)
					return false;
				size_t sz = rd16(pl + off);
				off += 2;
				if (sz == 0 || off + sz > len)
					return false;
				memcpy(out->data + out->len, "\0\0\0\1", 4);
				memcpy(out->data + out->len + 4, pl + off, sz);
				out->len += 4 + sz;
				off += sz;
			}
		} else if (type == 28) {
			if (len < 3)
				return false;
			bool s = pl[1] & 0x80, e = pl[1] & 0x40;
			if (s == in_fu || (s && e))
				return false;
			if (s) {
				memcpy(out->data + out->len, "\0\0\0\1", 4);
				out->data[out->len + 4] = (uint8_t)((pl[0] & 0xe0) | (pl[1] & 0x1f));
				out->len += 5;
				in_fu = true;
			}
			memcpy(out->data + out->len, pl + 2, len - 2);
			out->len += len - 2;
			if (e)
				in_fu = false;
		} else if (type >= 1 && type <= 23) {
			if (in_fu)
				return false;
			memcpy(out->data + out->len, "\0\0\0\1", 4);
			memcpy(out->data + out->len + 4, pl, len);
			out->len += 4 + len;
		} else {
			return false;
		}
	}
	return !in_fu;
}

/* The input's NALs re-written with 4-byte start codes (what depacketize() produces). */
static void normalize(const uint8_t *au, size_t len, struct buf *out)
{
	size_t pos = 0, nal_len;
	const uint8_t *nal;
	out->len = 0;
	while (mc_h264_next_nal(au, len, &pos, &nal, &nal_len)) {
		memcpy(out->data + out->len, "\0\0\0\1", 4);
		memcpy(out->data + out->len + 4, nal, nal_len);
		out->len += 4 + nal_len;
	}
}

static struct buf g_au, g_out, g_norm;

/* ---- tests -------------------------------------------------------------------------------------------- */


/* What the SR would count if every packet of the batch left (the sender counts after each send). */
static unsigned long long sent_count(const struct mc_rtp_batch *b, bool octets)
{
	unsigned long long sum = 0;
	for (int i = 0; i < b->count; i++)
		sum += octets ? mc_rtp_payload_len(b->pkts[i].data, b->pkts[i].len) : 1;
	return sum;
}

static void test_single_nal(void)
{
	struct mc_rtp_stream s;
	struct mc_rtp_batch b;
	stream_init(&s, 100, 1200);
	mc_rtp_batch_init(&b);
	g_au.len = 0;
	const uint8_t *nal = add_nal(&g_au, 4, 0x41, 100); /* NRI 2, non-IDR slice */
	CHECK_EQ(mc_rtp_h264_packetize(&s, TS, g_au.data, g_au.len, &b), 1);
	CHECK_EQ(b.count, 1);
	check_headers(&b, 0, 1, 100, TS, 1200);
	CHECK_EQ(b.pkts[0].len, MC_RTP_HEADER_LEN + 100);
	CHECK_MEM_EQ(b.pkts[0].data + MC_RTP_HEADER_LEN, nal, 100);
	CHECK_EQ(s.seq, 101);
	CHECK_EQ(s.packets, 0); /* the sender counts what left, not what was packetized */
	CHECK_EQ(sent_count(&b, false), 1);
	CHECK_EQ(sent_count(&b, true), 100);
	mc_rtp_batch_finish(&b);
}

static void test_nal_fills_mtu(void)
{
	struct mc_rtp_stream s;
	struct mc_rtp_batch b;
	mc_rtp_batch_init(&b);
	int mtus[] = { 300, 1200, 1500 };
	for (size_t m = 0; m < sizeof(mtus) / sizeof(mtus[0]); m++) {
		int mtu = mtus[m];
		stream_init(&s, 7, (uint16_t)mtu);
		mc_rtp_batch_reset(&b);
		g_au.len = 0;
		const uint8_t *nal = add_nal(&g_au, 3, 0x65, (size_t)mtu - MC_RTP_HEADER_LEN); /* payload == mtu - 12 */
		CHECK_EQ(mc_rtp_h264_packetize(&s, TS, g_au.data, g_au.len, &b), 1);
		CHECK_EQ(b.pkts[0].len, mtu);
		check_headers(&b, 0, 1, 7, TS, mtu);
		CHECK_MEM_EQ(b.pkts[0].data + MC_RTP_HEADER_LEN, nal, (size_t)mtu - MC_RTP_HEADER_LEN);
	}
	mc_rtp_batch_finish(&b);
}

static void test_fu_a(void)
{
	struct mc_rtp_stream s;
	struct mc_rtp_batch b;
	mc_rtp_batch_init(&b);

	/* one byte more than fits: FU-A in two fragments */
	stream_init(&s, 500, 1200);
	g_au.len = 0;
	const uint8_t *nal = add_nal(&g_au, 4, 0x65, 1200 - MC_RTP_HEADER_LEN + 1);
	CHECK_EQ(mc_rtp_h264_packetize(&s, TS, g_au.data, g_au.len, &b), 2);
	check_headers(&b, 0, 2, 500, TS, 1200);
	const uint8_t *p0 = b.pkts[0].data + MC_RTP_HEADER_LEN, *p1 = b.pkts[1].data + MC_RTP_HEADER_LEN;
	CHECK_EQ(p0[0], (0x65 & 0xe0) | 28); /* FU indicator: F and NRI of the NAL, type 28 */
	CHECK_EQ(p1[0], (0x65 & 0xe0) | 28);
	CHECK_EQ(p0[1], 0x80 | 5); /* FU header: S, type 5 */
	CHECK_EQ(p1[1], 0x40 | 5); /* E, type 5 */
	CHECK_EQ(b.pkts[0].len, 1200); /* the first fragment is as large as the MTU allows */
	CHECK_EQ(b.pkts[0].len - MC_RTP_HEADER_LEN - 2 + b.pkts[1].len - MC_RTP_HEADER_LEN - 2, 1188); /* NAL - header */
	CHECK_MEM_EQ(p0 + 2, nal + 1, 1186);
	CHECK_MEM_EQ(p1 + 2, nal + 1 + 1186, 2);
	CHECK(depacketize(&b, 0, 2, &g_out));
	normalize(g_au.data, g_au.len, &g_norm);
	CHECK_EQ(g_out.len, g_norm.len);
	CHECK_MEM_EQ(g_out.data, g_norm.data, g_norm.len);
	CHECK_EQ(sent_count(&b, true), 2 + 1186 + 2 + 2);

	/* a large NAL: start bit only on the first, end bit only on the last, NRI and type kept */
	mc_rtp_batch_reset(&b);
	stream_init(&s, 0, 1200);
	g_au.len = 0;
	add_nal(&g_au, 3, 0x25, 10000); /* NRI 1, IDR */
	int n = mc_rtp_h264_packetize(&s, TS, g_au.data, g_au.len, &b);
	CHECK_EQ(n, (9999 + 1185) / 1186);
	CHECK_EQ(b.count, n);
	check_headers(&b, 0, n, 0, TS, 1200);
	for (int i = 0; i < n; i++) {
		const uint8_t *p = b.pkts[i].data + MC_RTP_HEADER_LEN;
		CHECK_EQ(p[0], 0x20 | 28);
		CHECK_EQ(p[1] & 0x1f, 5);
		CHECK_EQ(!!(p[1] & 0x80), i == 0);
		CHECK_EQ(!!(p[1] & 0x40), i == n - 1);
		CHECK_EQ(p[1] & 0x20, 0); /* the R bit */
	}
	CHECK(depacketize(&b, 0, n, &g_out));
	normalize(g_au.data, g_au.len, &g_norm);
	CHECK_EQ(g_out.len, 4 + 10000);
	CHECK_MEM_EQ(g_out.data, g_norm.data, g_norm.len);
	CHECK_EQ(sent_count(&b, false), n);
	mc_rtp_batch_finish(&b);
}

static void test_keyframe_stap_a(void)
{
	struct mc_rtp_stream s;
	struct mc_rtp_batch b;
	mc_rtp_batch_init(&b);
	stream_init(&s, 1000, 1200);
	g_au.len = 0;
	const uint8_t *sps = add_nal(&g_au, 4, 0x67, 11);
	const uint8_t *pps = add_nal(&g_au, 4, 0x68, 4);
	const uint8_t *idr = add_nal(&g_au, 4, 0x65, 300);
	CHECK_EQ(mc_rtp_h264_packetize(&s, TS, g_au.data, g_au.len, &b), 2);
	check_headers(&b, 0, 2, 1000, TS, 1200);
	const uint8_t *p = b.pkts[0].data + MC_RTP_HEADER_LEN;
	CHECK_EQ(b.pkts[0].len, MC_RTP_HEADER_LEN + 1 + 2 + 11 + 2 + 4);
	CHECK_EQ(p[0], 0x60 | 24); /* STAP-A with the highest NRI of its units */
	CHECK_EQ(rd16(p + 1), 11);
	CHECK_MEM_EQ(p + 3, sps, 11);
	CHECK_EQ(rd16(p + 14), 4);
	CHECK_MEM_EQ(p + 16, pps, 4);
	CHECK_EQ(b.pkts[1].len, MC_RTP_HEADER_LEN + 300);
	CHECK_MEM_EQ(b.pkts[1].data + MC_RTP_HEADER_LEN, idr, 300);
	CHECK_EQ(sent_count(&b, true), (1 + 2 + 11 + 2 + 4) + 300);

	/* with 3-byte start codes, an AUD and SEI first, and trailing zero bytes: the same NALs come out */
	mc_rtp_batch_reset(&b);
	stream_init(&s, 1000, 1200);
	g_au.len = 0;
	add_nal(&g_au, 4, 0x09, 2); /* AUD, NRI 0 */
	add_nal(&g_au, 3, 0x06, 20); /* SEI */
	add_nal(&g_au, 3, 0x27, 11); /* SPS with NRI 1 */
	add_nal(&g_au, 4, 0x28, 4);
	g_au.data[g_au.len++] = 0; /* trailing_zero_8bits before the next start code */
	g_au.data[g_au.len++] = 0;
	add_nal(&g_au, 3, 0x25, 2000);
	g_au.data[g_au.len++] = 0;
	CHECK_EQ(mc_rtp_h264_packetize(&s, TS + 3000, g_au.data, g_au.len, &b), 3);
	check_headers(&b, 0, 3, 1000, TS + 3000, 1200);
	p = b.pkts[0].data + MC_RTP_HEADER_LEN;
	CHECK_EQ(p[0], 0x20 | 24);
	CHECK_EQ(b.pkts[0].len, MC_RTP_HEADER_LEN + 1 + (2 + 2) + (2 + 20) + (2 + 11) + (2 + 4));
	CHECK_EQ(rd16(p + 1), 2);
	CHECK_EQ(p[3], 0x09);
	CHECK_EQ(rd16(p + 5), 20);
	CHECK_EQ(rd16(p + 27), 11);
	CHECK_EQ(rd16(p + 40), 4);
	CHECK_EQ(b.pkts[1].data[MC_RTP_HEADER_LEN + 1] & 0xc0, 0x80); /* the IDR, as FU-A start */
	CHECK(depacketize(&b, 0, 3, &g_out));
	normalize(g_au.data, g_au.len, &g_norm);
	CHECK_EQ(g_out.len, g_norm.len);
	CHECK_EQ(g_norm.len, 5 * 4 + 2 + 20 + 11 + 4 + 2000);
	CHECK_MEM_EQ(g_out.data, g_norm.data, g_norm.len);
	mc_rtp_batch_finish(&b);
}

static void test_marker_and_batches(void)
{
	/* two access units into one batch: each ends with a marker, sequence numbers run on */
	struct mc_rtp_stream s;
	struct mc_rtp_batch b;
	mc_rtp_batch_init(&b);
	stream_init(&s, 40, 500);
	g_au.len = 0;
	add_nal(&g_au, 4, 0x67, 10);
	add_nal(&g_au, 4, 0x68, 4);
	add_nal(&g_au, 4, 0x65, 1500);
	add_nal(&g_au, 4, 0x65, 100); /* a second slice of the same picture */
	int n1 = mc_rtp_h264_packetize(&s, 1000, g_au.data, g_au.len, &b);
	CHECK_EQ(n1, 1 + 4 + 1); /* STAP-A, 1499 bytes in fragments of 486, one slice */
	g_au.len = 0;
	add_nal(&g_au, 4, 0x41, 50);
	int n2 = mc_rtp_h264_packetize(&s, 4000, g_au.data, g_au.len, &b);
	CHECK_EQ(n2, 1);
	CHECK_EQ(b.count, n1 + n2);
	check_headers(&b, 0, n1, 40, 1000, 500);
	check_headers(&b, n1, n2, (uint16_t)(40 + n1), 4000, 500);
	CHECK_EQ(s.seq, 40 + n1 + n2);
	CHECK_EQ(sent_count(&b, false), n1 + n2);
	mc_rtp_batch_finish(&b);
}

static void test_seq_wrap(void)
{
	struct mc_rtp_stream s;
	struct mc_rtp_batch b;
	mc_rtp_batch_init(&b);
	stream_init(&s, 65534, 1200);
	g_au.len = 0;
	add_nal(&g_au, 4, 0x65, 4000); /* 4 FU-A packets: 65534, 65535, 0, 1 */
	int n = mc_rtp_h264_packetize(&s, 0xffffffffu, g_au.data, g_au.len, &b);
	CHECK_EQ(n, 4);
	check_headers(&b, 0, n, 65534, 0xffffffffu, 1200);
	CHECK_EQ(rd16(b.pkts[1].data + 2), 65535);
	CHECK_EQ(rd16(b.pkts[2].data + 2), 0);
	CHECK_EQ(rd16(b.pkts[3].data + 2), 1);
	CHECK_EQ(s.seq, 2);
	mc_rtp_batch_finish(&b);
}

static void test_invalid_input(void)
{
	struct mc_rtp_stream s;
	struct mc_rtp_batch b;
	mc_rtp_batch_init(&b);
	stream_init(&s, 9, 1200);
	static const uint8_t no_sc[] = { 0x65, 0x88, 0x84, 0x00, 0x21 };
	static const uint8_t only_sc[] = { 0, 0, 0, 1, 0, 0, 1 };
	static const uint8_t zeros[] = { 0, 0, 0, 0, 0, 0 };
	/* NAL types 0 and 24..31 are RTP payload structures, never sent from an encoder's stream */
	static const uint8_t reserved[] = { 0, 0, 0, 1, 0x00, 0x11, 0, 0, 1, 0x78, 0x22, 0, 0, 1, 0x7c, 0x33 };
	CHECK_EQ(mc_rtp_h264_packetize(&s, TS, g_au.data, 0, &b), -EINVAL);
	CHECK_EQ(mc_rtp_h264_packetize(&s, TS, no_sc, sizeof(no_sc), &b), -EINVAL);
	CHECK_EQ(mc_rtp_h264_packetize(&s, TS, only_sc, sizeof(only_sc), &b), -EINVAL);
	CHECK_EQ(mc_rtp_h264_packetize(&s, TS, zeros, sizeof(zeros), &b), -EINVAL);
	CHECK_EQ(mc_rtp_h264_packetize(&s, TS, reserved, sizeof(reserved), &b), -EINVAL);
	CHECK_EQ(b.count, 0);
	CHECK_EQ(s.seq, 9); /* nothing consumed */
	CHECK_EQ(sent_count(&b, false), 0);

	/* mixed with a real slice, the reserved types are dropped and the slice goes out alone */
	g_au.len = 0;
	add_nal(&g_au, 4, 0x18, 10); /* type 24 */
	const uint8_t *slice = add_nal(&g_au, 4, 0x41, 30);
	add_nal(&g_au, 4, 0x1c, 10); /* type 28 */
	CHECK_EQ(mc_rtp_h264_packetize(&s, TS, g_au.data, g_au.len, &b), 1);
	CHECK_EQ(b.pkts[0].len, MC_RTP_HEADER_LEN + 30);
	CHECK_MEM_EQ(b.pkts[0].data + MC_RTP_HEADER_LEN, slice, 30);
	CHECK_EQ(b.pkts[0].data[1] & 0x80, 0x80);
	mc_rtp_batch_finish(&b);
}

static void test_many_small_nals(void)
{
	struct mc_rtp_stream s;
	struct mc_rtp_batch b;
	mc_rtp_batch_init(&b);

	/* 20 SEIs of 100 bytes: 1 + 11 * 102 = 1123 fits in 1188, a 12th does not: two STAP-As */
	stream_init(&s, 0, 1200);
	g_au.len = 0;
	for (int i = 0; i < 20; i++)
		add_nal(&g_au, 4, 0x06, 100);
	add_nal(&g_au, 4, 0x65, 500);
	int n = mc_rtp_h264_packetize(&s, TS, g_au.data, g_au.len, &b);
	CHECK_EQ(n, 3);
	check_headers(&b, 0, n, 0, TS, 1200);
	CHECK_EQ(b.pkts[0].data[MC_RTP_HEADER_LEN] & 0x1f, 24);
	CHECK_EQ(b.pkts[0].len, MC_RTP_HEADER_LEN + 1 + 11 * 102);
	CHECK_EQ(b.pkts[1].data[MC_RTP_HEADER_LEN] & 0x1f, 24);
	CHECK_EQ(b.pkts[1].len, MC_RTP_HEADER_LEN + 1 + 9 * 102);
	CHECK_EQ(b.pkts[2].len, MC_RTP_HEADER_LEN + 500);
	CHECK(depacketize(&b, 0, n, &g_out));
	normalize(g_au.data, g_au.len, &g_norm);
	CHECK_EQ(g_out.len, g_norm.len);
	CHECK_MEM_EQ(g_out.data, g_norm.data, g_norm.len);

	/* 70 tiny NALs: a STAP-A takes at most 32 units, so 32 + 32 + 6, all in order */
	mc_rtp_batch_reset(&b);
	stream_init(&s, 0, 1200);
	g_au.len = 0;
	for (int i = 0; i < 70; i++)
		add_nal(&g_au, i % 2 ? 3 : 4, 0x06, 3);
	n = mc_rtp_h264_packetize(&s, TS, g_au.data, g_au.len, &b);
	CHECK_EQ(n, 3);
	check_headers(&b, 0, n, 0, TS, 1200);
	CHECK_EQ(b.pkts[0].len, MC_RTP_HEADER_LEN + 1 + 32 * 5);
	CHECK_EQ(b.pkts[1].len, MC_RTP_HEADER_LEN + 1 + 32 * 5);
	CHECK_EQ(b.pkts[2].len, MC_RTP_HEADER_LEN + 1 + 6 * 5);
	CHECK(depacketize(&b, 0, n, &g_out));
	normalize(g_au.data, g_au.len, &g_norm);
	CHECK_EQ(g_norm.len, 70 * 7);
	CHECK_EQ(g_out.len, g_norm.len);
	CHECK_MEM_EQ(g_out.data, g_norm.data, g_norm.len);

	/* a non-VCL NAL too large for a STAP-A still goes out whole or in fragments */
	mc_rtp_batch_reset(&b);
	stream_init(&s, 0, 1200);
	g_au.len = 0;
	add_nal(&g_au, 4, 0x67, 20);
	add_nal(&g_au, 4, 0x06, 1186); /* 1186 + 3 > 1188: not aggregated, but fits alone */
	add_nal(&g_au, 4, 0x06, 3000); /* fragmented */
	add_nal(&g_au, 4, 0x65, 100);
	n = mc_rtp_h264_packetize(&s, TS, g_au.data, g_au.len, &b);
	CHECK_EQ(n, 1 + 1 + 3 + 1);
	check_headers(&b, 0, n, 0, TS, 1200);
	CHECK_EQ(b.pkts[0].len, MC_RTP_HEADER_LEN + 20); /* SPS alone: a single NAL unit packet */
	CHECK_EQ(b.pkts[1].len, 1200 - 2);
	CHECK_EQ(b.pkts[2].data[MC_RTP_HEADER_LEN] & 0x1f, 28);
	CHECK(depacketize(&b, 0, n, &g_out));
	normalize(g_au.data, g_au.len, &g_norm);
	CHECK_EQ(g_out.len, g_norm.len);
	CHECK_MEM_EQ(g_out.data, g_norm.data, g_norm.len);

	/* an access unit of parameter sets only: one STAP-A carrying the marker */
	mc_rtp_batch_reset(&b);
	stream_init(&s, 0, 1200);
	g_au.len = 0;
	add_nal(&g_au, 4, 0x67, 20);
	add_nal(&g_au, 4, 0x68, 5);
	CHECK_EQ(mc_rtp_h264_packetize(&s, TS, g_au.data, g_au.len, &b), 1);
	check_headers(&b, 0, 1, 0, TS, 1200);
	CHECK_EQ(b.pkts[0].data[MC_RTP_HEADER_LEN], 0x60 | 24);
	mc_rtp_batch_finish(&b);
}

static void test_next_nal(void)
{
	static const uint8_t buf[] = {
		0, 0, 0, 1, 0x67, 0xaa, 0xbb,    /* 4-byte start code */
		0, 0, 1, 0x68, 0xcc,             /* 3-byte start code */
		0, 0, 0, 0, 1, 0x65, 0x11, 0x00, 0x00, 0x03, 0x01, 0x22, /* leading zero, emulation prevention */
		0, 0, 1,                          /* an empty NAL */
		0, 0, 1, 0x41, 0x33, 0x00, 0x00,  /* trailing zeros at the end */
	};
	size_t pos = 0, len = 0;
	const uint8_t *nal = NULL;
	CHECK(mc_h264_next_nal(buf, sizeof(buf), &pos, &nal, &len));
	CHECK(nal == buf + 4);
	CHECK_EQ(len, 3);
	CHECK(mc_h264_next_nal(buf, sizeof(buf), &pos, &nal, &len));
	CHECK(nal == buf + 10);
	CHECK_EQ(len, 2);
	CHECK(mc_h264_next_nal(buf, sizeof(buf), &pos, &nal, &len));
	CHECK(nal == buf + 17);
	CHECK_EQ(len, 7);
	CHECK_EQ(nal[4], 0x03);
	CHECK(mc_h264_next_nal(buf, sizeof(buf), &pos, &nal, &len));
	CHECK(nal == buf + 30);
	CHECK_EQ(len, 2);
	CHECK_EQ(nal[1], 0x33);
	CHECK(!mc_h264_next_nal(buf, sizeof(buf), &pos, &nal, &len));
	CHECK_EQ(pos, sizeof(buf));
	CHECK(!mc_h264_next_nal(buf, sizeof(buf), &pos, &nal, &len)); /* stays at the end */

	/* no start code, too short, empty */
	static const uint8_t none[] = { 0x65, 0, 0, 2, 0x01 };
	pos = 0;
	CHECK(!mc_h264_next_nal(none, sizeof(none), &pos, &nal, &len));
	CHECK_EQ(pos, sizeof(none));
	pos = 0;
	CHECK(!mc_h264_next_nal(none, 0, &pos, &nal, &len));
	static const uint8_t sc_only[] = { 0, 0, 1 };
	pos = 0;
	CHECK(!mc_h264_next_nal(sc_only, sizeof(sc_only), &pos, &nal, &len));
	/* 00 00 00 ends a NAL even when no start code follows (B.2: it cannot occur inside one) */
	static const uint8_t zero3[] = { 0, 0, 1, 0x65, 0x11, 0, 0, 0, 2, 0x33 };
	pos = 0;
	CHECK(mc_h264_next_nal(zero3, sizeof(zero3), &pos, &nal, &len));
	CHECK(nal == zero3 + 3);
	CHECK_EQ(len, 2);
	CHECK(!mc_h264_next_nal(zero3, sizeof(zero3), &pos, &nal, &len));
	/* a one-byte NAL at the very end */
	static const uint8_t tiny[] = { 0, 0, 1, 0x09 };
	pos = 0;
	CHECK(mc_h264_next_nal(tiny, sizeof(tiny), &pos, &nal, &len));
	CHECK(nal == tiny + 3);
	CHECK_EQ(len, 1);
}

/* Random access units: the packets always fit the MTU, headers are right and the NALs come back. */
static void test_random_roundtrip(void)
{
	struct mc_rtp_stream s;
	struct mc_rtp_batch b;
	mc_rtp_batch_init(&b);
	srand(1234);
	bool all_ok = true;
	for (int iter = 0; iter < 300; iter++) {
		int mtu = 300 + rand() % 1201;
		uint16_t seq = (uint16_t)rand();
		stream_init(&s, seq, (uint16_t)mtu);
		mc_rtp_batch_reset(&b);
		g_au.len = 0;
		int nals = 1 + rand() % 12;
		static const uint8_t types[] = { 1, 5, 6, 7, 8, 9, 12 };
		for (int i = 0; i < nals; i++) {
			uint8_t hdr = (uint8_t)((rand() % 4) << 5 | types[rand() % sizeof(types)]);
			size_t n = 1 + (size_t)(rand() % (rand() % 4 == 0 ? 6000 : 200));
			add_nal(&g_au, rand() % 2 ? 3 : 4, hdr, n);
		}
		int n = mc_rtp_h264_packetize(&s, (uint32_t)iter, g_au.data, g_au.len, &b);
		all_ok &= n > 0 && n == b.count && s.seq == (uint16_t)(seq + n);
		int failures = check_failures_;
		check_headers(&b, 0, n, seq, (uint32_t)iter, mtu);
		all_ok &= depacketize(&b, 0, n, &g_out);
		normalize(g_au.data, g_au.len, &g_norm);
		all_ok &= g_out.len == g_norm.len && memcmp(g_out.data, g_norm.data, g_norm.len) == 0;
		if (!all_ok || failures != check_failures_) {
			fprintf(stderr, "random AU %d (mtu %d) failed\n", iter, mtu);
			break;
		}
	}
	CHECK(all_ok);
	mc_rtp_batch_finish(&b);
}

/* SR payload octets: without CSRCs, header extension and padding (RFC 3550 §6.4.1); malformed: 0. */
static void test_payload_len(void)
{
	uint8_t p[64] = { 0 };
	mc_rtp_write_header(p, 96, false, 1, 2, 3);
	CHECK_EQ(mc_rtp_payload_len(p, 12 + 20), 20);
	CHECK_EQ(mc_rtp_payload_len(p, 11), 0);
	p[0] = 0x80 | 0x02; /* two CSRCs */
	CHECK_EQ(mc_rtp_payload_len(p, 12 + 8 + 5), 5);
	p[0] = 0x80 | 0x10; /* extension of 2 words */
	p[12 + 3] = 2;
	CHECK_EQ(mc_rtp_payload_len(p, 12 + 4 + 8 + 7), 7);
	CHECK_EQ(mc_rtp_payload_len(p, 12 + 2), 0);
	p[0] = 0x80 | 0x20; /* 3 bytes of padding */
	p[12 + 10 - 1] = 3;
	CHECK_EQ(mc_rtp_payload_len(p, 12 + 10), 7);
	p[12 + 10 - 1] = 11; /* more padding than payload */
	CHECK_EQ(mc_rtp_payload_len(p, 12 + 10), 0);
}

int main(void)
{
	RUN(test_payload_len);
	RUN(test_single_nal);
	RUN(test_nal_fills_mtu);
	RUN(test_fu_a);
	RUN(test_keyframe_stap_a);
	RUN(test_marker_and_batches);
	RUN(test_seq_wrap);
	RUN(test_invalid_input);
	RUN(test_many_small_nals);
	RUN(test_next_nal);
	RUN(test_random_roundtrip);
	return check_done();
}
