/* An output's RTX streams under SRTP with a state dir: like a layer's, an RTX stream's SRTP indexes are
 * reserved in the state file and continue after a restart (fixed rtx_ssrcs and a static key would otherwise
 * start at a random sequence number again: keystream reuse). One receiver session is kept across both runs,
 * as an SFU keeps its context: every RTX packet must authenticate, none may repeat an index. Loopback only:
 * the output sends to a socket of this test; no network thread runs (each resend is queued in the pacer and
 * sent by calling mc_output_pace() directly). */
#include <arpa/inet.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "check.h"
#include "output.h"
#include "srtp.h"
#include "srtp_state.h"

#define MEDIA_SSRC 1111u
#define RTX_SSRC 5555u
#define PER_RUN 5

static char g_dir[256];
static uint8_t g_key[30];

static void setup_config(struct mc_output_config *oc, uint16_t port)
{
	memset(oc, 0, sizeof(*oc));
	strcpy(oc->name, "o");
	strcpy(oc->track, "t");
	oc->type = MC_OUTPUT_RTP;
	strcpy(oc->host, "127.0.0.1");
	oc->n_ports = 1;
	oc->ports[0] = port;
	oc->payload_type = 96;
	oc->mtu = 1200;
	oc->rtcp = MC_RTCP_OFF;
	oc->pacing = true;
	oc->pacer_queue_ms = 500;
	strcpy(oc->cname, "test");
	oc->n_ssrcs = 1;
	oc->ssrcs[0] = MEDIA_SSRC;
	oc->rtx = true;
	oc->rtx_payload_type = 97;
	oc->n_rtx_ssrcs = 1;
	oc->rtx_ssrcs[0] = RTX_SSRC;
	oc->srtp_suite = MC_SRTP_AES_CM_128_HMAC_SHA1_80;
	memcpy(oc->srtp_key, g_key, sizeof(g_key));
	oc->srtp_key_len = sizeof(g_key);
	snprintf(oc->state_dir, sizeof(oc->state_dir), "%s", g_dir);
}

/* One run of an output: PER_RUN resends of media packets; the receiver authenticates each RTX packet and
 * records its SRTP index (ROC << 16 | seq). */
static int run(struct mc_output_config *oc, int sock, struct mc_srtp *rx, uint64_t *index)
{
	struct mc_output *o = NULL;
	CHECK_EQ(mc_output_create(&o, oc, 1, MC_CODEC_H264, -1), 0);
	if (!o)
		return 0;
	CHECK_EQ(o->rtx[0].ssrc, RTX_SSRC);
	int got = 0;
	for (int i = 0; i < PER_RUN; i++) {
		uint8_t orig[32] = { 0x80, 96 };
		orig[2] = (uint8_t)(i >> 8), orig[3] = (uint8_t)i; /* seq */
		orig[8] = MEDIA_SSRC >> 24, orig[9] = (MEDIA_SSRC >> 16) & 0xff, orig[10] = (MEDIA_SSRC >> 8) & 0xff,
		orig[11] = MEDIA_SSRC & 0xff;
		memset(orig + 12, 0x40 + i, sizeof(orig) - 12);
		CHECK_EQ(mc_output_resend(o, 0, orig, sizeof(orig)), 0); /* into the pacer's first class */
		mc_output_pace(o, mc_now_us());                           /* where it leaves */
		struct pollfd pfd = { .fd = sock, .events = POLLIN };
		uint8_t buf[1500];
		ssize_t n = poll(&pfd, 1, 2000) == 1 ? recv(sock, buf, sizeof(buf), 0) : -1;
		CHECK(n > 12);
		if (n <= 12)
			continue;
		size_t len = (size_t)n;
		CHECK_EQ(mc_srtp_unprotect(rx, buf, &len), 0); /* no replay, no wrong ROC guess */
		uint32_t ssrc = (uint32_t)buf[8] << 24 | (uint32_t)buf[9] << 16 | (uint32_t)buf[10] << 8 | buf[11];
		CHECK_EQ(ssrc, RTX_SSRC);
		CHECK_EQ(buf[1] & 0x7f, 97);
		CHECK_EQ(buf[12] << 8 | buf[13], i); /* the original sequence number (RFC 4588 OSN) */
		uint32_t roc = 0;
		CHECK_EQ(mc_srtp_roc(rx, RTX_SSRC, &roc), 0);
		index[got++] = (uint64_t)roc << 16 | (uint16_t)(buf[2] << 8 | buf[3]);
	}
	CHECK_EQ(mc_count_get(&o->layer_stats[0].packets), PER_RUN);
	CHECK_EQ(o->rtx[0].packets, PER_RUN);    /* the RTX stream's SR counts them, */
	CHECK_EQ(o->streams[0].packets, 0);      /* not the media stream's */
	mc_output_destroy(o);
	return got;
}

static void test_rtx_indexes_continue(void)
{
	int sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t alen = sizeof(a);
	CHECK(sock >= 0 && bind(sock, (struct sockaddr *)&a, sizeof(a)) == 0 &&
	      getsockname(sock, (struct sockaddr *)&a, &alen) == 0);
	struct mc_output_config oc;
	setup_config(&oc, ntohs(a.sin_port));
	struct mc_srtp *rx = NULL;
	CHECK_EQ(mc_srtp_create(&rx, oc.srtp_suite, g_key, sizeof(g_key), true), 0);
	if (!rx)
		return;
	uint64_t first[PER_RUN], second[PER_RUN];
	CHECK_EQ(run(&oc, sock, rx, first), PER_RUN);
	CHECK_EQ(run(&oc, sock, rx, second), PER_RUN); /* a restart: a new output, the same state dir */
	for (int i = 1; i < PER_RUN; i++) {
		CHECK_EQ_U64(first[i], first[i - 1] + 1);
		CHECK_EQ_U64(second[i], second[i - 1] + 1);
	}
	/* the restart continued above the first run's reservation: forward, by at most a block */
	CHECK(second[0] > first[PER_RUN - 1]);
	CHECK(second[0] - first[PER_RUN - 1] <= MC_SRTP_STATE_RTP_BLOCK + 1);
	/* the state file records the RTX SSRC with a mark above everything sent */
	struct mc_srtp_state st;
	CHECK_EQ(mc_srtp_state_load(&st, g_dir, "o", g_key, sizeof(g_key)), 0);
	const struct mc_srtp_state_entry *e = mc_srtp_state_find(&st, RTX_SSRC);
	CHECK(e != NULL);
	if (e)
		CHECK(e->srtp > second[PER_RUN - 1]);
	CHECK(mc_srtp_state_find(&st, MEDIA_SSRC) != NULL);
	mc_srtp_destroy(rx);
	close(sock);
}

int main(void)
{
	snprintf(g_dir, sizeof(g_dir), "%s/mixcast-output-rtx-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (!mkdtemp(g_dir)) {
		perror("mkdtemp");
		return 1;
	}
	for (int i = 0; i < 30; i++)
		g_key[i] = (uint8_t)(i * 7 + 1);
	RUN(test_rtx_indexes_continue);
	char path[600];
	mc_srtp_state_path(path, sizeof(path), g_dir, "o", g_key, sizeof(g_key));
	unlink(path);
	rmdir(g_dir);
	return check_done();
}
