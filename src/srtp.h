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
void mc_srtp_destroy(struct mc_srtp *s);

/* In place: *len grows by the auth tag (and the SRTCP index); `cap` is the buffer's size. 0 or -errno
 * (-ENOSPC: no room; -EINVAL: libsrtp2 refused the packet). */
int mc_srtp_protect(struct mc_srtp *s, uint8_t *pkt, size_t *len, size_t cap);
int mc_srtp_protect_rtcp(struct mc_srtp *s, uint8_t *pkt, size_t *len, size_t cap);
/* In place: *len shrinks; -EACCES when authentication fails (tampered, wrong key, replayed). */
int mc_srtp_unprotect(struct mc_srtp *s, uint8_t *pkt, size_t *len);
int mc_srtp_unprotect_rtcp(struct mc_srtp *s, uint8_t *pkt, size_t *len);

const char *mc_srtp_suite_name(enum mc_srtp_suite suite);

#endif
