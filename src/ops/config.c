#include "config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <ini.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "registry.h"
#include "source.h"

#define MOD "config"

enum section_kind { SEC_NONE = 0, SEC_DAEMON, SEC_SOURCE, SEC_TRACK, SEC_OUTPUT, SEC_MIX };

struct key {
	enum section_kind section;
	struct mc_option o;
};

#define p_string mc_opt_string
#define p_name mc_opt_name
#define p_int mc_opt_int
#define p_bool mc_opt_bool
#define p_size mc_opt_size

/* ---- value parsers ------------------------------------------------------------------------------- */

static const char *skip_space(const char *s)
{
	while (isspace((unsigned char)*s))
		s++;
	return s;
}

/* A list item without the spaces around it (cut in place). */
static char *trim(char *s)
{
	s = (char *)skip_space(s);
	char *e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

/* A comma-separated value cut into its items, each trimmed, in `buf` (of `cap` bytes): empty items are
 * skipped (strtok). At most max + 1 items are kept, so that a caller that finds item max there can say "at
 * most max" at the item where its own checks would have stopped. The count, or -E2BIG when v does not fit. */
static int split_list(const char *v, char *buf, size_t cap, char **items, int max)
{
	if (strlen(v) >= cap)
		return -E2BIG;
	strcpy(buf, v);
	int c = 0;
	char *save = NULL;
	for (char *tok = strtok_r(buf, ",", &save); tok && c <= max; tok = strtok_r(NULL, ",", &save))
		items[c++] = trim(tok);
	return c;
}

static int parse_long(const char *s, long *out)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || end == s || *skip_space(end))
		return -EINVAL;
	*out = v;
	return 0;
}

static int p_port(const struct mc_option *k, const char *v, void *field, char *err, size_t n)
{
	long x;
	if (parse_long(v, &x) || x < k->min || x > 65535) {
		snprintf(err, n, "expected a UDP port from %ld to 65535, got '%s'", k->min, v);
		return -EINVAL;
	}
	*(uint16_t *)field = (uint16_t)x;
	return 0;
}

/* A decimal number from lo to hi, nothing after it. */
static bool parse_double_in(const char *v, double lo, double hi, double *x)
{
	char *end;
	errno = 0;
	*x = strtod(v, &end);
	return !errno && end != v && !*skip_space(end) && *x >= lo && *x <= hi;
}

static int p_seconds(const struct mc_option *k, const char *v, void *field, char *err, size_t n)
{
	double x;
	if (!parse_double_in(v, 0.1, 60.0, &x)) {
		snprintf(err, n, "expected seconds from 0.1 to 60, got '%s'", v);
		return -EINVAL;
	}
	*(double *)field = x;
	return 0;
}

static int p_fraction(const struct mc_option *k, const char *v, void *field, char *err, size_t n)
{
	double x;
	if (!parse_double_in(v, 0.05, 0.9, &x)) {
		snprintf(err, n, "expected a fraction of the width from 0.05 to 0.9, got '%s'", v);
		return -EINVAL;
	}
	*(double *)field = x;
	return 0;
}

static int p_host(const struct mc_option *k, const char *v, void *field, char *err, size_t n)
{
	struct in_addr a;
	if (inet_pton(AF_INET, v, &a) != 1) {
		snprintf(err, n, "expected an IPv4 address, got '%s'", v);
		return -EINVAL;
	}
	return p_string(k, v, field, err, n);
}

/* Enumerations through the option parser's choice list, stored in the field's own enum type. */
#define ENUM_PARSER(fn, type, ...)                                                            \
	static int fn(const struct mc_option *k, const char *v, void *field, char *err, size_t n) \
	{                                                                                     \
		static const struct mc_option_choice names[] = { __VA_ARGS__, { NULL, 0 } }; \
		const struct mc_option o = { .choices = names };                              \
		int x;                                                                        \
		if (mc_opt_choice(&o, v, &x, err, n))                                         \
			return -EINVAL;                                                       \
		*(type *)field = (type)x;                                                     \
		return 0;                                                                     \
	}

ENUM_PARSER(p_log_level, int, { "error", MC_LOG_ERROR }, { "warn", MC_LOG_WARN }, { "info", MC_LOG_INFO },
	    { "debug", MC_LOG_DEBUG })
ENUM_PARSER(p_codec, enum mc_codec, { "h264", MC_CODEC_H264 }, { "vp8", MC_CODEC_VP8 })
#define ENCODER_NAMES                                                                              \
	{ "auto", MC_ENCODER_AUTO }, { "software", MC_ENCODER_SOFTWARE }, { "openh264", MC_ENCODER_OPENH264 }, \
		{ "v4l2m2m", MC_ENCODER_V4L2M2M }, { "vaapi", MC_ENCODER_VAAPI }
ENUM_PARSER(p_encoder, enum mc_encoder_choice, ENCODER_NAMES)
ENUM_PARSER(p_scaler, enum mc_scaler_choice, { "auto", MC_SCALER_AUTO }, { "software", MC_SCALER_SOFTWARE })

const char *mc_encoder_choice_name(enum mc_encoder_choice c)
{
	static const struct mc_option_choice names[] = { ENCODER_NAMES, { "track", MC_ENCODER_TRACK }, { NULL, 0 } };
	for (const struct mc_option_choice *e = names; e->name; e++)
		if ((int)c == e->value)
			return e->name;
	return "?";
}

/* threads = auto (-1: mixcast picks per layer, src/media/encoder.c) | 0 (the encoder library picks) | 1..16 */
static int p_threads(const struct mc_option *k, const char *v, void *field, char *err, size_t n)
{
	if (strcmp(v, "auto") == 0) {
		*(int *)field = -1;
		return 0;
	}
	char *end;
	errno = 0;
	long x = strtol(v, &end, 10);
	if (errno || end == v || *skip_space(end) || x < 0 || x > 16) {
		snprintf(err, n, "expected auto or an integer from 0 to 16, got '%s'", v);
		return -EINVAL;
	}
	*(int *)field = (int)x;
	return 0;
}

/* layer_encoders = vaapi, software: one per layer, highest first; "track" (or a missing tail) keeps the
 * track's encoder for that layer. */
static int p_layer_encoders(const struct mc_option *k, const char *v, void *field, char *err, size_t n)
{
	struct mc_track_config *t =
		(struct mc_track_config *)((char *)field - offsetof(struct mc_track_config, layer_encoders));
	static const struct mc_option_choice names[] = { ENCODER_NAMES, { "track", MC_ENCODER_TRACK }, { NULL, 0 } };
	char buf[160], *items[MC_MAX_LAYERS + 1];
	int c = split_list(v, buf, sizeof(buf), items, MC_MAX_LAYERS);
	if (c < 0) {
		snprintf(err, n, "too long");
		return -EINVAL;
	}
	for (int i = 0; i < c; i++) {
		int x;
		if (i == MC_MAX_LAYERS) {
			snprintf(err, n, "at most %d encoders (one per layer), got '%s'", MC_MAX_LAYERS, v);
			return -EINVAL;
		}
		const struct mc_option o = { .choices = names };
		if (mc_opt_choice(&o, items[i], &x, err, n))
			return -EINVAL;
		t->layer_encoders[i] = (enum mc_encoder_choice)x;
	}
	if (!c) {
		snprintf(err, n, "expected encoders separated by commas, got '%s'", v);
		return -EINVAL;
	}
	t->n_layer_encoders = c;
	return 0;
}
ENUM_PARSER(p_rtcp_mode, enum mc_rtcp_mode, { "on", MC_RTCP_ON }, { "plain", MC_RTCP_PLAIN }, { "off", MC_RTCP_OFF })
ENUM_PARSER(p_keyframe_on_pli, enum mc_keyframe_on_pli, { "layer", MC_KEYFRAME_ON_PLI_LAYER },
	    { "all", MC_KEYFRAME_ON_PLI_ALL })
ENUM_PARSER(p_layout, enum mc_layout, { "single", MC_LAYOUT_SINGLE }, { "pip", MC_LAYOUT_PIP },
	    { "side-by-side", MC_LAYOUT_SIDE_BY_SIDE }, { "grid", MC_LAYOUT_GRID })
ENUM_PARSER(p_corner, enum mc_corner, { "bottom-right", MC_CORNER_BOTTOM_RIGHT },
	    { "bottom-left", MC_CORNER_BOTTOM_LEFT }, { "top-right", MC_CORNER_TOP_RIGHT }, { "top-left", MC_CORNER_TOP_LEFT })
ENUM_PARSER(p_output_type, enum mc_output_type, { "rtp", MC_OUTPUT_RTP })
ENUM_PARSER(p_srtp_suite, enum mc_srtp_suite, { "AES_CM_128_HMAC_SHA1_80", MC_SRTP_AES_CM_128_HMAC_SHA1_80 },
	    { "AES_CM_128_HMAC_SHA1_32", MC_SRTP_AES_CM_128_HMAC_SHA1_32 },
	    { "AEAD_AES_128_GCM", MC_SRTP_AEAD_AES_128_GCM })

/* `type` names a backend of the registry; the list in the message is what this build has. */
static int p_source_type(const struct mc_option *k, const char *v, void *field, char *err, size_t n)
{
	const struct mc_source_ops *ops = mc_registry_find_source(v);
	if (ops) {
		*(const struct mc_source_ops **)field = ops;
		return 0;
	}
	char list[160] = "";
	for (size_t i = 0; mc_source_backends[i]; i++) {
		size_t l = strlen(list);
		snprintf(list + l, sizeof(list) - l, "%s%s", l ? ", " : "", mc_source_backends[i]->name);
	}
	snprintf(err, n, "expected one of %s, got '%s'", list, v);
	return -EINVAL;
}

int mc_parse_size(const char *s, int *w, int *h)
{
	char *end;
	errno = 0;
	long a = strtol(s, &end, 10);
	if (errno || end == s || *end != 'x')
		return -EINVAL;
	const char *p = end + 1;
	long b = strtol(p, &end, 10);
	if (errno || end == p || *skip_space(end))
		return -EINVAL;
	/* Even sizes: 4:2:0 chroma. 16..4096 covers every encoder we drive. */
	if (a < 16 || b < 16 || a > 4096 || b > 4096 || (a & 1) || (b & 1))
		return -ERANGE;
	*w = (int)a;
	*h = (int)b;
	return 0;
}

int mc_parse_bitrate(const char *s, int *bps)
{
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (errno || end == s || !(v > 0))
		return -EINVAL;
	if (*end == 'k' || *end == 'K') {
		v *= 1000;
		end++;
	} else if (*end == 'M' || *end == 'm') {
		v *= 1000000;
		end++;
	}
	if (*skip_space(end))
		return -EINVAL;
	if (v < 10000 || v > 50000000)
		return -ERANGE;
	*bps = (int)v;
	return 0;
}

int mc_parse_listen(const char *s, uint32_t *addr, uint16_t *port)
{
	char host[INET_ADDRSTRLEN];
	const char *colon = strrchr(s, ':');
	if (!colon || (size_t)(colon - s) >= sizeof(host))
		return -EINVAL;
	memcpy(host, s, (size_t)(colon - s));
	host[colon - s] = '\0';
	struct in_addr a;
	if (inet_pton(AF_INET, host, &a) != 1)
		return -EINVAL;
	/* digits only: strtol would take " 80", "+80" and "80x" */
	const char *p = colon + 1;
	long v = 0;
	if (!*p || strlen(p) > 5)
		return -EINVAL;
	for (; *p; p++) {
		if (!isdigit((unsigned char)*p))
			return -EINVAL;
		v = v * 10 + (*p - '0');
	}
	if (v < 1 || v > 65535)
		return -ERANGE;
	*addr = a.s_addr;
	*port = (uint16_t)v;
	return 0;
}

/* The list of x264.h's x264_preset_names; libx264 refuses any other name only when the encoder opens. */
static const char *const x264_presets[] = { "ultrafast", "superfast", "veryfast", "faster", "fast",
					    "medium",    "slow",      "slower",   "veryslow", "placebo" };

bool mc_x264_preset_valid(const char *s)
{
	for (size_t i = 0; i < sizeof(x264_presets) / sizeof(x264_presets[0]); i++)
		if (strcasecmp(s, x264_presets[i]) == 0) /* as libx264 compares them */
			return true;
	return false;
}

static int p_bitrate(const struct mc_option *k, const char *v, void *field, char *err, size_t n)
{
	if (mc_parse_bitrate(v, field)) {
		snprintf(err, n, "expected a bitrate from 10k to 50M (e.g. 150k), got '%s'", v);
		return -EINVAL;
	}
	return 0;
}

static int p_listen(const struct mc_option *k, const char *v, void *field, char *err, size_t n)
{
	struct mc_daemon_config *d = (struct mc_daemon_config *)((char *)field - offsetof(struct mc_daemon_config, stats_listen));
	if (mc_parse_listen(v, &d->stats_addr, &d->stats_port)) {
		snprintf(err, n, "expected IPV4ADDR:PORT (port 1..65535), e.g. 127.0.0.1:8090, got '%s'", v);
		return -EINVAL;
	}
	return p_string(k, v, field, err, n);
}

static int p_preset(const struct mc_option *k, const char *v, void *field, char *err, size_t n)
{
	if (!mc_x264_preset_valid(v)) {
		char list[160] = "";
		for (size_t i = 0; i < sizeof(x264_presets) / sizeof(x264_presets[0]); i++) {
			size_t l = strlen(list);
			snprintf(list + l, sizeof(list) - l, "%s%s", i ? ", " : "", x264_presets[i]);
		}
		snprintf(err, n, "expected a libx264 preset (%s), got '%s'", list, v);
		return -EINVAL;
	}
	return p_string(k, v, field, err, n);
}

/* "1280x720@30:2500k, 640x360@30:700k" */
int mc_parse_layers(const char *s, struct mc_layer_config *layers, int *n, char *err, size_t errlen)
{
	char buf[256], *items[MC_MAX_LAYERS + 1];
	int n_items = split_list(s, buf, sizeof(buf), items, MC_MAX_LAYERS);
	if (n_items < 0) {
		snprintf(err, errlen, "value too long");
		return -EINVAL;
	}
	int count = 0;
	for (int i = 0; i < n_items; i++) {
		char *tok = items[i];
		if (count == MC_MAX_LAYERS) {
			snprintf(err, errlen, "at most %d layers", MC_MAX_LAYERS);
			return -EINVAL;
		}
		char *at = strchr(tok, '@'), *colon = at ? strchr(at, ':') : NULL;
		if (!at || !colon) {
			snprintf(err, errlen, "layer %d '%s': expected WIDTHxHEIGHT@FPS:BITRATE", count + 1, tok);
			return -EINVAL;
		}
		*at = *colon = '\0';
		struct mc_layer_config *l = &layers[count];
		long fps;
		if (mc_parse_size(tok, &l->width, &l->height)) {
			snprintf(err, errlen, "layer %d: bad size '%s' (even, 16x16 to 4096x4096)", count + 1, tok);
			return -EINVAL;
		}
		if (parse_long(at + 1, &fps) || fps < 1 || fps > 120) {
			snprintf(err, errlen, "layer %d: bad frame rate '%s' (1 to 120)", count + 1, at + 1);
			return -EINVAL;
		}
		l->fps = (int)fps;
		if (mc_parse_bitrate(colon + 1, &l->bitrate)) {
			snprintf(err, errlen, "layer %d: bad bitrate '%s' (10k to 50M, e.g. 700k)", count + 1, colon + 1);
			return -EINVAL;
		}
		if (count > 0 && (l->width > layers[count - 1].width || l->height > layers[count - 1].height)) {
			snprintf(err, errlen, "layer %d is larger than layer %d: list layers highest first", count + 1, count);
			return -EINVAL;
		}
		count++;
	}
	if (count == 0) {
		snprintf(err, errlen, "no layers");
		return -EINVAL;
	}
	*n = count;
	return 0;
}

static int p_layers(const struct mc_option *k, const char *v, void *field, char *err, size_t n)
{
	struct mc_track_config *t = (struct mc_track_config *)((char *)field - offsetof(struct mc_track_config, layers));
	return mc_parse_layers(v, t->layers, &t->n_layers, err, n);
}

/* "screen, camera": names of sources or mixes, each once. */
static int p_inputs(const struct mc_option *k, const char *v, void *field, char *err, size_t n)
{
	struct mc_mix_config *m = (struct mc_mix_config *)((char *)field - offsetof(struct mc_mix_config, inputs));
	char buf[MC_MIX_MAX_INPUTS * MC_NAME_MAX + 64], *items[MC_MIX_MAX_INPUTS + 1];
	int n_items = split_list(v, buf, sizeof(buf), items, MC_MIX_MAX_INPUTS);
	if (n_items < 0) {
		snprintf(err, n, "value too long");
		return -EINVAL;
	}
	int c = 0;
	for (int i = 0; i < n_items; i++) {
		char *tok = items[i];
		if (c == MC_MIX_MAX_INPUTS) {
			snprintf(err, n, "at most %d inputs", MC_MIX_MAX_INPUTS);
			return -EINVAL;
		}
		struct mc_option nk = { .max = MC_NAME_MAX };
		char sub[200];
		if (p_name(&nk, tok, m->inputs[c], sub, sizeof(sub))) {
			snprintf(err, n, "input %d '%s': %s", c + 1, tok, sub);
			return -EINVAL;
		}
		for (int j = 0; j < c; j++)
			if (strcmp(m->inputs[j], tok) == 0) {
				snprintf(err, n, "'%s' is listed twice", tok);
				return -EINVAL;
			}
		c++;
	}
	if (c == 0) {
		snprintf(err, n, "expected the names of 1 to %d sources or mixes, separated by commas", MC_MIX_MAX_INPUTS);
		return -EINVAL;
	}
	m->n_inputs = c;
	return 0;
}

/* A comma-separated list of up to MC_MAX_LAYERS unsigned numbers; count stored in the int before. */
static int parse_list(const char *v, unsigned long *vals, int *count, unsigned long min, unsigned long max)
{
	char buf[256], *items[MC_MAX_LAYERS + 1];
	int n_items = split_list(v, buf, sizeof(buf), items, MC_MAX_LAYERS);
	if (n_items < 0)
		return -EINVAL;
	int c = 0;
	for (int i = 0; i < n_items; i++) {
		char *end, *tok = items[i];
		errno = 0;
		unsigned long x = strtoul(tok, &end, 0);
		if (c == MC_MAX_LAYERS || errno || end == tok || *skip_space(end) || *tok == '-' || x < min || x > max)
			return -EINVAL;
		vals[c++] = x;
	}
	if (c == 0)
		return -EINVAL;
	*count = c;
	return 0;
}

static int p_ports(const struct mc_option *k, const char *v, void *field, char *err, size_t n)
{
	struct mc_output_config *o = (struct mc_output_config *)((char *)field - offsetof(struct mc_output_config, ports));
	unsigned long vals[MC_MAX_LAYERS];
	int c;
	if (parse_list(v, vals, &c, 1, 65535)) {
		snprintf(err, n, "expected 1 to %d UDP ports separated by commas, highest layer first, got '%s'",
			 MC_MAX_LAYERS, v);
		return -EINVAL;
	}
	for (int i = 0; i < c; i++)
		o->ports[i] = (uint16_t)vals[i];
	o->n_ports = c;
	return 0;
}

static int p_single_port(const struct mc_option *k, const char *v, void *field, char *err, size_t n)
{
	struct mc_output_config *o = (struct mc_output_config *)((char *)field - offsetof(struct mc_output_config, ports));
	if (p_port(k, v, &o->ports[0], err, n))
		return -EINVAL;
	o->n_ports = 1;
	o->single_port = true;
	return 0;
}

/* "a, b, c": 1..MC_MAX_LAYERS SSRCs, highest layer first (the layers' own and their RTX streams') */
static int parse_ssrc_list(const char *v, uint32_t *ssrcs, int *count, char *err, size_t n)
{
	unsigned long vals[MC_MAX_LAYERS];
	int c;
	if (parse_list(v, vals, &c, 1, 0xffffffffUL)) {
		snprintf(err, n, "expected 1 to %d SSRCs (1..4294967295) separated by commas, got '%s'", MC_MAX_LAYERS, v);
		return -EINVAL;
	}
	for (int i = 0; i < c; i++)
		ssrcs[i] = (uint32_t)vals[i];
	*count = c;
	return 0;
}

static int p_ssrcs(const struct mc_option *k, const char *v, void *field, char *err, size_t n)
{
	struct mc_output_config *o = (struct mc_output_config *)((char *)field - offsetof(struct mc_output_config, ssrcs));
	return parse_ssrc_list(v, o->ssrcs, &o->n_ssrcs, err, n);
}

/* "q, h, f": one RTP stream id (RFC 8852) per layer, highest first */
static int p_rids(const struct mc_option *k, const char *v, void *field, char *err, size_t n)
{
	struct mc_output_config *o = (struct mc_output_config *)((char *)field - offsetof(struct mc_output_config, rids));
	char buf[128], *items[MC_MAX_LAYERS + 1];
	int n_items = split_list(v, buf, sizeof(buf), items, MC_MAX_LAYERS);
	if (n_items < 0) {
		snprintf(err, n, "value too long");
		return -EINVAL;
	}
	int c = 0;
	for (int i = 0; i < n_items; i++) {
		char *tok = items[i];
		bool ok = *tok && strlen(tok) <= MC_RID_MAX && c < MC_MAX_LAYERS;
		for (const char *p = tok; ok && *p; p++)
			ok = isalnum((unsigned char)*p); /* RFC 8852 §3.1: RtpStreamId is alphanumeric */
		if (!ok) {
			snprintf(err, n, "expected 1 to %d RIDs (letters and digits, up to %d each) separated by commas, got '%s'",
				 MC_MAX_LAYERS, MC_RID_MAX, v);
			return -EINVAL;
		}
		strcpy(o->rids[c++], tok);
	}
	o->n_rids = c;
	return c ? 0 : -EINVAL;
}

static int p_mid(const struct mc_option *k, const char *v, void *field, char *err, size_t n)
{
	bool ok = *v && strlen(v) <= MC_RID_MAX;
	for (const char *p = v; ok && *p; p++)
		ok = isalnum((unsigned char)*p) || *p == '-' || *p == '_';
	if (!ok) {
		snprintf(err, n, "expected a MID of up to %d letters, digits, '-' or '_', got '%s'", MC_RID_MAX, v);
		return -EINVAL;
	}
	strcpy(field, v);
	return 0;
}

static int p_rtx_ssrcs(const struct mc_option *k, const char *v, void *field, char *err, size_t n)
{
	struct mc_output_config *o = (struct mc_output_config *)((char *)field - offsetof(struct mc_output_config, rtx_ssrcs));
	return parse_ssrc_list(v, o->rtx_ssrcs, &o->n_rtx_ssrcs, err, n);
}

/* ---- the key table --------------------------------------------------------------------------------- */

#define D(f) offsetof(struct mc_daemon_config, f)
#define S(f) offsetof(struct mc_source_config, f)
#define T(f) offsetof(struct mc_track_config, f)
#define O(f) offsetof(struct mc_output_config, f)
#define M(f) offsetof(struct mc_mix_config, f)
#define SZ(type, f) ((long)sizeof(((type *)0)->f))

static const struct key keys[] = {
	{ SEC_DAEMON, { "log_level", p_log_level, D(log_level) } },
	{ SEC_DAEMON, { "stats_listen", p_listen, D(stats_listen), 0, SZ(struct mc_daemon_config, stats_listen) } },
	{ SEC_DAEMON, { "stats_token", p_string, D(stats_token), 0, SZ(struct mc_daemon_config, stats_token) } },
	{ SEC_DAEMON, { "stats_token_file", p_string, D(stats_token_file), 0, SZ(struct mc_daemon_config, stats_token_file) } },
	{ SEC_DAEMON, { "state_dir", p_string, D(state_dir), 0, SZ(struct mc_daemon_config, state_dir) } },

	/* The generic source keys; every other key of a [source.NAME] is its backend's (see finish_source). */
	{ SEC_SOURCE, { "type", p_source_type, S(backend), .required = true } },
	{ SEC_SOURCE, { "size", p_size, S(width) } },
	{ SEC_SOURCE, { "fps", p_int, S(fps), 1, 120 } },

	{ SEC_TRACK, { "input", p_name, T(input), 0, SZ(struct mc_track_config, input), .required = true } },
	{ SEC_TRACK, { "codec", p_codec, T(codec) } },
	{ SEC_TRACK, { "encoder", p_encoder, T(encoder) } },
	{ SEC_TRACK, { "layer_encoders", p_layer_encoders, T(layer_encoders) } },
	{ SEC_TRACK, { "encoder_device", p_string, T(encoder_device), 0, SZ(struct mc_track_config, encoder_device) } },
	{ SEC_TRACK, { "scaler", p_scaler, T(scaler) } },
	{ SEC_TRACK, { "scaler_device", p_string, T(scaler_device), 0, SZ(struct mc_track_config, scaler_device) } },
	{ SEC_TRACK, { "layers", p_layers, T(layers), .required = true } },
	{ SEC_TRACK, { "keyframe_interval", p_seconds, T(keyframe_interval) } },
	{ SEC_TRACK, { "preset", p_preset, T(preset), 0, SZ(struct mc_track_config, preset) } },
	{ SEC_TRACK, { "threads", p_threads, T(threads) } },
	{ SEC_TRACK, { "skip_unchanged", p_bool, T(skip_unchanged) } },

	{ SEC_MIX, { "inputs", p_inputs, M(inputs), .required = true } },
	{ SEC_MIX, { "size", p_size, M(width) } },
	{ SEC_MIX, { "fps", p_int, M(fps), 1, 120 } },
	{ SEC_MIX, { "layout", p_layout, M(layout) } },
	{ SEC_MIX, { "pip_position", p_corner, M(pip_position) } },
	{ SEC_MIX, { "pip_size", p_fraction, M(pip_size) } },
	{ SEC_MIX, { "margin", p_int, M(margin), 0, 256 } },

	{ SEC_OUTPUT, { "type", p_output_type, O(type), .required = true } },
	{ SEC_OUTPUT, { "track", p_name, O(track), 0, SZ(struct mc_output_config, track), .required = true } },
	{ SEC_OUTPUT, { "host", p_host, O(host), 0, SZ(struct mc_output_config, host), .required = true } },
	{ SEC_OUTPUT, { "ports", p_ports, O(ports) } },
	{ SEC_OUTPUT, { "port", p_single_port, O(ports), 1 } }, /* a destination: 0 is not a port (ports: 1..) */
	{ SEC_OUTPUT, { "local_port", p_port, O(local_port), 0 } },
	{ SEC_OUTPUT, { "srtp_key_file", p_string, O(srtp_key_file), 0, SZ(struct mc_output_config, srtp_key_file) } },
	{ SEC_OUTPUT, { "srtp_suite", p_srtp_suite, O(srtp_suite) } },
	{ SEC_OUTPUT, { "payload_type", p_int, O(payload_type), 96, 127 } },
	{ SEC_OUTPUT, { "mtu", p_int, O(mtu), 300, 1500 } },
	{ SEC_OUTPUT, { "ssrcs", p_ssrcs, O(ssrcs) } },
	{ SEC_OUTPUT, { "cname", p_string, O(cname), 0, SZ(struct mc_output_config, cname) } },
	{ SEC_OUTPUT, { "rtcp_port", p_port, O(rtcp_port), 1 } },
	{ SEC_OUTPUT, { "rtcp_mux", p_bool, O(rtcp_mux) } },
	{ SEC_OUTPUT, { "rtcp", p_rtcp_mode, O(rtcp) } },
	{ SEC_OUTPUT, { "ext_rid", p_int, O(ext_rid), 1, 14 } }, /* one-byte form: 0 is padding, 15 reserved */
	{ SEC_OUTPUT, { "ext_mid", p_int, O(ext_mid), 1, 14 } },
	{ SEC_OUTPUT, { "ext_twcc", p_int, O(ext_twcc), 1, 14 } },
	{ SEC_OUTPUT, { "rids", p_rids, O(rids) } },
	{ SEC_OUTPUT, { "mid", p_mid, O(mid) } },
	{ SEC_OUTPUT, { "pacing", p_bool, O(pacing) } },
	{ SEC_OUTPUT, { "pacer_queue_ms", p_int, O(pacer_queue_ms), 50, 5000 } },
	{ SEC_OUTPUT, { "cc", p_bool, O(cc) } },
	{ SEC_OUTPUT, { "min_bitrate", p_bitrate, O(min_bitrate) } },
	{ SEC_OUTPUT, { "keyframe_on_pli", p_keyframe_on_pli, O(keyframe_on_pli) } },
	{ SEC_OUTPUT, { "keyframe_repeat_ms", p_int, O(keyframe_repeat_ms), 0, 1000 } },
	{ SEC_OUTPUT, { "rtx", p_bool, O(rtx) } },
	{ SEC_OUTPUT, { "rtx_payload_type", p_int, O(rtx_payload_type), 96, 127 } },
	{ SEC_OUTPUT, { "rtx_ssrcs", p_rtx_ssrcs, O(rtx_ssrcs) } },
};
#define N_KEYS (sizeof(keys) / sizeof(keys[0]))
_Static_assert(N_KEYS <= 64, "seen-key bitmask is 64 bits");

/* ---- parsing state ----------------------------------------------------------------------------------- */

struct parse_state {
	struct mc_config *cfg;
	const char *file;
	int line;            /* line the reader returned last */
	int error_line;      /* last line with a reported error */
	int errors;
	enum section_kind kind;
	void *section;       /* current entry, NULL when the section is invalid */
	int section_line;
	int daemon_line;     /* where [daemon] was, 0 before */
	uint64_t seen;        /* keys seen in the current section */
	int seen_line[N_KEYS];
	/* A source section's other keys wait for the section's end: only then is `type` (which may come
	 * last) known, and with it the backend whose option table they belong to. */
	int n_deferred;
	struct deferred_key {
		char name[32];
		char value[256];
		int line;
	} deferred[MC_SOURCE_MAX_OPTS + 8];
	/* reader */
	const char *data;
	size_t len, pos;
};

__attribute__((format(printf, 3, 4))) static void report(struct parse_state *st, int line, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	mc_err(MOD, "%s:%d: %s", st->file, line, msg);
	st->errors++;
	st->error_line = line;
}

static const char *section_prefix(enum section_kind k)
{
	switch (k) {
	case SEC_DAEMON: return "daemon";
	case SEC_SOURCE: return "source";
	case SEC_TRACK: return "track";
	case SEC_OUTPUT: return "output";
	case SEC_MIX: return "mix";
	default: return "?";
	}
}

static void finish_section(struct parse_state *st);

static int section_count(const struct mc_config *c, enum section_kind k)
{
	return k == SEC_SOURCE ? c->n_sources : k == SEC_TRACK ? c->n_tracks : k == SEC_MIX ? c->n_mixes : c->n_outputs;
}

static int section_max(enum section_kind k)
{
	switch (k) {
	case SEC_SOURCE: return MC_MAX_SOURCES;
	case SEC_TRACK: return MC_MAX_TRACKS;
	case SEC_MIX: return MC_MAX_MIXES;
	default: return MC_MAX_OUTPUTS;
	}
}

/* The name of entry i (the first member of each entry struct, so also the entry itself). */
static char *section_entry(struct mc_config *c, enum section_kind k, int i)
{
	switch (k) {
	case SEC_SOURCE: return c->sources[i].name;
	case SEC_TRACK: return c->tracks[i].name;
	case SEC_MIX: return c->mixes[i].name;
	default: return c->outputs[i].name;
	}
}

static void begin_section(struct parse_state *st, const char *name, int line)
{
	finish_section(st);
	st->kind = SEC_NONE;
	st->section = NULL;
	st->section_line = line;
	st->seen = 0;

	struct mc_config *c = st->cfg;
	if (strcmp(name, "daemon") == 0) {
		if (st->daemon_line) {
			report(st, line, "[daemon]: section defined twice (first on line %d)", st->daemon_line);
			return;
		}
		st->daemon_line = line;
		st->kind = SEC_DAEMON;
		st->section = &c->daemon;
		return;
	}
	const char *dot = strchr(name, '.');
	size_t plen = dot ? (size_t)(dot - name) : strlen(name);
	const char *ename = dot ? dot + 1 : "";
	enum section_kind kind = SEC_NONE;
	for (enum section_kind k = SEC_SOURCE; k <= SEC_MIX; k++)
		if (strlen(section_prefix(k)) == plen && strncmp(name, section_prefix(k), plen) == 0)
			kind = k;
	if (kind == SEC_NONE) {
		report(st, line,
		       "[%s]: unknown section (expected [daemon], [source.NAME], [mix.NAME], [track.NAME] or [output.NAME])", name);
		return;
	}
	bool name_ok = *ename && strlen(ename) < MC_NAME_MAX;
	for (const char *p = ename; *p; p++)
		if (!isalnum((unsigned char)*p) && *p != '_' && *p != '-')
			name_ok = false;
	if (!name_ok) {
		report(st, line, "[%s]: bad section name (expected %s.NAME, NAME of letters, digits, '_' or '-')", name,
		       section_prefix(kind));
		return;
	}
	/* Names are unique within a kind. The name is the first member of each entry struct. */
	int count = section_count(c, kind), max = section_max(kind);
	for (int i = 0; i < count; i++) {
		if (strcmp(section_entry(c, kind, i), ename) == 0) {
			report(st, line, "[%s]: section defined twice", name);
			return;
		}
	}
	if (count == max) {
		report(st, line, "[%s]: too many %s sections (at most %d)", name, section_prefix(kind), max);
		return;
	}
	char *entry = section_entry(c, kind, count);
	switch (kind) {
	case SEC_SOURCE: c->n_sources++; break;
	case SEC_TRACK: c->n_tracks++; break;
	case SEC_MIX: c->n_mixes++; break;
	default: c->n_outputs++; break;
	}
	snprintf(entry, MC_NAME_MAX, "%s", ename);
	st->kind = kind;
	st->section = entry;
	switch (kind) {
	case SEC_SOURCE: {
		struct mc_source_config *s = (void *)entry;
		s->line = line;
		s->width = 1280, s->height = 720, s->fps = 30;
		break;
	}
	case SEC_TRACK: {
		struct mc_track_config *t = (void *)entry;
		t->line = line;
		t->keyframe_interval = 10.0; /* a safety net: viewers ask for keyframes (PLI/FIR) when they need one */
		t->skip_unchanged = true;
		strcpy(t->preset, "veryfast");
		t->threads = -1;
		break;
	}
	case SEC_MIX: {
		struct mc_mix_config *m = (void *)entry;
		m->line = line;
		m->width = 1280, m->height = 720, m->fps = 30;
		m->pip_size = 0.25;
		m->margin = 16;
		break;
	}
	default: {
		struct mc_output_config *o = (void *)entry;
		o->line = line;
		o->payload_type = 96;
		o->rtx_payload_type = 97;
		o->mtu = 1200;
		strcpy(o->cname, "mixcast");
		o->pacing = true;
		o->pacer_queue_ms = 500;
		o->cc = true;
		o->min_bitrate = 30000;
		break;
	}
	}
}

static int handler(void *user, const char *section, const char *name, const char *value)
{
	struct parse_state *st = user;
	(void)section; /* sections are tracked by the reader, which knows their line numbers */
	if (st->kind == SEC_NONE) {
		if (st->section_line == 0)
			report(st, st->line, "%s: key outside of any section", name);
		return 1; /* the section's error was reported once */
	}
	for (size_t i = 0; i < N_KEYS; i++) {
		const struct key *k = &keys[i];
		if (k->section != st->kind || strcmp(k->o.name, name) != 0)
			continue;
		if (st->seen & (1ull << i)) {
			report(st, st->line, "%s: duplicate key (first set on line %d)", name, st->seen_line[i]);
			return 1;
		}
		st->seen |= 1ull << i;
		st->seen_line[i] = st->line;
		char err[256] = "invalid value";
		if (k->o.parse(&k->o, value, (char *)st->section + k->o.offset, err, sizeof(err)))
			report(st, st->line, "%s: %s", name, err);
		return 1;
	}
	if (st->kind == SEC_SOURCE && strlen(name) < sizeof(st->deferred[0].name) &&
	    strlen(value) < sizeof(st->deferred[0].value)) {
		if (st->n_deferred == (int)(sizeof(st->deferred) / sizeof(st->deferred[0]))) {
			report(st, st->line, "%s: too many keys in [source.%s]", name, (const char *)st->section);
			return 1;
		}
		struct deferred_key *d = &st->deferred[st->n_deferred++];
		strcpy(d->name, name);
		strcpy(d->value, value);
		d->line = st->line;
		return 1;
	}
	if (st->kind == SEC_DAEMON)
		report(st, st->line, "%s: unknown key in [daemon]", name);
	else
		report(st, st->line, "%s: unknown key in [%s.%s]", name, section_prefix(st->kind), (const char *)st->section);
	return 1;
}

static bool seen_key(const struct parse_state *st, const char *name, int *line)
{
	for (size_t i = 0; i < N_KEYS; i++) {
		if (keys[i].section == st->kind && strcmp(keys[i].o.name, name) == 0 && (st->seen & (1ull << i))) {
			if (line)
				*line = st->seen_line[i];
			return true;
		}
	}
	return false;
}

/* A layout takes a given number of inputs; the pip keys mean something with pip only. */
static void finish_mix(struct parse_state *st, struct mc_mix_config *m)
{
	int line;
	if (seen_key(st, "inputs", &line))
		m->inputs_line = line;
	int layout_line = st->section_line;
	seen_key(st, "layout", &layout_line);
	static const struct {
		int min, max;
		const char *name;
	} takes[] = { [MC_LAYOUT_GRID] = { 1, MC_MIX_MAX_INPUTS, "grid" }, [MC_LAYOUT_SINGLE] = { 1, 1, "single" },
		      [MC_LAYOUT_PIP] = { 2, 2, "pip" }, [MC_LAYOUT_SIDE_BY_SIDE] = { 2, MC_MIX_MAX_INPUTS, "side-by-side" } };
	const char *lname = takes[m->layout].name;
	if (m->n_inputs && (m->n_inputs < takes[m->layout].min || m->n_inputs > takes[m->layout].max)) {
		if (takes[m->layout].min == takes[m->layout].max)
			report(st, m->inputs_line, "inputs: layout %s takes %d input%s, got %d", lname, takes[m->layout].min,
			       takes[m->layout].min == 1 ? "" : "s", m->n_inputs);
		else
			report(st, m->inputs_line, "inputs: layout %s takes %d to %d inputs, got %d", lname,
			       takes[m->layout].min, takes[m->layout].max, m->n_inputs);
	}
	static const char *const pip_keys[] = { "pip_position", "pip_size" };
	for (size_t i = 0; i < 2; i++)
		if (m->layout != MC_LAYOUT_PIP && seen_key(st, pip_keys[i], &line))
			report(st, line, "%s: only with layout = pip (this mix's layout is %s)", pip_keys[i], lname);
}

static bool key_of_any_backend(const char *name)
{
	for (size_t i = 0; mc_source_backends[i]; i++)
		if (mc_option_find(mc_source_backends[i]->options, name, NULL))
			return true;
	return false;
}

/* A source section's backend keys, now that `type` is known: parsed through the backend's option table
 * into its own options struct. A key of another backend, or of none, is an error on its own line. */
static void finish_source(struct parse_state *st, struct mc_source_config *s)
{
	const struct mc_source_ops *b = s->backend;
	int line;
	s->file = st->cfg->path;
	if (seen_key(st, "size", &line))
		s->size_line = line;
	if (seen_key(st, "fps", &line))
		s->fps_line = line;
	if (b && !(b->generic_keys & MC_SOURCE_TAKES_SIZE) && s->size_line)
		report(st, s->size_line, "size: not a key of this source type");
	if (b && !(b->generic_keys & MC_SOURCE_TAKES_FPS) && s->fps_line)
		report(st, s->fps_line, "fps: not a key of this source type");
	if (b && b->options_size && !(s->opts = calloc(1, b->options_size))) {
		report(st, s->line, "[source.%s]: out of memory", s->name);
		return;
	}
	if (s->opts && b->options_defaults)
		memcpy(s->opts, b->options_defaults, b->options_size);
	for (int i = 0; i < st->n_deferred; i++) {
		const struct deferred_key *d = &st->deferred[i];
		int idx;
		const struct mc_option *o = b ? mc_option_find(b->options, d->name, &idx) : NULL;
		if (!o) {
			if (key_of_any_backend(d->name)) {
				if (b) /* without a valid type, that error stands for this one */
					report(st, d->line, "%s: not a key of this source type", d->name);
			} else {
				report(st, d->line, "%s: unknown key in [source.%s]", d->name, s->name);
			}
			continue;
		}
		if (s->opt_line[idx]) {
			report(st, d->line, "%s: duplicate key (first set on line %d)", d->name, s->opt_line[idx]);
			continue;
		}
		s->opt_line[idx] = d->line;
		char err[256] = "invalid value";
		if (o->parse(o, d->value, (char *)s->opts + o->offset, err, sizeof(err)))
			report(st, d->line, "%s: %s", d->name, err);
	}
	for (int i = 0; b && b->options && b->options[i].name; i++)
		if (b->options[i].required && !s->opt_line[i])
			report(st, st->section_line, "[source.%s]: missing required key '%s' (type = %s)", s->name,
			       b->options[i].name, b->name);
}

/* Checks that need the whole section: required keys and keys that only some types take. */
static void finish_section(struct parse_state *st)
{
	int line;
	if (st->section && st->kind == SEC_DAEMON && seen_key(st, "state_dir", &line))
		st->cfg->daemon.state_dir_line = line;
	if (st->section && st->kind == SEC_DAEMON && seen_key(st, "stats_listen", &line))
		st->cfg->daemon.stats_listen_line = line;
	if (st->section && st->kind == SEC_DAEMON && seen_key(st, "stats_token", &line))
		st->cfg->daemon.stats_token_line = line;
	if (st->section && st->kind == SEC_DAEMON && seen_key(st, "stats_token_file", &line))
		st->cfg->daemon.stats_token_file_line = line;
	if (!st->section || st->kind == SEC_DAEMON)
		goto out;
	const char *sname = st->section; /* name is the first member */
	for (size_t i = 0; i < N_KEYS; i++) {
		const struct key *k = &keys[i];
		if (k->section != st->kind)
			continue;
		bool seen = st->seen & (1ull << i);
		if (k->o.required && !seen)
			report(st, st->section_line, "[%s.%s]: missing required key '%s'", section_prefix(st->kind), sname, k->o.name);
	}
	if (st->kind == SEC_SOURCE)
		finish_source(st, st->section);
	/* libvpx has no presets: a preset there would be ignored, and the file's author meant something */
	if (st->kind == SEC_TRACK && ((struct mc_track_config *)st->section)->codec == MC_CODEC_VP8 &&
	    seen_key(st, "preset", &line))
		report(st, line, "preset: a libx264 (codec = h264) setting; VP8 has no presets");
	if (st->kind == SEC_TRACK && seen_key(st, "input", &line))
		((struct mc_track_config *)st->section)->input_line = line;
	if (st->kind == SEC_TRACK) {
		struct mc_track_config *t = st->section;
		for (int i = 0; i < MC_MAX_LAYERS; i++)
			t->layers[i].encoder = i < t->n_layer_encoders ? t->layer_encoders[i] : MC_ENCODER_TRACK;
		if (seen_key(st, "layer_encoders", &line) && t->n_layer_encoders > t->n_layers)
			report(st, line, "layer_encoders: %d encoders for %d layers", t->n_layer_encoders, t->n_layers);
		if (t->codec == MC_CODEC_VP8)
			for (int i = -1; i < t->n_layer_encoders; i++) {
				const char *key = i < 0 ? "encoder" : "layer_encoders";
				enum mc_encoder_choice e = i < 0 ? t->encoder : t->layer_encoders[i];
				if (e == MC_ENCODER_OPENH264 && seen_key(st, key, &line)) {
					report(st, line, "%s: openh264 encodes H.264 only (codec = vp8)", key);
					break;
				}
			}
	}
	if (st->kind == SEC_MIX)
		finish_mix(st, st->section);
	if (st->kind == SEC_OUTPUT) {
		struct mc_output_config *o = st->section;
		bool has_ports = seen_key(st, "ports", &line), has_port = seen_key(st, "port", NULL);
		if (has_ports && has_port)
			report(st, line, "ports: give either 'ports' (one per layer) or 'port' (all layers), not both");
		else if (!has_ports && !has_port)
			report(st, st->section_line, "[output.%s]: missing required key 'ports' or 'port'", sname);
		if (!has_ports)
			o->n_ports = has_port ? 1 : 0;
		if (o->rtcp_mux && seen_key(st, "rtcp_port", &line))
			report(st, line, "rtcp_port: conflicts with rtcp_mux = true");
		if (seen_key(st, "srtp_key_file", &line))
			o->srtp_key_file_line = line;
		if (seen_key(st, "track", &line))
			o->track_line = line;
		if (seen_key(st, "ssrcs", &line))
			o->ssrcs_line = line;
		if (seen_key(st, "rtx_ssrcs", &line))
			o->rtx_ssrcs_line = line;
		if (o->rtx_payload_type == o->payload_type)
			report(st, seen_key(st, "rtx_payload_type", &line) ? line : st->section_line,
			       "rtx_payload_type: %d is the media payload type too", o->rtx_payload_type);
		if (!o->rtx && (seen_key(st, "rtx_payload_type", &line) || seen_key(st, "rtx_ssrcs", &line)))
			report(st, line, "%s: set without rtx = on", seen_key(st, "rtx_ssrcs", NULL) ? "rtx_ssrcs" : "rtx_payload_type");
		for (int i = 0; i < o->n_rtx_ssrcs; i++)
			for (int j = 0; j < o->n_ssrcs; j++)
				if (o->rtx_ssrcs[i] == o->ssrcs[j])
					report(st, o->rtx_ssrcs_line, "rtx_ssrcs: %u is a media SSRC too", o->rtx_ssrcs[i]);
		o->ports_line = st->section_line;
		if (seen_key(st, "ports", &line) || seen_key(st, "port", &line))
			o->ports_line = line;
		for (int i = 0; !o->rtcp_mux && !seen_key(st, "rtcp_port", NULL) && i < o->n_ports; i++)
			if (o->ports[i] == 65535)
				report(st, o->ports_line, "%s: 65535 leaves no port + 1 for RTCP: set rtcp_port or rtcp_mux",
				       o->single_port ? "port" : "ports");
		if (seen_key(st, "rids", &line))
			o->rids_line = line;
		int l_ext, l_val;
		bool has_ext = seen_key(st, "ext_rid", &l_ext), has_val = seen_key(st, "rids", &l_val);
		if (has_ext != has_val)
			report(st, has_ext ? l_ext : l_val, "%s",
			       has_ext ? "ext_rid: set without rids (one RID per layer)" : "rids: set without ext_rid (the extension's id)");
		has_ext = seen_key(st, "ext_mid", &l_ext), has_val = seen_key(st, "mid", &l_val);
		if (has_ext != has_val)
			report(st, has_ext ? l_ext : l_val, "%s",
			       has_ext ? "ext_mid: set without mid" : "mid: set without ext_mid (the extension's id)");
		static const char *const ext_keys[3] = { "ext_rid", "ext_mid", "ext_twcc" };
		int ids[3] = { o->ext_rid, o->ext_mid, o->ext_twcc }, lines[3] = { 0 };
		for (int a = 0; a < 3; a++)
			seen_key(st, ext_keys[a], &lines[a]);
		for (int a = 0; a < 3; a++)
			for (int b = a + 1; b < 3; b++)
				if (ids[a] && ids[a] == ids[b])
					report(st, lines[a] > lines[b] ? lines[a] : lines[b], "%s: id %d used twice (also %s)",
					       ext_keys[lines[a] > lines[b] ? a : b], ids[a], ext_keys[lines[a] > lines[b] ? b : a]);
		if (seen_key(st, "srtp_suite", &line) && !seen_key(st, "srtp_key_file", NULL))
			report(st, line, "srtp_suite: set without srtp_key_file");
		if (o->srtp_key_file[0] && o->srtp_suite == MC_SRTP_NONE)
			o->srtp_suite = MC_SRTP_AES_CM_128_HMAC_SHA1_80;
	}
out:
	st->section = NULL;
	st->kind = SEC_NONE;
	st->n_deferred = 0;
}

/* The line reader for ini_parse_stream: counts lines and tells sections (with their line) to the parser
 * before inih sees them, so that messages can name lines even for keys inih reports without one. */
static char *reader(char *str, int num, void *stream)
{
	struct parse_state *st = stream;
	if (st->pos >= st->len)
		return NULL;
	const char *start = st->data + st->pos;
	const char *nl = memchr(start, '\n', st->len - st->pos);
	size_t linelen = nl ? (size_t)(nl - start) : st->len - st->pos;
	st->pos += linelen + (nl ? 1 : 0);
	st->line++;
	size_t copy = linelen;
	if (copy > (size_t)num - 2) {
		report(st, st->line, "line longer than %d characters", num - 2);
		copy = 0; /* drop it: a cut line would be parsed as something else */
	}
	if (memchr(start, '\0', copy)) {
		report(st, st->line, "NUL byte in the line");
		copy = 0;
	}
	memcpy(str, start, copy);
	str[copy] = '\n';
	str[copy + 1] = '\0';

	const char *p = str;
	/* inih skips a UTF-8 BOM on line 1 (INI_ALLOW_BOM); so must we, or we miss the first section */
	if (st->line == 1 && (unsigned char)p[0] == 0xEF && (unsigned char)p[1] == 0xBB && (unsigned char)p[2] == 0xBF)
		p += 3;
	p = skip_space(p);
	if (*p == '[') {
		const char *end = strchr(p, ']');
		if (end) {
			char name[128];
			size_t n = (size_t)(end - p - 1);
			if (n >= sizeof(name))
				n = sizeof(name) - 1;
			memcpy(name, p + 1, n);
			name[n] = '\0';
			begin_section(st, name, st->line);
		}
	}
	return str;
}

/* ---- cross-section checks and key files ---------------------------------------------------------------- */

static void load_key_file(struct parse_state *st, struct mc_output_config *o)
{
	const char *path = o->srtp_key_file;
	int line = o->srtp_key_file_line;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		report(st, line, "[output.%s] srtp_key_file: cannot open '%s': %s", o->name, path, strerror(errno));
		return;
	}
	struct stat sb;
	char text[256];
	ssize_t got = -1;
	uid_t me = geteuid();
	/* Whoever may write the key file may choose the key, so it must be no one but root or us. */
	if (fstat(fd, &sb) != 0) {
		report(st, line, "[output.%s] srtp_key_file: cannot stat '%s': %s", o->name, path, strerror(errno));
	} else if (!S_ISREG(sb.st_mode)) {
		report(st, line, "[output.%s] srtp_key_file: '%s' is not a regular file", o->name, path);
	} else if (sb.st_mode & S_IROTH) {
		report(st, line, "[output.%s] srtp_key_file: '%s' is readable by everyone (mode %04o): chmod 600 it",
		       o->name, path, (unsigned)(sb.st_mode & 07777));
	} else if (sb.st_mode & (S_IWGRP | S_IWOTH)) {
		report(st, line, "[output.%s] srtp_key_file: '%s' is writable by %s (mode %04o): chmod go-w it", o->name,
		       path, (sb.st_mode & S_IWOTH) ? "everyone" : "its group", (unsigned)(sb.st_mode & 07777));
	} else if (sb.st_uid != 0 && sb.st_uid != me) {
		report(st, line, "[output.%s] srtp_key_file: '%s' is owned by uid %u, neither root nor the daemon's user "
		       "(uid %u): chown it to one of them", o->name, path, (unsigned)sb.st_uid, (unsigned)me);
	} else {
		got = read(fd, text, sizeof(text) - 1);
		if (got < 0)
			report(st, line, "[output.%s] srtp_key_file: cannot read '%s': %s", o->name, path, strerror(errno));
	}
	close(fd);
	if (got < 0)
		return;
	text[got] = '\0';
	char err[160];
	if (mc_srtp_key_decode(text, o->srtp_suite, o->srtp_key, &o->srtp_key_len, err, sizeof(err)))
		report(st, line, "[output.%s] srtp_key_file: '%s': %s", o->name, path, err);
	explicit_bzero(text, sizeof(text));
}

/* RFC 6750 §2.1 b64token: what a bearer token may contain. */
static bool token_valid(const char *t, char *err, size_t n)
{
	size_t len = strlen(t), i = 0;
	for (; i < len && (isalnum((unsigned char)t[i]) || strchr("-._~+/", t[i])); i++)
		;
	while (i < len && t[i] == '=')
		i++;
	if (i < len || len < MC_STATS_TOKEN_MIN || len > MC_STATS_TOKEN_MAX) {
		snprintf(err, n, "expected %d to %d characters of letters, digits and -._~+/ (then '=' padding)%s",
			 MC_STATS_TOKEN_MIN, MC_STATS_TOKEN_MAX, i < len ? ", got another character" : "");
		return false;
	}
	return true;
}

/* stats_token_file: as private as an SRTP key file (whoever reads it may read the stats; whoever writes
 * it may let anyone in): a regular file of root or the daemon's user, not readable or writable by others. */
static void load_token_file(struct parse_state *st, struct mc_daemon_config *d)
{
	const char *path = d->stats_token_file;
	int line = d->stats_token_file_line;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat sb;
	char text[MC_STATS_TOKEN_MAX + 8];
	ssize_t got = -1;
	if (fd < 0)
		report(st, line, "[daemon] stats_token_file: cannot open '%s': %s", path, strerror(errno));
	else if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode))
		report(st, line, "[daemon] stats_token_file: '%s' is not a regular file", path);
	else if (sb.st_mode & (S_IROTH | S_IWOTH | S_IWGRP))
		report(st, line, "[daemon] stats_token_file: '%s' is readable or writable by others (mode %04o): chmod 600 it",
		       path, (unsigned)(sb.st_mode & 07777));
	else if (sb.st_uid != 0 && sb.st_uid != geteuid())
		report(st, line, "[daemon] stats_token_file: '%s' is owned by uid %u, neither root nor the daemon's user",
		       path, (unsigned)sb.st_uid);
	else if ((got = read(fd, text, sizeof(text) - 1)) < 0)
		report(st, line, "[daemon] stats_token_file: cannot read '%s': %s", path, strerror(errno));
	if (fd >= 0)
		close(fd);
	if (got < 0)
		return;
	while (got > 0 && (text[got - 1] == '\n' || text[got - 1] == '\r' || text[got - 1] == ' '))
		got--; /* `echo TOKEN > file` */
	text[got] = '\0';
	char err[160];
	if (!token_valid(text, err, sizeof(err)))
		report(st, line, "[daemon] stats_token_file: '%s': %s", path, err);
	else
		memcpy(d->stats_token, text, strlen(text) + 1); /* at most MC_STATS_TOKEN_MAX: checked */
	explicit_bzero(text, sizeof(text));
}

/* The stats endpoint answers with the pictures and figures of the device: off loopback only with a token. */
static void check_stats_token(struct parse_state *st)
{
	struct mc_daemon_config *d = &st->cfg->daemon;
	char err[160];
	if (d->stats_token_line && d->stats_token_file_line)
		report(st, d->stats_token_file_line, "[daemon] stats_token_file: set together with stats_token (line %d): keep one",
		       d->stats_token_line);
	else if (d->stats_token_line && !token_valid(d->stats_token, err, sizeof(err)))
		report(st, d->stats_token_line, "[daemon] stats_token: %s", err);
	else if (d->stats_token_file_line)
		load_token_file(st, d);
	if ((d->stats_token_line || d->stats_token_file_line) && !d->stats_port)
		report(st, d->stats_token_line ? d->stats_token_line : d->stats_token_file_line,
		       "[daemon] %s: set without stats_listen", d->stats_token_line ? "stats_token" : "stats_token_file");
	bool loopback = (ntohl(d->stats_addr) >> 24) == 127;
	if (d->stats_port && !loopback && !d->stats_token_line && !d->stats_token_file_line)
		report(st, d->stats_listen_line, "[daemon] stats_listen: %s is not a loopback address, and the endpoint "
		       "shows the device's pictures and figures to whoever connects: set stats_token or stats_token_file "
		       "(a bearer token every request must carry), or listen on 127.0.0.1", d->stats_listen);
}

/* The state directory: [daemon] state_dir, else the first of systemd's $STATE_DIRECTORY (StateDirectory=).
 * Fixed SSRCs with a static key need it; random SSRCs are recorded there too when it is set. */
static void check_state_dir(struct parse_state *st)
{
	struct mc_config *c = st->cfg;
	struct mc_daemon_config *d = &c->daemon;
	const char *env = getenv("STATE_DIRECTORY");
	if (!d->state_dir[0] && env && *env) {
		size_t n = strcspn(env, ":");
		if (n < sizeof(d->state_dir))
			snprintf(d->state_dir, sizeof(d->state_dir), "%.*s", (int)n, env);
	}
	bool srtp = false;
	for (int i = 0; i < c->n_outputs; i++)
		srtp |= c->outputs[i].srtp_key_file[0] != 0;
	if (!srtp || !d->state_dir[0])
		return;
	struct stat sb;
	const char *why = NULL;
	if (stat(d->state_dir, &sb) != 0)
		why = strerror(errno);
	else if (!S_ISDIR(sb.st_mode))
		why = "not a directory";
	else if (access(d->state_dir, W_OK | X_OK) != 0)
		why = "not writable";
	if (why) {
		if (d->state_dir_line)
			report(st, d->state_dir_line, "[daemon] state_dir: '%s': %s", d->state_dir, why);
		else
			report(st, 1, "[daemon] state_dir: '%s' (from $STATE_DIRECTORY): %s", d->state_dir, why);
		d->state_dir[0] = '\0';
		return;
	}
	for (int i = 0; i < c->n_outputs; i++)
		if (c->outputs[i].srtp_key_file[0])
			snprintf(c->outputs[i].state_dir, sizeof(c->outputs[i].state_dir), "%s", d->state_dir);
}

/* Fixed SSRCs under a static key: the same (key, SSRC, index) must never come twice, within a run (two
 * outputs with one key) or across runs (which needs the state directory). */
static void check_fixed_ssrcs(struct parse_state *st)
{
	struct mc_config *c = st->cfg;
	for (int i = 0; i < c->n_outputs; i++) {
		struct mc_output_config *o = &c->outputs[i];
		if ((!o->n_ssrcs && !o->n_rtx_ssrcs) || !o->srtp_key_len)
			continue;
		if (o->n_ssrcs && !c->daemon.state_dir[0])
			report(st, o->ssrcs_line,
			       "[output.%s] ssrcs: fixed SSRCs with a static SRTP key need a writable [daemon] state_dir "
			       "(systemd: StateDirectory=): without one every restart sends the same SRTP indexes again "
			       "under the same key and SSRC, i.e. reuses keystream (GCM: nonces). Set state_dir, or drop "
			       "ssrcs for random SSRCs", o->name);
		if (o->n_rtx_ssrcs && !c->daemon.state_dir[0])
			report(st, o->rtx_ssrcs_line,
			       "[output.%s] rtx_ssrcs: fixed RTX SSRCs with a static SRTP key need a writable [daemon] "
			       "state_dir, like ssrcs (the RTX streams' SRTP indexes would start again at every restart: "
			       "keystream reuse). Set state_dir, or drop rtx_ssrcs", o->name);
		for (int j = 0; j < i; j++) {
			const struct mc_output_config *p = &c->outputs[j];
			if (p->srtp_key_len != o->srtp_key_len || memcmp(p->srtp_key, o->srtp_key, o->srtp_key_len) != 0)
				continue;
			for (int a = 0; a < o->n_ssrcs; a++)
				for (int b = 0; b < p->n_ssrcs; b++)
					if (o->ssrcs[a] == p->ssrcs[b])
						report(st, o->ssrcs_line, "[output.%s] ssrcs: SSRC %u is also in [output.%s] "
						       "under the same SRTP key (keystream reuse)", o->name, o->ssrcs[a], p->name);
		}
	}
}

/* Whether mix `m` takes `target` as an input, directly or through other mixes (depth-bounded: a cycle
 * elsewhere does not loop here). */
static bool mix_reaches(const struct mc_config *c, const struct mc_mix_config *m, const char *target, int depth)
{
	if (depth > MC_MAX_MIXES)
		return false;
	for (int i = 0; i < m->n_inputs; i++) {
		if (strcmp(m->inputs[i], target) == 0)
			return true;
		const struct mc_mix_config *sub = mc_config_find_mix(c, m->inputs[i]);
		if (sub && mix_reaches(c, sub, target, depth + 1))
			return true;
	}
	return false;
}

static void check_mixes(struct parse_state *st)
{
	const struct mc_config *c = st->cfg;
	for (int i = 0; i < c->n_mixes; i++) {
		const struct mc_mix_config *m = &c->mixes[i];
		if (mc_config_find_source(c, m->name))
			report(st, m->line, "[mix.%s]: a [source.%s] has the same name (an input would be ambiguous)", m->name,
			       m->name);
		for (int k = 0; k < m->n_inputs; k++) {
			const char *in = m->inputs[k];
			const struct mc_mix_config *sub = mc_config_find_mix(c, in);
			if (strcmp(in, m->name) == 0)
				report(st, m->inputs_line, "[mix.%s] inputs: the mix names itself", m->name);
			else if (!sub && !mc_config_find_source(c, in))
				report(st, m->inputs_line, "[mix.%s] inputs: no [source.%s] or [mix.%s] section", m->name, in, in);
			else if (sub && mix_reaches(c, sub, m->name, 0))
				report(st, m->inputs_line, "[mix.%s] inputs: '%s' takes mix %s as an input in turn (a cycle)",
				       m->name, in, m->name);
		}
	}
}

/* Each source or mix hands frames to at most MC_PRODUCER_MAX_SINKS (4) tracks and mixes. */
static void check_consumers(struct parse_state *st)
{
	const struct mc_config *c = st->cfg;
	for (int kind = 0; kind < 2; kind++) {
		int n = kind ? c->n_mixes : c->n_sources;
		for (int i = 0; i < n; i++) {
			const char *name = kind ? c->mixes[i].name : c->sources[i].name;
			int line = kind ? c->mixes[i].line : c->sources[i].line, users = 0;
			for (int t = 0; t < c->n_tracks; t++)
				users += strcmp(c->tracks[t].input, name) == 0;
			for (int m = 0; m < c->n_mixes; m++)
				for (int k = 0; k < c->mixes[m].n_inputs; k++)
					users += strcmp(c->mixes[m].inputs[k], name) == 0;
			if (users > 4)
				report(st, line, "[%s.%s]: %d tracks and mixes take it as input; at most 4", kind ? "mix" : "source",
				       name, users);
		}
	}
}

static void cross_check(struct parse_state *st)
{
	struct mc_config *c = st->cfg;
	if (c->n_tracks == 0)
		report(st, 1, "no [track.NAME] section: nothing to send");
	check_mixes(st);
	for (int i = 0; i < c->n_tracks; i++) {
		struct mc_track_config *t = &c->tracks[i];
		struct mc_source_config *s = (struct mc_source_config *)mc_config_find_source(c, t->input);
		if (t->input[0] && !s && !mc_config_find_mix(c, t->input))
			report(st, t->input_line, "[track.%s] input: no [source.%s] or [mix.%s] section", t->name, t->input,
			       t->input);
		if (s)
			s->consumers++;
	}
	for (int i = 0; i < c->n_mixes; i++)
		for (int k = 0; k < c->mixes[i].n_inputs; k++) {
			struct mc_source_config *s = (struct mc_source_config *)mc_config_find_source(c, c->mixes[i].inputs[k]);
			if (s)
				s->consumers++;
		}
	/* What a backend checks beyond its values' syntax (a file that must be there), on the key's line. */
	for (int i = 0; i < c->n_sources; i++) {
		struct mc_source_config *s = &c->sources[i];
		const char *key = NULL;
		char err[400];
		if (s->backend && s->backend->check && s->backend->check(s, &key, err, sizeof(err))) {
			int line = s->line;
			if (key)
				mc_source_opt(s, key, &line);
			report(st, line ? line : s->line, "[source.%s] %s%s%s", s->name, key ? key : "", key ? ": " : "", err);
		}
	}
	check_consumers(st);
	for (int i = 0; i < c->n_outputs; i++) {
		struct mc_output_config *o = &c->outputs[i];
		const struct mc_track_config *t = o->track[0] ? mc_config_find_track(c, o->track) : NULL;
		if (o->track[0] && !t)
			report(st, o->track_line, "[output.%s] track: no [track.%s] section", o->name, o->track);
		if (t && !o->single_port && o->n_ports != t->n_layers)
			report(st, o->ports_line, "[output.%s] ports: %d ports for %d layers of track '%s' (one per layer, or use 'port')",
			       o->name, o->n_ports, t->n_layers, t->name);
		if (t && o->n_ssrcs && o->n_ssrcs != t->n_layers)
			report(st, o->ssrcs_line, "[output.%s] ssrcs: %d SSRCs for %d layers", o->name, o->n_ssrcs, t->n_layers);
		for (int a = 0; a < o->n_ssrcs; a++)
			for (int b = a + 1; b < o->n_ssrcs; b++)
				if (o->ssrcs[a] == o->ssrcs[b])
					report(st, o->ssrcs_line, "[output.%s] ssrcs: SSRC %u used twice", o->name, o->ssrcs[a]);
		if (t && o->n_rids && o->n_rids != t->n_layers)
			report(st, o->rids_line, "[output.%s] rids: %d RIDs for %d layers", o->name, o->n_rids, t->n_layers);
		for (int a = 0; a < o->n_rids; a++)
			for (int b = a + 1; b < o->n_rids; b++)
				if (strcmp(o->rids[a], o->rids[b]) == 0)
					report(st, o->rids_line, "[output.%s] rids: RID '%s' used twice", o->name, o->rids[a]);
		if (t && o->n_rtx_ssrcs && o->n_rtx_ssrcs != t->n_layers)
			report(st, o->rtx_ssrcs_line, "[output.%s] rtx_ssrcs: %d SSRCs for %d layers", o->name, o->n_rtx_ssrcs,
			       t->n_layers);
		if (o->srtp_key_file[0])
			load_key_file(st, o);
	}
	check_state_dir(st);
	check_fixed_ssrcs(st);
	check_stats_token(st);
}

const struct mc_source_config *mc_config_find_source(const struct mc_config *cfg, const char *name)
{
	for (int i = 0; i < cfg->n_sources; i++)
		if (strcmp(cfg->sources[i].name, name) == 0)
			return &cfg->sources[i];
	return NULL;
}

const struct mc_mix_config *mc_config_find_mix(const struct mc_config *cfg, const char *name)
{
	for (int i = 0; i < cfg->n_mixes; i++)
		if (strcmp(cfg->mixes[i].name, name) == 0)
			return &cfg->mixes[i];
	return NULL;
}

static bool input_used(const struct mc_config *cfg, const char *name, int depth)
{
	if (depth > MC_MAX_MIXES)
		return false;
	for (int t = 0; t < cfg->n_tracks; t++)
		if (strcmp(cfg->tracks[t].input, name) == 0)
			return true;
	for (int m = 0; m < cfg->n_mixes; m++)
		for (int k = 0; k < cfg->mixes[m].n_inputs; k++)
			if (strcmp(cfg->mixes[m].inputs[k], name) == 0 && input_used(cfg, cfg->mixes[m].name, depth + 1))
				return true;
	return false;
}

bool mc_config_input_used(const struct mc_config *cfg, const char *name) { return input_used(cfg, name, 0); }

const void *mc_source_opt(const struct mc_source_config *s, const char *key, int *line)
{
	int idx;
	const struct mc_option *o = s->backend && s->opts ? mc_option_find(s->backend->options, key, &idx) : NULL;
	if (line)
		*line = o ? s->opt_line[idx] : 0;
	return o ? (const char *)s->opts + o->offset : NULL;
}

const struct mc_track_config *mc_config_find_track(const struct mc_config *cfg, const char *name)
{
	for (int i = 0; i < cfg->n_tracks; i++)
		if (strcmp(cfg->tracks[i].name, name) == 0)
			return &cfg->tracks[i];
	return NULL;
}

int mc_config_load_buffer(const char *name, const char *data, size_t len, struct mc_config **out, int *n_errors)
{
	struct mc_config *cfg = calloc(1, sizeof(*cfg));
	if (!cfg)
		return -ENOMEM;
	snprintf(cfg->path, sizeof(cfg->path), "%s", name);
	cfg->daemon.log_level = MC_LOG_INFO;
	struct parse_state st = { .cfg = cfg, .file = name, .data = data, .len = len };

	int rc = ini_parse_stream(reader, &st, handler, &st);
	finish_section(&st);
	if (rc > 0 && rc != st.error_line)
		report(&st, rc, "syntax error: expected '[section]' or 'key = value'");
	else if (rc < 0)
		report(&st, 0, "cannot parse (out of memory)");
	cfg->daemon.log_level_set = false;
	if (st.errors == 0)
		cross_check(&st);
	if (n_errors)
		*n_errors = st.errors;
	if (st.errors) {
		mc_config_free(cfg);
		*out = NULL;
		return -EINVAL;
	}
	*out = cfg;
	return 0;
}

int mc_config_load(const char *path, struct mc_config **cfg, int *n_errors)
{
	*cfg = NULL;
	if (n_errors)
		*n_errors = 0;
	FILE *f = fopen(path, "re");
	if (!f) {
		int e = errno;
		mc_err(MOD, "%s: cannot open: %s", path, strerror(e));
		if (n_errors)
			*n_errors = 1;
		return -e;
	}
	char *data = NULL;
	size_t cap = 0, len = 0;
	for (;;) {
		if (len == cap) {
			if (cap >= (1u << 20)) {
				mc_err(MOD, "%s: larger than 1 MiB: not a configuration file", path);
				free(data);
				fclose(f);
				if (n_errors)
					*n_errors = 1;
				return -EFBIG;
			}
			cap = cap ? cap * 2 : 4096;
			char *n = realloc(data, cap);
			if (!n) {
				free(data);
				fclose(f);
				return -ENOMEM;
			}
			data = n;
		}
		size_t got = fread(data + len, 1, cap - len, f);
		len += got;
		if (got == 0)
			break;
	}
	fclose(f);
	int rc = mc_config_load_buffer(path, data, len, cfg, n_errors);
	free(data);
	return rc;
}

void mc_config_free(struct mc_config *cfg)
{
	if (!cfg)
		return;
	for (int i = 0; i < MC_MAX_OUTPUTS; i++)
		explicit_bzero(cfg->outputs[i].srtp_key, sizeof(cfg->outputs[i].srtp_key));
	for (int i = 0; i < MC_MAX_SOURCES; i++)
		free(cfg->sources[i].opts);
	free(cfg);
}
