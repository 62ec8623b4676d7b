#include "cc.h"

#include <math.h>
#include <string.h>

/* Constants from libwebrtc's GoogCC (trendline_estimator.cc, aimd_rate_control.cc,
 * send_side_bandwidth_estimation.cc), in the units used here. */
#define GROUP_US 5000          /* packets sent within 5 ms form one group (a burst) */
#define SMOOTHING 0.9
#define TREND_GAIN 4.0
#define THRESHOLD_INIT 12.5
#define K_UP 0.0087
#define K_DOWN 0.039
#define OVERUSE_TIME_MS 10.0
#define BETA 0.85              /* multiplicative decrease on overuse, of the acknowledged rate */
#define LOSS_LOW 0.02
#define LOSS_HIGH 0.10
#define PROBE_INTERVAL_US 2000000
#define PROBE_QUIET_US 1000000 /* no overuse or loss decrease for this long before a probe */

static double clampd(double v, double lo, double hi) { return v < lo ? lo : v > hi ? hi : v; }

void mc_cc_init(struct mc_cc *c, int64_t start_bps, int64_t min_bps, int64_t max_bps)
{
	memset(c, 0, sizeof(*c));
	c->min_bps = min_bps;
	c->max_bps = max_bps;
	c->estimate_bps = start_bps;
	c->delay_bps = (double)max_bps; /* no opinion until transport-wide feedback comes */
	c->loss_bps = (double)start_bps;
	c->threshold = THRESHOLD_INIT;
	c->last_threshold_us = -1;
	c->last_loss_us = -1;
	c->rtt_us = 100000;
	c->last_decrease_us = c->last_overuse_us = c->last_loss_decrease_us = INT64_MIN / 2;
}

void mc_cc_on_rtt(struct mc_cc *c, int64_t rtt_us)
{
	if (rtt_us > 0 && rtt_us < 10000000)
		c->rtt_us = rtt_us;
}

/* ---- the acknowledged rate ---------------------------------------------------------------------- */

static void acked_add(struct mc_cc *c, int64_t arrival, int size)
{
	c->acked_arrival[c->acked_pos] = arrival;
	c->acked_size[c->acked_pos] = size;
	c->acked_pos = (c->acked_pos + 1) % MC_CC_ACKED_RING;
	if (c->acked_n < MC_CC_ACKED_RING)
		c->acked_n++;
}

/* Bytes received in the last `window` of the receiver's clock, as bit/s; 0 when too few. */
static int64_t acked_recent(const struct mc_cc *c, int64_t window)
{
	if (c->acked_n < 4)
		return 0;
	int last = (c->acked_pos + MC_CC_ACKED_RING - 1) % MC_CC_ACKED_RING;
	int64_t newest = c->acked_arrival[last], oldest = newest, bytes = 0;
	int n = 0;
	for (int k = 0; k < c->acked_n; k++) {
		int i = (last - k + MC_CC_ACKED_RING) % MC_CC_ACKED_RING;
		if (newest - c->acked_arrival[i] > window)
			break;
		if (k) /* the bytes after the oldest one, over the span */
			bytes += c->acked_size[(i + 1) % MC_CC_ACKED_RING];
		oldest = c->acked_arrival[i];
		n++;
	}
	return n >= 4 && newest - oldest >= window / 4 ? bytes * 8 * 1000000 / (newest - oldest) : 0;
}

/* Bytes received in the last 500 ms of the receiver's clock (or what the ring holds), as bit/s. */
static void acked_update(struct mc_cc *c)
{
	if (c->acked_n < 2)
		return;
	int last = (c->acked_pos + MC_CC_ACKED_RING - 1) % MC_CC_ACKED_RING;
	int64_t newest = c->acked_arrival[last], oldest = newest;
	int64_t bytes = 0;
	for (int k = 0; k < c->acked_n; k++) {
		int i = (last - k + MC_CC_ACKED_RING) % MC_CC_ACKED_RING;
		if (newest - c->acked_arrival[i] > 500000)
			break;
		bytes += c->acked_size[i];
		oldest = c->acked_arrival[i];
	}
	int64_t span = newest - oldest;
	if (span < 100000) /* too short to mean a rate */
		return;
	c->acked_bps = bytes * 8 * 1000000 / span;
}

/* ---- trendline and overuse detection -------------------------------------------------------------- */

static void detect(struct mc_cc *c, double trend, double ts_delta_ms, int64_t now)
{
	double modified = (c->num_deltas < 60 ? c->num_deltas : 60) * trend * TREND_GAIN;
	if (modified > c->threshold) {
		c->time_over_ms = c->time_over_ms < 0 ? ts_delta_ms / 2 : c->time_over_ms + ts_delta_ms;
		c->overuse_count++;
		if (c->time_over_ms > OVERUSE_TIME_MS && c->overuse_count > 1 && trend >= c->prev_trend) {
			c->time_over_ms = 0;
			c->overuse_count = 0;
			c->usage = MC_CC_OVERUSE;
		}
	} else if (modified < -c->threshold) {
		c->time_over_ms = -1;
		c->overuse_count = 0;
		c->usage = MC_CC_UNDERUSE;
	} else {
		c->time_over_ms = -1;
		c->overuse_count = 0;
		c->usage = MC_CC_NORMAL;
	}
	c->prev_trend = trend;
	/* the adaptive threshold (draft-ietf-rmcat-gcc-02 §5.4): follows |modified| slowly up, faster down,
	 * so that a path with a standing queue of other traffic is not read as overuse forever */
	double a = fabs(modified);
	if (c->last_threshold_us < 0)
		c->last_threshold_us = now;
	if (a < c->threshold + 15.0) {
		double k = a < c->threshold ? K_DOWN : K_UP;
		double dt = (double)(now - c->last_threshold_us) / 1000.0;
		c->threshold += k * (a - c->threshold) * (dt < 100 ? dt : 100);
		c->threshold = clampd(c->threshold, 6.0, 600.0);
	}
	c->last_threshold_us = now;
}

/* One group closed: its delay variation against the previous group goes into the trendline. */
static void group_done(struct mc_cc *c, int64_t now)
{
	if (!c->have_prev_grp) {
		c->have_prev_grp = true;
		c->first_arrival = c->grp_arrival;
		c->prev_grp_send = c->grp_send;
		c->prev_grp_arrival = c->grp_arrival;
		return;
	}
	double send_delta = (double)(c->grp_send - c->prev_grp_send) / 1000.0;
	double arrival_delta = (double)(c->grp_arrival - c->prev_grp_arrival) / 1000.0;
	c->prev_grp_send = c->grp_send;
	c->prev_grp_arrival = c->grp_arrival;
	if (send_delta < 0 || arrival_delta < 0 || arrival_delta > 5000) /* reordered or a gap: start over */
		return;
	double delta = arrival_delta - send_delta;
	c->num_deltas++;
	c->acc_delay_ms += delta;
	c->smoothed_ms = SMOOTHING * c->smoothed_ms + (1 - SMOOTHING) * c->acc_delay_ms;
	c->trend_x[c->trend_pos] = (double)(c->grp_arrival - c->first_arrival) / 1000.0;
	c->trend_y[c->trend_pos] = c->smoothed_ms;
	c->trend_pos = (c->trend_pos + 1) % MC_CC_TREND_WINDOW;
	if (c->trend_n < MC_CC_TREND_WINDOW)
		c->trend_n++;
	double trend = c->prev_trend;
	if (c->trend_n == MC_CC_TREND_WINDOW) { /* least-squares slope of delay over arrival time */
		double mx = 0, my = 0;
		for (int i = 0; i < c->trend_n; i++)
			mx += c->trend_x[i], my += c->trend_y[i];
		mx /= c->trend_n, my /= c->trend_n;
		double num = 0, den = 0;
		for (int i = 0; i < c->trend_n; i++) {
			num += (c->trend_x[i] - mx) * (c->trend_y[i] - my);
			den += (c->trend_x[i] - mx) * (c->trend_x[i] - mx);
		}
		if (den > 0)
			trend = num / den;
	}
	detect(c, trend, send_delta, now);
}

/* ---- AIMD on the delay signal ----------------------------------------------------------------------- */

static void aimd(struct mc_cc *c, int64_t now)
{
	double acked = (double)c->acked_bps;
	switch (c->usage) {
	case MC_CC_OVERUSE:
		c->last_overuse_us = now;
		/* once per RTT at most: the queue the last decrease drains needs that long to show */
		if (now - c->last_decrease_us > c->rtt_us + 100000) {
			/* the rate that gets through now; a 500 ms window that reaches back to before a layer
			 * resumed would say far less */
			double recent = (double)acked_recent(c, 250000);
			double base = recent > acked ? recent : acked > 0 ? acked : c->delay_bps;
			double next = BETA * base;
			/* at most halved per overuse: a burst that queued briefly is not a path of a tenth the rate
			 * (a real bottleneck halves it again one RTT later) */
			if (next < 0.5 * c->delay_bps)
				next = 0.5 * c->delay_bps;
			if (next < c->delay_bps)
				c->delay_bps = next;
			c->last_decrease_us = now;
			c->overuses++;
		}
		c->last_increase_us = now;
		break;
	case MC_CC_UNDERUSE: /* the queue drains: hold */
		c->last_increase_us = now;
		break;
	default: {
		double dt = c->last_increase_us ? (double)(now - c->last_increase_us) / 1e6 : 0;
		c->last_increase_us = now;
		if (dt <= 0 || dt > 1.0)
			break;
		/* multiplicative 8 %/s; but never far above what gets through (an encoder below its target
		 * does not prove the path takes more: probing does) */
		double next = c->delay_bps * pow(1.08, dt);
		double cap = acked > 0 ? 1.5 * acked + 10000 : next;
		if (next > cap)
			next = c->delay_bps > cap ? c->delay_bps : cap;
		c->delay_bps = next;
		break;
	}
	}
	c->delay_bps = clampd(c->delay_bps, (double)c->min_bps, (double)c->max_bps);
}

/* ---- loss ------------------------------------------------------------------------------------------- */

static void loss_update(struct mc_cc *c, double loss, int64_t now)
{
	c->last_loss = loss;
	if (loss > LOSS_HIGH) {
		/* at most once per 300 ms + RTT, as libwebrtc: the loss of packets sent before the last decrease
		 * is still coming in */
		if (now - c->last_loss_decrease_us > 300000 + c->rtt_us) {
			double base = c->acked_bps > 0 && c->acked_bps < c->loss_bps ? (double)c->acked_bps : c->loss_bps;
			c->loss_bps = base * (1 - 0.5 * loss);
			c->last_loss_decrease_us = now;
			c->loss_decreases++;
		}
	} else if (loss < LOSS_LOW && c->last_loss_us >= 0) {
		double dt = (double)(now - c->last_loss_us) / 1e6;
		if (dt > 0 && dt < 2.0)
			c->loss_bps = c->loss_bps * pow(1.08, dt) + 1000 * dt;
	}
	c->last_loss_us = now;
	c->loss_bps = clampd(c->loss_bps, (double)c->min_bps, (double)c->max_bps);
}

void mc_cc_on_loss(struct mc_cc *c, int lost, int expected, int64_t now_us)
{
	if (lost < 0 || expected <= 0 || lost > expected)
		return;
	/* accumulated over at least 20 packets: a receiver that reports every 50 ms covers a handful each time */
	c->rr_lost += lost;
	c->rr_expected += expected;
	if (c->rr_expected < 20)
		return;
	loss_update(c, (double)c->rr_lost / c->rr_expected, now_us);
	c->rr_lost = c->rr_expected = 0;
}

/* Janus's REMB to a streaming source is the lowest of its viewers' receive estimates: it starts ~13 s
 * after a viewer joins at ~105 kbit/s and climbs ~10 kbit/s per second (measured, TESTBEDS.md). Taken as
 * a cap it would pause the top layers for minutes, and a simulcast SFU serves a slow viewer the low layer
 * anyway. So a REMB that rises or holds says nothing: it caps the estimate only once it has fallen below
 * 85 % of the highest value it reached (a viewer's estimate dropped: congestion somewhere on the way),
 * and never below the floor. A REMB silent for 5 s is forgotten (the viewers left). */
void mc_cc_on_remb(struct mc_cc *c, int64_t bps, int64_t now_us)
{
	if (bps <= 0)
		return;
	if (now_us - c->remb_us > 5000000)
		c->remb_peak_bps = 0;
	c->remb_us = now_us;
	c->remb_bps = bps;
	if (bps > c->remb_peak_bps)
		c->remb_peak_bps = bps;
	bool capping = bps * 100 < c->remb_peak_bps * 85;
	if (capping && !c->remb_capping)
		c->remb_caps++;
	c->remb_capping = capping;
}

/* ---- probing ---------------------------------------------------------------------------------------- */

int64_t mc_cc_probe_due(struct mc_cc *c, int64_t desired_bps, int64_t now_us)
{
	c->desired_bps = desired_bps;
	if (!c->have_twcc || c->probe_rate_bps || now_us < c->next_probe_us)
		return 0;
	if (c->estimate_bps * 100 >= desired_bps * 95)
		return 0;
	if (now_us - c->last_overuse_us < PROBE_QUIET_US || now_us - c->last_loss_decrease_us < PROBE_QUIET_US)
		return 0;
	/* up to three times the estimate, at most a little more than needed */
	int64_t rate = c->estimate_bps * 3;
	if (rate > desired_bps * 11 / 10)
		rate = desired_bps * 11 / 10;
	c->probe_rate_bps = rate;
	c->probe_started_us = now_us;
	c->next_probe_us = now_us + PROBE_INTERVAL_US;
	c->probe_sent = c->probe_received = c->probe_bytes = 0;
	c->probes++;
	return rate;
}

static void probe_account(struct mc_cc *c, const struct mc_cc_packet *p)
{
	if (c->probe_sent == 0 || p->send_us < c->probe_first_send)
		c->probe_first_send = p->send_us;
	if (p->send_us > c->probe_last_send || c->probe_sent == 0)
		c->probe_last_send = p->send_us;
	c->probe_sent++;
	if (!p->received)
		return;
	if (c->probe_received == 0 || p->arrival_us < c->probe_first_arrival)
		c->probe_first_arrival = p->arrival_us;
	if (c->probe_received == 0 || p->arrival_us >= c->probe_last_arrival) {
		c->probe_last_arrival = p->arrival_us;
		c->probe_last_size = p->size;
	}
	c->probe_received++;
	c->probe_bytes += p->size;
}

/* The cluster's arrival rate (the bytes after the first packet over the arrival span, as libwebrtc's
 * ProbeBitrateEstimator), if enough of it came and it did not queue: then the path takes that much. */
static void probe_finish(struct mc_cc *c, int64_t now)
{
	int64_t rate = c->probe_rate_bps;
	c->probe_rate_bps = 0;
	if (c->probe_received < MC_CC_PROBE_PACKETS - 1)
		return;
	int64_t span = c->probe_last_arrival - c->probe_first_arrival;
	int64_t send_span = c->probe_last_send - c->probe_first_send;
	if (span <= 0 || send_span <= 0)
		return;
	int64_t recv_bps = (int64_t)(c->probe_bytes - c->probe_last_size) * 8 * 1000000 / span;
	int64_t send_bps = (int64_t)(c->probe_bytes - c->probe_last_size) * 8 * 1000000 / send_span;
	int64_t got = recv_bps < send_bps ? recv_bps : send_bps;
	/* arrivals spread out more than sends (by over 10 %): the probe queued, the path is the receive rate */
	if (recv_bps * 10 < send_bps * 9)
		got = recv_bps;
	if (got > rate)
		got = rate;
	if ((double)got > c->delay_bps)
		c->delay_bps = (double)got;
	if ((double)got > c->loss_bps)
		c->loss_bps = (double)got;
	if (got * 10 >= rate * 9)
		c->probes_ok++;
	(void)now;
}

/* ---- feedback --------------------------------------------------------------------------------------- */

void mc_cc_on_feedback(struct mc_cc *c, const struct mc_cc_packet *pkts, int n, int64_t now_us)
{
	if (n <= 0)
		return;
	c->have_twcc = true;
	int lost = 0;
	bool probe_in = false;
	for (int i = 0; i < n; i++) {
		const struct mc_cc_packet *p = &pkts[i];
		if (p->probe && c->probe_rate_bps) {
			probe_account(c, p);
			probe_in = true;
		}
		if (!p->received) {
			lost++;
			continue;
		}
		acked_add(c, p->arrival_us, p->size);
		if (c->grp_open && p->send_us - c->grp_first_send <= GROUP_US && p->send_us >= c->grp_first_send) {
			c->grp_send = p->send_us > c->grp_send ? p->send_us : c->grp_send;
			c->grp_arrival = p->arrival_us > c->grp_arrival ? p->arrival_us : c->grp_arrival;
			c->grp_size += p->size;
			continue;
		}
		if (c->grp_open)
			group_done(c, now_us);
		c->grp_open = true;
		c->grp_first_send = c->grp_send = p->send_us;
		c->grp_arrival = p->arrival_us;
		c->grp_size = p->size;
	}
	acked_update(c);
	aimd(c, now_us);
	/* loss from the feedback, over at least 20 packets (as libwebrtc): one lost of five in a 50 ms
	 * feedback is not 20 % loss */
	c->fb_lost += lost;
	c->fb_total += n;
	if (c->fb_total >= 20) {
		loss_update(c, (double)c->fb_lost / c->fb_total, now_us);
		c->fb_lost = c->fb_total = 0;
	}
	if (c->probe_rate_bps && (probe_in ? c->probe_sent >= MC_CC_PROBE_PACKETS : 0))
		probe_finish(c, now_us);
	if (c->probe_rate_bps && now_us - c->probe_started_us > 1000000 + c->rtt_us)
		c->probe_rate_bps = 0; /* its feedback never came */
}

int64_t mc_cc_update(struct mc_cc *c, int64_t now_us)
{
	/* with no loss report for 2 s (a receiver that sends RRs only every 5 s), the loss-based bound
	 * neither grows nor shrinks */
	double e = c->loss_bps;
	if (c->have_twcc && c->delay_bps < e)
		e = c->delay_bps;
	if (c->remb_capping && now_us - c->remb_us < 5000000 && (double)c->remb_bps < e)
		e = (double)c->remb_bps;
	c->estimate_bps = (int64_t)clampd(e, (double)c->min_bps, (double)c->max_bps);
	return c->estimate_bps;
}

/* ---- allocation ------------------------------------------------------------------------------------- */

bool mc_cc_allocate(struct mc_cc_alloc *a, int n, const int *configured, int64_t budget, int64_t min_bps,
		    int64_t now_us)
{
	bool changed = false, above_paused = false;
	int64_t left = budget;
	for (int l = n - 1; l >= 0; l--) { /* lowest first: layers are listed highest first */
		int cfg = configured[l];
		bool paused = a->paused[l];
		if (l == n - 1) {
			paused = false; /* the lowest layer always flows */
		} else if (above_paused) {
			paused = true;
		} else if (!paused) {
			paused = left * 10 < (int64_t)cfg * 6;
		} else {
			paused = !(left >= cfg && now_us - a->changed_us[l] >= 2000000);
		}
		if (paused != a->paused[l]) {
			a->paused[l] = paused;
			a->changed_us[l] = now_us;
			changed = true;
		}
		above_paused |= paused;
		int64_t t = paused ? 0 : left < cfg ? left : cfg;
		if (l == n - 1 && t < min_bps)
			t = min_bps < cfg ? min_bps : cfg;
		if (t != a->target_bps[l]) {
			/* a 5 % move is not a change worth telling the encoder */
			int64_t d = t > a->target_bps[l] ? t - a->target_bps[l] : a->target_bps[l] - t;
			if (d * 20 > a->target_bps[l] || paused != (a->target_bps[l] == 0)) {
				a->target_bps[l] = (int)t;
				changed = true;
			}
		}
		left -= t;
		if (left < 0)
			left = 0;
	}
	return changed;
}
