/* Configuration: the INI file parsed once (with inih) into an immutable struct through one key table.
 * Every error names the file, the line and the key. Runtime state lives elsewhere. */
#ifndef MC_CONFIG_H
#define MC_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MC_MAX_LAYERS 3
#define MC_MAX_SOURCES 8
#define MC_MAX_TRACKS 4
#define MC_MAX_OUTPUTS 4
#define MC_MAX_MIXES 4
#define MC_MIX_MAX_INPUTS 4
#define MC_NAME_MAX 48
#define MC_PATH_MAX 512
#define MC_SRTP_KEY_MAX 46

#define MC_SOURCE_MAX_OPTS 16 /* keys in one source backend's option table */
enum mc_layout { MC_LAYOUT_GRID = 0, MC_LAYOUT_SINGLE, MC_LAYOUT_PIP, MC_LAYOUT_SIDE_BY_SIDE };
enum mc_corner { MC_CORNER_BOTTOM_RIGHT = 0, MC_CORNER_BOTTOM_LEFT, MC_CORNER_TOP_RIGHT, MC_CORNER_TOP_LEFT };
enum mc_codec { MC_CODEC_H264 = 0, MC_CODEC_VP8 };
enum mc_encoder_choice { MC_ENCODER_AUTO = 0, MC_ENCODER_SOFTWARE };
enum mc_output_type { MC_OUTPUT_NONE = 0, MC_OUTPUT_RTP };
enum mc_rtcp_mode {
	MC_RTCP_ON = 0, /* protected like RTP (SRTCP when SRTP is on) */
	MC_RTCP_PLAIN,  /* unencrypted even with SRTP: Janus's rtcpport takes plain RTCP */
	MC_RTCP_OFF,
};
enum mc_srtp_suite {
	MC_SRTP_NONE = 0,
	MC_SRTP_AES_CM_128_HMAC_SHA1_80,
	MC_SRTP_AES_CM_128_HMAC_SHA1_32,
	MC_SRTP_AEAD_AES_128_GCM,
};

struct mc_layer_config {
	int width, height, fps;
	int bitrate; /* bit/s */
};

struct mc_source_ops;

/* The generic keys (type, size, fps) are parsed here; every other key of a source section belongs to its
 * backend, which declares it in the option table of its mc_source_ops and finds it in `opts`. */
struct mc_source_config {
	char name[MC_NAME_MAX];
	int line;
	const char *file;                   /* the configuration's file name, for messages at run time */
	const struct mc_source_ops *backend; /* named by `type` */
	int width, height, fps;
	int size_line, fps_line;            /* 0: not set (the defaults) */
	int consumers;                      /* tracks and mixes that take this source: sizes a camera's buffer pool */
	void *opts;                         /* the backend's keys (backend->options_size), defaults filled in */
	int opt_line[MC_SOURCE_MAX_OPTS];   /* line of each key of backend->options, 0: not set */
};

/* [mix.NAME]: N inputs (sources or other mixes) composed into one picture at the mix's own rate. */
struct mc_mix_config {
	char name[MC_NAME_MAX];
	int line;
	int n_inputs;
	char inputs[MC_MIX_MAX_INPUTS][MC_NAME_MAX]; /* sources or mixes, in layout order */
	int inputs_line;
	int width, height, fps;
	enum mc_layout layout;
	enum mc_corner pip_position; /* pip: the corner of the small picture */
	double pip_size;             /* pip: the small picture's width, a fraction of the mix's width */
	int margin;                  /* pixels: pip's distance from the edges; the gaps of the other layouts */
};

struct mc_track_config {
	char name[MC_NAME_MAX];
	int line;
	char input[MC_NAME_MAX];
	int input_line;
	enum mc_codec codec;
	enum mc_encoder_choice encoder;
	int n_layers;
	struct mc_layer_config layers[MC_MAX_LAYERS]; /* highest first */
	double keyframe_interval;                      /* seconds */
	char preset[24];
	int threads;
	bool skip_unchanged; /* a frame equal to the previous one is not encoded (static screens) */
};

struct mc_output_config {
	char name[MC_NAME_MAX];
	int line;
	enum mc_output_type type;
	char track[MC_NAME_MAX];
	int track_line, ports_line, ssrcs_line;
	char host[64];
	int n_ports;                      /* 1 with `port`, else one per layer */
	bool single_port;                 /* `port`: every layer to ports[0], told apart by SSRC */
	uint16_t ports[MC_MAX_LAYERS];    /* highest layer first */
	uint16_t local_port;
	char srtp_key_file[MC_PATH_MAX];
	int srtp_key_file_line;
	enum mc_srtp_suite srtp_suite;
	uint8_t srtp_key[MC_SRTP_KEY_MAX]; /* master key + salt, never logged */
	size_t srtp_key_len;
	int payload_type;
	int mtu;
	int n_ssrcs;
	uint32_t ssrcs[MC_MAX_LAYERS];
	char cname[64];
	uint16_t rtcp_port;
	bool rtcp_mux;
	enum mc_rtcp_mode rtcp;
};

struct mc_daemon_config {
	int log_level; /* enum mc_log_level */
	bool log_level_set;
	char stats_listen[64];
};

struct mc_config {
	char path[MC_PATH_MAX];
	struct mc_daemon_config daemon;
	int n_sources, n_tracks, n_outputs, n_mixes;
	struct mc_source_config sources[MC_MAX_SOURCES];
	struct mc_mix_config mixes[MC_MAX_MIXES];
	struct mc_track_config tracks[MC_MAX_TRACKS];
	struct mc_output_config outputs[MC_MAX_OUTPUTS];
};

/* Load and validate `path`. Every problem is logged as "FILE:LINE: [section] key: what". Returns 0, or
 * -EINVAL (invalid; *n_errors set), or -errno when the file cannot be read. *cfg is heap-allocated; free
 * it with mc_config_free() (which wipes the keys). */
int mc_config_load(const char *path, struct mc_config **cfg, int *n_errors);
/* Same, from a buffer (fuzzing, unit tests); `name` is used in messages; key files are still read. */
int mc_config_load_buffer(const char *name, const char *data, size_t len, struct mc_config **cfg, int *n_errors);
void mc_config_free(struct mc_config *cfg);

const struct mc_source_config *mc_config_find_source(const struct mc_config *cfg, const char *name);
const struct mc_track_config *mc_config_find_track(const struct mc_config *cfg, const char *name);
const struct mc_mix_config *mc_config_find_mix(const struct mc_config *cfg, const char *name);
/* Whether a track, or a mix that is used itself, takes `name` (a source or a mix) as its input. */
bool mc_config_input_used(const struct mc_config *cfg, const char *name);
/* The backend key `key` of a source: its value's address in s->opts (NULL: the backend has no such key)
 * and the line it was set on (0: the default). For messages at run time that name file, line and key. */
const void *mc_source_opt(const struct mc_source_config *s, const char *key, int *line);

/* Parsers shared with tools and tests. */
int mc_parse_size(const char *s, int *w, int *h);
int mc_parse_bitrate(const char *s, int *bps);
int mc_parse_layers(const char *s, struct mc_layer_config *layers, int *n, char *err, size_t errlen);
/* Decode a base64 SRTP key file's content; checks length against the suite. */
int mc_srtp_key_decode(const char *b64, enum mc_srtp_suite suite, uint8_t *key, size_t *len, char *err, size_t errlen);
size_t mc_srtp_suite_key_len(enum mc_srtp_suite suite);

#endif
