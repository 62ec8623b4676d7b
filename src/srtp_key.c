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
	size_t n = 0;
	/* Accept the bare base64 or the SDP form "inline:KEY|lifetime|MKI" (the part up to '|'). */
	const char *p = skip_space(b64);
	if (strncmp(p, "inline:", 7) == 0)
		p += 7;
	for (; *p && *p != '|'; p++) {
		if (isspace((unsigned char)*p))
			continue;
		if (n + 1 >= sizeof(clean)) {
			snprintf(err, errlen, "too long for an SRTP master key");
			return -EINVAL;
		}
		clean[n++] = *p;
	}
	clean[n] = '\0';
	uint8_t buf[96];
	int got = av_base64_decode(buf, clean, sizeof(buf));
	size_t want = mc_srtp_suite_key_len(suite);
	if (got < 0 || n == 0) {
		snprintf(err, errlen, "not valid base64");
		return -EINVAL;
	}
	if ((size_t)got != want) {
		snprintf(err, errlen, "decodes to %d bytes; the suite needs %zu (master key + salt)", got, want);
		return -EINVAL;
	}
	memcpy(key, buf, want);
	*len = want;
	memset(buf, 0, sizeof(buf));
	return 0;
}
