/* VP8 RTP packetization, RFC 7741. */
#include <errno.h>
#include <string.h>

#include "rtp.h"

#define VP8_DESC_LEN 4 /* X|R|N|S|R|PID, I|L|T|K|RSV, M|PictureID(15) */

int mc_rtp_vp8_packetize(struct mc_rtp_stream *s, uint32_t ts, const uint8_t *frame, size_t len,
			 struct mc_rtp_batch *out)
{
	if (len == 0)
		return -EINVAL;
	/* the extension block counts against the MTU */
	size_t chunk_max = (size_t)s->mtu - mc_rtp_header_len(s) - VP8_DESC_LEN;
	int first_pkt = out->count;
	uint16_t pid = s->picture_id & 0x7fff;
	size_t off = 0;
	while (off < len) {
		size_t chunk = len - off < chunk_max ? len - off : chunk_max;
		struct mc_rtp_packet *p = mc_rtp_batch_add(out);
		if (!p) {
			out->count = first_pkt;
			return -ENOMEM;
		}
		bool last = off + chunk == len;
		size_t hl = mc_rtp_stream_header(s, p, last, ts);
		uint8_t *d = p->data + hl;
		/* X=1 (extensions follow), S=1 on the first packet of the frame (start of partition 0, PID 0) */
		d[0] = (uint8_t)(0x80 | (off == 0 ? 0x10 : 0));
		d[1] = 0x80; /* I=1: PictureID present */
		d[2] = (uint8_t)(0x80 | (pid >> 8)); /* M=1: 15-bit PictureID */
		d[3] = (uint8_t)pid;
		memcpy(d + VP8_DESC_LEN, frame + off, chunk);
		p->len = (uint16_t)(hl + VP8_DESC_LEN + chunk);
		off += chunk;
	}
	s->picture_id = (uint16_t)((pid + 1) & 0x7fff);
	return out->count - first_pkt;
}
