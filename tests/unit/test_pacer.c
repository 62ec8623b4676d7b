/* The pacer's budget, priorities and bounded queue, on a clock the test drives. */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "check.h"
#include "pacer.h"

static struct mc_rtp_packet pkt(uint16_t len, uint16_t seq, bool marker)
{
	struct mc_rtp_packet p = { .len = len };
	mc_rtp_write_header(p.data, 96, marker, seq, 0, 1);
	return p;
}

/* A 100-packet keyframe pushed at once leaves at the rate: in every 5 ms window at most
 * rate*(5 ms + burst) + one packet. */
static void test_rate_bounds_windows(void)
{
	struct mc_pacer p;
	const int64_t rate = 8000000; /* 1 MB/s: 1000 bytes per ms */
	CHECK_EQ(mc_pacer_init(&p, 256, rate, 500000, true), 0);
	int64_t t = 1000000;
	for (int i = 0; i < 100; i++) {
		struct mc_rtp_packet k = pkt(1200, (uint16_t)i, i == 99);
		CHECK_EQ(mc_pacer_push(&p, 2, &k, 0, 1, t, t), 0);
	}
	int64_t sent_at[100];
	int n = 0;
	for (int guard = 0; guard < 100000 && n < 100; guard++) {
		struct mc_paced *s;
		while ((s = mc_pacer_pop(&p, t)))
			sent_at[n++] = t;
		int64_t next = mc_pacer_next_us(&p, t);
		if (next == INT64_MAX)
			break;
		CHECK(next > t);
		t = next;
	}
	CHECK_EQ(n, 100);
	/* 120 kB at 1 MB/s: about 120 ms, less the first burst */
	CHECK(sent_at[99] - sent_at[0] >= 115000 && sent_at[99] - sent_at[0] <= 122000);
	int worst = 0;
	for (int i = 0; i < n; i++) {
		int bytes = 0;
		for (int j = i; j < n && sent_at[j] - sent_at[i] < 5000; j++)
			bytes += 1200;
		worst = bytes > worst ? bytes : worst;
	}
	CHECK(worst <= 5000 + 1000 + 1200);
	CHECK_EQ(mc_count_get(&p.sent), 100);
	CHECK_EQ(mc_pacer_next_us(&p, t), INT64_MAX);
	mc_pacer_finish(&p);
}

/* Off: everything leaves at once, in order. */
static void test_disabled(void)
{
	struct mc_pacer p;
	CHECK_EQ(mc_pacer_init(&p, 64, 1000, 500000, false), 0);
	for (int i = 0; i < 50; i++) {
		struct mc_rtp_packet k = pkt(1200, (uint16_t)i, false);
		mc_pacer_push(&p, 1, &k, 0, 1, 0, 0);
	}
	int n = 0;
	struct mc_paced *s;
	while ((s = mc_pacer_pop(&p, 0)))
		CHECK_EQ(s->pkt.data[3], n++);
	CHECK_EQ(n, 50);
	mc_pacer_finish(&p);
}

/* Retransmissions first, then the lower classes: a small layer's frame overtakes a queued keyframe. */
static void test_priority(void)
{
	struct mc_pacer p;
	CHECK_EQ(mc_pacer_init(&p, 256, 8000000, 500000, true), 0);
	int64_t t = 0;
	for (int i = 0; i < 50; i++) {
		struct mc_rtp_packet k = pkt(1200, (uint16_t)i, false);
		mc_pacer_push(&p, 3, &k, 0, 1, t, t); /* class 3: the top layer's keyframe */
	}
	CHECK(mc_pacer_pop(&p, t) != NULL); /* one leaves; the budget is spent */
	t += 1500;
	struct mc_rtp_packet small = pkt(300, 1000, true), rtx = pkt(1200, 2000, false);
	mc_pacer_push(&p, 1, &small, 2, 7, t, t);
	mc_pacer_push(&p, 0, &rtx, 0, 9, t, t);
	struct mc_paced *s = NULL;
	for (int guard = 0; guard < 1000 && !(s = mc_pacer_pop(&p, t)); guard++)
		t = mc_pacer_next_us(&p, t);
	CHECK(s && s->cls == 0);
	for (int guard = 0; guard < 1000 && !(s = mc_pacer_pop(&p, t)); guard++)
		t = mc_pacer_next_us(&p, t);
	CHECK(s && s->cls == 1 && s->layer == 2);
	for (int guard = 0; guard < 1000 && !(s = mc_pacer_pop(&p, t)); guard++)
		t = mc_pacer_next_us(&p, t);
	CHECK(s && s->cls == 3);
	mc_pacer_finish(&p);
}

/* Bounded in time: packets older than the limit go with the rest of their frame, counted, and the layer
 * is marked damaged; a later frame is kept. A full pool refuses and counts. */
static void test_bounded(void)
{
	struct mc_pacer p;
	/* 80 kbit/s: 10 bytes per ms, far too slow for what is pushed */
	CHECK_EQ(mc_pacer_init(&p, 40, 80000, 100000, true), 0);
	for (int i = 0; i < 30; i++) {
		struct mc_rtp_packet k = pkt(1000, (uint16_t)i, i == 29);
		mc_pacer_push(&p, 1, &k, 1, 100, 0, 0);
	}
	/* the queue of 30 kB is drained within half the limit rather than at 80 kbit/s */
	CHECK(mc_pacer_effective_rate(&p) >= 30000 * 8 * 19);
	int64_t t = 0;
	CHECK(mc_pacer_pop(&p, t) != NULL);
	for (int i = 0; i < 11; i++) { /* 29 + 11 = the 40 slots */
		struct mc_rtp_packet k = pkt(1000, (uint16_t)(100 + i), false);
		CHECK_EQ(mc_pacer_push(&p, 1, &k, 1, 200, 60000, 60000), 0);
	}
	struct mc_rtp_packet k = pkt(1000, 999, false);
	CHECK_EQ(mc_pacer_push(&p, 1, &k, 1, 200, 60000, 60000), -ENOSPC);
	CHECK_EQ(mc_count_get(&p.dropped_full), 1);
	p.rate_bps = 8000; /* and now slower than anything */
	(void)mc_pacer_pop(&p, 100001);
	CHECK(mc_count_get(&p.dropped_old) > 0);
	CHECK(p.damaged_layers & 2);
	/* what is left is the second frame only (ts 200) */
	for (int c = 0; c < MC_PACER_CLASSES; c++)
		for (int32_t i = p.head[c]; i >= 0; i = p.slots[i].next)
			CHECK_EQ(p.slots[i].ts, 200);
	CHECK(mc_pacer_queue_age_us(&p, 100001) <= 100000);
	mc_pacer_finish(&p);
}

/* A rate change takes effect for what is left; the debt drained at the old rate is kept. */
static void test_rate_change(void)
{
	struct mc_pacer p;
	CHECK_EQ(mc_pacer_init(&p, 64, 8000000, 2000000, true), 0);
	for (int i = 0; i < 20; i++) {
		struct mc_rtp_packet k = pkt(1000, (uint16_t)i, false);
		mc_pacer_push(&p, 1, &k, 0, 1, 0, 0);
	}
	(void)mc_pacer_pop(&p, 0);
	(void)mc_pacer_pop(&p, 0);
	/* 2000 bytes of debt, 1 ms (1000 bytes) of burst at 8 Mbit/s: the next in 1 ms */
	CHECK(mc_pacer_pop(&p, 0) == NULL);
	CHECK_NEAR((double)mc_pacer_next_us(&p, 0), 1000, 2);
	mc_pacer_set_rate(&p, 16000000, 500); /* 500 bytes drained at the old rate; the burst is now 2000 */
	CHECK_EQ(mc_pacer_next_us(&p, 500), 500);
	CHECK(mc_pacer_pop(&p, 500) != NULL);
	/* 2500 bytes of debt less 2000 of burst at 2 bytes/us */
	CHECK_NEAR((double)mc_pacer_next_us(&p, 500), 750, 2);
	mc_pacer_finish(&p);
}

/* A stall between pop and send (the thread preempted): the next packet is spaced from the real send, not
 * sent at once to catch up. */
static void test_stall(void)
{
	struct mc_pacer p;
	CHECK_EQ(mc_pacer_init(&p, 64, 8000000, 500000, true), 0);
	for (int i = 0; i < 10; i++) {
		struct mc_rtp_packet k = pkt(1000, (uint16_t)i, false);
		mc_pacer_push(&p, 1, &k, 0, 1, 0, 0);
	}
	CHECK(mc_pacer_pop(&p, 0) != NULL);
	CHECK(mc_pacer_pop(&p, 0) != NULL); /* 2000 bytes of debt */
	mc_pacer_sent(&p, 0, 5000);         /* they reached the kernel 5 ms late */
	CHECK(mc_pacer_pop(&p, 5000) == NULL);
	CHECK_NEAR((double)mc_pacer_next_us(&p, 5000), 6000, 2);
	CHECK(mc_pacer_pop(&p, 6000) != NULL);
	mc_pacer_sent(&p, 6000, 6050); /* an ordinary send: no correction */
	CHECK_EQ(p.last_us, 6000);
	mc_pacer_finish(&p);
}

int main(void)
{
	RUN(test_stall);
	RUN(test_rate_bounds_windows);
	RUN(test_disabled);
	RUN(test_priority);
	RUN(test_bounded);
	RUN(test_rate_change);
	return check_done();
}
