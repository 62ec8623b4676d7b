#include "srtp.h"

#include <errno.h>
#include <pthread.h>
#include <srtp2/srtp.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

struct mc_srtp {
	srtp_t session;
	enum mc_srtp_suite suite;
	size_t trailer; /* bytes protect adds at most */
};

static pthread_once_t g_init_once = PTHREAD_ONCE_INIT;
static srtp_err_status_t g_init_status;

static void srtp_global_init(void) { g_init_status = srtp_init(); }

const char *mc_srtp_suite_name(enum mc_srtp_suite suite)
{
	switch (suite) {
	case MC_SRTP_AES_CM_128_HMAC_SHA1_80: return "AES_CM_128_HMAC_SHA1_80";
	case MC_SRTP_AES_CM_128_HMAC_SHA1_32: return "AES_CM_128_HMAC_SHA1_32";
	case MC_SRTP_AEAD_AES_128_GCM: return "AEAD_AES_128_GCM";
	default: return "none";
	}
}

static int set_policy(srtp_policy_t *policy, enum mc_srtp_suite suite)
{
	memset(policy, 0, sizeof(*policy));
	switch (suite) {
	case MC_SRTP_AES_CM_128_HMAC_SHA1_80:
		srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&policy->rtp);
		srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&policy->rtcp);
		return 0;
	case MC_SRTP_AES_CM_128_HMAC_SHA1_32:
		/* RFC 4568: the _32 suite shortens only the SRTP tag; SRTCP keeps 80 bits */
		srtp_crypto_policy_set_aes_cm_128_hmac_sha1_32(&policy->rtp);
		srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&policy->rtcp);
		return 0;
	case MC_SRTP_AEAD_AES_128_GCM:
		srtp_crypto_policy_set_aes_gcm_128_16_auth(&policy->rtp);
		srtp_crypto_policy_set_aes_gcm_128_16_auth(&policy->rtcp);
		return 0;
	default:
		return -EINVAL;
	}
}

/* libsrtp2 2.5 has srtp_set_stream_roc() for the RTP index, but nothing that sets where a sender's SRTCP
 * index goes on: srtp_protect_rtcp() counts up from 1 in the stream's private replay database. The only way
 * through the public API is to protect packets that are then thrown away, one per index to skip. None of
 * them leaves the process (no dummy on the wire, no keystream anyone sees), at a price: one protect per
 * index, measured at 2.8 us of CPU (AES_CM_128_HMAC_SHA1_80, Debian's libsrtp2 with its own AES and SHA-1)
 * and 1.1 us (AEAD_AES_128_GCM) here. mixcastd sends one SRTCP packet per SSRC a second, so a start after a
 * week of sending under one key and SSRC skips ~600k indexes (~1.7 s), after a year ~88 s: the output logs
 * what it cost, and a new key starts from 1 again. With rtcp = plain or off nothing is ever skipped. */
static int skip_srtcp(srtp_t session, uint32_t ssrc, uint32_t first)
{
	for (uint32_t i = 1; i < first; i++) {
		/* an empty receiver report (RFC 3550 §6.4.2): 8 bytes, the smallest packet libsrtp2 protects */
		uint8_t rr[8 + SRTP_MAX_TRAILER_LEN] = { 0x80, 201, 0, 1, (uint8_t)(ssrc >> 24), (uint8_t)(ssrc >> 16),
							 (uint8_t)(ssrc >> 8), (uint8_t)ssrc };
		int len = 8;
		srtp_err_status_t st = srtp_protect_rtcp(session, rr, &len);
		explicit_bzero(rr, sizeof(rr));
		if (st != srtp_err_status_ok)
			return -EINVAL;
	}
	return 0;
}

static int create(struct mc_srtp **out, enum mc_srtp_suite suite, const uint8_t *key, size_t key_len, bool inbound,
		  const struct mc_srtp_resume *resume, int n)
{
	*out = NULL;
	pthread_once(&g_init_once, srtp_global_init);
	if (g_init_status != srtp_err_status_ok)
		return -EIO;
	if (key_len != mc_srtp_suite_key_len(suite) || n < 0 || n > 2 * MC_MAX_LAYERS) /* layers and RTX streams */
		return -EINVAL;

	/* the template for any SSRC, then one stream per SSRC that continues, so that its ROC can be set */
	srtp_policy_t policy[2 * MC_MAX_LAYERS + 1];
	for (int i = 0; i <= n; i++)
		if (set_policy(&policy[i], suite))
			return -EINVAL;
	struct mc_srtp *s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->suite = suite;
	uint8_t keybuf[64];
	memcpy(keybuf, key, key_len);
	for (int i = 0; i <= n; i++) {
		policy[i].ssrc.type = i ? ssrc_specific : inbound ? ssrc_any_inbound : ssrc_any_outbound;
		policy[i].ssrc.value = i ? resume[i - 1].ssrc : 0;
		policy[i].key = keybuf;
		policy[i].window_size = 1024;
		policy[i].allow_repeat_tx = 1; /* retransmissions reuse sequence numbers */
		policy[i].next = i < n ? &policy[i + 1] : NULL;
	}
	srtp_err_status_t st = srtp_create(&s->session, policy);
	explicit_bzero(keybuf, sizeof(keybuf));
	if (st != srtp_err_status_ok) {
		free(s);
		/* a GCM suite fails here when libsrtp2 was built without a crypto library that has it */
		return st == srtp_err_status_alloc_fail ? -ENOMEM : -ENOTSUP;
	}
	for (int i = 0; i < n; i++) {
		/* a pending ROC: libsrtp2 takes ROC << 16 | seq as the index of the stream's first packet */
		uint32_t roc = (uint32_t)(resume[i].srtp_index >> 16);
		if ((roc && srtp_set_stream_roc(s->session, resume[i].ssrc, roc) != srtp_err_status_ok) ||
		    skip_srtcp(s->session, resume[i].ssrc, resume[i].srtcp_index)) {
			mc_srtp_destroy(s);
			return -EINVAL;
		}
	}
	/* no MKI is used, so the tag is all protect appends (SRTCP adds its 4-byte index too) */
	s->trailer = SRTP_MAX_TAG_LEN;
	*out = s;
	return 0;
}

int mc_srtp_create(struct mc_srtp **out, enum mc_srtp_suite suite, const uint8_t *key, size_t key_len, bool inbound)
{
	return create(out, suite, key, key_len, inbound, NULL, 0);
}

int mc_srtp_create_outbound(struct mc_srtp **out, enum mc_srtp_suite suite, const uint8_t *key, size_t key_len,
			    const struct mc_srtp_resume *resume, int n)
{
	return create(out, suite, key, key_len, false, resume, n);
}

void mc_srtp_destroy(struct mc_srtp *s)
{
	if (!s)
		return;
	if (s->session)
		srtp_dealloc(s->session);
	free(s);
}

static int map_status(srtp_err_status_t st)
{
	switch (st) {
	case srtp_err_status_ok: return 0;
	case srtp_err_status_auth_fail:
	case srtp_err_status_replay_fail:
	case srtp_err_status_replay_old: return -EACCES;
	default: return -EINVAL;
	}
}

typedef srtp_err_status_t (*srtp_fn)(srtp_t ctx, void *pkt, int *len);

/* Runs one libsrtp2 call in place. `room`: bytes the call may append (0 for unprotect). */
static int run(srtp_t session, srtp_fn fn, uint8_t *pkt, size_t *len, size_t cap, size_t room)
{
	if (*len > INT32_MAX)
		return -EINVAL;
	if (*len + room > cap)
		return -ENOSPC;
	int n = (int)*len;
	int rc = map_status(fn(session, pkt, &n));
	if (rc == 0)
		*len = (size_t)n;
	return rc;
}

int mc_srtp_protect(struct mc_srtp *s, uint8_t *pkt, size_t *len, size_t cap)
{
	return run(s->session, srtp_protect, pkt, len, cap, s->trailer);
}

int mc_srtp_protect_rtcp(struct mc_srtp *s, uint8_t *pkt, size_t *len, size_t cap)
{
	return run(s->session, srtp_protect_rtcp, pkt, len, cap, s->trailer + 4 /* SRTCP index */);
}

int mc_srtp_protect_rtcp_index(struct mc_srtp *s, uint8_t *pkt, size_t *len, size_t cap, uint32_t *index)
{
	int rc = mc_srtp_protect_rtcp(s, pkt, len, cap);
	*index = rc ? 0 : mc_srtcp_index(s->suite, pkt, *len);
	return rc;
}

uint32_t mc_srtcp_index(enum mc_srtp_suite suite, const uint8_t *pkt, size_t len)
{
	/* [RTCP][E|index][tag 10] for AES-CM (RFC 3711 §3.4); [RTCP][tag 16][E|index] for AEAD (RFC 7714 §9.1) */
	size_t off = suite == MC_SRTP_AEAD_AES_128_GCM ? 4 : 4 + 10;
	if (len < 8 + off)
		return 0;
	const uint8_t *p = pkt + len - off;
	return ((uint32_t)(p[0] & 0x7f) << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

int mc_srtp_roc(struct mc_srtp *s, uint32_t ssrc, uint32_t *roc)
{
	return srtp_get_stream_roc(s->session, ssrc, roc) == srtp_err_status_ok ? 0 : -ENOENT;
}

int mc_srtp_unprotect(struct mc_srtp *s, uint8_t *pkt, size_t *len)
{
	return run(s->session, srtp_unprotect, pkt, len, *len, 0);
}

int mc_srtp_unprotect_rtcp(struct mc_srtp *s, uint8_t *pkt, size_t *len)
{
	return run(s->session, srtp_unprotect_rtcp, pkt, len, *len, 0);
}
