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
#define MC_RID_MAX 16 /* the longest value of a one-byte RFC 8285 header extension */

#define MC_SOURCE_MAX_OPTS 16 /* keys in one source backend's option table */
enum mc_layout { MC_LAYOUT_GRID = 0, MC_LAYOUT_SINGLE, MC_LAYOUT_PIP, MC_LAYOUT_SIDE_BY_SIDE };
enum mc_corner { MC_CORNER_BOTTOM_RIGHT = 0, MC_CORNER_BOTTOM_LEFT, MC_CORNER_TOP_RIGHT, MC_CORNER_TOP_LEFT };
enum mc_codec { MC_CODEC_H264 = 0, MC_CODEC_VP8 };
/* MC_ENCODER_TRACK (per layer only): as the track's `encoder`. */
enum mc_encoder_choice {
	MC_ENCODER_AUTO = 0,
	MC_ENCODER_SOFTWARE,
	MC_ENCODER_OPENH264,
	MC_ENCODER_V4L2M2M,
	MC_ENCODER_VAAPI,
	MC_ENCODER_TRACK,
};
const char *mc_encoder_choice_name(enum mc_encoder_choice c);
/* A track's `scaler`: auto uses a device scaler for a layer whose encoder imports its buffers. */
enum mc_scaler_choice { MC_SCALER_AUTO = 0, MC_SCALER_SOFTWARE };
enum mc_output_type { MC_OUTPUT_NONE = 0, MC_OUTPUT_RTP };
enum mc_rtcp_mode {
	MC_RTCP_ON = 0, /* protected like RTP (SRTCP when SRTP is on) */
	MC_RTCP_PLAIN,  /* unencrypted even with SRTP: Janus's rtcpport takes plain RTCP */
	MC_RTCP_OFF,
};
enum mc_keyframe_on_pli {
	MC_KEYFRAME_ON_PLI_LAYER = 0, /* a PLI/FIR asks the layer whose SSRC it names (RFC 4585) */
	MC_KEYFRAME_ON_PLI_ALL,       /* every layer: Janus names substream 0's SSRC whichever a viewer watches */
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
	enum mc_encoder_choice encoder; /* from the track's layer_encoders; MC_ENCODER_TRACK: the track's */
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
	int n_layer_encoders, layer_encoders_line;
	enum mc_encoder_choice layer_encoders[MC_MAX_LAYERS]; /* copied into layers[] after the section */
	char encoder_device[MC_PATH_MAX]; /* v4l2m2m's node (e.g. /dev/video11); "": found by capability */
	enum mc_scaler_choice scaler;
	char scaler_device[MC_PATH_MAX];  /* the v4l2m2m scaler's node (the Pi 4's ISP: /dev/video12); "": probed */
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
	/* where this output reserves its SRTP indexes across restarts (src/net/srtp_state.h): [daemon] state_dir
	 * for an SRTP output, else empty */
	char state_dir[MC_PATH_MAX];
	/* RFC 8285 header extensions: ids 1..14 from the SFU's a=extmap lines, 0 = not sent */
	int ext_rid, ext_mid, ext_twcc;
	int n_rids, rids_line;
	char rids[MC_MAX_LAYERS][MC_RID_MAX + 1]; /* RFC 8852 RtpStreamId per layer, highest first */
	char mid[MC_RID_MAX + 1];
	bool pacing;        /* packets leave through the pacer (off: as soon as a frame is packetized) */
	int pacer_queue_ms; /* the pacer drops what waited longer */
	bool cc;            /* congestion control sets the layers' bitrates and pauses top layers */
	int min_bitrate;    /* the estimate never goes below (bit/s) */
	enum mc_keyframe_on_pli keyframe_on_pli;
	int keyframe_repeat_ms; /* a keyframe asked for by PLI/FIR is made once more this much later; 0: not */
	bool rtx;             /* NACKed packets go out as RFC 4588 RTX (else as they were) */
	int rtx_payload_type;
	int n_rtx_ssrcs, rtx_ssrcs_line;
	uint32_t rtx_ssrcs[MC_MAX_LAYERS];
};

#define MC_STATS_TOKEN_MIN 16
#define MC_STATS_TOKEN_MAX 128

struct mc_daemon_config {
	int log_level; /* enum mc_log_level */
	bool log_level_set;
	char stats_listen[64]; /* as written, for messages */
	uint32_t stats_addr;   /* stats_listen parsed at load: IPv4 address, network byte order */
	uint16_t stats_port;   /* and port; 0: no stats endpoint */
	int stats_listen_line;
	/* The bearer token every request to the stats endpoint must carry (stats_token, or read from
	 * stats_token_file at load); empty: none, allowed only on a loopback address. */
	char stats_token[MC_STATS_TOKEN_MAX + 1];
	char stats_token_file[MC_PATH_MAX];
	int stats_token_line, stats_token_file_line;
	/* SRTP index reservations (src/net/srtp_state.h); default: systemd's $STATE_DIRECTORY; empty: none */
	char state_dir[MC_PATH_MAX];
	int state_dir_line; /* 0: from $STATE_DIRECTORY */
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
/* "ADDR:PORT": a dotted IPv4 address and a port 1..65535, nothing else; addr in network byte order. */
int mc_parse_listen(const char *s, uint32_t *addr, uint16_t *port);
/* One of libx264's presets (x264.h: x264_preset_names). */
bool mc_x264_preset_valid(const char *s);
int mc_parse_layers(const char *s, struct mc_layer_config *layers, int *n, char *err, size_t errlen);
/* Decode a base64 SRTP key file's content; checks length against the suite. */
int mc_srtp_key_decode(const char *b64, enum mc_srtp_suite suite, uint8_t *key, size_t *len, char *err, size_t errlen);
size_t mc_srtp_suite_key_len(enum mc_srtp_suite suite);

#endif
