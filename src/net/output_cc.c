#include "output_cc.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "layer_ctl.h"
#include "log.h"
#include "output.h"
#include "twcc.h"

#define MOD "cc"

int mc_output_cc_create(struct mc_output *o)
{
	struct mc_output_cc *c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	for (int l = 0; l < o->n_layers; l++)
		c->desired_bps += o->layer_bitrate[l];
	int64_t min = o->cfg->min_bitrate;
	mc_cc_init(&c->cc, c->desired_bps, min, 2 * c->desired_bps > min ? 2 * c->desired_bps : min);
	o->cc = c;
	mc_output_cc_tick(o, mc_now_us(), true);
	return 0;
}

void mc_output_cc_destroy(struct mc_output *o)
{
	free(o->cc);
	o->cc = NULL;
}

void mc_output_cc_sent(struct mc_output *o, uint16_t seq, size_t len, bool probe, int64_t now_us)
{
	struct mc_output_cc *c = o->cc;
	if (!c)
		return;
	unsigned i = seq % MC_CC_SENT_RING;
	c->sent[i].send_us = now_us;
	c->sent[i].seq = seq;
	c->sent[i].size = (uint16_t)len;
	c->sent[i].used = true;
	c->sent[i].probe = probe;
	if (probe && c->probe_left > 0 && --c->probe_left == 0)
		mc_output_cc_tick(o, now_us, true); /* the cluster is out: the pacing rate goes back */
}

void mc_output_cc_twcc(struct mc_output *o, const struct mc_rtcp_twcc *fb, int64_t now_us)
{
	struct mc_output_cc *c = o->cc;
	if (!c)
		return;
	static struct mc_twcc_packet twcc[MC_TWCC_MAX_PACKETS]; /* network thread only */
	static struct mc_cc_packet pk[MC_TWCC_MAX_PACKETS];
	int n = 0, m = 0;
	if (mc_twcc_decode(fb, twcc, &n)) {
		mc_count_inc(&c->twcc_malformed);
		return;
	}
	mc_count_inc(&c->twcc_feedback);
	for (int i = 0; i < n; i++) {
		unsigned k = twcc[i].seq % MC_CC_SENT_RING;
		/* a number we never sent (or so long ago that it was overwritten) is ignored, counted */
		if (!c->sent[k].used || c->sent[k].seq != twcc[i].seq || now_us - c->sent[k].send_us > 10000000) {
			mc_count_inc(&c->twcc_unknown_seq);
			continue;
		}
		pk[m++] = (struct mc_cc_packet){ .send_us = c->sent[k].send_us, .arrival_us = twcc[i].arrival_us,
						 .size = c->sent[k].size, .received = twcc[i].received,
						 .probe = c->sent[k].probe };
	}
	mc_cc_on_feedback(&c->cc, pk, m, now_us);
	mc_output_cc_tick(o, now_us, true);
}

void mc_output_cc_rr(struct mc_output *o, int layer, uint32_t highest_seq, int32_t cumulative_lost, int64_t rtt_us,
		     int64_t now_us)
{
	struct mc_output_cc *c = o->cc;
	if (!c || layer < 0 || layer >= o->n_layers)
		return;
	if (rtt_us > 0)
		mc_cc_on_rtt(&c->cc, rtt_us);
	bool had = c->rr[layer].have;
	int32_t expected = (int32_t)(highest_seq - c->rr[layer].highest_seq);
	int32_t lost = cumulative_lost - c->rr[layer].cumulative_lost;
	c->rr[layer].have = true;
	c->rr[layer].highest_seq = highest_seq;
	c->rr[layer].cumulative_lost = cumulative_lost;
	/* transport-wide feedback counts loss per packet and sooner: RRs are for when they are all the receiver
	 * sends. A report that went backwards or claims more than 10 000 packets is a restart or a lie. */
	if (!had || c->cc.have_twcc || expected <= 0 || expected > 10000)
		return;
	mc_cc_on_loss(&c->cc, lost < 0 ? 0 : lost > expected ? expected : lost, expected, now_us);
	mc_output_cc_tick(o, now_us, true);
}

void mc_output_cc_remb(struct mc_output *o, int64_t bps, int64_t now_us)
{
	struct mc_output_cc *c = o->cc;
	if (!c)
		return;
	mc_cc_on_remb(&c->cc, bps, now_us);
	mc_count_set(&c->remb_bps, (uint64_t)bps);
	mc_output_cc_tick(o, now_us, true);
}

/* A probe cluster: copies of the latest packets of the lowest layer (which always flows), as RTX when
 * configured, at the head of the pacer. A receiver drops them as duplicates; their transport-wide numbers
 * make them count. */
static void send_probe(struct mc_output *o, int64_t rate, int64_t now)
{
	struct mc_output_cc *c = o->cc;
	int l = o->n_layers - 1;
	int queued = 0;
	for (int k = MC_CC_PROBE_PACKETS + 8; k > 0 && queued < MC_CC_PROBE_PACKETS; k--) {
		uint16_t seq = (uint16_t)(o->streams[l].seq - (uint16_t)k);
		if (mc_output_queue_copy(o, l, seq, true, now) == 0)
			queued++;
	}
	c->probe_left = queued;
	c->probe_rate_bps = queued ? rate : 0;
	if (queued < MC_CC_PROBE_PACKETS)
		mc_debug(MOD, "%s: probe at %lld kbit/s: only %d packets to copy", o->cfg->name, (long long)rate / 1000,
			 queued);
}

void mc_output_cc_tick(struct mc_output *o, int64_t now, bool force)
{
	struct mc_output_cc *c = o->cc;
	if (!c || (!force && now - c->last_tick_us < 25000))
		return;
	c->last_tick_us = now;
	int64_t est = mc_cc_update(&c->cc, now);
	if (o->cfg->cc && o->cfg->ext_twcc && c->probe_left == 0) {
		int64_t rate = mc_cc_probe_due(&c->cc, c->desired_bps, now);
		if (rate)
			send_probe(o, rate, now);
	}
	bool changed = mc_cc_allocate(&c->alloc, o->n_layers, o->layer_bitrate, o->cfg->cc ? est : c->desired_bps,
				      o->cfg->min_bitrate, now);
	int64_t sum = 0;
	for (int l = 0; l < o->n_layers; l++) {
		int t = c->alloc.target_bps[l];
		bool p = c->alloc.paused[l];
		sum += p ? 0 : t;
		mc_count_set(&c->layer_target[l], (uint64_t)t);
		if (!p && mc_count_get(&c->layer_paused[l]))
			mc_count_set(&c->layer_resumed_us[l], (uint64_t)now);
		mc_count_set(&c->layer_paused[l], p);
		/* a paused layer still names a rate: 0 means "no opinion" to the layer's thread */
		if (o->cfg->cc && o->layer_ctl[l])
			mc_layer_ctl_set(o->layer_ctl[l], o->ctl_slot, p ? o->layer_bitrate[l] : t, p);
	}
	if (changed && o->cfg->cc)
		mc_info(MOD, "%s: estimate %lld kbit/s (delay %lld, loss %lld, acked %lld): layers %d%s/%d%s/%d%s kbit/s",
			o->cfg->name, (long long)est / 1000, (long long)c->cc.delay_bps / 1000,
			(long long)c->cc.loss_bps / 1000, (long long)c->cc.acked_bps / 1000, c->alloc.target_bps[0] / 1000,
			c->alloc.paused[0] ? " (paused)" : "", o->n_layers > 1 ? c->alloc.target_bps[1] / 1000 : 0,
			o->n_layers > 1 && c->alloc.paused[1] ? " (paused)" : "",
			o->n_layers > 2 ? c->alloc.target_bps[2] / 1000 : 0,
			o->n_layers > 2 && c->alloc.paused[2] ? " (paused)" : "");
	/* libwebrtc's 2.5x of what the layers are to send; the probe cluster leaves at its own rate */
	int64_t pacing = (int64_t)(MC_PACING_FACTOR * (double)(sum > 0 ? sum : est));
	if (c->probe_left > 0 && c->probe_rate_bps > pacing)
		pacing = c->probe_rate_bps;
	if (pacing != o->pacer.rate_bps)
		mc_pacer_set_rate(&o->pacer, pacing, now);
	mc_count_set(&c->estimate_bps, (uint64_t)est);
	mc_count_set(&c->delay_bps, c->cc.have_twcc ? (uint64_t)c->cc.delay_bps : 0);
	mc_count_set(&c->loss_bps, (uint64_t)c->cc.loss_bps);
	mc_count_set(&c->acked_bps, (uint64_t)c->cc.acked_bps);
	mc_count_set(&c->pacing_bps, (uint64_t)pacing);
	mc_count_set(&c->overuses, c->cc.overuses);
	mc_count_set(&c->loss_decreases, c->cc.loss_decreases);
	mc_count_set(&c->probes, c->cc.probes);
	mc_count_set(&c->probes_ok, c->cc.probes_ok);
	mc_count_set(&c->remb_caps, c->cc.remb_caps);
}
