/* SRTP/SRTCP protection with libsrtp2. The only file that uses libsrtp2. One session per output; a
 * session is used by one thread (libsrtp2 sessions are not thread-safe). */
#ifndef MC_SRTP_H
#define MC_SRTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"

struct mc_srtp;

/* `inbound` false: protects packets of any SSRC we send; true: unprotects (tests, tools). */
int mc_srtp_create(struct mc_srtp **out, enum mc_srtp_suite suite, const uint8_t *key, size_t key_len, bool inbound);

/* Where an outbound stream continues: its first RTP packet has SRTP index `srtp_index` (ROC << 16 | seq;
 * the packet must carry that seq), its first SRTCP packet the index `srtcp_index` (1 for a new stream). */
struct mc_srtp_resume {
	uint32_t ssrc;
	uint64_t srtp_index;
	uint32_t srtcp_index;
};
/* Outbound, like mc_srtp_create(.., false), with the streams in `resume` continuing where they say. */
int mc_srtp_create_outbound(struct mc_srtp **out, enum mc_srtp_suite suite, const uint8_t *key, size_t key_len,
			    const struct mc_srtp_resume *resume, int n);
void mc_srtp_destroy(struct mc_srtp *s);

/* In place: *len grows by the auth tag (and the SRTCP index); `cap` is the buffer's size. 0 or -errno
 * (-ENOSPC: no room; -EINVAL: libsrtp2 refused the packet). */
int mc_srtp_protect(struct mc_srtp *s, uint8_t *pkt, size_t *len, size_t cap);
int mc_srtp_protect_rtcp(struct mc_srtp *s, uint8_t *pkt, size_t *len, size_t cap);
/* Same, and *index receives the SRTCP index the packet got (read from its trailer). */
int mc_srtp_protect_rtcp_index(struct mc_srtp *s, uint8_t *pkt, size_t *len, size_t cap, uint32_t *index);
/* The SRTCP index of a protected SRTCP packet of `suite` (in clear in its trailer, RFC 3711 §3.4; after the
 * tag with AEAD, RFC 7714 §9.1), or 0 when the packet is too short. */
uint32_t mc_srtcp_index(enum mc_srtp_suite suite, const uint8_t *pkt, size_t len);
/* The ROC libsrtp2 holds for `ssrc` (an inbound session: of the last packet authenticated); -ENOENT. */
int mc_srtp_roc(struct mc_srtp *s, uint32_t ssrc, uint32_t *roc);
/* In place: *len shrinks; -EACCES when authentication fails (tampered, wrong key, replayed). */
int mc_srtp_unprotect(struct mc_srtp *s, uint8_t *pkt, size_t *len);
int mc_srtp_unprotect_rtcp(struct mc_srtp *s, uint8_t *pkt, size_t *len);

const char *mc_srtp_suite_name(enum mc_srtp_suite suite);

#endif
