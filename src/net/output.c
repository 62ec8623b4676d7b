#include "output.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/errqueue.h>
#include <netinet/ip.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include "layer_ctl.h"
#include "log.h"
#include "output_cc.h"
#include "rtcp.h"
#include "srtp.h"
#include "srtp_state.h"

#define MOD "output"
/* ~3 MB of plaintext packets, touched only as used: seconds of 720p at the pacing rate */
#define PACER_SLOTS 2048

static uint32_t random_u32(void)
{
	uint32_t v = 0;
	if (getrandom(&v, sizeof(v), 0) != sizeof(v))
		v = (uint32_t)mc_now_us() * 2654435761u;
	return v;
}

static int open_socket(const struct mc_output *o, uint16_t port, const char *what, int *out)
{
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	*out = fd;
	if (fd < 0)
		return -errno;
	/* ICMP errors (port unreachable) of an unconnected socket are reported only with IP_RECVERR; they are
	 * how an output learns that nobody listens (ip(7)). */
	int one = 1, sndbuf = 1 << 20;
	setsockopt(fd, IPPROTO_IP, IP_RECVERR, &one, sizeof(one));
	/* a keyframe of three layers leaves at once; 1 MiB holds a few of them */
	setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
	struct sockaddr_in local = { .sin_family = AF_INET, .sin_port = htons(port) };
	if (bind(fd, (struct sockaddr *)&local, sizeof(local)) < 0) {
		int e = errno;
		mc_err(MOD, "%s: cannot bind the %s socket to local port %u: %s", o->cfg->name, what, port, strerror(e));
		return -e;
	}
	return 0;
}

/* The stream of state/resume slot i: the layers' first, then (rtx = on) their RTX streams. */
static struct mc_rtp_stream *srtp_stream(struct mc_output *o, int i)
{
	return i < o->n_layers ? &o->streams[i] : &o->rtx[i - o->n_layers];
}

/* SRTP, continuing above what earlier runs reserved when there is a state dir. Without one (the config
 * allows that only with random SSRCs) a restart reuses keystream only if a layer's new random SSRC equals one
 * used before under the same key: 2^-32 per layer and start. With one, random SSRCs are recorded as well.
 * RTX streams (rtx = on) have SSRCs and SRTP indexes of their own: they are recorded like the layers'. */
static int setup_srtp(struct mc_output *o)
{
	const struct mc_output_config *cfg = o->cfg;
	struct mc_srtp_resume resume[MC_SRTP_STATE_MAX_STREAMS];
	int n = 0, rc;
	if (cfg->state_dir[0]) {
		int n_streams = o->n_layers * (cfg->rtx ? 2 : 1);
		uint32_t ssrcs[MC_SRTP_STATE_MAX_STREAMS];
		uint16_t seqs[MC_SRTP_STATE_MAX_STREAMS];
		for (int i = 0; i < n_streams; i++)
			ssrcs[i] = srtp_stream(o, i)->ssrc, seqs[i] = srtp_stream(o, i)->seq;
		struct mc_srtp_state *st = o->srtp_state = calloc(1, sizeof(*o->srtp_state));
		if (!st)
			return -ENOMEM;
		if ((rc = mc_srtp_state_load(st, cfg->state_dir, cfg->name, cfg->srtp_key, cfg->srtp_key_len)) ||
		    (rc = mc_srtp_state_start(st, ssrcs, seqs, n_streams, resume))) {
			/* never start below what an earlier run may have used: that is the keystream reuse */
			mc_err(MOD, "%s: SRTP index state: %s: not starting%s", cfg->name, st->err,
			       rc == -EBADMSG ? " (delete the file only together with a new key; it is what keeps a "
						"restart from reusing SRTP keystream)" : "");
			return rc;
		}
		n = n_streams;
		for (int i = 0; i < n; i++) {
			struct mc_rtp_stream *s = srtp_stream(o, i);
			s->seq = (uint16_t)resume[i].srtp_index;
			if (resume[i].srtp_index != seqs[i] || resume[i].srtcp_index != 1)
				mc_info(MOD, "%s: %sSSRC %u continues at SRTP index %llu (ROC %u, seq %u), SRTCP index %u",
					cfg->name, i < o->n_layers ? "" : "RTX ", resume[i].ssrc,
					(unsigned long long)resume[i].srtp_index, (unsigned)(resume[i].srtp_index >> 16), s->seq,
					resume[i].srtcp_index);
		}
	}
	int64_t t0 = mc_now_us();
	rc = mc_srtp_create_outbound(&o->srtp, cfg->srtp_suite, cfg->srtp_key, cfg->srtp_key_len, resume, n);
	if (rc) {
		mc_err(MOD, "%s: cannot set up SRTP %s: %s", cfg->name, mc_srtp_suite_name(cfg->srtp_suite),
		       rc == -ENOTSUP ? "this libsrtp2 does not support the suite" : strerror(-rc));
		return rc;
	}
	uint64_t skipped = 0;
	for (int l = 0; l < n; l++)
		skipped += resume[l].srtcp_index - 1;
	int64_t took_ms = (mc_now_us() - t0) / 1000;
	if (took_ms >= 5000)
		mc_warn(MOD, "%s: skipping %llu SRTCP indexes to continue above earlier runs took %lld ms (libsrtp2 has no "
			"way to set them); a new SRTP key starts them from 1 again", cfg->name, (unsigned long long)skipped,
			(long long)took_ms);
	else if (skipped)
		mc_info(MOD, "%s: %llu SRTCP indexes skipped in %lld ms", cfg->name, (unsigned long long)skipped,
			(long long)took_ms);
	return 0;
}

/* RTCP that goes to another port than RTP leaves from a socket of its own (local_port + 1 when local_port
 * is set, RFC 3550 §11), and feedback is read there: Janus's rtcpport answers the address its last packet
 * came from. */
static int open_rtcp_socket(struct mc_output *o)
{
	const struct mc_output_config *c = o->cfg;
	bool separate = false;
	for (int i = 0; i < o->n_layers; i++)
		separate |= o->rtcp_dest[i].sin_port != o->rtp_dest[i].sin_port;
	if (c->rtcp == MC_RTCP_OFF || !separate)
		return 0;
	uint16_t port = c->local_port && c->local_port < 65535 ? (uint16_t)(c->local_port + 1) : 0;
	return open_socket(o, port, "RTCP", &o->rtcp_fd);
}

/* An SSRC used by no other stream of the output (of layers below `n` and their RTX streams) */
static bool ssrc_taken(const struct mc_output *o, uint32_t ssrc, const struct mc_rtp_stream *self, int n)
{
	for (int j = 0; j < n; j++)
		if ((&o->streams[j] != self && o->streams[j].ssrc == ssrc) || (&o->rtx[j] != self && o->rtx[j].ssrc == ssrc))
			return true;
	return false;
}

/* RFC 4588 stream of layer i: its SSRC configured, or random and unlike every other SSRC */
static void init_rtx_stream(struct mc_output *o, int i)
{
	const struct mc_output_config *cfg = o->cfg;
	struct mc_rtp_stream *r = &o->rtx[i];
	*r = (struct mc_rtp_stream){ 0 };
	r->payload_type = (uint8_t)cfg->rtx_payload_type;
	r->seq = (uint16_t)random_u32();
	r->mtu = (uint16_t)cfg->mtu;
	r->ssrc = cfg->n_rtx_ssrcs ? cfg->rtx_ssrcs[i] : random_u32();
	while (!cfg->n_rtx_ssrcs && ssrc_taken(o, r->ssrc, r, o->n_layers > i ? o->n_layers : i + 1))
		r->ssrc = random_u32();
}

static void init_rtx(struct mc_output *o)
{
	for (int i = 0; i < o->n_layers; i++)
		init_rtx_stream(o, i);
}

/* Layer i's RTP stream (SSRC, sequence number, timestamp base, header extensions) and its history. */
static int init_stream(struct mc_output *o, int i)
{
	const struct mc_output_config *cfg = o->cfg;
	struct mc_rtp_stream *s = &o->streams[i];
	*s = (struct mc_rtp_stream){ 0 };
	o->layer_created_us[i] = mc_now_us();
	/* Random SSRCs at every start unless fixed: a restarted sender that reused SSRCs under one key from
	 * index 0 again would be a replay to Janus (and keystream reuse); with a state dir they continue. */
	s->ssrc = cfg->n_ssrcs ? cfg->ssrcs[i] : random_u32();
	while (!cfg->n_ssrcs && ssrc_taken(o, s->ssrc, s, i))
		s->ssrc = random_u32();
	s->seq = (uint16_t)random_u32();
	s->payload_type = (uint8_t)cfg->payload_type;
	s->mtu = (uint16_t)cfg->mtu;
	s->picture_id = (uint16_t)(random_u32() & 0x7fff);
	o->ts_base[i] = random_u32();
	struct mc_rtp_ext_ids ids = { .rid = (uint8_t)cfg->ext_rid, .mid = (uint8_t)cfg->ext_mid,
				      .twcc = (uint8_t)cfg->ext_twcc };
	size_t twcc_off;
	int n = mc_rtp_ext_build(s->ext, sizeof(s->ext), &ids, cfg->n_rids ? cfg->rids[i] : NULL, cfg->mid, &twcc_off);
	if (n < 0) { /* the config validated ids and lengths */
		mc_err(MOD, "%s: cannot build the RTP header extensions: %s", cfg->name, strerror(-n));
		return n;
	}
	s->ext_len = (uint8_t)n;
	s->ext_twcc_off = (uint8_t)twcc_off;
	return mc_rtp_history_init(&o->history[i]);
}

static void send_sr(struct mc_output *o, int l, bool bye);

/* Where the layers' RTP and RTCP go (the host is validated by the config). */
static void set_dest(struct mc_output *o, const struct mc_output_config *cfg)
{
	struct in_addr host;
	inet_pton(AF_INET, cfg->host, &host);
	o->peer = host;
	for (int i = 0; i < o->n_layers; i++) {
		uint16_t port = cfg->single_port ? cfg->ports[0] : cfg->ports[i];
		uint16_t rtcp_port = cfg->rtcp_mux ? port : cfg->rtcp_port ? cfg->rtcp_port : (uint16_t)(port + 1);
		o->rtp_dest[i] = (struct sockaddr_in){ .sin_family = AF_INET, .sin_port = htons(port), .sin_addr = host };
		o->rtcp_dest[i] = (struct sockaddr_in){ .sin_family = AF_INET, .sin_port = htons(rtcp_port), .sin_addr = host };
	}
}

void mc_output_set_dest(struct mc_output *o, const struct mc_output_config *c)
{
	struct mc_output_config *own = &o->cfg_own;
	snprintf(own->host, sizeof(own->host), "%s", c->host);
	memcpy(own->ports, c->ports, sizeof(own->ports));
	own->n_ports = c->n_ports;
	own->single_port = c->single_port;
	own->rtcp_port = c->rtcp_port;
	own->ports_line = c->ports_line;
	set_dest(o, own);
	/* feedback is taken from the configured host only: the old one's is refused from now on */
}

int mc_output_add_layer(struct mc_output *o, const struct mc_output_config *c, struct mc_layer *layer,
			struct mc_layer_ctl *ctl, int bitrate)
{
	int l = o->n_layers;
	if (l == MC_MAX_LAYERS || o->srtp_state)
		return -ENOSPC;
	struct mc_output_config *own = &o->cfg_own;
	memcpy(own->ports, c->ports, sizeof(own->ports));
	own->n_ports = c->n_ports;
	memcpy(own->ssrcs, c->ssrcs, sizeof(own->ssrcs));
	own->n_ssrcs = c->n_ssrcs;
	memcpy(own->rtx_ssrcs, c->rtx_ssrcs, sizeof(own->rtx_ssrcs));
	own->n_rtx_ssrcs = c->n_rtx_ssrcs;
	memcpy(own->rids, c->rids, sizeof(own->rids));
	own->n_rids = c->n_rids;
	int rc = init_stream(o, l);
	if (rc)
		return rc;
	init_rtx_stream(o, l);
	memset(&o->layer_stats[l], 0, sizeof(o->layer_stats[l]));
	memset(&o->fb.layers[l], 0, sizeof(o->fb.layers[l]));
	o->sent_any[l] = false;
	o->key_request_us[l] = o->key_repeat_us[l] = o->key_pending_us[l] = 0;
	o->layers[l] = layer;
	o->layer_ctl[l] = ctl;
	o->n_layers = l + 1;
	set_dest(o, own);
	int bitrates[MC_MAX_LAYERS];
	memcpy(bitrates, o->layer_bitrate, sizeof(bitrates));
	bitrates[l] = bitrate;
	mc_output_set_bitrates(o, bitrates);
	if (o->cc)
		o->cc->rr[l].have = false;
	/* a receiver that watches only the new layer needs a keyframe: the layer's first frame is one */
	return 0;
}

void mc_output_remove_layer(struct mc_output *o)
{
	int l = o->n_layers - 1;
	if (l < 1)
		return;
	mc_output_flush(o); /* its last frames, which the encoder flushed, into the pacer */
	mc_output_pace(o, mc_now_us()); /* what may leave now; the rest of this layer is dropped after its BYE */
	send_sr(o, l, true);
	if (o->layer_ctl[l])
		mc_layer_ctl_set(o->layer_ctl[l], o->ctl_slot, 0, false);
	o->layer_ctl[l] = NULL;
	o->layers[l] = NULL;
	o->n_layers = l;
	mc_rtp_history_finish(&o->history[l]);
	int bitrates[MC_MAX_LAYERS];
	memcpy(bitrates, o->layer_bitrate, sizeof(bitrates));
	mc_output_set_bitrates(o, bitrates);
}

void mc_output_set_bitrates(struct mc_output *o, const int *bitrates)
{
	for (int l = 0; l < o->n_layers; l++)
		o->layer_bitrate[l] = bitrates[l];
	if (o->cc) {
		o->cc->desired_bps = 0;
		for (int l = 0; l < o->n_layers; l++)
			o->cc->desired_bps += bitrates[l];
		/* as mc_output_cc_create bounds the estimate */
		int64_t min = o->cfg->min_bitrate;
		o->cc->cc.max_bps = 2 * o->cc->desired_bps > min ? 2 * o->cc->desired_bps : min;
		mc_output_cc_tick(o, mc_now_us(), true);
	}
}

int mc_output_create(struct mc_output **out, const struct mc_output_config *cfg, int n_layers, enum mc_codec codec,
		     int wake_fd)
{
	*out = NULL;
	struct mc_output *o = calloc(1, sizeof(*o));
	if (!o)
		return -ENOMEM;
	o->cfg_own = *cfg;
	cfg = o->cfg = &o->cfg_own;
	o->n_layers = n_layers;
	o->codec = codec;
	o->fd = o->rtcp_fd = -1;
	o->err_rl = (struct mc_ratelimit)MC_RATELIMIT_INIT(10000, 3);
	o->pacer_rl = (struct mc_ratelimit)MC_RATELIMIT_INIT(10000, 3);
	o->fb_rl = (struct mc_ratelimit)MC_RATELIMIT_INIT(10000, 3);
	mc_pktqueue_init(&o->queue, wake_fd);
	mc_rtp_batch_init(&o->batch);
	int rc = mc_pacer_init(&o->pacer, PACER_SLOTS, (int64_t)(MC_PACING_FACTOR * 2500000), (int64_t)cfg->pacer_queue_ms * 1000,
			       cfg->pacing);
	if (rc)
		goto fail;
	rc = open_socket(o, cfg->local_port, "RTP", &o->fd);
	if (rc)
		goto fail;
	set_dest(o, cfg);
	for (int i = 0; i < n_layers; i++)
		if ((rc = init_stream(o, i)))
			goto fail;
	o->twcc_seq = (uint16_t)random_u32();
	init_rtx(o);
	if ((rc = open_rtcp_socket(o)))
		goto fail;
	if (cfg->srtp_suite != MC_SRTP_NONE) {
		if ((rc = setup_srtp(o)))
			goto fail;
		/* what the peer sends back on rtcp = on is SRTCP under the same key (RFC 3711 §3.4) */
		if (cfg->rtcp == MC_RTCP_ON &&
		    (rc = mc_srtp_create(&o->srtp_in, cfg->srtp_suite, cfg->srtp_key, cfg->srtp_key_len, true))) {
			mc_err(MOD, "%s: cannot set up inbound SRTCP: %s", cfg->name, strerror(-rc));
			goto fail;
		}
	}
	char ports[64] = "";
	for (int i = 0; i < (cfg->single_port ? 1 : n_layers); i++)
		snprintf(ports + strlen(ports), sizeof(ports) - strlen(ports), "%s%u", i ? "," : "", ntohs(o->rtp_dest[i].sin_port));
	char ssrcs[3 * 11 + 1] = ""; /* the layers that exist only */
	for (int i = 0; i < n_layers; i++)
		snprintf(ssrcs + strlen(ssrcs), sizeof(ssrcs) - strlen(ssrcs), "%s%u", i ? "/" : "", o->streams[i].ssrc);
	mc_info(MOD, "%s: %d layer(s) to %s port(s) %s, %s, SSRC%s %s", cfg->name, n_layers, cfg->host, ports,
		o->srtp ? mc_srtp_suite_name(cfg->srtp_suite) : "plain RTP", n_layers > 1 ? "s" : "", ssrcs);
	*out = o;
	return 0;
fail:
	mc_output_destroy(o);
	return rc;
}

void mc_output_destroy(struct mc_output *o)
{
	if (!o)
		return;
	if (o->fd >= 0)
		close(o->fd);
	if (o->rtcp_fd >= 0)
		close(o->rtcp_fd);
	mc_srtp_destroy(o->srtp);
	free(o->srtp_state);
	mc_srtp_destroy(o->srtp_in);
	for (int i = 0; i < o->n_layers; i++)
		mc_rtp_history_finish(&o->history[i]);
	mc_pktqueue_finish(&o->queue);
	mc_rtp_batch_finish(&o->batch);
	mc_pacer_finish(&o->pacer);
	mc_output_cc_destroy(o);
	explicit_bzero(o->cfg_own.srtp_key, sizeof(o->cfg_own.srtp_key));
	free(o);
}

uint32_t mc_output_ssrc(const struct mc_output *o, int layer) { return o->streams[layer].ssrc; }

int mc_output_deliver(struct mc_output *o, const AVPacket *pkt, int layer, bool keyframe, int64_t capture_us)
{
	int rc = mc_pktqueue_push(&o->queue, pkt, layer, keyframe, capture_us);
	if (rc == -ENOSPC) {
		mc_count_inc(&o->layer_stats[layer].frames_dropped);
		mc_debug(MOD, "%s: network queue full, frame of layer %d dropped", o->cfg->name, layer);
	}
	return rc;
}

static void log_send_error(struct mc_output *o, const struct sockaddr_in *dest, int err, const char *what)
{
	uint64_t suppressed = 0;
	if (!mc_ratelimit_ok(&o->err_rl, &suppressed))
		return;
	char addr[INET_ADDRSTRLEN];
	inet_ntop(AF_INET, &dest->sin_addr, addr, sizeof(addr));
	mc_warn(MOD, "%s: %s to %s:%u failed: %s%s (%llu errors so far; %llu messages suppressed)", o->cfg->name, what,
		addr, ntohs(dest->sin_port), strerror(err),
		err == ECONNREFUSED ? " (ICMP port unreachable: is the receiver running?)" : "",
		(unsigned long long)mc_count_get(&o->send_errors), (unsigned long long)suppressed);
}

/* The layer whose packet an ICMP error is about, or -1. A destination port names a layer when no other
 * layer shares it; with one port for all (single_port), the SSRC in the returned start of the packet
 * does (RTP: bytes 8-11; RTCP, told apart by its packet type, RFC 5761 §4: bytes 4-7; SRTP and SRTCP
 * leave both in clear). */
static int layer_of_error(const struct mc_output *o, const struct sockaddr_in *to, const uint8_t *p, size_t n)
{
	int found = -1, matches = 0;
	for (int l = 0; l < o->n_layers; l++) {
		if (o->rtp_dest[l].sin_port == to->sin_port || o->rtcp_dest[l].sin_port == to->sin_port) {
			found = l;
			matches++;
		}
	}
	if (matches == 1)
		return found;
	if (n < 8 || p[0] >> 6 != 2)
		return -1;
	bool rtcp = p[1] >= 192 && p[1] <= 223;
	if (!rtcp && n < 12)
		return -1;
	const uint8_t *s = rtcp ? p + 4 : p + 8;
	uint32_t ssrc = (uint32_t)s[0] << 24 | (uint32_t)s[1] << 16 | (uint32_t)s[2] << 8 | s[3];
	for (int l = 0; l < o->n_layers; l++)
		if (o->streams[l].ssrc == ssrc || (o->cfg->rtx && o->rtx[l].ssrc == ssrc))
			return l;
	return -1;
}

/* One send error: the output's, and its layer's when it is known. */
static void count_send_error(struct mc_output *o, int layer)
{
	mc_count_inc(&o->send_errors);
	if (layer >= 0)
		mc_count_inc(&o->layer_stats[layer].send_errors);
}

static void read_errors(struct mc_output *o, int fd)
{
	/* Drain the error queue: this also clears the socket's pending error, which would otherwise fail
	 * the next send to every destination, not only the unreachable one. */
	for (int i = 0; i < 64; i++) {
		uint8_t ctrl[512], head[12]; /* the start of the packet the error is about */
		struct sockaddr_in from;
		struct iovec iov = { .iov_base = head, .iov_len = sizeof(head) };
		struct msghdr msg = { .msg_name = &from, .msg_namelen = sizeof(from), .msg_iov = &iov, .msg_iovlen = 1,
				      .msg_control = ctrl, .msg_controllen = sizeof(ctrl) };
		ssize_t got = recvmsg(fd, &msg, MSG_ERRQUEUE | MSG_DONTWAIT);
		if (got < 0)
			break;
		for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
			if (c->cmsg_level != IPPROTO_IP || c->cmsg_type != IP_RECVERR)
				continue;
			const struct sock_extended_err *ee = (const void *)CMSG_DATA(c);
			mc_count_inc(&o->icmp_errors);
			count_send_error(o, layer_of_error(o, &from, head, (size_t)got));
			log_send_error(o, &from, (int)ee->ee_errno, "RTP/RTCP");
		}
	}
	/* also clear SO_ERROR, set by the same ICMP */
	int err;
	socklen_t len = sizeof(err);
	getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
}

void mc_output_read_errors(struct mc_output *o)
{
	read_errors(o, o->fd);
	if (o->rtcp_fd >= 0)
		read_errors(o, o->rtcp_fd);
}

/* What left through one sendmmsg() batch: message k is a packet of `layers[k]` on the stream `streams[k]`
 * (the layer's, or its RTX stream), with `payload[k]` RTP payload octets. */
struct sent_batch {
	int8_t layers[64];
	struct mc_rtp_stream *streams[64];
	uint16_t payload[64];
};

/* sendmmsg() everything; a pending ICMP error fails the call once: read it, then go on with the rest. The
 * layers' stats and the SR counts of each packet's stream take only what the kernel took. */
static void send_all(struct mc_output *o, struct mmsghdr *msgs, unsigned n, const struct sent_batch *sb)
{
	unsigned i = 0;
	int retries = 0;
	while (i < n) {
		int r = sendmmsg(o->fd, msgs + i, n - i, 0);
		if (r > 0) {
			int64_t now = mc_now_us();
			for (int k = 0; k < r; k++) {
				int l = sb->layers[i + k];
				struct mc_rtp_stream *s = sb->streams[i + k];
				mc_count_add(&o->layer_stats[l].bytes, msgs[i + k].msg_len);
				mc_count_inc(&o->layer_stats[l].packets);
				mc_count_set(&o->layer_stats[l].last_sent_us, (uint64_t)now);
				s->packets++;
				s->octets += sb->payload[i + k];
				if (s == &o->streams[l])
					o->sent_any[l] = true; /* its SR has something to count */
			}
			i += (unsigned)r;
			continue;
		}
		int e = errno;
		if (e == EINTR)
			continue;
		if ((e == ECONNREFUSED || e == EHOSTUNREACH || e == ENETUNREACH) && retries++ < 2) {
			mc_output_read_errors(o); /* the error belonged to an earlier packet; this one was not sent */
			continue;
		}
		/* EAGAIN (socket buffer full), or the error persists: drop this packet and count it */
		count_send_error(o, sb->layers[i]);
		log_send_error(o, (const struct sockaddr_in *)msgs[i].msg_hdr.msg_name, e, "send");
		i++;
		retries = 0;
	}
}

static void send_frame(struct mc_output *o, const struct mc_enc_frame *f)
{
	int l = f->layer;
	if (l >= o->n_layers) /* of a layer this output has no stream for (a reload could not add it) */
		return;
	struct mc_output_layer_stats *st = &o->layer_stats[l];
	int64_t t0 = mc_now_us();
	mc_hist_add(&st->net_queue, t0 - f->queued_us);

	/* RTP timestamp = a random base + capture time at 90 kHz; SRs map it to wall time the same way. */
	bool adjusted;
	uint32_t ts = mc_rtp_next_timestamp(&o->streams[l], o->ts_base[l] + (uint32_t)((uint64_t)f->capture_us * 9 / 100),
					    &adjusted);
	if (adjusted)
		mc_count_inc(&st->ts_adjusted);
	mc_rtp_batch_reset(&o->batch);
	int n = o->codec == MC_CODEC_VP8
			? mc_rtp_vp8_packetize(&o->streams[l], ts, f->pkt->data, (size_t)f->pkt->size, &o->batch)
			: mc_rtp_h264_packetize(&o->streams[l], ts, f->pkt->data, (size_t)f->pkt->size, &o->batch);
	int64_t t1 = mc_now_us();
	mc_hist_add(&st->packetize, t1 - t0);
	if (n <= 0) {
		mc_warn(MOD, "%s: layer %d: cannot packetize a frame of %d bytes: %s", o->cfg->name, l, f->pkt->size,
			n == 0 ? "empty" : strerror(-n));
		return;
	}

	/* Indexes of this frame's packets reserved on disk before any of them goes into the pacer, so before
	 * any leaves (srtp_state.h). When that fails nothing goes: the sequence numbers are handed back, so the
	 * stream shows no gap and no jump. (A packet the pacer drops later leaves its reserved index unused.) */
	if (o->srtp_state && mc_srtp_state_use_rtp(o->srtp_state, l, (unsigned)n)) {
		o->streams[l].seq = (uint16_t)(o->streams[l].seq - n);
		count_send_error(o, l);
		uint64_t suppressed = 0;
		if (mc_ratelimit_ok(&o->err_rl, &suppressed))
			mc_err(MOD, "%s: layer %d: frame not sent: cannot reserve SRTP indexes: %s (%llu messages suppressed)",
			       o->cfg->name, l, o->srtp_state->err, (unsigned long long)suppressed);
		return;
	}

	/* into the pacer: retransmissions are class 0, then the lowest layer first (layers are listed highest
	 * first), so a small layer's frame is not stuck behind a large keyframe */
	/* counted from the largest layer count, not this output's: a reload that adds or removes the last layer
	 * does not move the other layers to other classes (which could reorder their queued packets) */
	int cls = 1 + (MC_MAX_LAYERS - 1 - l);
	for (int i = 0; i < n; i++) {
		if (f->keyframe)
			o->batch.pkts[i].flags |= MC_RTP_FLAG_KEYFRAME;
		mc_pacer_push(&o->pacer, cls, &o->batch.pkts[i], l, ts, f->capture_us, t1);
	}
	mc_count_inc(&st->frames);
}

int mc_output_attach_layers(struct mc_output *o, const struct mc_layer_config *layers,
			    struct mc_layer_ctl *const *ctl, int slot)
{
	for (int l = 0; l < o->n_layers; l++) {
		o->layer_bitrate[l] = layers[l].bitrate;
		o->layer_ctl[l] = ctl ? ctl[l] : NULL;
	}
	o->ctl_slot = slot;
	return mc_output_cc_create(o);
}

static void log_pacer_drops(struct mc_output *o)
{
	static const char *const what = "pacer queue over its limit";
	uint64_t suppressed = 0;
	if (!o->pacer.damaged_layers || !mc_ratelimit_ok(&o->pacer_rl, &suppressed))
		return;
	mc_warn(MOD, "%s: %s (%d ms at %lld kbit/s): %llu packets dropped as too old, %llu as the queue was full "
		"(layers 0x%x; %llu messages suppressed)", o->cfg->name, what, o->cfg->pacer_queue_ms,
		(long long)(o->pacer.rate_bps / 1000), (unsigned long long)mc_count_get(&o->pacer.dropped_old),
		(unsigned long long)mc_count_get(&o->pacer.dropped_full), o->pacer.damaged_layers, (unsigned long long)suppressed);
	o->pacer.damaged_layers = 0;
}

int64_t mc_output_pace(struct mc_output *o, int64_t now)
{
	mc_output_cc_tick(o, now, false);
	struct mmsghdr msgs[64];
	struct iovec iovs[64];
	struct sent_batch sb;
	struct mc_paced *items[64];
	for (int round = 0; round < 16; round++) {
		unsigned count = 0;
		int64_t a = mc_now_us();
		struct mc_paced *it;
		while (count < 64 && (it = mc_pacer_pop(&o->pacer, now))) {
			struct mc_rtp_packet *p = &it->pkt;
			if (it->layer >= o->n_layers) /* a layer a reload removed: its stream has ended (BYE) */
				continue;
			/* transport-wide sequence numbers count packets in the order they leave, over all layers */
			mc_rtp_set_twcc_seq(p, o->twcc_seq++);
			size_t len = p->len;
			int l = it->layer;
			/* plaintext, before SRTP, as it left (with its transport-wide number); not a retransmission */
			if (it->cls != 0)
				mc_rtp_history_put(&o->history[l], p->data, len, a);
			uint16_t payload = (uint16_t)mc_rtp_payload_len(p->data, len); /* before SRTP adds its tag */
			if (o->srtp && mc_srtp_protect(o->srtp, p->data, &len, sizeof(p->data))) {
				count_send_error(o, l);
				continue;
			}
			if (p->twcc_off)
				mc_output_cc_sent(o, (uint16_t)(o->twcc_seq - 1), len, p->flags & MC_RTP_FLAG_PROBE, a);
			iovs[count] = (struct iovec){ .iov_base = p->data, .iov_len = len };
			msgs[count] = (struct mmsghdr){ .msg_hdr = { .msg_name = &o->rtp_dest[l],
								    .msg_namelen = sizeof(o->rtp_dest[l]),
								    .msg_iov = &iovs[count], .msg_iovlen = 1 } };
			sb.layers[count] = (int8_t)l;
			sb.streams[count] = (p->flags & MC_RTP_FLAG_RTX) ? &o->rtx[l] : &o->streams[l];
			sb.payload[count] = payload;
			items[count++] = it;
		}
		if (count == 0)
			break;
		int64_t b = mc_now_us();
		send_all(o, msgs, count, &sb);
		int64_t c = mc_now_us();
		mc_pacer_sent(&o->pacer, now, c);
		/* srtp and send: per sendmmsg batch, under the layer of its first packet */
		mc_hist_add(&o->layer_stats[sb.layers[0]].srtp, b - a);
		mc_hist_add(&o->layer_stats[sb.layers[0]].send, c - b);
		for (unsigned k = 0; k < count; k++) {
			struct mc_output_layer_stats *st = &o->layer_stats[sb.layers[k]];
			if (items[k]->cls != 0 && (items[k]->pkt.data[1] & 0x80)) { /* marker: the frame's last packet left */
				mc_hist_add(&st->capture_to_wire, c - items[k]->capture_us);
				mc_hist_add(&st->pacer_wait, c - items[k]->enqueued_us);
				int l = sb.layers[k];
				/* the sender's share of a viewer's wait for a picture */
				if ((items[k]->pkt.flags & MC_RTP_FLAG_KEYFRAME) && o->key_pending_us[l]) {
					mc_hist_add(&st->pli_to_wire, c - o->key_pending_us[l]);
					o->key_pending_us[l] = 0;
				}
			}
		}
		now = c;
	}
	log_pacer_drops(o);
	return mc_pacer_next_us(&o->pacer, now);
}

void mc_output_flush(struct mc_output *o)
{
	struct mc_enc_frame f;
	while (mc_pktqueue_pop(&o->queue, &f)) {
		send_frame(o, &f);
		av_packet_free(&f.pkt);
	}
}

/* A retransmission or probe copy of `orig` into the pacer's first class: ahead of every layer's media, and
 * it gets a new transport-wide number as it leaves (the RTX and plain resend keep the media packet's
 * extension block in place). With rtx = on it is wrapped for the layer's RTX stream, whose next SRTP index is
 * reserved on disk first (like a layer's); when that fails the RTX sequence number is not used. */
static int queue_first(struct mc_output *o, int layer, const uint8_t *orig, size_t orig_len, uint8_t flags, int64_t now)
{
	struct mc_rtp_packet p = { .flags = flags };
	const struct mc_rtp_stream *s = &o->streams[layer];
	if (o->cfg->rtx) {
		struct mc_rtp_stream *rs = &o->rtx[layer];
		int n = mc_rtx_wrap(orig, orig_len, rs->payload_type, rs->ssrc, rs->seq, p.data,
				    sizeof(p.data) - MC_SRTP_TRAILER_MAX);
		if (n < 0)
			return n;
		if (o->srtp_state && mc_srtp_state_use_rtp(o->srtp_state, o->n_layers + layer, 1)) {
			count_send_error(o, layer);
			uint64_t suppressed = 0;
			if (mc_ratelimit_ok(&o->err_rl, &suppressed))
				mc_err(MOD, "%s: layer %d: RTX packet not sent: cannot reserve SRTP indexes: %s (%llu messages "
				       "suppressed)", o->cfg->name, layer, o->srtp_state->err, (unsigned long long)suppressed);
			return -EIO;
		}
		rs->seq++;
		p.len = (uint16_t)n;
		p.flags |= MC_RTP_FLAG_RTX;
	} else {
		/* the same SRTP index and payload as the first time: the payload's ciphertext is the same, no
		 * keystream reused (only the header's transport-wide number, which SRTP does not encrypt, differs) */
		if (orig_len > sizeof(p.data) - MC_SRTP_TRAILER_MAX || orig_len < MC_RTP_HEADER_LEN)
			return -EINVAL;
		memcpy(p.data, orig, orig_len);
		p.len = (uint16_t)orig_len;
	}
	if (s->ext_twcc_off && (p.data[0] & 0x10) && (p.data[0] & 0x0f) == 0)
		p.twcc_off = (uint8_t)(MC_RTP_HEADER_LEN + s->ext_twcc_off);
	uint32_t ts = (uint32_t)p.data[4] << 24 | (uint32_t)p.data[5] << 16 | (uint32_t)p.data[6] << 8 | p.data[7];
	return mc_pacer_push(&o->pacer, 0, &p, layer, ts, 0, now);
}

int mc_output_resend(struct mc_output *o, int layer, const uint8_t *orig, size_t orig_len)
{
	return queue_first(o, layer, orig, orig_len, 0, mc_now_us());
}

int mc_output_queue_copy(struct mc_output *o, int layer, uint16_t seq, bool probe, int64_t now)
{
	const struct mc_rtp_history_entry *e;
	if (mc_rtp_history_get(&o->history[layer], seq, now, 0, &e) != MC_RESEND_OK)
		return -ENOENT;
	return queue_first(o, layer, e->data, e->len, probe ? MC_RTP_FLAG_PROBE : 0, now);
}

/* SRTCP: the packet is protected first (that is when libsrtp2 gives it its index), then the index is
 * reserved on disk, then it leaves; a packet whose index cannot be reserved is not sent. */
static int protect_rtcp(struct mc_output *o, int layer, uint8_t *buf, size_t *len, size_t cap)
{
	uint32_t index;
	int rc = mc_srtp_protect_rtcp_index(o->srtp, buf, len, cap, &index);
	if (rc == 0 && o->srtp_state && (rc = mc_srtp_state_use_rtcp(o->srtp_state, layer, index))) {
		uint64_t suppressed = 0;
		if (mc_ratelimit_ok(&o->err_rl, &suppressed))
			mc_err(MOD, "%s: layer %d: SRTCP not sent: %s (%llu messages suppressed)", o->cfg->name, layer,
			       o->srtp_state->err, (unsigned long long)suppressed);
	}
	if (rc)
		count_send_error(o, layer);
	return rc;
}

static void send_rtcp_to(struct mc_output *o, int layer, uint8_t *buf, size_t len, size_t cap)
{
	const struct sockaddr_in *dest = &o->rtcp_dest[layer];
	if (o->srtp && o->cfg->rtcp == MC_RTCP_ON && protect_rtcp(o, layer, buf, &len, cap))
		return;
	int fd = o->rtcp_fd >= 0 ? o->rtcp_fd : o->fd;
	if (sendto(fd, buf, len, 0, (const struct sockaddr *)dest, sizeof(*dest)) < 0) {
		int e = errno;
		if (e == ECONNREFUSED || e == EHOSTUNREACH) {
			mc_output_read_errors(o);
			if (sendto(fd, buf, len, 0, (const struct sockaddr *)dest, sizeof(*dest)) >= 0) {
				mc_count_inc(&o->rtcp_sent);
				return;
			}
			e = errno;
		}
		count_send_error(o, layer);
		log_send_error(o, dest, e, "RTCP");
		return;
	}
	mc_count_inc(&o->rtcp_sent);
}

/* SR + SDES (and BYE) of one layer that has sent */
static void send_sr(struct mc_output *o, int l, bool bye)
{
	if (o->cfg->rtcp == MC_RTCP_OFF || !o->sent_any[l])
		return;
	int64_t mono = mc_now_us(), wall = mc_wall_us();
	const struct mc_rtp_stream *s = &o->streams[l];
	/* The (NTP, RTP) pair is one instant: wall-clock now and the RTP clock of monotonic now. */
	struct mc_rtcp_sr sr = { .ssrc = s->ssrc,
				 .ntp = mc_ntp_from_unix_us(wall),
				 .rtp_ts = o->ts_base[l] + (uint32_t)((uint64_t)mono * 9 / 100),
				 .packets = (uint32_t)s->packets,
				 .octets = (uint32_t)s->octets };
	uint8_t buf[256];
	size_t len = 0;
	int n = mc_rtcp_write_sr(buf, sizeof(buf), &sr);
	len += (size_t)n;
	n = mc_rtcp_write_sdes_cname(buf + len, sizeof(buf) - len - MC_SRTP_TRAILER_MAX, s->ssrc, o->cfg->cname);
	if (n > 0)
		len += (size_t)n;
	if (bye && (n = mc_rtcp_write_bye(buf + len, sizeof(buf) - len - MC_SRTP_TRAILER_MAX, s->ssrc)) > 0)
		len += (size_t)n;
	send_rtcp_to(o, l, buf, len, sizeof(buf));
}

void mc_output_send_rtcp(struct mc_output *o, bool bye)
{
	for (int l = 0; l < o->n_layers; l++)
		send_sr(o, l, bye);
}
