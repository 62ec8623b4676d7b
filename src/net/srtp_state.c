#include "srtp_state.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libavutil/crc.h>
#include <libavutil/mem.h>
#include <libavutil/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAGIC "mixcast-srtp-state 1"
#define RTP_INDEX_MAX ((1ull << 48) - 1)
#define RTCP_INDEX_MAX 0x7fffffffu
#define FILE_MAX (64 + 80 + MC_SRTP_STATE_MAX_ENTRIES * 64)

static void fingerprint(char out[17], const uint8_t *key, size_t key_len)
{
	/* Over the key bytes only, not the suite: AES_CM_128_HMAC_SHA1_80 and _32 derive the same session
	 * keys from the same master key, so they share one index space. A domain prefix keeps the hash of the
	 * key from being a hash used anywhere else. */
	static const char domain[] = "mixcast SRTP state v1";
	uint8_t digest[32];
	struct AVSHA *sha = av_sha_alloc();
	if (!sha) {
		snprintf(out, 17, "0000000000000000");
		return;
	}
	av_sha_init(sha, 256);
	av_sha_update(sha, (const uint8_t *)domain, sizeof(domain) - 1);
	av_sha_update(sha, key, (unsigned)key_len);
	av_sha_final(sha, digest);
	explicit_bzero(sha, av_sha_size);
	av_free(sha);
	for (int i = 0; i < 8; i++)
		snprintf(out + 2 * i, 3, "%02x", digest[i]);
	explicit_bzero(digest, sizeof(digest));
}

void mc_srtp_state_path(char *out, size_t cap, const char *dir, const char *output, const uint8_t *key, size_t key_len)
{
	char fp[17];
	fingerprint(fp, key, key_len);
	snprintf(out, cap, "%s/srtp-%s-%s.state", dir, output, fp);
}

static uint32_t crc32_of(const char *data, size_t len)
{
	return av_crc(av_crc_get_table(AV_CRC_32_IEEE_LE), UINT32_MAX, (const uint8_t *)data, len) ^ UINT32_MAX;
}

/* One line of [p, end) into line[] (without '\n'); returns the next line's start, or NULL at a line without
 * '\n' (a truncated file) or one too long. */
static const char *next_line(const char *p, const char *end, char *line, size_t cap)
{
	const char *nl = memchr(p, '\n', (size_t)(end - p));
	if (!nl || (size_t)(nl - p) >= cap)
		return NULL;
	memcpy(line, p, (size_t)(nl - p));
	line[nl - p] = '\0';
	return nl + 1;
}

/* "NAME=DIGITS" at *p (base 10 or 16, no sign, at most `max`): advances *p past it. */
static bool field(const char **p, const char *name, int base, uint64_t max, uint64_t *out)
{
	size_t l = strlen(name);
	if (strncmp(*p, name, l) != 0)
		return false;
	const char *d = *p + l;
	if (!isxdigit((unsigned char)*d) || (base == 10 && !isdigit((unsigned char)*d)))
		return false;
	char *end;
	errno = 0;
	unsigned long long v = strtoull(d, &end, base);
	if (errno || v > max)
		return false;
	*out = v;
	*p = end;
	return true;
}

static int parse(struct mc_srtp_state *st, const char *data, size_t len)
{
	const char *p = data, *end = data + len;
	char line[160];
	int lineno = 1;
#define BAD(...)                                                                                       \
	do {                                                                                           \
		int n_ = snprintf(st->err, sizeof(st->err), "%s:%d: ", st->path, lineno);              \
		snprintf(st->err + n_, sizeof(st->err) - (size_t)n_, __VA_ARGS__);                     \
		return -EBADMSG;                                                                       \
	} while (0)
	if (!(p = next_line(p, end, line, sizeof(line))))
		BAD("truncated or not a mixcast SRTP state file");
	char want[160];
	snprintf(want, sizeof(want), MAGIC " output=%s key=%s", st->output, st->fingerprint);
	if (strncmp(line, MAGIC " ", strlen(MAGIC) + 1) != 0)
		BAD("not a mixcast SRTP state file (expected '" MAGIC " ...')");
	if (strcmp(line, want) != 0)
		BAD("belongs to another output or key (expected '%s')", want);
	for (;;) {
		lineno++;
		const char *start = p;
		if (!(p = next_line(p, end, line, sizeof(line))))
			BAD("truncated (no 'end' line)");
		uint64_t ssrc, srtp, srtcp, count, crc;
		const char *q = line;
		if (field(&q, "end entries=", 10, MC_SRTP_STATE_MAX_ENTRIES, &count) && field(&q, " crc32=", 16, UINT32_MAX, &crc) &&
		    !*q) {
			if (count != (uint64_t)st->n_entries)
				BAD("says %u entries, has %d", (unsigned)count, st->n_entries);
			if (crc != crc32_of(data, (size_t)(start - data)))
				BAD("checksum mismatch: the file is corrupt");
			if (p != end)
				BAD("text after the 'end' line");
			return 0;
		}
		q = line;
		if (!field(&q, "ssrc=", 10, UINT32_MAX, &ssrc) || !field(&q, " srtp=", 10, RTP_INDEX_MAX, &srtp) ||
		    !field(&q, " srtcp=", 10, RTCP_INDEX_MAX, &srtcp) || *q || srtcp == 0)
			BAD("expected 'ssrc=N srtp=N srtcp=N' (in range) or 'end ...', got '%.60s'", line);
		if (mc_srtp_state_find(st, (uint32_t)ssrc))
			BAD("SSRC %u twice", (unsigned)ssrc);
		if (st->n_entries == MC_SRTP_STATE_MAX_ENTRIES)
			BAD("more than %d entries", MC_SRTP_STATE_MAX_ENTRIES);
		st->entries[st->n_entries++] = (struct mc_srtp_state_entry){ (uint32_t)ssrc, srtp, (uint32_t)srtcp };
	}
#undef BAD
}

void mc_srtp_state_init(struct mc_srtp_state *st, const char *dir, const char *output, const uint8_t *key,
			size_t key_len)
{
	memset(st, 0, sizeof(*st));
	snprintf(st->output, sizeof(st->output), "%s", output);
	fingerprint(st->fingerprint, key, key_len);
	snprintf(st->path, sizeof(st->path), "%s/srtp-%s-%s.state", dir, output, st->fingerprint);
}

int mc_srtp_state_parse(struct mc_srtp_state *st, const char *data, size_t len)
{
	st->n_entries = 0;
	int rc = parse(st, data, len);
	if (rc)
		st->n_entries = 0;
	return rc;
}

int mc_srtp_state_load(struct mc_srtp_state *st, const char *dir, const char *output, const uint8_t *key,
		       size_t key_len)
{
	mc_srtp_state_init(st, dir, output, key, key_len);
	int fd = open(st->path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		if (errno == ENOENT)
			return 0; /* the first run with this output and key */
		int e = errno;
		snprintf(st->err, sizeof(st->err), "%s: cannot open: %s", st->path, strerror(e));
		return -e;
	}
	char *data = malloc(FILE_MAX + 1);
	ssize_t got = data ? read(fd, data, FILE_MAX + 1) : -1;
	int e = errno;
	close(fd);
	int rc;
	if (!data) {
		rc = -ENOMEM;
		snprintf(st->err, sizeof(st->err), "%s: out of memory", st->path);
	} else if (got < 0) {
		rc = -e;
		snprintf(st->err, sizeof(st->err), "%s: cannot read: %s", st->path, strerror(e));
	} else if (got > FILE_MAX) {
		rc = -EBADMSG;
		snprintf(st->err, sizeof(st->err), "%s: larger than %d bytes: not a mixcast SRTP state file", st->path,
			 FILE_MAX);
	} else {
		rc = mc_srtp_state_parse(st, data, (size_t)got);
	}
	free(data);
	return rc;
}

const struct mc_srtp_state_entry *mc_srtp_state_find(const struct mc_srtp_state *st, uint32_t ssrc)
{
	for (int i = 0; i < st->n_entries; i++)
		if (st->entries[i].ssrc == ssrc)
			return &st->entries[i];
	return NULL;
}

void mc_srtp_state_set(struct mc_srtp_state *st, uint32_t ssrc, uint64_t srtp, uint32_t srtcp)
{
	struct mc_srtp_state_entry *e = (struct mc_srtp_state_entry *)mc_srtp_state_find(st, ssrc);
	if (!e) {
		if (st->n_entries == MC_SRTP_STATE_MAX_ENTRIES) {
			/* the oldest entry: a random SSRC of a long-gone run (the running ones are the newest) */
			memmove(&st->entries[0], &st->entries[1], sizeof(st->entries[0]) * (MC_SRTP_STATE_MAX_ENTRIES - 1));
			st->n_entries--;
		}
		e = &st->entries[st->n_entries++];
		*e = (struct mc_srtp_state_entry){ .ssrc = ssrc };
	}
	if (srtp > e->srtp)
		e->srtp = srtp;
	if (srtcp > e->srtcp)
		e->srtcp = srtcp;
}

int mc_srtp_state_save(struct mc_srtp_state *st)
{
	char *text = malloc(FILE_MAX);
	if (!text) {
		snprintf(st->err, sizeof(st->err), "%s: out of memory", st->path);
		return -ENOMEM;
	}
	size_t len = (size_t)snprintf(text, FILE_MAX, MAGIC " output=%s key=%s\n", st->output, st->fingerprint);
	for (int i = 0; i < st->n_entries; i++) {
		const struct mc_srtp_state_entry *e = &st->entries[i];
		len += (size_t)snprintf(text + len, FILE_MAX - len, "ssrc=%" PRIu32 " srtp=%" PRIu64 " srtcp=%" PRIu32 "\n",
					e->ssrc, e->srtp, e->srtcp);
	}
	uint32_t crc = crc32_of(text, len);
	len += (size_t)snprintf(text + len, FILE_MAX - len, "end entries=%d crc32=%08" PRIx32 "\n", st->n_entries, crc);

	char tmp[sizeof(st->path) + 8], dir[sizeof(st->path)];
	snprintf(tmp, sizeof(tmp), "%s.tmp", st->path);
	snprintf(dir, sizeof(dir), "%s", st->path);
	char *slash = strrchr(dir, '/');
	if (slash)
		*(slash == dir ? slash + 1 : slash) = '\0';
	else
		snprintf(dir, sizeof(dir), ".");
	const char *what = "create";
	int rc = 0;
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		goto fail;
	what = "write";
	for (size_t off = 0; off < len;) {
		ssize_t w = write(fd, text + off, len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			if (w == 0)
				errno = EIO;
			goto fail;
		}
		off += (size_t)w;
	}
	/* data on disk before the name points at it, and the name on disk before a packet uses the block */
	what = "fsync";
	if (fsync(fd) < 0)
		goto fail;
	what = "close";
	if (close(fd) < 0) {
		fd = -1;
		goto fail;
	}
	fd = -1;
	what = "rename";
	if (rename(tmp, st->path) < 0)
		goto fail;
	what = "fsync the directory of";
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0 || fsync(dfd) < 0) {
		int e = errno;
		if (dfd >= 0)
			close(dfd);
		errno = e;
		goto fail;
	}
	close(dfd);
	st->writes++;
	free(text);
	return 0;
fail:
	rc = -errno;
	snprintf(st->err, sizeof(st->err), "%s: cannot %s it: %s", st->path, what, strerror(errno));
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	free(text);
	return rc;
}

int mc_srtp_state_start(struct mc_srtp_state *st, const uint32_t *ssrcs, const uint16_t *seqs, int n,
			struct mc_srtp_resume *resume)
{
	if (n < 0 || n > MC_SRTP_STATE_MAX_STREAMS) {
		snprintf(st->err, sizeof(st->err), "%s: %d streams (at most %d)", st->path, n, MC_SRTP_STATE_MAX_STREAMS);
		return -EINVAL;
	}
	st->n_streams = n;
	for (int i = 0; i < n; i++) {
		struct mc_srtp_state_stream *s = &st->streams[i];
		const struct mc_srtp_state_entry *e = mc_srtp_state_find(st, ssrcs[i]);
		s->ssrc = ssrcs[i];
		/* New: ROC 0 and the random sequence number. Known: continue at the marks, above every index an
		 * earlier run may have used. SRTCP indexes start at 1 (libsrtp2 counts up before it uses one). */
		s->rtp_next = e ? e->srtp : seqs[i];
		uint32_t rtcp_next = e ? e->srtcp : 1;
		if (s->rtp_next + MC_SRTP_STATE_RTP_BLOCK > RTP_INDEX_MAX ||
		    rtcp_next + MC_SRTP_STATE_RTCP_BLOCK > RTCP_INDEX_MAX) {
			snprintf(st->err, sizeof(st->err), "%s: SSRC %u has used up its SRTP or SRTCP indexes under this key: "
				 "change the key", st->path, s->ssrc);
			return -ERANGE;
		}
		/* RTP: the first block now. SRTCP: at its first packet, so that a run that sends no SRTCP (rtcp =
		 * plain or off) leaves the mark alone: every index above 1 costs the next start a skip. */
		s->rtp_limit = s->rtp_next + MC_SRTP_STATE_RTP_BLOCK;
		s->rtcp_limit = rtcp_next;
		s->rtcp_last = rtcp_next - 1;
		resume[i] = (struct mc_srtp_resume){ .ssrc = s->ssrc, .srtp_index = s->rtp_next, .srtcp_index = rtcp_next };
		mc_srtp_state_set(st, s->ssrc, s->rtp_limit, s->rtcp_limit);
	}
	return mc_srtp_state_save(st);
}

int mc_srtp_state_use_rtp(struct mc_srtp_state *st, int i, unsigned n)
{
	struct mc_srtp_state_stream *s = &st->streams[i];
	if (s->rtp_next + n > s->rtp_limit) {
		uint64_t limit = s->rtp_next + n + MC_SRTP_STATE_RTP_BLOCK;
		if (limit > RTP_INDEX_MAX) {
			snprintf(st->err, sizeof(st->err), "%s: SSRC %u: SRTP indexes used up under this key", st->path, s->ssrc);
			return -ERANGE;
		}
		mc_srtp_state_set(st, s->ssrc, limit, s->rtcp_limit);
		int rc = mc_srtp_state_save(st);
		if (rc)
			return rc;
		s->rtp_limit = limit;
	}
	s->rtp_next += n;
	return 0;
}

int mc_srtp_state_use_rtcp(struct mc_srtp_state *st, int i, uint32_t index)
{
	struct mc_srtp_state_stream *s = &st->streams[i];
	if (index <= s->rtcp_last) {
		snprintf(st->err, sizeof(st->err), "%s: SSRC %u: SRTCP index %u is not above %u, the last one used",
			 st->path, s->ssrc, index, s->rtcp_last);
		return -EPROTO;
	}
	if (index >= s->rtcp_limit) {
		uint64_t limit = (uint64_t)index + 1 + MC_SRTP_STATE_RTCP_BLOCK;
		if (limit > RTCP_INDEX_MAX) {
			snprintf(st->err, sizeof(st->err), "%s: SSRC %u: SRTCP indexes used up under this key", st->path, s->ssrc);
			return -ERANGE;
		}
		mc_srtp_state_set(st, s->ssrc, s->rtp_limit, (uint32_t)limit);
		int rc = mc_srtp_state_save(st);
		if (rc)
			return rc;
		s->rtcp_limit = (uint32_t)limit;
	}
	s->rtcp_last = index;
	return 0;
}
