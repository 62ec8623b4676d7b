/* The SRTP index reservations: write/read round trips, continuing above every index used (also after a
 * "crash" that never wrote the last block), blocks written ahead, failed writes consuming nothing, and
 * corrupt, truncated or foreign files refused with an error naming the file (never a silent rewind). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "srtp_state.h"

static char g_dir[256];
static uint8_t g_key[30], g_key2[30];

static void state_path(char *out, size_t cap) { mc_srtp_state_path(out, cap, g_dir, "out", g_key, 30); }

static void write_text(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text)) {
		perror(path);
		exit(1);
	}
	close(fd);
}

static size_t read_text(const char *path, char *buf, size_t cap)
{
	int fd = open(path, O_RDONLY);
	ssize_t n = fd >= 0 ? read(fd, buf, cap - 1) : -1;
	if (fd >= 0)
		close(fd);
	buf[n > 0 ? n : 0] = '\0';
	return n > 0 ? (size_t)n : 0;
}

static struct mc_srtp_state g_st; /* large: not on the stack */

static void test_path_and_fingerprint(void)
{
	char a[600], b[600];
	mc_srtp_state_path(a, sizeof(a), "/var/lib/mixcast", "sfu", g_key, 30);
	mc_srtp_state_path(b, sizeof(b), "/var/lib/mixcast", "sfu", g_key2, 30);
	CHECK(strncmp(a, "/var/lib/mixcast/srtp-sfu-", 26) == 0);
	CHECK_EQ(strlen(a), strlen("/var/lib/mixcast/srtp-sfu-") + 16 + strlen(".state"));
	CHECK(strcmp(a, b) != 0); /* another key, another file */
	/* the fingerprint is not the key: no run of the key's hex digits in the name */
	char hex[9];
	snprintf(hex, sizeof(hex), "%02x%02x%02x%02x", g_key[0], g_key[1], g_key[2], g_key[3]);
	CHECK(strstr(a, hex) == NULL);
}

static void test_first_run_and_continue(void)
{
	char path[600];
	state_path(path, sizeof(path));
	unlink(path);
	CHECK_EQ(mc_srtp_state_load(&g_st, g_dir, "out", g_key, 30), 0);
	CHECK_EQ(g_st.n_entries, 0);
	uint32_t ssrcs[2] = { 1111, 2222 };
	uint16_t seqs[2] = { 65000, 7 };
	struct mc_srtp_resume r[2];
	CHECK_EQ(mc_srtp_state_start(&g_st, ssrcs, seqs, 2, r), 0);
	/* new streams: ROC 0 at the random seq, SRTCP from 1; the first block is on disk */
	CHECK_EQ_U64(r[0].srtp_index, 65000);
	CHECK_EQ_U64(r[1].srtp_index, 7);
	CHECK_EQ(r[0].srtcp_index, 1);
	CHECK_EQ(g_st.writes, 1);
	CHECK_EQ(access(path, F_OK), 0);
	struct stat sb;
	CHECK(stat(path, &sb) == 0 && (sb.st_mode & 0777) == 0600);

	/* send 10000 packets on stream 0 in frames of 50: two more blocks get written, ahead of use */
	uint64_t used_max = 0;
	for (int f = 0; f < 200; f++) {
		uint64_t first = g_st.streams[0].rtp_next;
		CHECK_EQ(mc_srtp_state_use_rtp(&g_st, 0, 50), 0);
		used_max = first + 49;
		CHECK(used_max < g_st.streams[0].rtp_limit);
	}
	CHECK_EQ_U64(g_st.streams[0].rtp_next, 75000);
	CHECK_EQ(g_st.writes, 3);
	/* SRTCP: indexes 1..100 */
	for (uint32_t i = 1; i <= 100; i++)
		CHECK_EQ(mc_srtp_state_use_rtcp(&g_st, 0, i), 0);
	CHECK_EQ(mc_srtp_state_use_rtcp(&g_st, 0, 100), -EPROTO); /* not above the last one */
	CHECK_EQ(g_st.writes, 5); /* SRTCP blocks at index 1 (the first: none reserved at start) and 66 */

	/* "crash" here: a new run reads what is on disk and continues above everything used */
	uint64_t disk_limit = g_st.streams[0].rtp_limit;
	CHECK_EQ(mc_srtp_state_load(&g_st, g_dir, "out", g_key, 30), 0);
	CHECK_EQ(g_st.n_entries, 2);
	const struct mc_srtp_state_entry *e = mc_srtp_state_find(&g_st, 1111);
	CHECK(e != NULL);
	if (e) {
		CHECK_EQ_U64(e->srtp, disk_limit);
		CHECK(e->srtp > used_max);
		CHECK(e->srtp - used_max <= MC_SRTP_STATE_RTP_BLOCK + 50); /* far below 2^15: the ROC guess holds */
		CHECK(e->srtcp > 100);
	}
	CHECK(mc_srtp_state_find(&g_st, 3333) == NULL);
	seqs[0] = 1; /* ignored: the SSRC is known */
	CHECK_EQ(mc_srtp_state_start(&g_st, ssrcs, seqs, 2, r), 0);
	CHECK_EQ_U64(r[0].srtp_index, disk_limit);
	CHECK(r[0].srtp_index >> 16 == 1); /* ROC 1 after the wrap at 65536 */
	CHECK(r[0].srtcp_index > 100);
	CHECK_EQ_U64(r[1].srtp_index, 7 + MC_SRTP_STATE_RTP_BLOCK);
	CHECK_EQ(mc_srtp_state_use_rtcp(&g_st, 0, r[0].srtcp_index - 1), -EPROTO); /* below the resume point */
}

static void test_failed_write_consumes_nothing(void)
{
	char sub[300];
	snprintf(sub, sizeof(sub), "%s/ro", g_dir);
	mkdir(sub, 0700);
	CHECK_EQ(mc_srtp_state_load(&g_st, sub, "out", g_key, 30), 0);
	uint32_t ssrc = 5;
	uint16_t seq = 100;
	struct mc_srtp_resume r;
	CHECK_EQ(mc_srtp_state_start(&g_st, &ssrc, &seq, 1, &r), 0);
	CHECK_EQ(mc_srtp_state_use_rtp(&g_st, 0, MC_SRTP_STATE_RTP_BLOCK), 0); /* within the first block */
	uint64_t next = g_st.streams[0].rtp_next;
	/* the state directory gone (root would write a read-only one anyway): the next block cannot be written */
	char file[600];
	mc_srtp_state_path(file, sizeof(file), sub, "out", g_key, 30);
	CHECK_EQ(unlink(file), 0);
	CHECK_EQ(rmdir(sub), 0);
	CHECK_EQ(mc_srtp_state_use_rtp(&g_st, 0, 1), -ENOENT);
	CHECK_EQ_U64(g_st.streams[0].rtp_next, next); /* nothing consumed: the caller sends nothing */
	CHECK(strstr(g_st.err, sub) != NULL);
	CHECK(strstr(g_st.err, "cannot create it") != NULL);
	CHECK_EQ(mc_srtp_state_use_rtp(&g_st, 0, 1), -ENOENT); /* still not */
	CHECK_EQ(mc_srtp_state_use_rtcp(&g_st, 0, 1), -ENOENT);
	mkdir(sub, 0700);
	CHECK_EQ(mc_srtp_state_use_rtp(&g_st, 0, 1), 0);
	CHECK_EQ_U64(g_st.streams[0].rtp_next, next + 1);
	CHECK_EQ(mc_srtp_state_use_rtcp(&g_st, 0, 1), 0);
	CHECK_EQ(mc_srtp_state_load(&g_st, sub, "out", g_key, 30), 0);
	CHECK(mc_srtp_state_find(&g_st, 5) && mc_srtp_state_find(&g_st, 5)->srtp > next + 1);
}

/* Load must fail with -EBADMSG and an error naming the file and `what`. */
static void expect_bad(const char *text, const char *what)
{
	char path[600];
	state_path(path, sizeof(path));
	write_text(path, text);
	int rc = mc_srtp_state_load(&g_st, g_dir, "out", g_key, 30);
	CHECK_EQ(rc, -EBADMSG);
	CHECK(strstr(g_st.err, path) != NULL);
	CHECK(strstr(g_st.err, what) != NULL);
	CHECK_EQ(g_st.n_entries, 0);
	if (rc != -EBADMSG || !strstr(g_st.err, what))
		fprintf(stderr, "  for %s: rc=%d err=%s\n", what, rc, g_st.err);
}

static void test_corrupt_files(void)
{
	char path[600], good[4096], bad[8192];
	state_path(path, sizeof(path));
	unlink(path);
	CHECK_EQ(mc_srtp_state_load(&g_st, g_dir, "out", g_key, 30), 0);
	uint32_t ssrcs[3] = { 1, 2, 3 };
	uint16_t seqs[3] = { 10, 20, 30 };
	struct mc_srtp_resume r[3];
	CHECK_EQ(mc_srtp_state_start(&g_st, ssrcs, seqs, 3, r), 0);
	size_t len = read_text(path, good, sizeof(good));
	CHECK(len > 0);
	CHECK(strncmp(good, "mixcast-srtp-state 1 output=out key=", 36) == 0);
	CHECK(strstr(good, "\nssrc=2 srtp=4116 srtcp=1\n") != NULL); /* no SRTCP reserved before it is used */
	CHECK(strstr(good, "\nend entries=3 crc32=") != NULL);

	/* truncated anywhere: refused */
	for (size_t cut = 0; cut < len; cut += 7) {
		memcpy(bad, good, cut);
		bad[cut] = '\0';
		expect_bad(bad, cut == 0 ? "truncated or not" : "");
	}
	memcpy(bad, good, len - 1); /* the last newline missing */
	bad[len - 1] = '\0';
	expect_bad(bad, "truncated");
	/* one digit changed: the checksum catches it */
	snprintf(bad, sizeof(bad), "%s", good);
	char *d = strstr(bad, "srtp=4116");
	d[5] = '0';
	expect_bad(bad, "checksum mismatch");
	/* (a file rewritten with a lowered mark and a matching CRC would be believed: the CRC catches accidents,
	 * not someone who may write the state dir) */
	expect_bad("garbage\n", "not a mixcast SRTP state file");
	expect_bad("mixcast-srtp-state 1 output=other key=0000000000000000\nend entries=0 crc32=00000000\n",
		   "belongs to another output or key");
	snprintf(bad, sizeof(bad), "%.*sssrc=9 srtp=-1 srtcp=5\n%s", (int)(strchr(good, '\n') - good + 1), good,
		 strstr(good, "end"));
	expect_bad(bad, "expected 'ssrc=N srtp=N srtcp=N'");
	snprintf(bad, sizeof(bad), "%.*sssrc=9 srtp=281474976710656 srtcp=5\n", (int)(strchr(good, '\n') - good + 1), good);
	expect_bad(bad, "in range");
	snprintf(bad, sizeof(bad), "%sjunk\n", good);
	expect_bad(bad, "text after the 'end' line");
	/* another key reads another file: no entries, no error */
	CHECK_EQ(mc_srtp_state_load(&g_st, g_dir, "out", g_key2, 30), 0);
	CHECK_EQ(g_st.n_entries, 0);
	/* the good file again */
	write_text(path, good);
	CHECK_EQ(mc_srtp_state_load(&g_st, g_dir, "out", g_key, 30), 0);
	CHECK_EQ(g_st.n_entries, 3);
}

static void test_set_and_evict(void)
{
	char path[600];
	state_path(path, sizeof(path));
	unlink(path);
	CHECK_EQ(mc_srtp_state_load(&g_st, g_dir, "out", g_key, 30), 0);
	mc_srtp_state_set(&g_st, 7, 1000, 50);
	mc_srtp_state_set(&g_st, 7, 10, 5); /* never lowers */
	CHECK_EQ_U64(mc_srtp_state_find(&g_st, 7)->srtp, 1000);
	CHECK_EQ(mc_srtp_state_find(&g_st, 7)->srtcp, 50);
	for (uint32_t i = 0; i < MC_SRTP_STATE_MAX_ENTRIES; i++)
		mc_srtp_state_set(&g_st, 100 + i, i + 1, 1);
	CHECK_EQ(g_st.n_entries, MC_SRTP_STATE_MAX_ENTRIES);
	CHECK(mc_srtp_state_find(&g_st, 7) == NULL); /* the oldest went */
	CHECK(mc_srtp_state_find(&g_st, 100 + MC_SRTP_STATE_MAX_ENTRIES - 1) != NULL);
	CHECK_EQ(mc_srtp_state_save(&g_st), 0);
	CHECK_EQ(mc_srtp_state_load(&g_st, g_dir, "out", g_key, 30), 0);
	CHECK_EQ(g_st.n_entries, MC_SRTP_STATE_MAX_ENTRIES);
	CHECK_EQ_U64(mc_srtp_state_find(&g_st, 100 + 5)->srtp, 6);
	/* no temporary file left behind */
	char tmp[620];
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	CHECK(access(tmp, F_OK) != 0);
}

int main(void)
{
	snprintf(g_dir, sizeof(g_dir), "%s/mixcast-srtp-state-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (!mkdtemp(g_dir)) {
		perror("mkdtemp");
		return 1;
	}
	for (int i = 0; i < 30; i++) {
		g_key[i] = (uint8_t)(i * 5 + 3);
		g_key2[i] = (uint8_t)(i * 5 + 4);
	}
	RUN(test_path_and_fingerprint);
	RUN(test_first_run_and_continue);
	RUN(test_failed_write_consumes_nothing);
	RUN(test_corrupt_files);
	RUN(test_set_and_evict);
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", g_dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", g_dir);
	return check_done();
}
