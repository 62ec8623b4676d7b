/*
 * mixcast-rtp-latency: an outside check of capture-to-wire latency (issue #7).
 *
 * Binds UDP ports for RTP (the given ports) and RTCP (each port + 1) on 127.0.0.1, SRTP-unprotects SRTCP
 * (libsrtp2, same master key) to read each Sender Report's NTP <-> RTP timestamp pair per SSRC, and for
 * every RTP packet with the marker bit (a frame's last packet) maps its RTP timestamp to wall time through
 * the latest SR of its SSRC:
 *
 *     capture_wall = ntp_sr + (int32_t)(rtp - rtp_sr) / clock_rate
 *     latency      = arrival (CLOCK_REALTIME, kernel receive timestamp) - capture_wall
 *
 * This is the capture-to-arrival latency of each frame, provided the sender's RTP timestamps are
 * capture-time based and its SRs pair NTP and RTP time taken at the same instant (mixcastd's contract).
 * Frames that arrive before the first SR of their SSRC are kept and mapped with that first SR.
 * RTP packets are also SRTP-unprotected (into a copy) to count authentication failures.
 *
 *   mixcast-rtp-latency --key-file FILE | --key BASE64  --ports P1,P2,P3  [options]
 *     --addr A          address to bind (default 127.0.0.1)
 *     --duration S      stop after S seconds (default 30; required bound)
 *     --idle S          stop S seconds after the last packet once packets have come (default 10)
 *     --skip N          ignore the first N frames of each SSRC in the statistics (default 0)
 *     --suite NAME      AES_CM_128_HMAC_SHA1_80 (default) or AES_CM_128_HMAC_SHA1_32
 *     --clock-rate HZ   RTP clock rate (default 90000)
 *     --csv FILE        write one line per frame: ssrc,rtp_ts,capture_wall,arrival_wall,latency_ms
 *     --json FILE       write the result JSON there instead of stdout
 * It also stops when every SSRC that sent RTP has sent an RTCP BYE (after 200 ms more), and on SIGINT/SIGTERM;
 * it always writes its result.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <srtp2/srtp.h>

#define MAX_PORTS 3
#define MAX_SSRC 16
#define MAX_FRAMES 200000
#define NTP_UNIX_OFFSET 2208988800.0

struct frame {
	uint32_t rtp;
	double arrival;
	double latency; /* s; NAN until mapped */
};

struct stream {
	uint32_t ssrc;
	int port;
	int64_t packets, bytes, frames, keyframes, srs, auth_fail, rtcp_auth_fail, lost;
	uint32_t cur_ts;
	int cur_key;
	int have_seq;
	uint16_t last_seq;
	int have_sr;
	double sr_ntp;
	uint32_t sr_rtp;
	int bye;
	struct frame *f;
	int64_t nf;
};

static struct stream streams[MAX_SSRC];
static int nstreams;
static double clock_rate = 90000.0;
static int64_t skip_frames;
static int64_t unknown_rtcp, bad_packets, srtcp_fail_nossrc;

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

static double wall_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static double mono_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static struct stream *stream_for(uint32_t ssrc, int port, int create)
{
	for (int i = 0; i < nstreams; i++)
		if (streams[i].ssrc == ssrc)
			return &streams[i];
	if (!create || nstreams == MAX_SSRC)
		return NULL;
	struct stream *s = &streams[nstreams++];
	memset(s, 0, sizeof *s);
	s->ssrc = ssrc;
	s->port = port;
	s->f = calloc(MAX_FRAMES, sizeof(struct frame));
	return s;
}

static double map_latency(struct stream *s, const struct frame *f)
{
	double capture = s->sr_ntp + (double)(int32_t)(f->rtp - s->sr_rtp) / clock_rate;
	return f->arrival - capture;
}

static int b64val(int c)
{
	if (c >= 'A' && c <= 'Z') return c - 'A';
	if (c >= 'a' && c <= 'z') return c - 'a' + 26;
	if (c >= '0' && c <= '9') return c - '0' + 52;
	if (c == '+' || c == '-') return 62;
	if (c == '/' || c == '_') return 63;
	return -1;
}

static int b64decode(const char *in, unsigned char *out, int max)
{
	int n = 0, bits = 0;
	uint32_t acc = 0;
	for (; *in; in++) {
		int v = b64val((unsigned char)*in);
		if (v < 0)
			continue; /* '=', whitespace */
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (n == max)
				return -1;
			out[n++] = (unsigned char)(acc >> bits);
		}
	}
	return n;
}

/* Walks a compound RTCP packet (already unprotected) for SRs and BYEs. */
static void handle_rtcp(const unsigned char *p, int len, int port)
{
	int off = 0;
	for (int guard = 0; guard < 64 && off + 4 <= len; guard++) {
		int pt = p[off + 1];
		int words = (p[off + 2] << 8) | p[off + 3];
		int plen = (words + 1) * 4;
		if ((p[off] >> 6) != 2 || off + plen > len)
			break;
		if (pt == 200 && plen >= 28) {
			uint32_t ssrc = ntohl(*(const uint32_t *)(p + off + 4));
			uint32_t msw = ntohl(*(const uint32_t *)(p + off + 8));
			uint32_t lsw = ntohl(*(const uint32_t *)(p + off + 12));
			uint32_t rtp = ntohl(*(const uint32_t *)(p + off + 16));
			struct stream *s = stream_for(ssrc, port - 1, 1);
			if (s) {
				s->srs++;
				s->sr_ntp = (double)msw - NTP_UNIX_OFFSET + (double)lsw / 4294967296.0;
				s->sr_rtp = rtp;
				if (!s->have_sr) {
					s->have_sr = 1;
					for (int64_t i = 0; i < s->nf; i++)
						s->f[i].latency = map_latency(s, &s->f[i]);
				}
			}
		} else if (pt == 203) {
			int sc = p[off] & 31;
			for (int i = 0; i < sc && off + 8 + 4 * i <= len; i++) {
				struct stream *s = stream_for(ntohl(*(const uint32_t *)(p + off + 4 + 4 * i)), port - 1, 0);
				if (s)
					s->bye = 1;
			}
		} else if (pt < 200 || pt > 206) {
			unknown_rtcp++;
		}
		off += plen;
	}
}

/* Whether an (unprotected) RTP packet with an H.264 payload (RFC 6184) carries an IDR slice or an SPS. */
static int h264_has_idr(const unsigned char *p, int len)
{
	int off = 12 + 4 * (p[0] & 15);
	if ((p[0] & 0x10) && off + 4 <= len)
		off += 4 + 4 * ((p[off + 2] << 8) | p[off + 3]);
	if (p[0] & 0x20)
		len -= p[len - 1];
	if (off >= len)
		return 0;
	int t = p[off] & 31;
	if (t == 5 || t == 7)
		return 1;
	if (t == 28 && off + 1 < len)
		return (p[off + 1] & 0x80) && (p[off + 1] & 31) == 5;
	if (t == 24) {
		for (int o = off + 1, guard = 0; o + 2 < len && guard < 64; guard++) {
			int sz = (p[o] << 8) | p[o + 1];
			int nt = p[o + 2] & 31;
			if (nt == 5 || nt == 7)
				return 1;
			o += 2 + sz;
		}
	}
	return 0;
}

static void handle_rtp(srtp_t srtp, unsigned char *p, int len, double arrival, int port)
{
	if (len < 12 || (p[0] >> 6) != 2) {
		bad_packets++;
		return;
	}
	int marker = p[1] >> 7;
	uint16_t seq = (uint16_t)((p[2] << 8) | p[3]);
	uint32_t ts = ntohl(*(const uint32_t *)(p + 4));
	uint32_t ssrc = ntohl(*(const uint32_t *)(p + 8));
	struct stream *s = stream_for(ssrc, port, 1);
	if (!s)
		return;
	s->packets++;
	s->bytes += len;
	if (s->have_seq) {
		uint16_t gap = (uint16_t)(seq - s->last_seq);
		if (gap > 1 && gap < 0x8000)
			s->lost += gap - 1;
	}
	s->have_seq = 1;
	s->last_seq = seq;
	if (ts != s->cur_ts)
		s->cur_key = 0;
	s->cur_ts = ts;
	int l = len;
	if (srtp_unprotect(srtp, p, &l) != srtp_err_status_ok)
		s->auth_fail++;
	else if (h264_has_idr(p, l))
		s->cur_key = 1;
	if (marker && s->cur_key)
		s->keyframes++;
	if (marker && s->nf < MAX_FRAMES) {
		struct frame *f = &s->f[s->nf++];
		f->rtp = ts;
		f->arrival = arrival;
		f->latency = s->have_sr ? map_latency(s, f) : NAN;
		s->frames++;
	}
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static void usage(void)
{
	fprintf(stderr, "usage: mixcast-rtp-latency (--key-file FILE | --key BASE64) --ports P1[,P2[,P3]] [--addr A] "
					"[--duration S] [--idle S] [--skip N] [--suite NAME] [--clock-rate HZ] [--csv FILE] [--json FILE]\n");
}

int main(int argc, char **argv)
{
	const char *key_b64 = NULL, *key_file = NULL, *addr = "127.0.0.1", *csv = NULL, *json = NULL;
	const char *suite = "AES_CM_128_HMAC_SHA1_80";
	double duration = 30, idle = 10;
	int ports[MAX_PORTS], nports = 0;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!strcmp(a, "--key") && v) key_b64 = argv[++i];
		else if (!strcmp(a, "--key-file") && v) key_file = argv[++i];
		else if (!strcmp(a, "--addr") && v) addr = argv[++i];
		else if (!strcmp(a, "--duration") && v) duration = atof(argv[++i]);
		else if (!strcmp(a, "--idle") && v) idle = atof(argv[++i]);
		else if (!strcmp(a, "--skip") && v) skip_frames = atoll(argv[++i]);
		else if (!strcmp(a, "--suite") && v) suite = argv[++i];
		else if (!strcmp(a, "--clock-rate") && v) clock_rate = atof(argv[++i]);
		else if (!strcmp(a, "--csv") && v) csv = argv[++i];
		else if (!strcmp(a, "--json") && v) json = argv[++i];
		else if (!strcmp(a, "--ports") && v) {
			char *dup = strdup(argv[++i]), *save = NULL;
			for (char *t = strtok_r(dup, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
				if (nports == MAX_PORTS || atoi(t) <= 0 || atoi(t) > 65534) {
					usage();
					return 1;
				}
				ports[nports++] = atoi(t);
			}
			free(dup);
		} else {
			usage();
			return a[0] == '-' && a[1] == 'h' ? 0 : 1;
		}
	}
	if ((!key_b64 && !key_file) || nports == 0 || duration <= 0 || duration > 86400) {
		usage();
		return 1;
	}
	char keybuf[256] = {0};
	if (key_file) {
		FILE *kf = fopen(key_file, "r");
		if (!kf || !fgets(keybuf, sizeof keybuf, kf)) {
			fprintf(stderr, "%s: cannot read key\n", key_file);
			return 1;
		}
		fclose(kf);
		key_b64 = keybuf;
	}
	unsigned char key[64];
	int keylen = b64decode(key_b64, key, sizeof key);
	if (keylen != 30) {
		fprintf(stderr, "the key must be 30 bytes of base64 (got %d)\n", keylen);
		return 1;
	}

	if (srtp_init() != srtp_err_status_ok) {
		fprintf(stderr, "srtp_init failed\n");
		return 2;
	}
	srtp_policy_t pol;
	memset(&pol, 0, sizeof pol);
	if (!strcmp(suite, "AES_CM_128_HMAC_SHA1_80")) {
		srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&pol.rtp);
	} else if (!strcmp(suite, "AES_CM_128_HMAC_SHA1_32")) {
		srtp_crypto_policy_set_aes_cm_128_hmac_sha1_32(&pol.rtp);
	} else {
		fprintf(stderr, "unsupported suite %s\n", suite);
		return 1;
	}
	srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&pol.rtcp); /* SRTCP is always 80-bit tagged */
	pol.ssrc.type = ssrc_any_inbound;
	pol.key = key;
	pol.window_size = 1024;
	pol.allow_repeat_tx = 0;
	pol.next = NULL;
	srtp_t srtp;
	int created = srtp_create(&srtp, &pol) == srtp_err_status_ok;
	explicit_bzero(key, sizeof key);
	explicit_bzero(keybuf, sizeof keybuf);
	if (!created) {
		fprintf(stderr, "srtp_create failed\n");
		return 2;
	}

	struct pollfd pfd[2 * MAX_PORTS];
	int pport[2 * MAX_PORTS];
	int nfd = 0;
	for (int i = 0; i < nports; i++)
		for (int rtcp = 0; rtcp < 2; rtcp++) {
			int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
			int one = 1, rcvbuf = 4 << 20;
			setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
			setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
			setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof one);
			struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)(ports[i] + rtcp))};
			if (inet_pton(AF_INET, addr, &sa.sin_addr) != 1 || bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
				fprintf(stderr, "bind %s:%d: %s\n", addr, ports[i] + rtcp, strerror(errno));
				return 2;
			}
			pfd[nfd].fd = fd;
			pfd[nfd].events = POLLIN;
			pport[nfd] = ports[i] + rtcp;
			nfd++;
		}
	struct sigaction sa_stop;
	memset(&sa_stop, 0, sizeof sa_stop);
	sa_stop.sa_handler = on_signal;
	sigaction(SIGINT, &sa_stop, NULL);
	sigaction(SIGTERM, &sa_stop, NULL);
	fprintf(stderr, "mixcast-rtp-latency: listening\n");
	fflush(stderr);

	double start = mono_now(), last_pkt = 0, all_bye_at = 0;
	static unsigned char buf[65536];
	char cbuf[256];
	int64_t total_packets = 0;
	while (!stop_requested) {
		double now = mono_now();
		if (now - start >= duration)
			break;
		if (total_packets > 0 && now - last_pkt >= idle)
			break;
		if (all_bye_at > 0 && now - all_bye_at >= 0.2)
			break;
		int r = poll(pfd, (nfds_t)nfd, 50);
		if (r < 0 && errno != EINTR)
			break;
		for (int i = 0; i < nfd && r > 0; i++) {
			if (!(pfd[i].revents & POLLIN))
				continue;
			for (int burst = 0; burst < 256; burst++) {
				struct iovec iov = {buf, sizeof buf};
				struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
									.msg_controllen = sizeof cbuf};
				ssize_t n = recvmsg(pfd[i].fd, &mh, MSG_DONTWAIT);
				if (n < 0)
					break;
				double arrival = 0;
				for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c))
					if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS) {
						struct timespec ts;
						memcpy(&ts, CMSG_DATA(c), sizeof ts);
						arrival = ts.tv_sec + ts.tv_nsec / 1e9;
					}
				if (arrival == 0)
					arrival = wall_now();
				last_pkt = mono_now();
				total_packets++;
				int len = (int)n;
				int is_rtcp = len >= 2 && buf[1] >= 192 && buf[1] <= 223; /* PT 64..95 with M: RTCP range */
				if (is_rtcp) {
					uint32_t ssrc = len >= 8 ? ntohl(*(const uint32_t *)(buf + 4)) : 0;
					if (srtp_unprotect_rtcp(srtp, buf, &len) != srtp_err_status_ok) {
						struct stream *s = stream_for(ssrc, pport[i] - 1, 0);
						if (s)
							s->rtcp_auth_fail++;
						else
							srtcp_fail_nossrc++;
						continue;
					}
					handle_rtcp(buf, len, pport[i]);
					int all = 0; /* every SSRC that sent RTP has said BYE (SR-only SSRCs don't count) */
					for (int k = 0; k < nstreams; k++) {
						if (streams[k].packets > 0 && !streams[k].bye) {
							all = 0;
							break;
						}
						if (streams[k].packets > 0)
							all = 1;
					}
					if (all && all_bye_at == 0)
						all_bye_at = mono_now();
				} else {
					handle_rtp(srtp, buf, len, arrival, pport[i]);
				}
			}
		}
	}

	FILE *cf = csv ? fopen(csv, "w") : NULL;
	if (cf)
		fprintf(cf, "ssrc,rtp_ts,capture_wall,arrival_wall,latency_ms\n");
	FILE *out = stdout;
	if (json && !(out = fopen(json, "w"))) {
		fprintf(stderr, "%s: %s\n", json, strerror(errno));
		return 2;
	}
	fprintf(out, "{\"duration_s\":%.3f,\"bad_packets\":%" PRId64 ",\"srtcp_auth_fail_unknown_ssrc\":%" PRId64
				 ",\"streams\":[",
			mono_now() - start, bad_packets, srtcp_fail_nossrc);
	int first = 1;
	for (int k = 0; k < nstreams; k++) {
		struct stream *s = &streams[k];
		if (s->packets == 0)
			continue; /* an SR-only SSRC */
		double *v = malloc(sizeof(double) * (size_t)(s->nf + 1));
		int64_t nv = 0;
		double sum = 0;
		for (int64_t i = 0; i < s->nf; i++) {
			struct frame *f = &s->f[i];
			if (cf && s->have_sr)
				fprintf(cf, "%u,%u,%.6f,%.6f,%.3f\n", s->ssrc, f->rtp, f->arrival - f->latency, f->arrival,
						f->latency * 1e3);
			if (i < skip_frames || !s->have_sr)
				continue;
			v[nv++] = f->latency * 1e3;
			sum += f->latency * 1e3;
		}
		qsort(v, (size_t)nv, sizeof(double), cmp_d);
		fprintf(out,
				"%s{\"ssrc\":%u,\"port\":%d,\"packets\":%" PRId64 ",\"bytes\":%" PRId64 ",\"frames\":%" PRId64
				",\"keyframes\":%" PRId64 ",\"lost\":%" PRId64 ",\"srtp_auth_fail\":%" PRId64 ",\"srtcp_auth_fail\":%" PRId64
				",\"sender_reports\":%" PRId64 ",\"bye\":%s",
				first ? "" : ",", s->ssrc, s->port, s->packets, s->bytes, s->frames, s->keyframes, s->lost, s->auth_fail,
				s->rtcp_auth_fail, s->srs, s->bye ? "true" : "false");
		if (nv > 0)
			fprintf(out, ",\"latency_ms\":{\"count\":%" PRId64 ",\"mean\":%.3f,\"min\":%.3f,\"p50\":%.3f,"
						 "\"p99\":%.3f,\"max\":%.3f}}",
					nv, sum / (double)nv, v[0], v[(int64_t)(0.5 * (nv - 1) + 0.5)], v[(int64_t)(0.99 * (nv - 1) + 0.5)],
					v[nv - 1]);
		else
			fprintf(out, ",\"latency_ms\":null}");
		first = 0;
		free(v);
	}
	fprintf(out, "]}\n");
	if (out != stdout)
		fclose(out);
	if (cf)
		fclose(cf);
	srtp_dealloc(srtp);
	srtp_shutdown();
	return 0;
}
