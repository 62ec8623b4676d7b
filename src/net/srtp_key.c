/* SRTP master keys as the configuration gives them (base64, the SDP "inline:" form) and their lengths per
 * suite. Apart from config.c so that the protocol library (srtp.c) does not need the config loader. */
#include <ctype.h>
#include <errno.h>
#include <libavutil/base64.h>
#include <stdio.h>
#include <string.h>

#include "config.h"

static const char *skip_space(const char *s)
{
	while (isspace((unsigned char)*s))
		s++;
	return s;
}

size_t mc_srtp_suite_key_len(enum mc_srtp_suite suite)
{
	switch (suite) {
	case MC_SRTP_AES_CM_128_HMAC_SHA1_80:
	case MC_SRTP_AES_CM_128_HMAC_SHA1_32: return 30; /* 16-byte key + 14-byte salt, RFC 4568 */
	case MC_SRTP_AEAD_AES_128_GCM: return 28;       /* 16-byte key + 12-byte salt, RFC 7714 */
	default: return 0;
	}
}

int mc_srtp_key_decode(const char *b64, enum mc_srtp_suite suite, uint8_t *key, size_t *len, char *err, size_t errlen)
{
	char clean[128];
	uint8_t buf[96];
	size_t n = 0;
	int rc = -EINVAL;
	/* The bare base64 or the SDP form "inline:KEY" (RFC 4568 §6.1). A lifetime or an MKI after '|' is
	 * refused, not ignored: this sender neither rekeys after a lifetime nor sends an MKI, so a receiver
	 * configured with either would not match what it gets. */
	const char *p = skip_space(b64);
	if (strncmp(p, "inline:", 7) == 0)
		p += 7;
	for (; *p; p++) {
		if (*p == '|') {
			snprintf(err, errlen, "a lifetime or MKI after '|' is not supported: give the key alone (inline:KEY)");
			goto out;
		}
		if (isspace((unsigned char)*p))
			continue;
		if (n + 1 >= sizeof(clean)) {
			snprintf(err, errlen, "too long for an SRTP master key");
			goto out;
		}
		clean[n++] = *p;
	}
	clean[n] = '\0';
	int got = av_base64_decode(buf, clean, sizeof(buf));
	size_t want = mc_srtp_suite_key_len(suite);
	if (got < 0 || n == 0) {
		snprintf(err, errlen, "not valid base64");
		goto out;
	}
	if ((size_t)got != want) {
		snprintf(err, errlen, "decodes to %d bytes; the suite needs %zu (master key + salt)", got, want);
		goto out;
	}
	memcpy(key, buf, want);
	*len = want;
	rc = 0;
out:
	/* explicit_bzero: a memset of a buffer that is dead afterwards may be optimised away */
	explicit_bzero(clean, sizeof(clean));
	explicit_bzero(buf, sizeof(buf));
	return rc;
}
