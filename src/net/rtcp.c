#include "rtcp.h"

#include <errno.h>
#include <string.h>

#define RTCP_SR 200
#define RTCP_SDES 202
#define RTCP_BYE 203
#define SDES_CNAME 1

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* Common header: V=2, P=0, count, type, length in 32-bit words minus one. */
static void put_header(uint8_t *p, int count, int type, size_t total_len)
{
	p[0] = (uint8_t)(0x80 | (count & 0x1f));
	p[1] = (uint8_t)type;
	uint16_t words = (uint16_t)(total_len / 4 - 1);
	p[2] = (uint8_t)(words >> 8);
	p[3] = (uint8_t)words;
}

int mc_rtcp_write_sr(uint8_t *buf, size_t cap, const struct mc_rtcp_sr *sr)
{
	if (cap < 28)
		return -ENOSPC;
	put_header(buf, 0, RTCP_SR, 28);
	put32(buf + 4, sr->ssrc);
	put32(buf + 8, (uint32_t)(sr->ntp >> 32));
	put32(buf + 12, (uint32_t)sr->ntp);
	put32(buf + 16, sr->rtp_ts);
	put32(buf + 20, sr->packets);
	put32(buf + 24, sr->octets);
	return 28;
}

int mc_rtcp_write_sdes_cname(uint8_t *buf, size_t cap, uint32_t ssrc, const char *cname)
{
	size_t n = strlen(cname);
	if (n > 255)
		n = 255;
	/* header, SSRC, CNAME item (type, length, text), END item, padding to 32 bits (RFC 3550 §6.5) */
	size_t len = (4 + 4 + 2 + n + 1 + 3) & ~(size_t)3;
	if (cap < len)
		return -ENOSPC;
	memset(buf, 0, len);
	put_header(buf, 1, RTCP_SDES, len);
	put32(buf + 4, ssrc);
	buf[8] = SDES_CNAME;
	buf[9] = (uint8_t)n;
	memcpy(buf + 10, cname, n);
	return (int)len;
}

int mc_rtcp_write_bye(uint8_t *buf, size_t cap, uint32_t ssrc)
{
	if (cap < 8)
		return -ENOSPC;
	put_header(buf, 1, RTCP_BYE, 8);
	put32(buf + 4, ssrc);
	return 8;
}

uint64_t mc_ntp_from_unix_us(int64_t unix_us)
{
	const uint64_t epoch_offset = 2208988800ull; /* 1900-01-01 to 1970-01-01 in seconds */
	uint64_t sec = (uint64_t)(unix_us / 1000000) + epoch_offset;
	uint64_t frac = ((uint64_t)(unix_us % 1000000) << 32) / 1000000;
	return (sec << 32) | frac;
}
