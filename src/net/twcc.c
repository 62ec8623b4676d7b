#include "twcc.h"

#include <errno.h>

int mc_twcc_decode(const struct mc_rtcp_twcc *fb, struct mc_twcc_packet *out, int *n)
{
	*n = 0;
	int count = fb->status_count;
	if (count == 0 || count > MC_TWCC_MAX_PACKETS)
		return -EBADMSG;
	const uint8_t *p = fb->chunks, *end = fb->chunks + fb->chunks_len;
	uint8_t sym[MC_TWCC_MAX_PACKETS]; /* 0 not received, 1 small delta, 2 large delta */
	int got = 0;
	while (got < count) {
		if (end - p < 2)
			return -EBADMSG;
		uint16_t c = (uint16_t)(p[0] << 8 | p[1]);
		p += 2;
		if (!(c & 0x8000)) { /* run length chunk: S (2 bits), run length (13) */
			int s = (c >> 13) & 3, run = c & 0x1fff;
			if (s == 3)
				return -EBADMSG;
			for (int i = 0; i < run && got < count; i++)
				sym[got++] = (uint8_t)s;
		} else if (!(c & 0x4000)) { /* status vector, 14 one-bit symbols */
			for (int i = 13; i >= 0 && got < count; i--)
				sym[got++] = (uint8_t)((c >> i) & 1);
		} else { /* status vector, 7 two-bit symbols */
			for (int i = 6; i >= 0 && got < count; i--) {
				int s = (c >> (2 * i)) & 3;
				if (s == 3)
					return -EBADMSG;
				sym[got++] = (uint8_t)s;
			}
		}
	}
	/* reference time: 24-bit signed multiple of 64 ms; deltas in 250 us steps */
	int64_t t = (int64_t)fb->reference_time * 64000;
	for (int i = 0; i < count; i++) {
		out[i].seq = (uint16_t)(fb->base_seq + i);
		out[i].received = sym[i] != 0;
		out[i].arrival_us = 0;
		if (sym[i] == 1) {
			if (end - p < 1)
				return -EBADMSG;
			t += (int64_t)p[0] * 250;
			p += 1;
		} else if (sym[i] == 2) {
			if (end - p < 2)
				return -EBADMSG;
			t += (int64_t)(int16_t)(p[0] << 8 | p[1]) * 250;
			p += 2;
		}
		if (sym[i])
			out[i].arrival_us = t;
	}
	*n = count;
	return 0;
}
