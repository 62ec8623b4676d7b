/*
 * mixcast-srtp-index-rx: an SRTP receiver that outlives its sender, for the restart test (issue 12).
 *
 * Keeps ONE inbound libsrtp2 session for the whole run (as an SFU does that keeps its SRTP context while the
 * sender restarts) and records, for every RTP packet it authenticates, the pair (SSRC, SRTP index) with the
 * index = ROC << 16 | seq, the ROC being the one libsrtp2 settled on (srtp_get_stream_roc: its RFC 3711
 * §3.3.1 guess was right, or authentication would have failed). For every SRTCP packet it records
 * (SSRC, SRTCP index) from the packet's trailer, where the index is in clear, before authenticating it.
 * A pair seen twice is keystream reuse; so is a replay failure (libsrtp2 saw the index before).
 *
 *   mixcast-srtp-index-rx --key-file FILE --ports P1,P2 [--suite NAME] [--duration S] [--pairs FILE]
 *     RTP on each port, SRTCP on port + 1, 127.0.0.1. Stops on SIGTERM/SIGINT or after --duration (default
 *     60 s), then prints a JSON summary to stdout; --pairs writes "rtp|rtcp SSRC INDEX" lines in arrival order.
 *   Exit 0 when it ran (the caller judges the figures), 2 on a setup error.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
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
#define MAX_SSRCS 8
#define MAX_PAIRS (1 << 20)

struct stream {
	uint32_t ssrc;
	uint64_t packets, rtcp_packets;
	uint64_t min_index, max_index;
	uint32_t last_roc;
	uint64_t last_index;
	int64_t max_jump; /* the largest forward jump from one packet's index to the next one's (a restart) */
	uint32_t min_rtcp, max_rtcp;
};

struct pair {
	uint32_t ssrc;
	uint64_t index; /* bit 63 set: SRTCP */
};

static volatile sig_atomic_t g_stop;
static void on_signal(int sig) { (void)sig; g_stop = 1; }

static struct stream g_streams[MAX_SSRCS];
static int g_n_streams;
static struct pair *g_pairs;
static size_t g_n_pairs;
static uint64_t g_auth_fail, g_replay_fail, g_other_fail, g_rtcp_auth_fail, g_rtcp_replay_fail, g_overflow;

static struct stream *stream_of(uint32_t ssrc)
{
	for (int i = 0; i < g_n_streams; i++)
		if (g_streams[i].ssrc == ssrc)
			return &g_streams[i];
	if (g_n_streams == MAX_SSRCS)
		return NULL;
	struct stream *s = &g_streams[g_n_streams++];
	memset(s, 0, sizeof(*s));
	s->ssrc = ssrc;
	s->min_index = UINT64_MAX;
	s->min_rtcp = UINT32_MAX;
	return s;
}

static void add_pair(uint32_t ssrc, uint64_t index)
{
	if (g_n_pairs == MAX_PAIRS) {
		g_overflow++;
		return;
	}
	g_pairs[g_n_pairs++] = (struct pair){ ssrc, index };
}

static int cmp_pair(const void *a, const void *b)
{
	const struct pair *x = a, *y = b;
	if (x->ssrc != y->ssrc)
		return x->ssrc < y->ssrc ? -1 : 1;
	return x->index < y->index ? -1 : x->index > y->index;
}

static int b64decode(const char *in, unsigned char *out, int cap)
{
	int n = 0, bits = 0;
	uint32_t acc = 0;
	for (; *in && *in != '\n'; in++) {
		int v;
		char c = *in;
		if (c >= 'A' && c <= 'Z') v = c - 'A';
		else if (c >= 'a' && c <= 'z') v = c - 'a' + 26;
		else if (c >= '0' && c <= '9') v = c - '0' + 52;
		else if (c == '+') v = 62;
		else if (c == '/') v = 63;
		else if (c == '=' || c == ' ' || c == '\r') continue;
		else return -1;
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (n == cap)
				return -1;
			out[n++] = (unsigned char)(acc >> bits);
		}
	}
	return n;
}

static void on_rtp(srtp_t srtp, uint8_t *buf, int len)
{
	if (len < 12)
		return;
	uint32_t ssrc = ntohl(*(uint32_t *)(buf + 8));
	uint16_t seq = (uint16_t)(buf[2] << 8 | buf[3]);
	srtp_err_status_t st = srtp_unprotect(srtp, buf, &len);
	if (st == srtp_err_status_replay_fail || st == srtp_err_status_replay_old) {
		g_replay_fail++;
		return;
	}
	if (st == srtp_err_status_auth_fail) {
		g_auth_fail++;
		return;
	}
	if (st != srtp_err_status_ok) {
		g_other_fail++;
		return;
	}
	uint32_t roc = 0;
	struct stream *s = stream_of(ssrc);
	if (!s || srtp_get_stream_roc(srtp, ssrc, &roc) != srtp_err_status_ok) {
		g_other_fail++;
		return;
	}
	uint64_t index = (uint64_t)roc << 16 | seq;
	if (s->packets) {
		int64_t jump = (int64_t)index - (int64_t)s->last_index;
		if (jump > s->max_jump)
			s->max_jump = jump;
	}
	s->packets++;
	s->last_index = index;
	s->last_roc = roc;
	if (index < s->min_index)
		s->min_index = index;
	if (index > s->max_index)
		s->max_index = index;
	add_pair(ssrc, index);
}

static void on_rtcp(srtp_t srtp, uint8_t *buf, int len, int tag_len, int aead)
{
	if (len < 8 + 4 + tag_len)
		return;
	uint32_t ssrc = ntohl(*(uint32_t *)(buf + 4));
	/* AES-CM: [RTCP][E|index][tag]; AEAD: [RTCP][tag][E|index] (RFC 3711 §3.4, RFC 7714 §9.1) */
	const uint8_t *t = buf + len - (aead ? 4 : 4 + tag_len);
	uint32_t index = ((uint32_t)(t[0] & 0x7f) << 24) | (uint32_t)t[1] << 16 | (uint32_t)t[2] << 8 | t[3];
	struct stream *s = stream_of(ssrc);
	if (!s)
		return;
	s->rtcp_packets++;
	if (index < s->min_rtcp)
		s->min_rtcp = index;
	if (index > s->max_rtcp)
		s->max_rtcp = index;
	add_pair(ssrc, (1ull << 63) | index);
	srtp_err_status_t st = srtp_unprotect_rtcp(srtp, buf, &len);
	if (st == srtp_err_status_replay_fail || st == srtp_err_status_replay_old)
		g_rtcp_replay_fail++;
	else if (st != srtp_err_status_ok)
		g_rtcp_auth_fail++;
}

int main(int argc, char **argv)
{
	const char *key_file = NULL, *suite = "AES_CM_128_HMAC_SHA1_80", *pairs_file = NULL;
	int ports[MAX_PORTS], nports = 0;
	double duration = 60;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!strcmp(a, "--key-file") && v) key_file = v, i++;
		else if (!strcmp(a, "--suite") && v) suite = v, i++;
		else if (!strcmp(a, "--pairs") && v) pairs_file = v, i++;
		else if (!strcmp(a, "--duration") && v) duration = atof(v), i++;
		else if (!strcmp(a, "--ports") && v) {
			char buf[128];
			snprintf(buf, sizeof(buf), "%s", v);
			for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok && nports < MAX_PORTS;
			     tok = strtok_r(NULL, ",", &save))
				ports[nports++] = atoi(tok);
			i++;
		} else {
			fprintf(stderr, "usage: %s --key-file FILE --ports P1[,P2,P3] [--suite S] [--duration S] [--pairs FILE]\n",
				argv[0]);
			return 2;
		}
	}
	if (!key_file || !nports || duration <= 0 || duration > 3600) {
		fprintf(stderr, "--key-file and --ports are required; --duration 0..3600\n");
		return 2;
	}
	char text[256] = { 0 };
	FILE *kf = fopen(key_file, "r");
	if (!kf || !fgets(text, sizeof(text), kf)) {
		fprintf(stderr, "%s: cannot read the key\n", key_file);
		return 2;
	}
	fclose(kf);
	const char *b64 = strncmp(text, "inline:", 7) == 0 ? text + 7 : text;
	unsigned char key[64];
	int keylen = b64decode(b64, key, sizeof(key));
	srtp_policy_t pol;
	memset(&pol, 0, sizeof(pol));
	int aead = 0, rtcp_tag = 10;
	if (!strcmp(suite, "AES_CM_128_HMAC_SHA1_80") && keylen == 30) {
		srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&pol.rtp);
		srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&pol.rtcp);
	} else if (!strcmp(suite, "AES_CM_128_HMAC_SHA1_32") && keylen == 30) {
		srtp_crypto_policy_set_aes_cm_128_hmac_sha1_32(&pol.rtp);
		srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&pol.rtcp);
	} else if (!strcmp(suite, "AEAD_AES_128_GCM") && keylen == 28) {
		srtp_crypto_policy_set_aes_gcm_128_16_auth(&pol.rtp);
		srtp_crypto_policy_set_aes_gcm_128_16_auth(&pol.rtcp);
		aead = 1, rtcp_tag = 16;
	} else {
		fprintf(stderr, "suite %s with a %d-byte key: not supported\n", suite, keylen);
		return 2;
	}
	pol.ssrc.type = ssrc_any_inbound;
	pol.key = key;
	pol.window_size = 1024;
	srtp_t srtp;
	if (srtp_init() != srtp_err_status_ok || srtp_create(&srtp, &pol) != srtp_err_status_ok) {
		fprintf(stderr, "libsrtp2 set-up failed\n");
		return 2;
	}
	explicit_bzero(key, sizeof(key));
	explicit_bzero(text, sizeof(text));
	g_pairs = malloc(sizeof(*g_pairs) * MAX_PAIRS);
	if (!g_pairs)
		return 2;

	struct pollfd pfd[2 * MAX_PORTS];
	int is_rtcp[2 * MAX_PORTS];
	for (int i = 0; i < 2 * nports; i++) {
		int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), big = 4 << 20;
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
		struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)(ports[i / 2] + i % 2)) };
		inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
		if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
			fprintf(stderr, "cannot bind port %d: %s\n", ports[i / 2] + i % 2, strerror(errno));
			return 2;
		}
		pfd[i] = (struct pollfd){ .fd = fd, .events = POLLIN };
		is_rtcp[i] = i % 2;
	}
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	fprintf(stderr, "listening\n");
	struct timespec t0, now;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (g_stop || (now.tv_sec - t0.tv_sec) + (now.tv_nsec - t0.tv_nsec) / 1e9 > duration)
			break;
		if (poll(pfd, (nfds_t)(2 * nports), 100) <= 0)
			continue;
		for (int i = 0; i < 2 * nports; i++) {
			if (!(pfd[i].revents & POLLIN))
				continue;
			for (int k = 0; k < 256; k++) {
				uint8_t buf[2048];
				ssize_t n = recv(pfd[i].fd, buf, sizeof(buf), 0);
				if (n <= 0)
					break;
				if (is_rtcp[i])
					on_rtcp(srtp, buf, (int)n, rtcp_tag, aead);
				else
					on_rtp(srtp, buf, (int)n);
			}
		}
	}
	if (pairs_file) {
		FILE *f = fopen(pairs_file, "w");
		for (size_t i = 0; f && i < g_n_pairs; i++)
			fprintf(f, "%s %" PRIu32 " %" PRIu64 "\n", g_pairs[i].index >> 63 ? "rtcp" : "rtp", g_pairs[i].ssrc,
				(uint64_t)(g_pairs[i].index & ~(1ull << 63)));
		if (f)
			fclose(f);
	}
	/* no pair twice: sort and look at neighbours */
	qsort(g_pairs, g_n_pairs, sizeof(*g_pairs), cmp_pair);
	uint64_t dup_rtp = 0, dup_rtcp = 0;
	for (size_t i = 1; i < g_n_pairs; i++)
		if (g_pairs[i].ssrc == g_pairs[i - 1].ssrc && g_pairs[i].index == g_pairs[i - 1].index)
			*(g_pairs[i].index >> 63 ? &dup_rtcp : &dup_rtp) += 1;
	printf("{\"dup_rtp\":%" PRIu64 ",\"dup_rtcp\":%" PRIu64 ",\"auth_fail\":%" PRIu64 ",\"replay_fail\":%" PRIu64
	       ",\"other_fail\":%" PRIu64 ",\"rtcp_auth_fail\":%" PRIu64 ",\"rtcp_replay_fail\":%" PRIu64
	       ",\"overflow\":%" PRIu64 ",\"streams\":[",
	       dup_rtp, dup_rtcp, g_auth_fail, g_replay_fail, g_other_fail, g_rtcp_auth_fail, g_rtcp_replay_fail, g_overflow);
	for (int i = 0; i < g_n_streams; i++) {
		const struct stream *s = &g_streams[i];
		printf("%s{\"ssrc\":%" PRIu32 ",\"packets\":%" PRIu64 ",\"min_index\":%" PRIu64 ",\"max_index\":%" PRIu64
		       ",\"roc\":%" PRIu32 ",\"max_jump\":%" PRId64 ",\"rtcp_packets\":%" PRIu64 ",\"min_rtcp\":%" PRIu32
		       ",\"max_rtcp\":%" PRIu32 "}",
		       i ? "," : "", s->ssrc, s->packets, s->packets ? s->min_index : 0, s->max_index, s->last_roc, s->max_jump,
		       s->rtcp_packets, s->rtcp_packets ? s->min_rtcp : 0, s->max_rtcp);
	}
	printf("]}\n");
	srtp_dealloc(srtp);
	free(g_pairs);
	return 0;
}
