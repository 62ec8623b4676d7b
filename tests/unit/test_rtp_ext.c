/* RFC 8285 one-byte header extensions (rid, mid, transport-wide sequence number) and the packetizers'
 * room for them within the MTU. */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "check.h"
#include "rtp.h"

static uint16_t rd16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }

/* A block written by hand from RFC 8285 §4.2: rid "h" (id 10), mid "v" (id 4), twcc (id 3). */
static void test_build_layout(void)
{
	uint8_t b[MC_RTP_EXT_MAX];
	size_t off;
	struct mc_rtp_ext_ids ids = { .rid = 10, .mid = 4, .twcc = 3 };
	int n = mc_rtp_ext_build(b, sizeof(b), &ids, "h", "v", &off);
	static const uint8_t want[] = { 0xBE, 0xDE, 0x00, 0x02, 0xA0, 'h', 0x40, 'v', 0x31, 0x00, 0x00, 0x00 };
	CHECK_EQ(n, (int)sizeof(want));
	CHECK_MEM_EQ(b, want, sizeof(want));
	CHECK_EQ(off, 9);
	/* a 16-byte rid (the one-byte form's longest) */
	n = mc_rtp_ext_build(b, sizeof(b), &(struct mc_rtp_ext_ids){ .rid = 1 }, "abcdefghijklmnop", NULL, &off);
	CHECK_EQ(n, 4 + 20);
	CHECK_EQ(b[4], 0x1F);
	CHECK_EQ(off, 0);
	CHECK_EQ(b[3], 5);
}

static void test_build_errors(void)
{
	uint8_t b[MC_RTP_EXT_MAX];
	size_t off;
	CHECK_EQ(mc_rtp_ext_build(b, sizeof(b), &(struct mc_rtp_ext_ids){ 0 }, "h", "v", &off), 0); /* nothing */
	CHECK_EQ(mc_rtp_ext_build(b, sizeof(b), &(struct mc_rtp_ext_ids){ .rid = 15 }, "h", NULL, &off), -EINVAL);
	CHECK_EQ(mc_rtp_ext_build(b, sizeof(b), &(struct mc_rtp_ext_ids){ .rid = 2, .twcc = 2 }, "h", NULL, &off), -EINVAL);
	CHECK_EQ(mc_rtp_ext_build(b, sizeof(b), &(struct mc_rtp_ext_ids){ .rid = 2 }, "abcdefghijklmnopq", NULL, &off),
		 -EINVAL);
	CHECK_EQ(mc_rtp_ext_build(b, 6, &(struct mc_rtp_ext_ids){ .rid = 2, .mid = 3 }, "abc", "d", &off), -ENOSPC);
}

static void test_find_rejects_lies(void)
{
	uint8_t p[64] = { 0x90, 96, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0xBE, 0xDE, 0x00, 0x01, 0x15, 'a', 'b', 0x00 };
	const uint8_t *v;
	size_t l;
	CHECK(!mc_rtp_ext_find(p, 20, 1, &v, &l)); /* id 1 claims 6 bytes in a 4-byte block */
	CHECK(mc_rtp_ext_find(p, 20, 1, &v, &l) == false);
	p[16] = 0x11; /* id 1, 2 bytes */
	CHECK(mc_rtp_ext_find(p, 20, 1, &v, &l));
	CHECK_EQ(l, 2);
	CHECK(v == p + 17);
	CHECK_EQ(mc_rtp_payload_offset(p, 20), 20);
	p[16] = 0x1F; /* 16 bytes: beyond the one word the block claims */
	CHECK(!mc_rtp_ext_find(p, 20, 1, &v, &l));
	p[15] = 0x40; /* 64 words: beyond the datagram */
	CHECK(!mc_rtp_ext_find(p, 64, 1, &v, &l));
	CHECK_EQ(mc_rtp_payload_offset(p, 64), 0);
	p[15] = 1;
	p[12] = 0x10; /* the two-byte profile 0x100x: not ours */
	CHECK(!mc_rtp_ext_find(p, 20, 1, &v, &l));
	CHECK(!mc_rtp_ext_find(p, 11, 1, &v, &l));
}

static void stream(struct mc_rtp_stream *s, uint16_t mtu)
{
	memset(s, 0, sizeof(*s));
	s->ssrc = 0x11223344;
	s->payload_type = 96;
	s->mtu = mtu;
	size_t off;
	struct mc_rtp_ext_ids ids = { .rid = 10, .mid = 4, .twcc = 3 };
	int n = mc_rtp_ext_build(s->ext, sizeof(s->ext), &ids, "f", "v", &off);
	CHECK_EQ(n, 12);
	s->ext_len = (uint8_t)n;
	s->ext_twcc_off = (uint8_t)off;
}

static uint8_t g_au[200000];

/* Every packet of a keyframe-sized access unit and a VP8 frame: at most the MTU, X bit, the rid and mid
 * readable, the transport-wide sequence number settable, and the payload right after the block. */
static void test_packetizers_keep_mtu(void)
{
	for (int codec = 0; codec < 2; codec++) {
		struct mc_rtp_stream s;
		stream(&s, 1200);
		struct mc_rtp_batch b;
		mc_rtp_batch_init(&b);
		size_t len = 0;
		static const uint8_t sc[] = { 0, 0, 0, 1 };
		memcpy(g_au, sc, 4), len = 4;
		g_au[len++] = 0x67; /* SPS */
		memset(g_au + len, 0x42, 10), len += 10;
		memcpy(g_au + len, sc, 4), len += 4;
		g_au[len++] = 0x65; /* IDR of ~50 kB */
		for (int i = 0; i < 50000; i++)
			g_au[len++] = (uint8_t)(i * 7 + 1) | 1;
		int n = codec ? mc_rtp_vp8_packetize(&s, 1234, g_au, len, &b) : mc_rtp_h264_packetize(&s, 1234, g_au, len, &b);
		CHECK(n > 40);
		size_t payload = 0;
		for (int i = 0; i < n; i++) {
			struct mc_rtp_packet *p = &b.pkts[i];
			CHECK(p->len <= 1200);
			CHECK_EQ(p->data[0], 0x90);
			const uint8_t *v;
			size_t l;
			CHECK(mc_rtp_ext_find(p->data, p->len, 10, &v, &l) && l == 1 && v[0] == 'f');
			CHECK(mc_rtp_ext_find(p->data, p->len, 4, &v, &l) && l == 1 && v[0] == 'v');
			CHECK_EQ(p->twcc_off, 12 + 9);
			mc_rtp_set_twcc_seq(p, (uint16_t)(65530 + i));
			CHECK(mc_rtp_ext_find(p->data, p->len, 3, &v, &l) && l == 2 && rd16(v) == (uint16_t)(65530 + i));
			CHECK_EQ(mc_rtp_payload_offset(p->data, p->len), 24);
			payload += p->len - 24u;
		}
		/* full packets but the last: the block took exactly its 12 bytes of room */
		CHECK_EQ(b.pkts[n / 2].len, 1200);
		CHECK(payload >= len - 8);
		mc_rtp_batch_finish(&b);
	}
}

int main(void)
{
	RUN(test_build_layout);
	RUN(test_build_errors);
	RUN(test_find_rejects_lies);
	RUN(test_packetizers_keep_mtu);
	return check_done();
}
