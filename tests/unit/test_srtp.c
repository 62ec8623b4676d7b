/* The SRTP wrapper: round trips through an outbound and an inbound session, tampering, wrong keys,
 * replays, SRTCP, buffer room and interop with libsrtp2 itself. `test_srtp gcm` (CTest: unit_srtp_gcm)
 * tests the GCM suite alone and exits 77, skipped, when this libsrtp2 lacks it (built without OpenSSL). */
#include <errno.h>
#include <srtp2/srtp.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "check.h"
#include "rtcp.h"
#include "rtp.h"
#include "srtp.h"

static uint8_t g_key30[30], g_key28[28], g_other30[30];

/* An RTP packet: header + `payload` bytes of a pattern. Returns its length. */
static size_t make_rtp(uint8_t *buf, uint16_t seq, uint32_t ssrc, size_t payload)
{
	mc_rtp_write_header(buf, 96, payload % 2, seq, 0x10000000u + seq * 3000u, ssrc);
	for (size_t i = 0; i < payload; i++)
		buf[MC_RTP_HEADER_LEN + i] = (uint8_t)(i * 13 + seq);
	return MC_RTP_HEADER_LEN + payload;
}

/* An RTCP compound packet: SR + SDES CNAME. */
static size_t make_rtcp(uint8_t *buf, uint32_t ssrc)
{
	struct mc_rtcp_sr sr = { .ssrc = ssrc, .ntp = mc_ntp_from_unix_us(1700000000000000ll), .rtp_ts = 1234,
				 .packets = 10, .octets = 10000 };
	int a = mc_rtcp_write_sr(buf, 100, &sr);
	int b = mc_rtcp_write_sdes_cname(buf + a, 100, ssrc, "mixcast-test");
	return (size_t)(a + b);
}

static void test_create(void)
{
	struct mc_srtp *s = (struct mc_srtp *)1;
	CHECK_EQ(mc_srtp_create(&s, MC_SRTP_AES_CM_128_HMAC_SHA1_80, g_key30, 28, false), -EINVAL);
	CHECK(s == NULL);
	CHECK_EQ(mc_srtp_create(&s, MC_SRTP_AES_CM_128_HMAC_SHA1_80, g_key30, 16, false), -EINVAL);
	CHECK_EQ(mc_srtp_create(&s, MC_SRTP_NONE, g_key30, 0, false), -EINVAL);
	CHECK(s == NULL);
	CHECK_EQ(mc_srtp_create(&s, MC_SRTP_AES_CM_128_HMAC_SHA1_80, g_key30, 30, false), 0);
	CHECK(s != NULL);
	mc_srtp_destroy(s);
	mc_srtp_destroy(NULL);
	CHECK_STR_EQ(mc_srtp_suite_name(MC_SRTP_AES_CM_128_HMAC_SHA1_80), "AES_CM_128_HMAC_SHA1_80");
	CHECK_STR_EQ(mc_srtp_suite_name(MC_SRTP_AES_CM_128_HMAC_SHA1_32), "AES_CM_128_HMAC_SHA1_32");
	CHECK_STR_EQ(mc_srtp_suite_name(MC_SRTP_AEAD_AES_128_GCM), "AEAD_AES_128_GCM");
	CHECK_STR_EQ(mc_srtp_suite_name(MC_SRTP_NONE), "none");
}

/* protect -> unprotect for one suite; `tag` is what SRTP adds. */
static void roundtrip(enum mc_srtp_suite suite, const uint8_t *key, size_t key_len, size_t tag)
{
	struct mc_srtp *tx = NULL, *rx = NULL;
	CHECK_EQ(mc_srtp_create(&tx, suite, key, key_len, false), 0);
	CHECK_EQ(mc_srtp_create(&rx, suite, key, key_len, true), 0);
	if (!tx || !rx)
		goto out;
	uint8_t plain[MC_RTP_PACKET_MAX], pkt[MC_RTP_PACKET_MAX], copy[MC_RTP_PACKET_MAX];
	for (int i = 0; i < 50; i++) {
		size_t len = make_rtp(plain, (uint16_t)(65500 + i), 0x1234, 1 + (size_t)i * 29); /* wraps at 65535 */
		memcpy(pkt, plain, len);
		size_t plen = len;
		CHECK_EQ(mc_srtp_protect(tx, pkt, &plen, sizeof(pkt)), 0);
		CHECK_EQ(plen, len + tag);
		CHECK_MEM_EQ(pkt, plain, MC_RTP_HEADER_LEN); /* the header stays in the clear */
		if (len > MC_RTP_HEADER_LEN + 8)
			CHECK(memcmp(pkt + MC_RTP_HEADER_LEN, plain + MC_RTP_HEADER_LEN, len - MC_RTP_HEADER_LEN) != 0);
		memcpy(copy, pkt, plen);
		size_t ulen = plen;
		CHECK_EQ(mc_srtp_unprotect(rx, pkt, &ulen), 0);
		CHECK_EQ(ulen, len);
		CHECK_MEM_EQ(pkt, plain, len);
		/* the same packet again is a replay */
		ulen = plen;
		CHECK_EQ(mc_srtp_unprotect(rx, copy, &ulen), -EACCES);
	}
out:
	mc_srtp_destroy(tx);
	mc_srtp_destroy(rx);
}

static void test_roundtrip_sha1_80(void) { roundtrip(MC_SRTP_AES_CM_128_HMAC_SHA1_80, g_key30, 30, 10); }
static void test_roundtrip_sha1_32(void) { roundtrip(MC_SRTP_AES_CM_128_HMAC_SHA1_32, g_key30, 30, 4); }

static void test_tamper_and_replay(void)
{
	struct mc_srtp *tx = NULL, *rx = NULL, *wrong = NULL;
	CHECK_EQ(mc_srtp_create(&tx, MC_SRTP_AES_CM_128_HMAC_SHA1_80, g_key30, 30, false), 0);
	CHECK_EQ(mc_srtp_create(&rx, MC_SRTP_AES_CM_128_HMAC_SHA1_80, g_key30, 30, true), 0);
	CHECK_EQ(mc_srtp_create(&wrong, MC_SRTP_AES_CM_128_HMAC_SHA1_80, g_other30, 30, true), 0);
	if (!tx || !rx || !wrong)
		goto out;
	uint8_t plain[MC_RTP_PACKET_MAX], prot[MC_RTP_PACKET_MAX], pkt[MC_RTP_PACKET_MAX];
	size_t len = make_rtp(plain, 1, 0xabcdef01, 200), plen = len;
	memcpy(prot, plain, len);
	CHECK_EQ(mc_srtp_protect(tx, prot, &plen, sizeof(prot)), 0);
	CHECK_EQ(plen, len + 10);

	/* one flipped bit anywhere (header, payload, tag) fails authentication */
	size_t where[] = { 1, 7, MC_RTP_HEADER_LEN, MC_RTP_HEADER_LEN + 100, len - 1, len, plen - 1 };
	for (size_t i = 0; i < sizeof(where) / sizeof(where[0]); i++) {
		memcpy(pkt, prot, plen);
		pkt[where[i]] ^= 0x01;
		size_t l = plen;
		CHECK_EQ(mc_srtp_unprotect(rx, pkt, &l), -EACCES);
	}
	/* a wrong key */
	memcpy(pkt, prot, plen);
	size_t l = plen;
	CHECK_EQ(mc_srtp_unprotect(wrong, pkt, &l), -EACCES);
	/* a truncated packet (tag cut short) */
	memcpy(pkt, prot, plen);
	l = plen - 1;
	CHECK_EQ(mc_srtp_unprotect(rx, pkt, &l), -EACCES);
	/* too short to be SRTP at all: refused, whatever the reason */
	l = 8;
	int rc = mc_srtp_unprotect(rx, pkt, &l);
	CHECK(rc == -EINVAL || rc == -EACCES);

	/* failures did not poison the replay window: the genuine packet goes through once, then is a replay */
	memcpy(pkt, prot, plen);
	l = plen;
	CHECK_EQ(mc_srtp_unprotect(rx, pkt, &l), 0);
	CHECK_EQ(l, len);
	CHECK_MEM_EQ(pkt, plain, len);
	memcpy(pkt, prot, plen);
	l = plen;
	CHECK_EQ(mc_srtp_unprotect(rx, pkt, &l), -EACCES);

	/* out of order within the window is fine; each only once */
	uint8_t held[3][MC_RTP_PACKET_MAX];
	size_t held_len[3];
	for (int i = 0; i < 3; i++) {
		held_len[i] = make_rtp(held[i], (uint16_t)(2 + i), 0xabcdef01, 50);
		CHECK_EQ(mc_srtp_protect(tx, held[i], &held_len[i], sizeof(held[i])), 0);
	}
	int order[] = { 2, 0, 1 };
	for (int i = 0; i < 3; i++) {
		l = held_len[order[i]];
		memcpy(pkt, held[order[i]], l);
		CHECK_EQ(mc_srtp_unprotect(rx, pkt, &l), 0);
	}
	l = held_len[0];
	CHECK_EQ(mc_srtp_unprotect(rx, held[0], &l), -EACCES);
out:
	mc_srtp_destroy(tx);
	mc_srtp_destroy(rx);
	mc_srtp_destroy(wrong);
}

static void test_several_ssrcs(void)
{
	/* one outbound session protects every layer's SSRC (simulcast on one output) */
	struct mc_srtp *tx = NULL, *rx = NULL;
	CHECK_EQ(mc_srtp_create(&tx, MC_SRTP_AES_CM_128_HMAC_SHA1_80, g_key30, 30, false), 0);
	CHECK_EQ(mc_srtp_create(&rx, MC_SRTP_AES_CM_128_HMAC_SHA1_80, g_key30, 30, true), 0);
	if (!tx || !rx)
		goto out;
	uint32_t ssrcs[] = { 111, 222, 333 };
	bool ok = true;
	for (int i = 0; i < 30; i++) {
		uint8_t plain[MC_RTP_PACKET_MAX], pkt[MC_RTP_PACKET_MAX];
		size_t len = make_rtp(plain, (uint16_t)(i / 3), ssrcs[i % 3], 300), l = len;
		memcpy(pkt, plain, len);
		ok &= mc_srtp_protect(tx, pkt, &l, sizeof(pkt)) == 0 && l == len + 10;
		ok &= mc_srtp_unprotect(rx, pkt, &l) == 0 && l == len && memcmp(pkt, plain, len) == 0;
	}
	CHECK(ok);
out:
	mc_srtp_destroy(tx);
	mc_srtp_destroy(rx);
}

static void rtcp_roundtrip(enum mc_srtp_suite suite, const uint8_t *key, size_t key_len, size_t trailer)
{
	struct mc_srtp *tx = NULL, *rx = NULL;
	CHECK_EQ(mc_srtp_create(&tx, suite, key, key_len, false), 0);
	CHECK_EQ(mc_srtp_create(&rx, suite, key, key_len, true), 0);
	if (!tx || !rx)
		goto out;
	uint8_t plain[256], pkt[256], copy[256];
	size_t len = make_rtcp(plain, 0x55667788), l = len;
	CHECK_EQ(len, 28 + 24);
	memcpy(pkt, plain, len);
	CHECK_EQ(mc_srtp_protect_rtcp(tx, pkt, &l, sizeof(pkt)), 0);
	CHECK_EQ(l, len + trailer); /* SRTCP index (E flag + 31 bits) and the tag */
	CHECK_MEM_EQ(pkt, plain, 8);  /* first header and SSRC in the clear */
	CHECK(memcmp(pkt + 8, plain + 8, len - 8) != 0);
	size_t plen = l;
	memcpy(copy, pkt, plen);
	/* tampered */
	uint8_t bad[256];
	memcpy(bad, pkt, plen);
	bad[20] ^= 0x80;
	size_t bl = plen;
	CHECK_EQ(mc_srtp_unprotect_rtcp(rx, bad, &bl), -EACCES);
	/* genuine */
	CHECK_EQ(mc_srtp_unprotect_rtcp(rx, pkt, &l), 0);
	CHECK_EQ(l, len);
	CHECK_MEM_EQ(pkt, plain, len);
	/* replayed */
	l = plen;
	CHECK_EQ(mc_srtp_unprotect_rtcp(rx, copy, &l), -EACCES);
	/* a second one goes through (new index) */
	memcpy(pkt, plain, len);
	l = len;
	CHECK_EQ(mc_srtp_protect_rtcp(tx, pkt, &l, sizeof(pkt)), 0);
	CHECK(memcmp(pkt + len, copy + len, 4) != 0); /* the index moved on */
	CHECK_EQ(mc_srtp_unprotect_rtcp(rx, pkt, &l), 0);
	CHECK_MEM_EQ(pkt, plain, len);
out:
	mc_srtp_destroy(tx);
	mc_srtp_destroy(rx);
}

static void test_rtcp(void)
{
	rtcp_roundtrip(MC_SRTP_AES_CM_128_HMAC_SHA1_80, g_key30, 30, 4 + 10);
	rtcp_roundtrip(MC_SRTP_AES_CM_128_HMAC_SHA1_32, g_key30, 30, 4 + 10); /* SRTCP keeps the 80-bit tag */
}

static void test_no_space(void)
{
	struct mc_srtp *tx = NULL;
	CHECK_EQ(mc_srtp_create(&tx, MC_SRTP_AES_CM_128_HMAC_SHA1_80, g_key30, 30, false), 0);
	if (!tx)
		return;
	uint8_t plain[MC_RTP_PACKET_MAX], pkt[MC_RTP_PACKET_MAX];
	size_t len = make_rtp(plain, 1, 1, 100), l = len;
	memcpy(pkt, plain, len);
	/* protect reserves room for the largest tag any suite adds (16 bytes), whatever the suite */
	CHECK_EQ(mc_srtp_protect(tx, pkt, &l, len), -ENOSPC);
	CHECK_EQ(mc_srtp_protect(tx, pkt, &l, len + 9), -ENOSPC);
	CHECK_EQ(mc_srtp_protect(tx, pkt, &l, len + 15), -ENOSPC);
	CHECK_EQ(l, len);
	CHECK_MEM_EQ(pkt, plain, len); /* untouched */
	CHECK_EQ(mc_srtp_protect(tx, pkt, &l, len + 16), 0);
	CHECK_EQ(l, len + 10);
	/* SRTCP: the index too */
	len = make_rtcp(plain, 1);
	l = len;
	memcpy(pkt, plain, len);
	CHECK_EQ(mc_srtp_protect_rtcp(tx, pkt, &l, len + 19), -ENOSPC);
	CHECK_EQ(l, len);
	CHECK_MEM_EQ(pkt, plain, len);
	CHECK_EQ(mc_srtp_protect_rtcp(tx, pkt, &l, len + 20), 0);
	CHECK_EQ(l, len + 14);
	/* the packet buffers the packetizers fill leave room for it at the largest MTU */
	CHECK(1500 + 16 + 4 <= MC_RTP_PACKET_MAX);
	mc_srtp_destroy(tx);
}

static bool gcm_supported(void)
{
	struct mc_srtp *tx = NULL;
	int rc = mc_srtp_create(&tx, MC_SRTP_AEAD_AES_128_GCM, g_key28, 28, false);
	mc_srtp_destroy(tx);
	return rc != -ENOTSUP;
}

static void test_gcm(void)
{
	struct mc_srtp *tx = NULL;
	CHECK_EQ(mc_srtp_create(&tx, MC_SRTP_AEAD_AES_128_GCM, g_key28, 28, false), 0);
	mc_srtp_destroy(tx);
	CHECK_EQ(mc_srtp_create(&tx, MC_SRTP_AEAD_AES_128_GCM, g_key30, 30, false), -EINVAL); /* 28 bytes */
	roundtrip(MC_SRTP_AEAD_AES_128_GCM, g_key28, 28, 16);
	rtcp_roundtrip(MC_SRTP_AEAD_AES_128_GCM, g_key28, 28, 4 + 16);
	/* tampering with GCM */
	struct mc_srtp *rx = NULL;
	CHECK_EQ(mc_srtp_create(&tx, MC_SRTP_AEAD_AES_128_GCM, g_key28, 28, false), 0);
	CHECK_EQ(mc_srtp_create(&rx, MC_SRTP_AEAD_AES_128_GCM, g_key28, 28, true), 0);
	if (tx && rx) {
		uint8_t pkt[MC_RTP_PACKET_MAX];
		size_t len = make_rtp(pkt, 9, 9, 64), l = len;
		CHECK_EQ(mc_srtp_protect(tx, pkt, &l, sizeof(pkt)), 0);
		pkt[MC_RTP_HEADER_LEN + 3] ^= 0x10;
		CHECK_EQ(mc_srtp_unprotect(rx, pkt, &l), -EACCES);
	}
	mc_srtp_destroy(tx);
	mc_srtp_destroy(rx);
}

/* libsrtp2 used directly, as the receiver (or the sender) on the other side of mc_srtp. */
static int raw_session(srtp_t *out, const uint8_t *key, srtp_ssrc_type_t type)
{
	srtp_policy_t policy;
	memset(&policy, 0, sizeof(policy));
	srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&policy.rtp);
	srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&policy.rtcp);
	policy.ssrc.type = type;
	uint8_t k[30];
	memcpy(k, key, 30);
	policy.key = k;
	policy.window_size = 128;
	return srtp_create(out, &policy) == srtp_err_status_ok ? 0 : -1;
}

static void test_libsrtp2_interop(void)
{
	struct mc_srtp *tx = NULL, *rx = NULL;
	CHECK_EQ(mc_srtp_create(&tx, MC_SRTP_AES_CM_128_HMAC_SHA1_80, g_key30, 30, false), 0); /* initializes libsrtp2 */
	CHECK_EQ(mc_srtp_create(&rx, MC_SRTP_AES_CM_128_HMAC_SHA1_80, g_key30, 30, true), 0);
	srtp_t raw_rx = NULL, raw_tx = NULL;
	CHECK_EQ(raw_session(&raw_rx, g_key30, ssrc_any_inbound), 0);
	CHECK_EQ(raw_session(&raw_tx, g_key30, ssrc_any_outbound), 0);
	if (!tx || !rx || !raw_rx || !raw_tx)
		goto out;

	/* mc_srtp protects, libsrtp2 unprotects: RTP and RTCP */
	uint8_t plain[MC_RTP_PACKET_MAX], pkt[MC_RTP_PACKET_MAX];
	size_t len = make_rtp(plain, 4242, 0x0a0b0c0d, 1000), l = len;
	memcpy(pkt, plain, len);
	CHECK_EQ(mc_srtp_protect(tx, pkt, &l, sizeof(pkt)), 0);
	int n = (int)l;
	CHECK_EQ(srtp_unprotect(raw_rx, pkt, &n), srtp_err_status_ok);
	CHECK_EQ(n, (int)len);
	CHECK_MEM_EQ(pkt, plain, len);
	len = make_rtcp(plain, 0x0a0b0c0d);
	l = len;
	memcpy(pkt, plain, len);
	CHECK_EQ(mc_srtp_protect_rtcp(tx, pkt, &l, sizeof(pkt)), 0);
	n = (int)l;
	CHECK_EQ(srtp_unprotect_rtcp(raw_rx, pkt, &n), srtp_err_status_ok);
	CHECK_EQ(n, (int)len);
	CHECK_MEM_EQ(pkt, plain, len);

	/* and the other way: libsrtp2 protects, mc_srtp unprotects */
	len = make_rtp(plain, 7, 0x77, 321);
	memcpy(pkt, plain, len);
	n = (int)len;
	CHECK_EQ(srtp_protect(raw_tx, pkt, &n), srtp_err_status_ok);
	l = (size_t)n;
	CHECK_EQ(l, len + 10);
	CHECK_EQ(mc_srtp_unprotect(rx, pkt, &l), 0);
	CHECK_EQ(l, len);
	CHECK_MEM_EQ(pkt, plain, len);
out:
	if (raw_rx)
		srtp_dealloc(raw_rx);
	if (raw_tx)
		srtp_dealloc(raw_tx);
	mc_srtp_destroy(tx);
	mc_srtp_destroy(rx);
}

int main(int argc, char **argv)
{
	for (int i = 0; i < 30; i++) {
		g_key30[i] = (uint8_t)(i * 7 + 1);
		g_other30[i] = (uint8_t)(i * 7 + 2);
	}
	for (int i = 0; i < 28; i++)
		g_key28[i] = (uint8_t)(i * 11 + 3);
	if (argc > 1 && strcmp(argv[1], "gcm") == 0) {
		if (!gcm_supported()) {
			printf("AEAD_AES_128_GCM unsupported by this libsrtp2: skipped\n");
			return 77;
		}
		RUN(test_gcm);
		return check_done();
	}
	RUN(test_create);
	RUN(test_roundtrip_sha1_80);
	RUN(test_roundtrip_sha1_32);
	RUN(test_tamper_and_replay);
	RUN(test_several_ssrcs);
	RUN(test_rtcp);
	RUN(test_no_space);
	RUN(test_libsrtp2_interop);
	return check_done();
}
