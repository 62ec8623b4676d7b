/* libFuzzer target: transport-wide feedback from arbitrary RTCP datagrams, decoded (twcc.c) and fed to the
 * congestion controller (cc.c) with made-up send times. Invariants: no read outside the input (ASan), the
 * decoded count never exceeds the claimed count or MC_TWCC_MAX_PACKETS, sequence numbers run from the base,
 * and the estimate stays within the controller's bounds whatever the arrival times say. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cc.h"
#include "rtcp_parse.h"
#include "twcc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct mc_cc g_cc;
static int64_t g_now;

static void on_twcc(void *c, uint32_t sender, const struct mc_rtcp_twcc *fb)
{
	static struct mc_twcc_packet p[MC_TWCC_MAX_PACKETS];
	static struct mc_cc_packet q[MC_TWCC_MAX_PACKETS];
	int n = -1;
	int rc = mc_twcc_decode(fb, p, &n);
	if (n < 0 || n > MC_TWCC_MAX_PACKETS || n > fb->status_count || (rc && n))
		abort();
	for (int i = 0; i < n; i++) {
		if (p[i].seq != (uint16_t)(fb->base_seq + i))
			abort();
		q[i] = (struct mc_cc_packet){ .send_us = g_now - 100000 + i * 1000, .arrival_us = p[i].arrival_us,
					      .size = 1200, .received = p[i].received, .probe = i % 7 == 0 };
	}
	mc_cc_on_feedback(&g_cc, q, n, g_now);
	int64_t e = mc_cc_update(&g_cc, g_now);
	if (e < g_cc.min_bps || e > g_cc.max_bps)
		abort();
	g_now += 50000;
}

static const struct mc_rtcp_handler H = { .twcc = on_twcc };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 65536)
		return 0;
	uint8_t *buf = malloc(size ? size : 1); /* exactly `size` bytes, so that ASan sees a read past the end */
	if (!buf)
		return 0;
	memcpy(buf, data, size);
	mc_cc_init(&g_cc, 1000000, 30000, 5000000);
	g_now = 1000000;
	mc_cc_probe_due(&g_cc, 3000000, g_now); /* a probe in flight, so its accounting runs too */
	/* the same datagram several times: the controller sees a sequence of feedback */
	for (int i = 0; i < 4; i++)
		mc_rtcp_parse(buf, size, &H, NULL, NULL);
	free(buf);
	return 0;
}
