/* mixcast-bench-feedback: the CPU cost of the feedback path, per second of the bench's camera job
 * (720p30 2500k + 360p30 700k + 180p15 150k, ~1200-byte packets: about 380 packets a second).
 *
 * Times, on one thread (CLOCK_THREAD_CPUTIME_ID), the code that runs on the network thread for every packet
 * and every feedback message, fed with what a receiver sends: transport-wide feedback every 50 ms (as
 * rtpbin and browsers do, ~20 packets each) in a compound with an RR, and a NACK per 100 packets:
 *   per packet:  pacer push + pop, transport-wide number, plaintext history put, sent-record for cc
 *   per message: RTCP compound parse, TWCC decode, congestion controller update, layer allocation
 * and prints the cost in ns per packet / per message and in % of one core for the job.
 * usage: mixcast-bench-feedback [SECONDS_OF_STREAM]   (default 600: ten minutes of the job) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cc.h"
#include "pacer.h"
#include "rtcp_parse.h"
#include "rtp_history.h"
#include "twcc.h"

static double cpu_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* One TWCC feedback for `n` packets from `base`, all received, 2-bit vector chunks, small deltas. */
static size_t twcc_packet(uint8_t *b, uint16_t base, int n, uint8_t fb_count)
{
	size_t p = 0;
	/* RR first, as rtpbin compounds it */
	static const uint8_t rr[8] = { 0x80, 201, 0, 1, 0, 0, 0, 1 };
	memcpy(b, rr, 8);
	p = 8;
	size_t start = p;
	b[p++] = 0x80 | 15;
	b[p++] = 205;
	p += 2; /* length */
	memset(b + p, 0, 4), b[p + 3] = 1, p += 4; /* sender */
	memset(b + p, 0, 4), b[p + 3] = 2, p += 4; /* media */
	b[p++] = (uint8_t)(base >> 8), b[p++] = (uint8_t)base;
	b[p++] = (uint8_t)(n >> 8), b[p++] = (uint8_t)n;
	b[p++] = 0, b[p++] = 0, b[p++] = 1, b[p++] = fb_count; /* reference time 1 */
	for (int i = 0; i < n; i += 7) {
		b[p++] = 0xD5; /* 2-bit vector: 7 x "small delta" */
		b[p++] = 0x55;
	}
	for (int i = 0; i < n; i++)
		b[p++] = 10; /* 2.5 ms */
	while ((p - start) % 4)
		b[p++] = 0;
	size_t words = (p - start) / 4 - 1;
	b[start + 2] = (uint8_t)(words >> 8), b[start + 3] = (uint8_t)words;
	return p;
}

struct fbctx {
	struct mc_cc *cc;
	struct mc_cc_alloc *alloc;
	int64_t now, send0;
	int nacks, decoded;
};

static void on_twcc(void *v, uint32_t s, const struct mc_rtcp_twcc *fb)
{
	struct fbctx *c = v;
	static struct mc_twcc_packet t[MC_TWCC_MAX_PACKETS];
	static struct mc_cc_packet q[MC_TWCC_MAX_PACKETS];
	int n;
	if (mc_twcc_decode(fb, t, &n))
		return;
	c->decoded++;
	for (int i = 0; i < n; i++)
		q[i] = (struct mc_cc_packet){ .send_us = c->send0 + i * 2600, .arrival_us = t[i].arrival_us, .size = 1200,
					      .received = t[i].received };
	mc_cc_on_feedback(c->cc, q, n, c->now);
	static const int cfg[3] = { 2500000, 700000, 150000 };
	mc_cc_allocate(c->alloc, 3, cfg, mc_cc_update(c->cc, c->now), 30000, c->now);
}

static void on_nack(void *v, uint32_t s, uint32_t m, uint16_t pid, uint16_t blp) { ((struct fbctx *)v)->nacks++; }

int main(int argc, char **argv)
{
	double seconds = argc > 1 ? atof(argv[1]) : 600;
	const int pps = 380, fb_per_s = 20;
	long packets = (long)(seconds * pps), messages = (long)(seconds * fb_per_s);

	struct mc_pacer pacer;
	struct mc_rtp_history hist;
	if (mc_pacer_init(&pacer, 2048, 8375000, 500000, true) || mc_rtp_history_init(&hist))
		return 1;
	struct mc_rtp_packet pkt = { .len = 1200, .twcc_off = 21 };
	memset(pkt.data, 0x42, sizeof(pkt.data));
	pkt.data[0] = 0x90;
	struct { int64_t send; uint16_t seq, size; } sent[4096];
	uint16_t twcc_seq = 0;
	int64_t now = 1000000;
	double t0 = cpu_now();
	for (long i = 0; i < packets; i++) {
		pkt.data[2] = (uint8_t)(i >> 8), pkt.data[3] = (uint8_t)i;
		mc_pacer_push(&pacer, 1 + (int)(i % 3), &pkt, (int)(i % 3), (uint32_t)(i / 10), now, now);
		now += 1000000 / pps;
		struct mc_paced *p;
		while ((p = mc_pacer_pop(&pacer, now))) {
			mc_rtp_set_twcc_seq(&p->pkt, twcc_seq);
			mc_rtp_history_put(&hist, p->pkt.data, p->pkt.len, now);
			sent[twcc_seq % 4096].send = now, sent[twcc_seq % 4096].seq = twcc_seq, sent[twcc_seq % 4096].size = p->pkt.len;
			twcc_seq++;
		}
	}
	double t_pkt = cpu_now() - t0;

	struct mc_cc cc;
	struct mc_cc_alloc alloc = { 0 };
	mc_cc_init(&cc, 3350000, 30000, 6700000);
	struct fbctx c = { .cc = &cc, .alloc = &alloc, .now = 1000000, .send0 = 900000 };
	struct mc_rtcp_handler h = { .twcc = on_twcc, .nack = on_nack };
	static uint8_t buf[2048];
	int per = pps / fb_per_s;
	t0 = cpu_now();
	for (long i = 0; i < messages; i++) {
		size_t len = twcc_packet(buf, (uint16_t)(i * per), per, (uint8_t)i);
		mc_rtcp_parse(buf, len, &h, &c, NULL);
		c.now += 1000000 / fb_per_s;
		c.send0 += 1000000 / fb_per_s;
	}
	double t_fb = cpu_now() - t0;
	if (c.decoded != messages || !cc.have_twcc) { /* the figure would time nothing */
		fprintf(stderr, "bench-feedback: %d of %ld feedback messages decoded\n", c.decoded, messages);
		return 1;
	}
	double per_s = (t_pkt + t_fb) / seconds;
	printf("feedback path, %.0f s of the camera job (%d packets/s, %d feedback messages/s):\n", seconds, pps, fb_per_s);
	printf("  per packet  (pacer push+pop, twcc number, history put): %.0f ns\n", t_pkt / (double)packets * 1e9);
	printf("  per message (RTCP parse, TWCC decode, estimator, allocation): %.0f ns\n", t_fb / (double)messages * 1e9);
	printf("  CPU: %.3f %% of one core (%.1f us per second of stream)\n", per_s * 100, per_s * 1e6);
	printf("json {\"ns_per_packet\": %.0f, \"ns_per_feedback\": %.0f, \"cpu_percent\": %.4f}\n",
	       t_pkt / (double)packets * 1e9, t_fb / (double)messages * 1e9, per_s * 100);
	mc_pacer_finish(&pacer);
	mc_rtp_history_finish(&hist);
	(void)sent;
	return 0;
}
