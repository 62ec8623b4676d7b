/* Congestion control (src/net/cc.c) and transport-wide feedback decoding (src/net/twcc.c), on synthetic feedback
 * and a clock the test drives: a simulated bottleneck (a rate and a FIFO queue) between the send times and
 * the arrival times. */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "cc.h"
#include "check.h"
#include "twcc.h"

static void test_twcc_decode(void)
{
	/* base 100, 5 packets, reference time 1 (64 ms); one 2-bit status vector: small, small, lost, large,
	 * small; deltas 1 ms, 2 ms, 4 ms (large, 16 x 250 us), 1 ms */
	static const uint8_t chunks[] = { 0xC0 | 0x10 | 0x04, 0x00 | 0x20 | 0x04 | 0x00, 4, 8, 0x00, 0x10, 4, 0 };
	/* symbols: 1(01) 1(01) 0(00) 2(10) 1(01) 0 0 -> 11 01 01 00 | 10 01 00 00: 0xD4 0x90 */
	uint8_t c2[sizeof(chunks)];
	memcpy(c2, chunks, sizeof(c2));
	c2[0] = 0xD4, c2[1] = 0x90;
	struct mc_rtcp_twcc fb = { .base_seq = 100, .status_count = 5, .reference_time = 1, .chunks = c2,
				   .chunks_len = sizeof(c2) };
	struct mc_twcc_packet p[MC_TWCC_MAX_PACKETS];
	int n;
	CHECK_EQ(mc_twcc_decode(&fb, p, &n), 0);
	CHECK_EQ(n, 5);
	CHECK(p[0].received && p[1].received && !p[2].received && p[3].received && p[4].received);
	CHECK_EQ(p[0].arrival_us, 65000);
	CHECK_EQ(p[1].arrival_us, 67000);
	CHECK_EQ(p[3].arrival_us, 71000);
	CHECK_EQ(p[4].arrival_us, 72000);
	CHECK_EQ(p[4].seq, 104);
	/* a run-length chunk of 3 received (small) and the 16-bit wrap of the sequence */
	static const uint8_t run[] = { 0x20, 0x03, 1, 2, 3, 0 };
	fb = (struct mc_rtcp_twcc){ .base_seq = 65535, .status_count = 3, .chunks = run, .chunks_len = sizeof(run) };
	CHECK_EQ(mc_twcc_decode(&fb, p, &n), 0);
	CHECK_EQ(n, 3);
	CHECK_EQ(p[1].seq, 0);
	CHECK_EQ(p[2].arrival_us, 1500);
	/* lies: a count beyond the chunks, deltas beyond the bytes, a reserved symbol, an absurd count */
	fb.status_count = 40;
	CHECK_EQ(mc_twcc_decode(&fb, p, &n), -EBADMSG);
	CHECK_EQ(n, 0);
	fb.status_count = 3;
	fb.chunks_len = 3;
	CHECK_EQ(mc_twcc_decode(&fb, p, &n), -EBADMSG);
	static const uint8_t bad[] = { 0x60, 0x03 };
	fb = (struct mc_rtcp_twcc){ .status_count = 3, .chunks = bad, .chunks_len = sizeof(bad) };
	CHECK_EQ(mc_twcc_decode(&fb, p, &n), -EBADMSG);
	fb.status_count = MC_TWCC_MAX_PACKETS + 1;
	CHECK_EQ(mc_twcc_decode(&fb, p, &n), -EBADMSG);
}

/* A bottleneck: `rate` bit/s, a FIFO of at most `queue_us`, 20 ms of propagation. */
struct path {
	double rate;
	int64_t queue_us, free_at;
};

static bool path_arrival(struct path *pa, int64_t send, int size, int64_t *arrival)
{
	int64_t start = send > pa->free_at ? send : pa->free_at;
	if (start - send > pa->queue_us)
		return false; /* tail drop */
	pa->free_at = start + (int64_t)(size * 8 * 1e6 / pa->rate);
	*arrival = pa->free_at + 20000;
	return true;
}

/* Sends at `send_bps` (or the estimate when 0) for `seconds`, feedback every 100 ms for what arrived.
 * Returns the time of the first estimate below `below` (or -1). */
static int64_t run(struct mc_cc *c, struct path *pa, double send_bps, double seconds, int64_t *t, int64_t below)
{
	static struct mc_cc_packet pend[4096];
	int np = 0;
	int64_t end = *t + (int64_t)(seconds * 1e6), next_fb = *t + 100000, first_below = -1;
	while (*t < end) {
		double rate = send_bps > 0 ? send_bps : (double)mc_cc_update(c, *t);
		int size = 1200;
		struct mc_cc_packet p = { .send_us = *t, .size = size };
		p.received = path_arrival(pa, *t, size, &p.arrival_us);
		if (np < 4096)
			pend[np++] = p;
		*t += (int64_t)(size * 8 * 1e6 / rate);
		if (*t >= next_fb) {
			/* the receiver reports what arrived by now (and the losses before it) */
			int k = 0;
			while (k < np && (!pend[k].received || pend[k].arrival_us <= *t))
				k++;
			mc_cc_on_feedback(c, pend, k, *t);
			memmove(pend, pend + k, (size_t)(np - k) * sizeof(pend[0]));
			np -= k;
			next_fb += 100000;
			if (first_below < 0 && mc_cc_update(c, *t) < below)
				first_below = *t;
		}
	}
	return first_below;
}

static void test_delay_overuse(void)
{
	struct mc_cc c;
	mc_cc_init(&c, 2000000, 30000, 5000000);
	struct path pa = { .rate = 1e6, .queue_us = 2000000 };
	int64_t t = 1000000;
	/* 2 Mbit/s into a 1 Mbit/s bottleneck with a deep queue: no loss, the delay grows */
	int64_t at = run(&c, &pa, 2e6, 3.0, &t, 1000000);
	CHECK(c.overuses > 0);
	CHECK(at > 0 && at - 1000000 < 1500000); /* below the path's rate within 1.5 s */
	int64_t e = mc_cc_update(&c, t);
	CHECK(e < 1000000 && e > 400000);
	CHECK(c.loss_decreases == 0);
}

static void test_no_congestion(void)
{
	struct mc_cc c;
	mc_cc_init(&c, 1000000, 30000, 5000000);
	struct path pa = { .rate = 10e6, .queue_us = 200000 };
	int64_t t = 1000000;
	run(&c, &pa, 1e6, 5.0, &t, 900000);
	CHECK_EQ(c.overuses, 0);
	int64_t e = mc_cc_update(&c, t);
	/* not below what it sends, and not far above what gets through */
	CHECK(e >= 1000000);
	CHECK(e <= 1600000);
}

static void test_loss(void)
{
	struct mc_cc c;
	mc_cc_init(&c, 1000000, 30000, 5000000);
	int64_t t = 0;
	mc_cc_on_loss(&c, 2, 10, t); /* 10 packets: not enough to act on */
	CHECK_EQ(mc_cc_update(&c, t), 1000000);
	mc_cc_on_loss(&c, 2, 10, t); /* 4 of 20: 20 % */
	CHECK_NEAR((double)mc_cc_update(&c, t), 900000, 1000);
	mc_cc_on_loss(&c, 8, 40, t + 100000); /* within 300 ms + RTT: not again */
	CHECK_NEAR((double)mc_cc_update(&c, t), 900000, 1000);
	mc_cc_on_loss(&c, 2, 40, t + 1000000); /* between 2 and 10 %: hold */
	CHECK_NEAR((double)mc_cc_update(&c, t), 900000, 1000);
	for (int i = 2; i <= 6; i++)
		mc_cc_on_loss(&c, 0, 100, t + i * 1000000);
	CHECK(mc_cc_update(&c, t) > 1250000); /* 8 %/s for 5 s */
	mc_cc_on_loss(&c, 7, 2, t); /* nonsense is ignored */
	mc_cc_on_loss(&c, -1, 20, t);
	mc_cc_on_loss(&c, 1, 0, t);
	CHECK(mc_cc_update(&c, t) > 1250000);
}

/* Janus's REMB: starts at ~105 kbit/s 13 s after a viewer joins and climbs 10 kbit/s a second. It must
 * not cap the estimate; a REMB that falls from its peak does. */
static void test_remb(void)
{
	struct mc_cc c;
	mc_cc_init(&c, 3350000, 30000, 6700000);
	int64_t t = 13000000;
	for (int i = 0; i < 30; i++, t += 1000000)
		mc_cc_on_remb(&c, 105000 + 10000 * i, t);
	CHECK_EQ(mc_cc_update(&c, t), 3350000);
	CHECK_EQ(c.remb_caps, 0);
	mc_cc_on_remb(&c, 200000, t);
	CHECK_EQ(mc_cc_update(&c, t), 200000);
	CHECK_EQ(c.remb_caps, 1);
	mc_cc_on_remb(&c, 380000, t + 1000000); /* back up near its peak: no longer a cap */
	CHECK_EQ(mc_cc_update(&c, t + 1000000), 3350000);
	mc_cc_on_remb(&c, 0, t); /* ignored */
	CHECK_EQ(mc_cc_update(&c, t + 1000000), 3350000);
}

/* Probing: after a drop, the estimate climbs back by the probe's measured rate, not by 8 %/s; a probe
 * into a path that does not take it does not raise the estimate above the path. */
static void probe_case(double path_rate, int64_t *after)
{
	struct mc_cc c;
	mc_cc_init(&c, 500000, 30000, 6700000);
	struct path pa = { .rate = path_rate, .queue_us = 300000 };
	int64_t t = 1000000;
	run(&c, &pa, 500000, 2.5, &t, 0); /* quiet: 500 kbit/s, have_twcc set */
	int64_t before = mc_cc_update(&c, t);
	CHECK(before >= 500000 && before < 800000);
	int64_t rate = mc_cc_probe_due(&c, 3350000, t);
	CHECK_EQ(rate, 3 * before); /* three times the estimate, below the 110 % of what is needed */
	CHECK_EQ(mc_cc_probe_due(&c, 3350000, t), 0); /* one at a time */
	struct mc_cc_packet p[MC_CC_PROBE_PACKETS];
	for (int i = 0; i < MC_CC_PROBE_PACKETS; i++) {
		p[i] = (struct mc_cc_packet){ .send_us = t, .size = 1200, .probe = true };
		p[i].received = path_arrival(&pa, t, 1200, &p[i].arrival_us);
		t += (int64_t)(1200 * 8 * 1e6 / (double)rate);
	}
	mc_cc_on_feedback(&c, p, MC_CC_PROBE_PACKETS, t + 100000);
	*after = mc_cc_update(&c, t + 100000);
	CHECK(c.probe_rate_bps == 0);
}

static void test_probe(void)
{
	int64_t e;
	probe_case(10e6, &e);
	CHECK(e >= 1300000); /* the path took the probe's 1.5+ Mbit/s */
	probe_case(600000, &e);
	CHECK(e <= 700000); /* the path's 600 kbit/s, not the probe's rate */
}

static void test_allocate(void)
{
	struct mc_cc_alloc a = { 0 };
	const int cfg[3] = { 2500000, 700000, 150000 };
	int64_t t = 0;
	CHECK(mc_cc_allocate(&a, 3, cfg, 3350000, 30000, t));
	CHECK(!a.paused[0] && !a.paused[1] && !a.paused[2]);
	CHECK_EQ(a.target_bps[0], 2500000);
	/* a 600 kbit/s path: 0.85 x 600 k; only the lowest layer fits */
	t += 1000000;
	CHECK(mc_cc_allocate(&a, 3, cfg, 510000, 30000, t));
	CHECK(a.paused[0] && a.paused[1] && !a.paused[2]);
	CHECK_EQ(a.target_bps[2], 150000);
	/* 800 k: 650 k left for the 700 k layer: not enough to resume (it needs its full rate) */
	t += 3000000;
	mc_cc_allocate(&a, 3, cfg, 800000, 30000, t);
	CHECK(a.paused[1]);
	/* enough, but paused only 0.5 s ago: not yet */
	t += 1000000;
	mc_cc_allocate(&a, 3, cfg, 510000, 30000, t - 10);
	mc_cc_allocate(&a, 3, cfg, 900000, 30000, t);
	CHECK(!a.paused[1]);
	CHECK_EQ(a.target_bps[1], 700000);
	/* once flowing, it keeps flowing down to 60 % of its rate (hysteresis) */
	mc_cc_allocate(&a, 3, cfg, 150000 + 450000, 30000, t + 100000);
	CHECK(!a.paused[1]);
	CHECK_EQ(a.target_bps[1], 450000);
	mc_cc_allocate(&a, 3, cfg, 150000 + 400000, 30000, t + 200000);
	CHECK(a.paused[1]);
	/* a budget below the lowest layer: it still flows, at the floor */
	mc_cc_allocate(&a, 3, cfg, 10000, 30000, t + 300000);
	CHECK(!a.paused[2]);
	CHECK_EQ(a.target_bps[2], 30000);
	/* the top layer cannot flow while the middle one is paused */
	mc_cc_allocate(&a, 3, cfg, 150000 + 300000 + 2500000, 30000, t + 400000);
	CHECK(a.paused[0] && a.paused[1]);
}

int main(void)
{
	RUN(test_twcc_decode);
	RUN(test_delay_overuse);
	RUN(test_no_congestion);
	RUN(test_loss);
	RUN(test_remb);
	RUN(test_probe);
	RUN(test_allocate);
	return check_done();
}
