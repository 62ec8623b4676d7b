/* libFuzzer target: the RTCP compound parser on arbitrary datagrams. Invariants: no read outside the
 * input (ASan), every callback's data lies inside it, the counts add up, and the RTX wrapper never writes
 * past its buffer for any "packet" either. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rtcp_parse.h"
#include "rtp_history.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct ctx {
	const uint8_t *buf;
	size_t len;
	int calls;
};

static void sr(void *c, uint32_t s, uint64_t ntp, uint32_t ts, uint32_t p, uint32_t o) { ((struct ctx *)c)->calls++; }
static void report(void *c, uint32_t s, const struct mc_rtcp_report_block *rb) { ((struct ctx *)c)->calls++; }
static void bye(void *c, uint32_t s) { ((struct ctx *)c)->calls++; }
static void nack(void *c, uint32_t s, uint32_t m, uint16_t pid, uint16_t blp) { ((struct ctx *)c)->calls++; }
static void pli(void *c, uint32_t s, uint32_t m) { ((struct ctx *)c)->calls++; }
static void fir(void *c, uint32_t s, uint32_t m, uint8_t n) { ((struct ctx *)c)->calls++; }
static void remb(void *c, uint32_t s, uint64_t br, const uint32_t *ssrcs, int n)
{
	if (n < 0 || n > 255 || (n && !ssrcs))
		abort();
	((struct ctx *)c)->calls++;
}
static void twcc(void *c, uint32_t s, const struct mc_rtcp_twcc *fb)
{
	struct ctx *x = c;
	if (fb->chunks < x->buf || fb->chunks + fb->chunks_len > x->buf + x->len)
		abort();
	x->calls++;
}

static const struct mc_rtcp_handler H = { sr, report, bye, nack, pli, fir, remb, twcc };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 65536)
		return 0;
	/* a copy of exactly `size` bytes, so that ASan sees any read past the end */
	uint8_t *buf = malloc(size ? size : 1);
	if (!buf)
		return 0;
	memcpy(buf, data, size);
	struct ctx c = { buf, size, 0 };
	struct mc_rtcp_parse_result r;
	int rc = mc_rtcp_parse(buf, size, &H, &c, &r);
	if (r.packets < 0 || r.malformed < 0 || r.unknown < 0 || (rc == 0) != (r.malformed == 0))
		abort();
	if ((size_t)(r.packets + r.malformed + r.unknown) > size / 4 + 1)
		abort(); /* every packet is at least 4 bytes */
	(void)mc_rtcp_is_rtcp(buf, size);
	uint8_t out[MC_RTP_PACKET_MAX];
	int n = mc_rtx_wrap(buf, size, 97, 1, 2, out, sizeof(out));
	if (n > (int)sizeof(out) || (n >= 0 && (size_t)n > size + 2))
		abort();
	free(buf);
	return 0;
}
