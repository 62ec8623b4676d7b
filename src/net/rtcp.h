/* RTCP packets the sender writes (RFC 3550): SR, SDES CNAME, BYE. Pure: bytes out, no sockets. */
#ifndef MC_RTCP_H
#define MC_RTCP_H

#include <stddef.h>
#include <stdint.h>

struct mc_rtcp_sr {
	uint32_t ssrc;
	uint64_t ntp;     /* NTP timestamp: seconds since 1900 in the high 32 bits, fraction in the low 32 */
	uint32_t rtp_ts;  /* the RTP timestamp of the same instant */
	uint32_t packets; /* sender's packet count */
	uint32_t octets;  /* sender's payload octet count */
};

/* Each returns the bytes written, or -ENOSPC when `cap` is too small. */
int mc_rtcp_write_sr(uint8_t *buf, size_t cap, const struct mc_rtcp_sr *sr);
int mc_rtcp_write_sdes_cname(uint8_t *buf, size_t cap, uint32_t ssrc, const char *cname);
int mc_rtcp_write_bye(uint8_t *buf, size_t cap, uint32_t ssrc);

/* Wall-clock microseconds since the Unix epoch to an NTP timestamp. */
uint64_t mc_ntp_from_unix_us(int64_t unix_us);

#endif
