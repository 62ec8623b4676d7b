/* The RTCP parser (rtcp_parse.c) on reference packets laid out by hand from the RFCs, and on packets that
 * lie; the packet history and RTX wrapping (rtp_history.c). */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "check.h"
#include "rtcp_parse.h"
#include "rtp_history.h"

struct seen {
	int srs, reports, byes, nacks, plis, firs, rembs, twccs;
	uint32_t sender, media;
	struct mc_rtcp_report_block rb;
	uint16_t pid[8], blp[8];
	uint64_t remb;
	int remb_n;
	uint32_t remb_ssrc;
	struct mc_rtcp_twcc tw;
	uint8_t fir_seq;
};

static void h_sr(void *c, uint32_t s, uint64_t ntp, uint32_t ts, uint32_t p, uint32_t o)
{
	struct seen *x = c;
	x->srs++;
	x->sender = s;
}
static void h_report(void *c, uint32_t s, const struct mc_rtcp_report_block *rb)
{
	struct seen *x = c;
	x->reports++;
	x->sender = s;
	x->rb = *rb;
}
static void h_bye(void *c, uint32_t s) { ((struct seen *)c)->byes++; }
static void h_nack(void *c, uint32_t s, uint32_t m, uint16_t pid, uint16_t blp)
{
	struct seen *x = c;
	if (x->nacks < 8)
		x->pid[x->nacks] = pid, x->blp[x->nacks] = blp;
	x->nacks++;
	x->media = m;
}
static void h_pli(void *c, uint32_t s, uint32_t m)
{
	struct seen *x = c;
	x->plis++;
	x->media = m;
}
static void h_fir(void *c, uint32_t s, uint32_t m, uint8_t seq)
{
	struct seen *x = c;
	x->firs++;
	x->media = m;
	x->fir_seq = seq;
}
static void h_remb(void *c, uint32_t s, uint64_t br, const uint32_t *ssrcs, int n)
{
	struct seen *x = c;
	x->rembs++;
	x->remb = br;
	x->remb_n = n;
	x->remb_ssrc = n ? ssrcs[0] : 0;
}
static void h_twcc(void *c, uint32_t s, const struct mc_rtcp_twcc *fb)
{
	struct seen *x = c;
	x->twccs++;
	x->tw = *fb;
}

static const struct mc_rtcp_handler H = { h_sr, h_report, h_bye, h_nack, h_pli, h_fir, h_remb, h_twcc };

static int parse(const uint8_t *buf, size_t len, struct seen *x, struct mc_rtcp_parse_result *r)
{
	memset(x, 0, sizeof(*x));
	return mc_rtcp_parse(buf, len, &H, x, r);
}

/* what GStreamer's rtpbin sends: RR with one block, SDES CNAME, generic NACK */
static const uint8_t gst_compound[] = {
	0x81, 201, 0x00, 0x07, 0xaa, 0xbb, 0xcc, 0xdd, /* RR, RC=1, sender 0xaabbccdd */
	0x11, 0x22, 0x33, 0x44,                         /* block: source 0x11223344 */
	0x0d, 0xff, 0xff, 0xfe,                         /* fraction 13, cumulative lost -2 */
	0x00, 0x01, 0x23, 0x45,                         /* highest seq */
	0x00, 0x00, 0x01, 0x00,                         /* jitter 256 */
	0x12, 0x34, 0x56, 0x78,                         /* LSR */
	0x00, 0x01, 0x00, 0x00,                         /* DLSR 1 s */
	0x81, 202, 0x00, 0x03, 0xaa, 0xbb, 0xcc, 0xdd,  /* SDES, one chunk */
	1, 3, 'g', 's', 't', 0,                         /* CNAME "gst", END */
	0, 0,                                           /* padding to 32 bits */
	0x81, 205, 0x00, 0x03, 0xaa, 0xbb, 0xcc, 0xdd,  /* RTPFB FMT 1 (NACK) */
	0x11, 0x22, 0x33, 0x44,                         /* media SSRC */
	0x01, 0x00, 0x00, 0x05,                         /* PID 256, BLP: 257 and 259 */
};

static void test_compound(void)
{
	struct seen x;
	struct mc_rtcp_parse_result r;
	CHECK_EQ(parse(gst_compound, sizeof(gst_compound), &x, &r), 0);
	CHECK_EQ(r.packets, 3);
	CHECK_EQ(r.malformed, 0);
	CHECK_EQ(r.unknown, 0);
	CHECK_EQ(x.reports, 1);
	CHECK_EQ(x.sender, 0xaabbccdd);
	CHECK_EQ(x.rb.ssrc, 0x11223344);
	CHECK_EQ(x.rb.fraction_lost, 13);
	CHECK_EQ(x.rb.cumulative_lost, -2);
	CHECK_EQ(x.rb.highest_seq, 0x12345);
	CHECK_EQ(x.rb.jitter, 256);
	CHECK_EQ(x.rb.lsr, 0x12345678);
	CHECK_EQ(x.rb.dlsr, 65536);
	CHECK_EQ(x.nacks, 1);
	CHECK_EQ(x.media, 0x11223344);
	CHECK_EQ(x.pid[0], 256);
	CHECK_EQ(x.blp[0], 5);
}

static void test_psfb(void)
{
	static const uint8_t pli[] = { 0x81, 206, 0, 2, 0, 0, 0, 1, 0xde, 0xad, 0xbe, 0xef };
	static const uint8_t fir[] = { 0x84, 206, 0, 4, 0, 0, 0, 1, 0, 0, 0, 0, 0xca, 0xfe, 0xba, 0xbe, 7, 0, 0, 0 };
	/* REMB (draft-alvestrand-rmcat-remb §2.2): 1 SSRC, exp 3, mantissa 125000: 1 Mbit/s */
	static const uint8_t remb[] = { 0x8f, 206, 0, 5, 0, 0, 0, 1, 0, 0, 0, 0, 'R', 'E', 'M', 'B',
					1, (3 << 2) | 0x01, 0xe8, 0x48, 0x01, 0x02, 0x03, 0x04 };
	struct seen x;
	struct mc_rtcp_parse_result r;
	CHECK_EQ(parse(pli, sizeof(pli), &x, &r), 0);
	CHECK_EQ(x.plis, 1);
	CHECK_EQ(x.media, 0xdeadbeef);
	CHECK_EQ(parse(fir, sizeof(fir), &x, &r), 0);
	CHECK_EQ(x.firs, 1);
	CHECK_EQ(x.media, 0xcafebabe);
	CHECK_EQ(x.fir_seq, 7);
	CHECK_EQ(parse(remb, sizeof(remb), &x, &r), 0);
	CHECK_EQ(x.rembs, 1);
	CHECK_EQ_U64(x.remb, 125000ull << 3);
	CHECK_EQ(x.remb_n, 1);
	CHECK_EQ(x.remb_ssrc, 0x01020304);

	/* exponent 63 with a full mantissa: saturates, does not wrap */
	uint8_t big[sizeof(remb)];
	memcpy(big, remb, sizeof(big));
	big[17] = (63 << 2) | 3, big[18] = 0xff, big[19] = 0xff;
	CHECK_EQ(parse(big, sizeof(big), &x, &r), 0);
	CHECK_EQ_U64(x.remb, UINT64_MAX);
	/* REMB claiming 200 SSRCs in 24 bytes: malformed, not called */
	big[16] = 200;
	CHECK_EQ(parse(big, sizeof(big), &x, &r), -EBADMSG);
	CHECK_EQ(x.rembs, 0);
	CHECK_EQ(r.malformed, 1);
	/* application feedback that is not REMB: unknown */
	memcpy(big, remb, sizeof(big));
	big[12] = 'X';
	CHECK_EQ(parse(big, sizeof(big), &x, &r), 0);
	CHECK_EQ(r.unknown, 1);
}

static void test_twcc(void)
{
	/* base seq 1000, 3 statuses, reference time -1, fb count 9, one run-length chunk */
	static const uint8_t tw[] = { 0x8f, 205, 0, 5, 0, 0, 0, 1, 0, 0, 0, 5,
				      0x03, 0xe8, 0x00, 0x03, 0xff, 0xff, 0xff, 9, 0x20, 0x03, 0, 0 };
	struct seen x;
	struct mc_rtcp_parse_result r;
	CHECK_EQ(parse(tw, sizeof(tw), &x, &r), 0);
	CHECK_EQ(x.twccs, 1);
	CHECK_EQ(x.tw.base_seq, 1000);
	CHECK_EQ(x.tw.status_count, 3);
	CHECK_EQ(x.tw.reference_time, -1);
	CHECK_EQ(x.tw.fb_count, 9);
	CHECK_EQ(x.tw.chunks_len, 4);
}

static void test_lies(void)
{
	struct seen x;
	struct mc_rtcp_parse_result r;
	uint8_t b[sizeof(gst_compound)];
	/* every truncation: never a crash, never a call for bytes that are not there */
	for (size_t n = 0; n < sizeof(gst_compound); n++) {
		memcpy(b, gst_compound, n);
		int rc = parse(b, n, &x, &r);
		CHECK(n == 0 || n == 32 || n == 48 || rc == -EBADMSG);
		CHECK(x.nacks == 0);
	}
	/* length larger than the datagram: stops, nothing from that packet */
	memcpy(b, gst_compound, sizeof(b));
	b[2] = 0x40;
	CHECK_EQ(parse(b, sizeof(b), &x, &r), -EBADMSG);
	CHECK_EQ(x.reports, 0);
	CHECK_EQ(r.packets, 0);
	/* report count larger than the packet: the RR is skipped by its length, the rest still parses */
	memcpy(b, gst_compound, sizeof(b));
	b[0] = 0x85;
	CHECK_EQ(parse(b, sizeof(b), &x, &r), -EBADMSG);
	CHECK_EQ(x.reports, 0);
	CHECK_EQ(x.nacks, 1);
	CHECK_EQ(r.malformed, 1);
	CHECK_EQ(r.packets, 2);
	/* version 1 */
	memcpy(b, gst_compound, sizeof(b));
	b[0] = 0x41;
	CHECK_EQ(parse(b, sizeof(b), &x, &r), -EBADMSG);
	/* padding on a packet that is not the last, and padding larger than the packet */
	memcpy(b, gst_compound, sizeof(b));
	b[0] |= 0x20;
	CHECK_EQ(parse(b, sizeof(b), &x, &r), -EBADMSG);
	CHECK_EQ(x.reports, 0);
	uint8_t pli[] = { 0xa1, 206, 0, 2, 0, 0, 0, 1, 0, 0, 0, 99 };
	CHECK_EQ(parse(pli, sizeof(pli), &x, &r), -EBADMSG);
	CHECK_EQ(x.plis, 0);
	/* NACK without FCI, FIR with a partial entry, unknown RTPFB format, APP, a type outside RTCP's range */
	static const uint8_t nofci[] = { 0x81, 205, 0, 2, 0, 0, 0, 1, 0, 0, 0, 2 };
	CHECK_EQ(parse(nofci, sizeof(nofci), &x, &r), -EBADMSG);
	static const uint8_t fir[] = { 0x84, 206, 0, 3, 0, 0, 0, 1, 0, 0, 0, 0, 1, 2, 3, 4 };
	CHECK_EQ(parse(fir, sizeof(fir), &x, &r), -EBADMSG);
	CHECK_EQ(x.firs, 0);
	static const uint8_t other[] = { 0x83, 205, 0, 2, 0, 0, 0, 1, 0, 0, 0, 2,  /* RTPFB FMT 3 (TMMBR-ish) */
					 0x80, 204, 0, 2, 0, 0, 0, 1, 'n', 'a', 'm', 'e' }; /* APP */
	CHECK_EQ(parse(other, sizeof(other), &x, &r), 0);
	CHECK_EQ(r.unknown, 2);
	static const uint8_t notrtcp[] = { 0x80, 96, 0, 0 };
	CHECK_EQ(parse(notrtcp, sizeof(notrtcp), &x, &r), -EBADMSG);
	/* SDES whose item runs past the end */
	static const uint8_t sdes[] = { 0x81, 202, 0, 2, 0, 0, 0, 1, 1, 200, 'a', 'b' };
	CHECK_EQ(parse(sdes, sizeof(sdes), &x, &r), -EBADMSG);
	/* BYE with more SSRCs than bytes */
	static const uint8_t bye[] = { 0x85, 203, 0, 1, 0, 0, 0, 1 };
	CHECK_EQ(parse(bye, sizeof(bye), &x, &r), -EBADMSG);
	CHECK_EQ(x.byes, 0);
	static const uint8_t bye_ok[] = { 0x81, 203, 0, 1, 0, 0, 0, 1 };
	CHECK_EQ(parse(bye_ok, sizeof(bye_ok), &x, &r), 0);
	CHECK_EQ(x.byes, 1);
}

static void test_is_rtcp(void)
{
	CHECK(mc_rtcp_is_rtcp(gst_compound, sizeof(gst_compound)));
	static const uint8_t rtp[] = { 0x80, 0xe0, 0, 1 }; /* PT 96 with marker */
	CHECK(!mc_rtcp_is_rtcp(rtp, sizeof(rtp)));
	CHECK(!mc_rtcp_is_rtcp(gst_compound, 3));
}

static void make_rtp(uint8_t *p, uint16_t seq, size_t len)
{
	memset(p, 0xab, len);
	p[0] = 0x80, p[1] = 0x80 | 96, p[2] = (uint8_t)(seq >> 8), p[3] = (uint8_t)seq;
	p[4] = 1, p[5] = 2, p[6] = 3, p[7] = 4, p[8] = 0x11, p[9] = 0x22, p[10] = 0x33, p[11] = 0x44;
}

static void test_history(void)
{
	struct mc_rtp_history h;
	CHECK_EQ(mc_rtp_history_init(&h), 0);
	uint8_t p[200];
	const struct mc_rtp_history_entry *e;
	for (int i = 0; i < 2000; i++) { /* wraps the ring and the 16-bit sequence number */
		make_rtp(p, (uint16_t)(65000 + i), 100);
		mc_rtp_history_put(&h, p, 100, 1000 + i);
	}
	uint16_t last = (uint16_t)(65000 + 1999);
	CHECK_EQ(mc_rtp_history_get(&h, last, 5000, 20000, &e), MC_RESEND_OK);
	CHECK(e && e->len == 100 && e->seq == last);
	/* the same NACK again at once: refused; after the gap: served */
	CHECK_EQ(mc_rtp_history_get(&h, last, 5000 + 100, 20000, &e), MC_RESEND_TOO_RECENT);
	CHECK(e == NULL);
	CHECK_EQ(mc_rtp_history_get(&h, last, 5000 + 20000, 20000, &e), MC_RESEND_OK);
	/* overwritten by a newer packet in its slot, never sent, too old */
	CHECK_EQ(mc_rtp_history_get(&h, (uint16_t)(last - MC_RTP_HISTORY_PACKETS), 5000, 20000, &e), MC_RESEND_UNKNOWN);
	CHECK_EQ(mc_rtp_history_get(&h, (uint16_t)(last + 1), 5000, 20000, &e), MC_RESEND_UNKNOWN);
	CHECK_EQ(mc_rtp_history_get(&h, (uint16_t)(last - 1), 3000 + MC_RTP_HISTORY_AGE_US, 20000, &e), MC_RESEND_TOO_OLD);
	mc_rtp_history_finish(&h);
	mc_rtp_history_finish(&h); /* twice is harmless */
	CHECK_EQ(mc_rtp_history_get(&h, last, 5000, 20000, &e), MC_RESEND_UNKNOWN);
}

static void test_rtx(void)
{
	uint8_t p[100], out[200];
	make_rtp(p, 0x1234, sizeof(p));
	int n = mc_rtx_wrap(p, sizeof(p), 97, 0xcafe0001, 7, out, sizeof(out));
	CHECK_EQ(n, (int)sizeof(p) + 2);
	CHECK_EQ(out[0], 0x80);
	CHECK_EQ(out[1], 0x80 | 97);            /* marker kept, RTX payload type */
	CHECK_EQ(out[2] << 8 | out[3], 7);      /* RTX stream's own sequence number */
	CHECK_MEM_EQ(out + 4, p + 4, 4);        /* the original timestamp */
	CHECK_EQ(out[8], 0xca);
	CHECK_EQ(out[11], 0x01);
	CHECK_EQ(out[12] << 8 | out[13], 0x1234); /* OSN */
	CHECK_MEM_EQ(out + 14, p + 12, sizeof(p) - 12);
	CHECK_EQ(mc_rtx_wrap(p, sizeof(p), 97, 1, 7, out, sizeof(p) + 1), -ENOSPC);
	CHECK_EQ(mc_rtx_wrap(p, 11, 97, 1, 7, out, sizeof(out)), -EINVAL);
	/* a CSRC count that points past the packet */
	p[0] = 0x8f;
	CHECK_EQ(mc_rtx_wrap(p, 20, 97, 1, 7, out, sizeof(out)), -EINVAL);
	/* an extension header whose length runs past the packet */
	p[0] = 0x90, p[14] = 0xff, p[15] = 0xff;
	CHECK_EQ(mc_rtx_wrap(p, sizeof(p), 97, 1, 7, out, sizeof(out)), -EINVAL);
}

int main(void)
{
	RUN(test_compound);
	RUN(test_psfb);
	RUN(test_twcc);
	RUN(test_lies);
	RUN(test_is_rtcp);
	RUN(test_history);
	RUN(test_rtx);
	return check_done();
}
