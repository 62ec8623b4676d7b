#include "feedback.h"

#include <arpa/inet.h>
#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include "log.h"
#include "output_cc.h"
#include "output.h"
#include "rtcp.h"
#include "rtcp_parse.h"
#include "srtp.h"
#include "track.h"

#define MOD "feedback"

/* REMB outside this range is a broken or hostile peer, not an estimate (10 kbit/s is the lowest layer
 * bitrate the config accepts) */
#define REMB_MIN_BPS 10000ull
#define REMB_MAX_BPS 10000000000ull

struct ctx {
	struct mc_output *o;
	int64_t now_us;
};

static int layer_of(const struct mc_output *o, uint32_t ssrc)
{
	for (int l = 0; l < o->n_layers; l++)
		if (o->streams[l].ssrc == ssrc)
			return l;
	return -1;
}

static void request_keyframe(struct ctx *c, int layer)
{
	struct mc_output *o = c->o;
	int first = layer, last = layer;
	if (o->cfg->keyframe_on_pli == MC_KEYFRAME_ON_PLI_ALL)
		first = 0, last = o->n_layers - 1;
	for (int l = first; l <= last; l++) {
		struct mc_feedback_layer_stats *st = &o->fb.layers[l];
		if (o->key_request_us[l] && c->now_us - o->key_request_us[l] < MC_KEYFRAME_REQUEST_GAP_US) {
			mc_count_inc(&st->keyframes_rate_limited);
			continue;
		}
		o->key_request_us[l] = c->now_us;
		if (o->cfg->keyframe_repeat_ms)
			o->key_repeat_us[l] = c->now_us + (int64_t)o->cfg->keyframe_repeat_ms * 1000;
		if (!o->key_pending_us[l])
			o->key_pending_us[l] = c->now_us;
		mc_count_inc(&st->keyframes_requested);
		/* wall-clock milliseconds, to line up with a viewer's log */
		mc_debug(MOD, "%s: layer %d: keyframe requested at %lld ms", o->cfg->name, l,
			 (long long)(mc_wall_us() / 1000 % 100000000));
		if (o->layers[l])
			mc_layer_request_keyframe(o->layers[l]);
	}
}

static void on_pli(void *ctx, uint32_t sender, uint32_t media)
{
	struct ctx *c = ctx;
	int l = layer_of(c->o, media);
	if (l < 0) {
		mc_count_inc(&c->o->fb.unknown_ssrc);
		return;
	}
	mc_count_inc(&c->o->fb.layers[l].plis);
	request_keyframe(c, l);
}

static void on_fir(void *ctx, uint32_t sender, uint32_t media, uint8_t seq_nr)
{
	struct ctx *c = ctx;
	int l = layer_of(c->o, media);
	if (l < 0) {
		mc_count_inc(&c->o->fb.unknown_ssrc);
		return;
	}
	mc_count_inc(&c->o->fb.layers[l].firs);
	request_keyframe(c, l);
}

static void resend(struct ctx *c, int l, uint16_t seq)
{
	struct mc_output *o = c->o;
	struct mc_feedback_layer_stats *st = &o->fb.layers[l];
	mc_count_inc(&st->nacks);
	int64_t rtt = (int64_t)mc_count_get(&st->rtt_us);
	const struct mc_rtp_history_entry *e;
	switch (mc_rtp_history_get(&o->history[l], seq, c->now_us, rtt > 0 ? rtt : MC_RESEND_GAP_NO_RTT_US, &e)) {
	case MC_RESEND_OK: break;
	case MC_RESEND_TOO_OLD: mc_count_inc(&st->resend_too_old); return;
	case MC_RESEND_TOO_RECENT: mc_count_inc(&st->resend_too_recent); return;
	default: mc_count_inc(&st->resend_unknown); return;
	}
	int rc = mc_output_resend(o, l, e->data, e->len);
	if (rc == 0)
		mc_count_inc(&st->resent);
	else if (rc != -EIO) /* cannot be wrapped, or the pacer is full; -EIO: not queued, counted as a send error */
		mc_count_inc(&st->resend_unknown);
}

static void on_nack(void *ctx, uint32_t sender, uint32_t media, uint16_t pid, uint16_t blp)
{
	struct ctx *c = ctx;
	int l = layer_of(c->o, media);
	if (l < 0) {
		mc_count_inc(&c->o->fb.unknown_ssrc);
		return;
	}
	resend(c, l, pid);
	for (int i = 0; i < 16; i++)
		if (blp & (1u << i))
			resend(c, l, (uint16_t)(pid + i + 1));
}

static void on_report(void *ctx, uint32_t sender, const struct mc_rtcp_report_block *rb)
{
	struct ctx *c = ctx;
	int l = layer_of(c->o, rb->ssrc);
	if (l < 0)
		return; /* a report on another source (an RTX stream, another sender's): not ours to use */
	struct mc_feedback_layer_stats *st = &c->o->fb.layers[l];
	mc_count_inc(&st->rr_received);
	mc_count_set(&st->fraction_lost, rb->fraction_lost);
	mc_count_set(&st->cumulative_lost, rb->cumulative_lost > 0 ? (uint64_t)rb->cumulative_lost : 0);
	mc_count_set(&st->jitter_us, (uint64_t)rb->jitter * 1000000 / 90000);
	int64_t rtt_us = 0;
	if (rb->lsr != 0) { /* 0: no SR of ours reached the receiver yet */
		/* RFC 3550 §6.4.1: RTT = arrival - LSR - DLSR, in the middle 32 bits of NTP time (1/65536 s) */
		uint32_t now = (uint32_t)(mc_ntp_from_unix_us(mc_wall_us()) >> 16);
		int32_t rtt = (int32_t)(now - rb->lsr - rb->dlsr);
		if (rtt >= 0 && rtt < 10 * 65536) { /* negative or > 10 s: clock steps or a lying receiver */
			rtt_us = (int64_t)rtt * 1000000 / 65536;
			mc_count_set(&st->rtt_us, (uint64_t)rtt_us);
		}
	}
	mc_output_cc_rr(c->o, l, rb->highest_seq, rb->cumulative_lost, rtt_us, c->now_us); /* loss, RTT: cc */
}

static void on_remb(void *ctx, uint32_t sender, uint64_t bitrate, const uint32_t *ssrcs, int n)
{
	struct ctx *c = ctx;
	if (bitrate < REMB_MIN_BPS || bitrate > REMB_MAX_BPS) {
		mc_count_inc(&c->o->fb.remb_rejected);
		return;
	}
	mc_count_inc(&c->o->fb.remb);
	mc_count_set(&c->o->fb.remb_bps, bitrate);
	mc_output_cc_remb(c->o, (int64_t)bitrate, c->now_us);
}

static void on_twcc(void *ctx, uint32_t sender, const struct mc_rtcp_twcc *fb)
{
	struct ctx *c = ctx;
	mc_count_inc(&c->o->fb.twcc);
	mc_output_cc_twcc(c->o, fb, c->now_us);
}

static void on_bye(void *ctx, uint32_t ssrc)
{
	struct ctx *c = ctx;
	mc_count_inc(&c->o->fb.byes);
}

static const struct mc_rtcp_handler handler = {
	.report = on_report,
	.bye = on_bye,
	.nack = on_nack,
	.pli = on_pli,
	.fir = on_fir,
	.remb = on_remb,
	.twcc = on_twcc,
};

void mc_feedback_datagram(struct mc_output *o, uint8_t *buf, size_t len, const struct sockaddr_in *from)
{
	struct mc_feedback_stats *fb = &o->fb;
	mc_count_inc(&fb->datagrams);
	if (from->sin_family != AF_INET || from->sin_addr.s_addr != o->peer.s_addr) {
		mc_count_inc(&fb->rejected);
		if (mc_ratelimit_ok(&o->fb_rl, NULL)) {
			char addr[INET_ADDRSTRLEN];
			inet_ntop(AF_INET, &from->sin_addr, addr, sizeof(addr));
			mc_warn(MOD, "%s: RTCP from %s:%u ignored: only %s may send feedback", o->cfg->name, addr,
				ntohs(from->sin_port), o->cfg->host);
		}
		return;
	}
	if (!mc_rtcp_is_rtcp(buf, len)) {
		mc_count_inc(&fb->not_rtcp);
		return;
	}
	if (o->srtp_in && mc_srtp_unprotect_rtcp(o->srtp_in, buf, &len)) {
		mc_count_inc(&fb->srtcp_failed);
		return;
	}
	struct ctx c = { .o = o, .now_us = mc_now_us() };
	struct mc_rtcp_parse_result r;
	mc_rtcp_parse(buf, len, &handler, &c, &r);
	mc_count_add(&fb->rtcp_packets, (uint64_t)r.packets);
	mc_count_add(&fb->malformed, (uint64_t)r.malformed);
	mc_count_add(&fb->unknown, (uint64_t)r.unknown);
}

/* Janus's streaming plugin asks for a keyframe when a viewer says 'watch', before the viewer's DTLS is up
 * (that keyframe reaches nobody), and may not ask again for a second when the viewer is ready: the
 * follow-up keyframe is what the viewer gets. */
int64_t mc_feedback_tick(struct mc_output *o, int64_t now_us)
{
	int64_t next = -1;
	for (int l = 0; l < o->n_layers; l++) {
		if (!o->key_repeat_us[l])
			continue;
		if (now_us >= o->key_repeat_us[l]) {
			o->key_repeat_us[l] = 0;
			mc_count_inc(&o->fb.layers[l].keyframes_repeated);
			if (o->layers[l])
				mc_layer_request_keyframe(o->layers[l]);
			continue;
		}
		int64_t in = o->key_repeat_us[l] - now_us;
		if (next < 0 || in < next)
			next = in;
	}
	return next;
}

void mc_feedback_read(struct mc_output *o, int fd)
{
	/* bounded per wake-up: a flood must not starve the media */
	for (int i = 0; i < 64; i++) {
		uint8_t buf[1500];
		struct sockaddr_in from;
		socklen_t flen = sizeof(from);
		ssize_t n = recvfrom(fd, buf, sizeof(buf), MSG_DONTWAIT, (struct sockaddr *)&from, &flen);
		if (n < 0) {
			if (errno == ECONNREFUSED || errno == EHOSTUNREACH)
				mc_output_read_errors(o);
			return;
		}
		if (flen < sizeof(from)) {
			mc_count_inc(&o->fb.rejected);
			continue;
		}
		mc_feedback_datagram(o, buf, (size_t)n, &from);
	}
}
