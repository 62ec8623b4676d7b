/* VP8 RTP packetizer (RFC 7741): payload descriptor, picture ID, fragmentation, marker, reassembly. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "check.h"
#include "rtp.h"

#define SSRC 0xcafebabeu
#define PT 100
#define DESC 4 /* X|R|N|S|R|PID, I|L|T|K|RSV, M|PictureID (15 bits) */

static uint16_t rd16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static uint32_t rd32(const uint8_t *p) { return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]; }

static void stream_init(struct mc_rtp_stream *s, uint16_t seq, uint16_t mtu, uint16_t picture_id)
{
	memset(s, 0, sizeof(*s));
	s->ssrc = SSRC;
	s->seq = seq;
	s->payload_type = PT;
	s->mtu = mtu;
	s->picture_id = picture_id;
}

static uint8_t g_frame[100000], g_out[100000];

static void fill(size_t len, unsigned seed)
{
	for (size_t i = 0; i < len; i++)
		g_frame[i] = (uint8_t)((i * 131 + seed * 17) >> 3);
}

/* Checks every packet of one frame and reassembles the payload into g_out; returns its length. */
static size_t check_frame(const struct mc_rtp_batch *b, int first, int n, uint16_t seq0, uint32_t ts, uint16_t pid,
			  int mtu)
{
	size_t out = 0;
	for (int i = 0; i < n; i++) {
		const struct mc_rtp_packet *p = &b->pkts[first + i];
		CHECK(p->len > MC_RTP_HEADER_LEN + DESC);
		CHECK(p->len <= mtu);
		CHECK_EQ(p->data[0], 0x80);
		CHECK_EQ(p->data[1] & 0x7f, PT);
		CHECK_EQ(p->data[1] >> 7, i == n - 1); /* marker: the frame's last packet only */
		CHECK_EQ(rd16(p->data + 2), (uint16_t)(seq0 + i));
		CHECK_EQ(rd32(p->data + 4), ts);
		CHECK_EQ(rd32(p->data + 8), SSRC);
		const uint8_t *d = p->data + MC_RTP_HEADER_LEN;
		CHECK_EQ(d[0], i == 0 ? 0x90 : 0x80); /* X=1, N=0, S only on the first, PID 0 */
		CHECK_EQ(d[1], 0x80);                 /* I=1, no TL0PICIDX, TID or KEYIDX */
		CHECK_EQ(d[2] & 0x80, 0x80);          /* M=1: 15-bit picture ID */
		CHECK_EQ(((d[2] & 0x7f) << 8) | d[3], pid);
		memcpy(g_out + out, d + DESC, p->len - MC_RTP_HEADER_LEN - DESC);
		out += p->len - MC_RTP_HEADER_LEN - DESC;
	}
	return out;
}


/* What the SR would count if every packet of the batch left (the sender counts after each send). */
static unsigned long long sent_count(const struct mc_rtp_batch *b, bool octets)
{
	unsigned long long sum = 0;
	for (int i = 0; i < b->count; i++)
		sum += octets ? mc_rtp_payload_len(b->pkts[i].data, b->pkts[i].len) : 1;
	return sum;
}

static void test_small_frame(void)
{
	struct mc_rtp_stream s;
	struct mc_rtp_batch b;
	mc_rtp_batch_init(&b);
	stream_init(&s, 10, 1200, 0x1234);
	fill(500, 1);
	CHECK_EQ(mc_rtp_vp8_packetize(&s, 90000, g_frame, 500, &b), 1);
	CHECK_EQ(b.count, 1);
	CHECK_EQ(b.pkts[0].len, MC_RTP_HEADER_LEN + DESC + 500);
	CHECK_EQ(check_frame(&b, 0, 1, 10, 90000, 0x1234, 1200), 500);
	CHECK_MEM_EQ(g_out, g_frame, 500);
	const uint8_t *d = b.pkts[0].data + MC_RTP_HEADER_LEN;
	CHECK_EQ(d[0], 0x90);
	CHECK_EQ(d[1], 0x80);
	CHECK_EQ(d[2], 0x80 | 0x12);
	CHECK_EQ(d[3], 0x34);
	CHECK_EQ(s.seq, 11);
	CHECK_EQ(s.picture_id, 0x1235);
	CHECK_EQ(sent_count(&b, false), 1);
	CHECK_EQ(sent_count(&b, true), DESC + 500);
	/* a one-byte frame */
	mc_rtp_batch_reset(&b);
	CHECK_EQ(mc_rtp_vp8_packetize(&s, 93000, g_frame, 1, &b), 1);
	CHECK_EQ(b.pkts[0].len, MC_RTP_HEADER_LEN + DESC + 1);
	CHECK_EQ(check_frame(&b, 0, 1, 11, 93000, 0x1235, 1200), 1);
	mc_rtp_batch_finish(&b);
}

static void test_fragmentation(void)
{
	struct mc_rtp_stream s;
	struct mc_rtp_batch b;
	mc_rtp_batch_init(&b);
	/* 3000 bytes at MTU 1200: 1184 + 1184 + 632 */
	stream_init(&s, 65534, 1200, 7);
	fill(3000, 2);
	int n = mc_rtp_vp8_packetize(&s, 0xfffffff0u, g_frame, 3000, &b);
	CHECK_EQ(n, 3);
	CHECK_EQ(b.pkts[0].len, 1200);
	CHECK_EQ(b.pkts[1].len, 1200);
	CHECK_EQ(b.pkts[2].len, MC_RTP_HEADER_LEN + DESC + 632);
	CHECK_EQ(check_frame(&b, 0, n, 65534, 0xfffffff0u, 7, 1200), 3000); /* sequence wraps: 65534, 65535, 0 */
	CHECK_MEM_EQ(g_out, g_frame, 3000);
	CHECK_EQ(rd16(b.pkts[2].data + 2), 0);
	CHECK_EQ(s.seq, 1);
	CHECK_EQ(sent_count(&b, false), 3);
	CHECK_EQ(sent_count(&b, true), 3 * DESC + 3000);

	/* exactly filling the MTU: one packet; one byte more: two */
	size_t fits = 1200 - MC_RTP_HEADER_LEN - DESC;
	mc_rtp_batch_reset(&b);
	stream_init(&s, 0, 1200, 0);
	CHECK_EQ(mc_rtp_vp8_packetize(&s, 0, g_frame, fits, &b), 1);
	CHECK_EQ(b.pkts[0].len, 1200);
	mc_rtp_batch_reset(&b);
	CHECK_EQ(mc_rtp_vp8_packetize(&s, 0, g_frame, fits + 1, &b), 2);
	CHECK_EQ(check_frame(&b, 0, 2, 1, 0, 1, 1200), fits + 1);
	CHECK_MEM_EQ(g_out, g_frame, fits + 1);
	CHECK_EQ(b.pkts[1].len, MC_RTP_HEADER_LEN + DESC + 1);

	/* other MTUs, a large keyframe */
	int mtus[] = { 300, 576, 1500 };
	for (size_t m = 0; m < sizeof(mtus) / sizeof(mtus[0]); m++) {
		size_t chunk = (size_t)mtus[m] - MC_RTP_HEADER_LEN - DESC;
		mc_rtp_batch_reset(&b);
		stream_init(&s, 100, (uint16_t)mtus[m], 0x4000);
		fill(sizeof(g_frame), (unsigned)m);
		n = mc_rtp_vp8_packetize(&s, 1, g_frame, sizeof(g_frame), &b);
		CHECK_EQ(n, (int)((sizeof(g_frame) + chunk - 1) / chunk));
		CHECK_EQ(check_frame(&b, 0, n, 100, 1, 0x4000, mtus[m]), sizeof(g_frame));
		CHECK_MEM_EQ(g_out, g_frame, sizeof(g_frame));
	}
	mc_rtp_batch_finish(&b);
}

static void test_picture_id(void)
{
	struct mc_rtp_stream s;
	struct mc_rtp_batch b;
	mc_rtp_batch_init(&b);
	/* increments per frame (not per packet) and wraps from 0x7fff to 0 */
	stream_init(&s, 0, 1200, 0x7ffd);
	fill(2000, 3);
	uint16_t want[] = { 0x7ffd, 0x7ffe, 0x7fff, 0x0000, 0x0001 };
	uint16_t seq = 0;
	for (int f = 0; f < 5; f++) {
		int first = b.count;
		int n = mc_rtp_vp8_packetize(&s, (uint32_t)f * 3000, g_frame, 2000, &b);
		CHECK_EQ(n, 2);
		CHECK_EQ(check_frame(&b, first, n, seq, (uint32_t)f * 3000, want[f], 1200), 2000);
		seq = (uint16_t)(seq + n);
	}
	CHECK_EQ(b.count, 10);
	CHECK_EQ(s.picture_id, 2);
	/* bits above the 15 are ignored */
	mc_rtp_batch_reset(&b);
	stream_init(&s, 0, 1200, 0xffff);
	CHECK_EQ(mc_rtp_vp8_packetize(&s, 0, g_frame, 10, &b), 1);
	CHECK_EQ(check_frame(&b, 0, 1, 0, 0, 0x7fff, 1200), 10);
	CHECK_EQ(s.picture_id, 0);
	mc_rtp_batch_finish(&b);
}

static void test_empty(void)
{
	struct mc_rtp_stream s;
	struct mc_rtp_batch b;
	mc_rtp_batch_init(&b);
	stream_init(&s, 5, 1200, 9);
	CHECK_EQ(mc_rtp_vp8_packetize(&s, 0, g_frame, 0, &b), -EINVAL);
	CHECK_EQ(b.count, 0);
	CHECK_EQ(s.seq, 5);
	CHECK_EQ(s.picture_id, 9);
	mc_rtp_batch_finish(&b);
}

int main(void)
{
	RUN(test_small_frame);
	RUN(test_fragmentation);
	RUN(test_picture_id);
	RUN(test_empty);
	return check_done();
}
