#include "srtp.h"

#include <errno.h>
#include <pthread.h>
#include <srtp2/srtp.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

struct mc_srtp {
	srtp_t session;
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

int mc_srtp_create(struct mc_srtp **out, enum mc_srtp_suite suite, const uint8_t *key, size_t key_len, bool inbound)
{
	*out = NULL;
	pthread_once(&g_init_once, srtp_global_init);
	if (g_init_status != srtp_err_status_ok)
		return -EIO;
	if (key_len != mc_srtp_suite_key_len(suite))
		return -EINVAL;

	srtp_policy_t policy;
	memset(&policy, 0, sizeof(policy));
	switch (suite) {
	case MC_SRTP_AES_CM_128_HMAC_SHA1_80:
		srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&policy.rtp);
		srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&policy.rtcp);
		break;
	case MC_SRTP_AES_CM_128_HMAC_SHA1_32:
		/* RFC 4568: the _32 suite shortens only the SRTP tag; SRTCP keeps 80 bits */
		srtp_crypto_policy_set_aes_cm_128_hmac_sha1_32(&policy.rtp);
		srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&policy.rtcp);
		break;
	case MC_SRTP_AEAD_AES_128_GCM:
		srtp_crypto_policy_set_aes_gcm_128_16_auth(&policy.rtp);
		srtp_crypto_policy_set_aes_gcm_128_16_auth(&policy.rtcp);
		break;
	default:
		return -EINVAL;
	}
	struct mc_srtp *s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	uint8_t keybuf[64];
	memcpy(keybuf, key, key_len);
	policy.ssrc.type = inbound ? ssrc_any_inbound : ssrc_any_outbound;
	policy.key = keybuf;
	policy.window_size = 1024;
	policy.allow_repeat_tx = 1; /* retransmissions reuse sequence numbers */
	srtp_err_status_t st = srtp_create(&s->session, &policy);
	memset(keybuf, 0, sizeof(keybuf));
	if (st != srtp_err_status_ok) {
		free(s);
		/* a GCM suite fails here when libsrtp2 was built without a crypto library that has it */
		return st == srtp_err_status_alloc_fail ? -ENOMEM : -ENOTSUP;
	}
	/* no MKI is used, so the tag is all protect appends (SRTCP adds its 4-byte index too) */
	s->trailer = SRTP_MAX_TAG_LEN;
	*out = s;
	return 0;
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

int mc_srtp_unprotect(struct mc_srtp *s, uint8_t *pkt, size_t *len)
{
	return run(s->session, srtp_unprotect, pkt, len, *len, 0);
}

int mc_srtp_unprotect_rtcp(struct mc_srtp *s, uint8_t *pkt, size_t *len)
{
	return run(s->session, srtp_unprotect_rtcp, pkt, len, *len, 0);
}
