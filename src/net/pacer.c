#include "pacer.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int mc_pacer_init(struct mc_pacer *p, int capacity, int64_t rate_bps, int64_t max_queue_us, bool enabled)
{
	memset(p, 0, sizeof(*p));
	/* calloc: the pages of slots never used stay untouched */
	p->slots = calloc((size_t)capacity, sizeof(*p->slots));
	if (!p->slots)
		return -ENOMEM;
	p->cap = capacity;
	for (int i = 0; i < capacity; i++)
		p->slots[i].next = i + 1 < capacity ? i + 1 : -1;
	p->free_head = 0;
	for (int c = 0; c < MC_PACER_CLASSES; c++)
		p->head[c] = p->tail[c] = -1;
	p->rate_bps = rate_bps > 0 ? rate_bps : 1;
	p->max_queue_us = max_queue_us;
	/* 1 ms: a few packets per wake-up at video rates, so sendmmsg still batches */
	p->burst_us = 1000;
	p->enabled = enabled;
	p->last_us = -1;
	return 0;
}

void mc_pacer_finish(struct mc_pacer *p)
{
	free(p->slots);
	p->slots = NULL;
	p->cap = 0;
}

int64_t mc_pacer_effective_rate(const struct mc_pacer *p)
{
	/* libwebrtc's pacer does the same: rather than let a queue grow towards its limit and drop, send it
	 * within half of the limit */
	int64_t drain = (int64_t)(p->queued_bytes * 8 * 1000000 / (uint64_t)(p->max_queue_us / 2 + 1));
	return drain > p->rate_bps ? drain : p->rate_bps;
}

static void drain_budget(struct mc_pacer *p, int64_t now)
{
	if (p->last_us >= 0 && now > p->last_us) {
		p->debt -= (double)mc_pacer_effective_rate(p) / 8e6 * (double)(now - p->last_us);
		if (p->debt < 0)
			p->debt = 0;
	}
	if (now > p->last_us)
		p->last_us = now;
}

void mc_pacer_set_rate(struct mc_pacer *p, int64_t rate_bps, int64_t now_us)
{
	drain_budget(p, now_us); /* what drained so far, at the old rate */
	p->rate_bps = rate_bps > 0 ? rate_bps : 1;
}

static void unlink_head(struct mc_pacer *p, int c)
{
	int32_t i = p->head[c];
	struct mc_paced *s = &p->slots[i];
	p->head[c] = s->next;
	if (p->head[c] < 0)
		p->tail[c] = -1;
	p->queued--;
	p->queued_bytes -= s->pkt.len;
	s->next = p->free_head;
	p->free_head = i;
}

/* Drop packets that waited too long, with the rest of their frame (a frame with a hole is useless). */
static void drop_old(struct mc_pacer *p, int64_t now)
{
	for (int c = 0; c < MC_PACER_CLASSES; c++) {
		while (p->head[c] >= 0 && now - p->slots[p->head[c]].enqueued_us > p->max_queue_us) {
			struct mc_paced *s = &p->slots[p->head[c]];
			uint32_t ts = s->ts;
			int layer = s->layer;
			p->damaged_layers |= 1u << layer;
			do {
				unlink_head(p, c);
				mc_count_inc(&p->dropped_old);
			} while (p->head[c] >= 0 && p->slots[p->head[c]].ts == ts && p->slots[p->head[c]].layer == layer);
		}
	}
}

int mc_pacer_push(struct mc_pacer *p, int cls, const struct mc_rtp_packet *pkt, int layer, uint32_t ts,
		  int64_t capture_us, int64_t now_us)
{
	if (cls < 0 || cls >= MC_PACER_CLASSES || layer < 0 || layer >= 32)
		return -EINVAL;
	drop_old(p, now_us);
	if (p->free_head < 0) {
		mc_count_inc(&p->dropped_full);
		p->damaged_layers |= 1u << layer;
		return -ENOSPC;
	}
	int32_t i = p->free_head;
	struct mc_paced *s = &p->slots[i];
	p->free_head = s->next;
	s->pkt.len = pkt->len;
	s->pkt.twcc_off = pkt->twcc_off;
	s->pkt.flags = pkt->flags;
	memcpy(s->pkt.data, pkt->data, pkt->len);
	s->enqueued_us = now_us;
	s->capture_us = capture_us;
	s->ts = ts;
	s->layer = (int8_t)layer;
	s->cls = (int8_t)cls;
	s->next = -1;
	if (p->tail[cls] >= 0)
		p->slots[p->tail[cls]].next = i;
	else
		p->head[cls] = i;
	p->tail[cls] = i;
	p->queued++;
	p->queued_bytes += pkt->len;
	return 0;
}

static double burst_bytes(const struct mc_pacer *p)
{
	return (double)mc_pacer_effective_rate(p) / 8e6 * (double)p->burst_us;
}

struct mc_paced *mc_pacer_pop(struct mc_pacer *p, int64_t now_us)
{
	drop_old(p, now_us);
	if (p->queued == 0)
		return NULL;
	drain_budget(p, now_us);
	if (p->enabled && p->debt > burst_bytes(p))
		return NULL;
	for (int c = 0; c < MC_PACER_CLASSES; c++) {
		if (p->head[c] < 0)
			continue;
		struct mc_paced *s = &p->slots[p->head[c]];
		unlink_head(p, c);
		p->debt += s->pkt.len;
		mc_count_inc(&p->sent);
		return s;
	}
	return NULL;
}

void mc_pacer_sent(struct mc_pacer *p, int64_t popped_us, int64_t sent_us)
{
	/* 200 us: a sendmmsg of a few packets takes tens of us; only a stall is taken out of the budget */
	if (p->enabled && sent_us - popped_us > 200 && sent_us > p->last_us)
		p->last_us = sent_us;
}

int64_t mc_pacer_next_us(struct mc_pacer *p, int64_t now_us)
{
	mc_count_set(&p->queued_now, (uint64_t)p->queued);
	mc_count_set(&p->queue_age_us, (uint64_t)mc_pacer_queue_age_us(p, now_us));
	if (p->queued == 0)
		return INT64_MAX;
	drain_budget(p, now_us);
	double over = p->debt - burst_bytes(p);
	if (!p->enabled || over <= 0)
		return now_us;
	int64_t wait = (int64_t)(over * 8e6 / (double)mc_pacer_effective_rate(p)) + 1;
	/* the oldest packet may expire sooner: wake up to drop it (and count it) on time */
	int64_t expire = INT64_MAX;
	for (int c = 0; c < MC_PACER_CLASSES; c++)
		if (p->head[c] >= 0 && p->slots[p->head[c]].enqueued_us + p->max_queue_us + 1 < expire)
			expire = p->slots[p->head[c]].enqueued_us + p->max_queue_us + 1;
	return now_us + wait < expire ? now_us + wait : expire > now_us ? expire : now_us;
}

int64_t mc_pacer_queue_age_us(const struct mc_pacer *p, int64_t now_us)
{
	int64_t oldest = INT64_MAX;
	for (int c = 0; c < MC_PACER_CLASSES; c++)
		if (p->head[c] >= 0 && p->slots[p->head[c]].enqueued_us < oldest)
			oldest = p->slots[p->head[c]].enqueued_us;
	return oldest == INT64_MAX ? 0 : now_us - oldest;
}
