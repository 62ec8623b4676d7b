/* libFuzzer target: the H.264 packetizer on arbitrary "encoder output", with its invariants checked:
 * every packet fits the MTU, the marker is on the last packet only, and the NAL units come back out of the
 * packets (single NAL, STAP-A, FU-A) exactly as they went in. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rtp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t out_buf[1 << 20];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1 || size > (1 << 19))
		return 0;
	struct mc_rtp_stream s = { .ssrc = 1, .seq = 65530, .payload_type = 96, .mtu = (uint16_t)(300 + data[0] * 4) };
	struct mc_rtp_batch b;
	mc_rtp_batch_init(&b);
	int n = mc_rtp_h264_packetize(&s, 1234, data + 1, size - 1, &b);
	if (n > 0) {
		/* depacketize */
		size_t out = 0;
		for (int i = 0; i < n; i++) {
			const struct mc_rtp_packet *p = &b.pkts[i];
			if (p->len > s.mtu || p->len <= MC_RTP_HEADER_LEN)
				abort();
			if (((p->data[1] & 0x80) != 0) != (i == n - 1))
				abort();
			const uint8_t *pl = p->data + MC_RTP_HEADER_LEN;
			size_t len = p->len - MC_RTP_HEADER_LEN;
			uint8_t type = pl[0] & 0x1f;
			if (type == 24) {
				for (size_t k = 1; k + 2 <= len;) {
					size_t nl = (size_t)pl[k] << 8 | pl[k + 1];
					if (k + 2 + nl > len)
						abort();
					memcpy(out_buf + out, "\0\0\1", 3);
					memcpy(out_buf + out + 3, pl + k + 2, nl);
					out += 3 + nl;
					k += 2 + nl;
				}
			} else if (type == 28) {
				if (pl[1] & 0x80) {
					memcpy(out_buf + out, "\0\0\1", 3);
					out_buf[out + 3] = (uint8_t)((pl[0] & 0xe0) | (pl[1] & 0x1f));
					out += 4;
				}
				memcpy(out_buf + out, pl + 2, len - 2);
				out += len - 2;
			} else {
				memcpy(out_buf + out, "\0\0\1", 3);
				memcpy(out_buf + out + 3, pl, len);
				out += 3 + len;
			}
		}
		/* compare NAL by NAL with the input */
		size_t pa = 0, pb = 0;
		const uint8_t *na, *nb;
		size_t la, lb;
		for (;;) {
			bool a;
			do /* the packetizer drops types it must not send */
				a = mc_h264_next_nal(data + 1, size - 1, &pa, &na, &la);
			while (a && ((na[0] & 0x1f) == 0 || (na[0] & 0x1f) >= 24));
			bool c = mc_h264_next_nal(out_buf, out, &pb, &nb, &lb);
			if (a != c)
				abort();
			if (!a)
				break;
			if (la != lb || memcmp(na, nb, la))
				abort();
		}
	}
	mc_rtp_batch_finish(&b);
	return 0;
}
