/* RTCP writers (RFC 3550): SR, SDES CNAME, BYE, and the NTP timestamp conversion. */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "check.h"
#include "rtcp.h"

static uint16_t rd16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static uint32_t rd32(const uint8_t *p) { return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]; }

static void test_sr(void)
{
	uint8_t buf[64];
	memset(buf, 0xee, sizeof(buf));
	struct mc_rtcp_sr sr = {
		.ssrc = 0x01020304,
		.ntp = 0x1122334455667788ull,
		.rtp_ts = 0x99aabbcc,
		.packets = 0xdeadbeef,
		.octets = 0x00c0ffee,
	};
	CHECK_EQ(mc_rtcp_write_sr(buf, sizeof(buf), &sr), 28);
	static const uint8_t want[28] = {
		0x80, 200, 0x00, 0x06,  /* V=2, P=0, RC=0, PT=SR, length 6 (7 words - 1) */
		0x01, 0x02, 0x03, 0x04, /* SSRC */
		0x11, 0x22, 0x33, 0x44, /* NTP seconds */
		0x55, 0x66, 0x77, 0x88, /* NTP fraction */
		0x99, 0xaa, 0xbb, 0xcc, /* RTP timestamp */
		0xde, 0xad, 0xbe, 0xef, /* packet count */
		0x00, 0xc0, 0xff, 0xee, /* octet count */
	};
	CHECK_MEM_EQ(buf, want, sizeof(want));
	CHECK_EQ(buf[28], 0xee); /* nothing written past the end */
	CHECK_EQ((rd16(buf + 2) + 1) * 4, 28);
	CHECK_EQ(mc_rtcp_write_sr(buf, 27, &sr), -ENOSPC);
	CHECK_EQ(mc_rtcp_write_sr(buf, 28, &sr), 28);
}

static void test_sdes(void)
{
	uint8_t buf[400];
	memset(buf, 0xee, sizeof(buf));
	int n = mc_rtcp_write_sdes_cname(buf, sizeof(buf), 0xa1b2c3d4, "mixcast");
	static const uint8_t want[20] = {
		0x81, 202, 0x00, 0x04,  /* V=2, SC=1, PT=SDES, length 4 */
		0xa1, 0xb2, 0xc3, 0xd4, /* SSRC */
		1, 7, 'm', 'i', 'x', 'c', 'a', 's', 't', /* CNAME item */
		0,                      /* END item */
		0, 0,                   /* padding to 32 bits */
	};
	CHECK_EQ(n, 20);
	CHECK_MEM_EQ(buf, want, sizeof(want));
	CHECK_EQ(buf[20], 0xee);

	/* every CNAME length: a multiple of 4, length field right, at least one null octet after the text */
	char name[300];
	for (int len = 0; len <= 260; len++) {
		memset(name, 'a' + len % 26, (size_t)len);
		name[len] = '\0';
		memset(buf, 0xee, sizeof(buf));
		n = mc_rtcp_write_sdes_cname(buf, sizeof(buf), 1, name);
		int text = len > 255 ? 255 : len; /* an SDES item holds at most 255 octets */
		int ok = n > 0 && n % 4 == 0 && n >= 4 + 4 + 2 + text + 1 && n < 4 + 4 + 2 + text + 1 + 4 &&
			 (rd16(buf + 2) + 1) * 4 == n && buf[0] == 0x81 && buf[1] == 202 && rd32(buf + 4) == 1 &&
			 buf[8] == 1 && buf[9] == text && memcmp(buf + 10, name, (size_t)text) == 0;
		for (int i = 10 + text; ok && i < n; i++)
			ok = buf[i] == 0;
		if (!ok)
			fprintf(stderr, "SDES with a CNAME of %d characters: %d bytes\n", len, n);
		CHECK(ok);
		if (!ok)
			break;
	}

	/* too small a buffer */
	CHECK_EQ(mc_rtcp_write_sdes_cname(buf, 19, 1, "mixcast"), -ENOSPC);
	CHECK_EQ(mc_rtcp_write_sdes_cname(buf, 20, 1, "mixcast"), 20);
	CHECK_EQ(mc_rtcp_write_sdes_cname(buf, 11, 1, ""), -ENOSPC);
	CHECK_EQ(mc_rtcp_write_sdes_cname(buf, 12, 1, ""), 12);
}

static void test_bye(void)
{
	uint8_t buf[16];
	memset(buf, 0xee, sizeof(buf));
	CHECK_EQ(mc_rtcp_write_bye(buf, sizeof(buf), 0x0badf00d), 8);
	static const uint8_t want[8] = { 0x81, 203, 0x00, 0x01, 0x0b, 0xad, 0xf0, 0x0d };
	CHECK_MEM_EQ(buf, want, sizeof(want));
	CHECK_EQ(buf[8], 0xee);
	CHECK_EQ(mc_rtcp_write_bye(buf, 7, 1), -ENOSPC);
	CHECK_EQ(mc_rtcp_write_bye(buf, 8, 1), 8);
}

static void test_ntp(void)
{
	const uint64_t off = 2208988800ull; /* seconds from 1900 to 1970 */
	CHECK_EQ_U64(mc_ntp_from_unix_us(0), off << 32);
	CHECK_EQ_U64(mc_ntp_from_unix_us(1500000), ((off + 1) << 32) | 0x80000000u);
	CHECK_EQ_U64(mc_ntp_from_unix_us(250000), (off << 32) | 0x40000000u);
	CHECK_EQ_U64(mc_ntp_from_unix_us(1), (off << 32) | 4294u); /* 2^32 / 10^6, truncated */
	CHECK_EQ_U64(mc_ntp_from_unix_us(999999), (off << 32) | 4294963001u);
	/* 2024-01-01T00:00:00Z */
	CHECK_EQ_U64(mc_ntp_from_unix_us(1704067200ll * 1000000), 3913056000ull << 32);
	/* after the NTP era rollover in 2036 (2040-01-01): the seconds wrap modulo 2^32 */
	CHECK_EQ_U64(mc_ntp_from_unix_us(2208988800ll * 1000000) >> 32, (2208988800ull + off) & 0xffffffffu);
	/* monotonic: 1 us more never gives a smaller timestamp */
	uint64_t prev = mc_ntp_from_unix_us(1704067199999000ll);
	int monotonic = 1;
	for (int64_t us = 1704067199999001ll; us < 1704067200001000ll; us++) {
		uint64_t t = mc_ntp_from_unix_us(us);
		monotonic &= t > prev;
		prev = t;
	}
	CHECK(monotonic);
}

int main(void)
{
	RUN(test_sr);
	RUN(test_sdes);
	RUN(test_bye);
	RUN(test_ntp);
	return check_done();
}
