/* SRTP index reservations that survive restarts. With a static key, a restart that starts an SSRC's SRTP
 * index (ROC << 16 | seq) or SRTCP index again from where an earlier run already was reuses AES-CM keystream
 * (AEAD_AES_128_GCM: the nonce, which also breaks authentication). So every outbound stream's indexes are
 * reserved ahead of use in blocks, in a small file that is written, fsync'ed and renamed into place before
 * a packet with an index of the new block leaves; a restart continues at the reserved mark. The jump this
 * makes (at most a block plus a frame) stays far below 2^15, so a receiver that kept its SRTP context
 * guesses the right ROC from the sequence number (RFC 3711 §3.3.1) and goes on decrypting.
 *
 * One file per output and key: DIR/srtp-OUTPUT-FINGERPRINT.state, FINGERPRINT being the first 8 bytes of a
 * SHA-256 of the master key and salt (never the key). Text, one stream per line, sealed by a CRC-32:
 *
 *   mixcast-srtp-state 1 output=NAME key=FINGERPRINT
 *   ssrc=1111 srtp=123456 srtcp=130
 *   end entries=1 crc32=0123abcd
 *
 * srtp= is the first SRTP index not reserved (where a restart continues), srtcp= the same for SRTCP. A file
 * that does not parse is an error naming it and the line; it is never silently replaced (that would rewind).
 * Pure file and counting code: no sockets, no libsrtp2; one owner thread (the network thread). */
#ifndef MC_SRTP_STATE_H
#define MC_SRTP_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "srtp.h"

/* RTP packets reserved per write: at 300 packets/s a write every ~14 s, and a restart jumps < 4096 + a frame. */
#define MC_SRTP_STATE_RTP_BLOCK 4096
/* SRTCP: one packet per SSRC a second. A small block, because a restart must advance libsrtp2's SRTCP index
 * by protecting throwaway packets (see mc_srtp_create_outbound), which costs time per index. */
#define MC_SRTP_STATE_RTCP_BLOCK 64
/* Entries kept per file: random SSRCs add up to six a start (layers and RTX); the oldest go first. */
#define MC_SRTP_STATE_MAX_ENTRIES 256
/* Streams of one output: a layer's and, with rtx = on, the layer's RTX stream (its own SSRC and indexes) */
#define MC_SRTP_STATE_MAX_STREAMS (2 * MC_MAX_LAYERS)

struct mc_srtp_state_entry {
	uint32_t ssrc;
	uint64_t srtp;  /* first SRTP index not reserved (48 bits) */
	uint32_t srtcp; /* first SRTCP index not reserved (31 bits) */
};

/* A running stream: what it uses now and what the file reserves for it. */
struct mc_srtp_state_stream {
	uint32_t ssrc;
	uint64_t rtp_next, rtp_limit; /* next SRTP index; every index below rtp_limit is reserved on disk */
	uint32_t rtcp_limit;          /* every SRTCP index below it is reserved on disk */
	uint32_t rtcp_last;           /* the last SRTCP index used (each must be higher) */
};

struct mc_srtp_state {
	char path[MC_PATH_MAX + MC_NAME_MAX + 64];
	char output[MC_NAME_MAX];
	char fingerprint[17];
	int n_entries;
	struct mc_srtp_state_entry entries[MC_SRTP_STATE_MAX_ENTRIES]; /* oldest first */
	int n_streams;
	struct mc_srtp_state_stream streams[MC_SRTP_STATE_MAX_STREAMS];
	uint64_t writes; /* reservations written (stats, tests) */
	char err[MC_PATH_MAX + 200]; /* what the last failed call found, naming the file */
};

/* The file's path for an output and a key (the fingerprint is computed here). */
void mc_srtp_state_path(char *out, size_t cap, const char *dir, const char *output, const uint8_t *key, size_t key_len);

/* Sets *st up for `output` and `key` under `dir`, with no entries. */
void mc_srtp_state_init(struct mc_srtp_state *st, const char *dir, const char *output, const uint8_t *key,
			size_t key_len);
/* Parses a state file's text into st's entries (after mc_srtp_state_init); 0 or -EBADMSG (st->err names the
 * file and line). The fuzz target's entry point. */
int mc_srtp_state_parse(struct mc_srtp_state *st, const char *data, size_t len);
/* Reads the file of `output` and `key` under `dir` into *st (no file yet: no entries). 0, or -errno with
 * st->err set: -EBADMSG for a file that does not parse (corrupt, truncated, another output's or key's),
 * else the error of open/read. */
int mc_srtp_state_load(struct mc_srtp_state *st, const char *dir, const char *output, const uint8_t *key,
		       size_t key_len);
const struct mc_srtp_state_entry *mc_srtp_state_find(const struct mc_srtp_state *st, uint32_t ssrc);
/* Raises the marks of `ssrc` (never lowers them); a new SSRC is appended, evicting the oldest when full. */
void mc_srtp_state_set(struct mc_srtp_state *st, uint32_t ssrc, uint64_t srtp, uint32_t srtcp);
/* Writes every entry: a temporary file, fsync, rename over the file, fsync of the directory. 0 or -errno
 * (st->err set). */
int mc_srtp_state_save(struct mc_srtp_state *st);

/* After mc_srtp_state_load: starts the streams of this run. For stream i, `seqs[i]` is the random first
 * sequence number to use when the file knows nothing of ssrcs[i]; otherwise it continues at the marks.
 * Fills resume[i] (where libsrtp2 must continue) and writes the first block of every stream. 0 or -errno. */
int mc_srtp_state_start(struct mc_srtp_state *st, const uint32_t *ssrcs, const uint16_t *seqs, int n,
			struct mc_srtp_resume *resume);
/* Before `n` RTP packets of stream i leave (indexes rtp_next .. rtp_next + n - 1): reserves a new block when
 * they are not all reserved yet. 0: send them (rtp_next has moved on by n); -errno: the reservation could not
 * be written, nothing was consumed, send none of them (st->err says why). */
int mc_srtp_state_use_rtp(struct mc_srtp_state *st, int i, unsigned n);
/* Before an SRTCP packet of stream i with `index` (read from the protected packet) leaves. 0 or -errno
 * (-EPROTO: the index is not above the last one used, so libsrtp2 did not continue where it should). */
int mc_srtp_state_use_rtcp(struct mc_srtp_state *st, int i, uint32_t index);

#endif
