/* mixcast-probe: what this machine offers mixcastd. Cameras, DRM cards, V4L2 m2m encoders and scalers,
 * VA-API devices, and with -c FILE which encoder each layer of that config gets and why (the daemon's own
 * chain and probes: src/media/encoder.c, hw/). Human output by default, --json for scripts. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "encoder.h"
#include "log.h"
#include "probe.h"
#include "strbuf.h"

static struct mc_probe_v4l2 v4l2[MC_PROBE_MAX_DEVICES];
static struct mc_probe_drm drm[MC_PROBE_MAX_DEVICES];
static struct mc_probe_vaapi va[MC_PROBE_MAX_DEVICES];
static int n_v4l2, n_drm, n_va;

static void json_list(struct mc_strbuf *b, const char *key, char (*items)[96], int n, size_t stride)
{
	mc_strbuf_printf(b, ",\"%s\":[", key);
	for (int i = 0; i < n; i++) {
		if (i)
			mc_strbuf_printf(b, ",");
		mc_strbuf_json_string(b, (const char *)items + stride * (size_t)i);
	}
	mc_strbuf_printf(b, "]");
}
#define JLIST(b, key, arr, n) json_list(b, key, (char(*)[96])(void *)(arr), n, sizeof((arr)[0]))

struct pick {
	char track[MC_NAME_MAX];
	int layer, width, height, fps;
	const char *choice, *backend; /* backend NULL: none */
	char why[512];
};

static int plan(const struct mc_config *cfg, struct pick *out, int max)
{
	int n = 0;
	for (int t = 0; t < cfg->n_tracks; t++) {
		const struct mc_track_config *tc = &cfg->tracks[t];
		for (int i = 0; i < tc->n_layers && n < max; i++) {
			const struct mc_layer_config *lc = &tc->layers[i];
			enum mc_encoder_choice choice = lc->encoder == MC_ENCODER_TRACK ? tc->encoder : lc->encoder;
			struct pick *pk = &out[n++];
			memset(pk, 0, sizeof(*pk));
			snprintf(pk->track, sizeof(pk->track), "%s", tc->name);
			pk->layer = i;
			pk->width = lc->width;
			pk->height = lc->height;
			pk->fps = lc->fps;
			pk->choice = mc_encoder_choice_name(choice);
			char name[64];
			snprintf(name, sizeof(name), "%s/%d", tc->name, i);
			struct mc_encoder_params p = { .codec = tc->codec, .width = lc->width, .height = lc->height,
						       .fps = lc->fps, .bitrate = lc->bitrate, .name = name,
						       .device = tc->encoder_device };
			const char *names[8];
			int nn = mc_encoder_chain_names(choice, names, 8);
			for (int k = 0; k < nn && !pk->backend; k++) {
				const struct mc_encoder_ops *ops = mc_encoder_find(names[k]);
				char why[160] = "";
				size_t l = strlen(pk->why);
				if (!ops) {
					snprintf(pk->why + l, sizeof(pk->why) - l, "%s: not in this build; ", names[k]);
				} else if (!ops->probe(&p, why, sizeof(why))) {
					snprintf(pk->why + l, sizeof(pk->why) - l, "%s: %s; ", names[k], why);
				} else {
					pk->backend = ops->name;
					snprintf(pk->why + l, sizeof(pk->why) - l, "%s: usable", names[k]);
				}
			}
		}
	}
	return n;
}

static void print_human(const struct pick *picks, int n_picks, bool with_plan)
{
	printf("Cameras (V4L2 capture):\n");
	int shown = 0;
	for (int i = 0; i < n_v4l2; i++) {
		const struct mc_probe_v4l2 *d = &v4l2[i];
		if (!d->capture)
			continue;
		shown++;
		printf("  %s: %s (%s, %s)\n", d->path, d->card, d->driver, d->bus);
		for (int k = 0; k < d->n_formats; k++)
			printf("    %s\n", d->formats[k]);
	}
	if (!shown)
		printf("  none (no V4L2 capture device in /dev/video*)\n");
	printf("V4L2 mem2mem encoders and scalers:\n");
	shown = 0;
	for (int i = 0; i < n_v4l2; i++) {
		const struct mc_probe_v4l2 *d = &v4l2[i];
		if (!d->m2m)
			continue;
		shown++;
		printf("  %s: %s (%s): %s\n", d->path, d->card, d->driver, d->encoder ? "encoder" : d->decoder ? "decoder (not used)" : "scaler");
		for (int k = 0; k < d->n_formats; k++)
			printf("    %s\n", d->formats[k]);
		for (int k = 0; k < d->n_controls; k++)
			printf("    control %s\n", d->controls[k]);
	}
	if (!shown)
		printf("  none (no V4L2 mem2mem device in /dev/video*)\n");
	printf("DRM cards:\n");
	for (int i = 0; i < n_drm; i++) {
		printf("  %s: driver %s\n", drm[i].path, drm[i].driver);
		for (int k = 0; k < drm[i].n_connectors; k++)
			printf("    connector %s\n", drm[i].connectors[k]);
		for (int k = 0; k < drm[i].n_crtcs; k++)
			printf("    %s\n", drm[i].crtcs[k]);
	}
	if (!n_drm)
		printf("  none (no /dev/dri/card*)\n");
	printf("VA-API devices:\n");
	for (int i = 0; i < n_va; i++) {
		if (va[i].error[0]) {
			printf("  %s: %s\n", va[i].path, va[i].error);
			continue;
		}
		printf("  %s: %s; H.264 encode: %s; video processing (scaling): %s\n", va[i].path, va[i].vendor,
		       va[i].h264_encode ? "yes" : "no (this device cannot be the vaapi encoder)",
		       va[i].vpp ? "yes" : "no (layers are scaled on the CPU)");
		for (int k = 0; k < va[i].n_profiles; k++)
			printf("    %s\n", va[i].profiles[k]);
	}
	if (!n_va)
		printf("  no VA-API device (no /dev/dri/renderD*)\n");
	if (!with_plan)
		return;
	printf("Encoders for the config's layers:\n");
	for (int i = 0; i < n_picks; i++)
		printf("  %s/%d %dx%d@%d: encoder = %s -> %s (%s)\n", picks[i].track, picks[i].layer, picks[i].width,
		       picks[i].height, picks[i].fps, picks[i].choice, picks[i].backend ? picks[i].backend : "NONE",
		       picks[i].why);
}

static void print_json(const struct pick *picks, int n_picks, bool with_plan)
{
	struct mc_strbuf b = { 0 };
	mc_strbuf_printf(&b, "{\"v4l2\":[");
	for (int i = 0; i < n_v4l2; i++) {
		const struct mc_probe_v4l2 *d = &v4l2[i];
		mc_strbuf_printf(&b, "%s{\"path\":", i ? "," : "");
		mc_strbuf_json_string(&b, d->path);
		mc_strbuf_printf(&b, ",\"driver\":");
		mc_strbuf_json_string(&b, d->driver);
		mc_strbuf_printf(&b, ",\"card\":");
		mc_strbuf_json_string(&b, d->card);
		mc_strbuf_printf(&b, ",\"kind\":\"%s\"", d->capture ? "camera" : d->encoder ? "m2m-encoder" : d->decoder ? "m2m-decoder" : d->scaler ? "m2m-scaler" : "other");
		JLIST(&b, "formats", d->formats, d->n_formats);
		JLIST(&b, "controls", d->controls, d->n_controls);
		mc_strbuf_printf(&b, "}");
	}
	mc_strbuf_printf(&b, "],\"drm\":[");
	for (int i = 0; i < n_drm; i++) {
		mc_strbuf_printf(&b, "%s{\"path\":", i ? "," : "");
		mc_strbuf_json_string(&b, drm[i].path);
		mc_strbuf_printf(&b, ",\"driver\":");
		mc_strbuf_json_string(&b, drm[i].driver);
		JLIST(&b, "connectors", drm[i].connectors, drm[i].n_connectors);
		JLIST(&b, "crtcs", drm[i].crtcs, drm[i].n_crtcs);
		mc_strbuf_printf(&b, "}");
	}
	mc_strbuf_printf(&b, "],\"vaapi\":[");
	for (int i = 0; i < n_va; i++) {
		mc_strbuf_printf(&b, "%s{\"path\":", i ? "," : "");
		mc_strbuf_json_string(&b, va[i].path);
		mc_strbuf_printf(&b, ",\"vendor\":");
		mc_strbuf_json_string(&b, va[i].vendor);
		mc_strbuf_printf(&b, ",\"error\":");
		mc_strbuf_json_string(&b, va[i].error);
		mc_strbuf_printf(&b, ",\"h264_encode\":%s", va[i].h264_encode ? "true" : "false");
		mc_strbuf_printf(&b, ",\"vpp\":%s", va[i].vpp ? "true" : "false");
		JLIST(&b, "profiles", va[i].profiles, va[i].n_profiles);
		mc_strbuf_printf(&b, "}");
	}
	mc_strbuf_printf(&b, "]");
	if (with_plan) {
		mc_strbuf_printf(&b, ",\"layers\":[");
		for (int i = 0; i < n_picks; i++) {
			mc_strbuf_printf(&b, "%s{\"track\":", i ? "," : "");
			mc_strbuf_json_string(&b, picks[i].track);
			mc_strbuf_printf(&b, ",\"layer\":%d,\"width\":%d,\"height\":%d,\"fps\":%d,\"encoder\":\"%s\",\"backend\":",
					 picks[i].layer, picks[i].width, picks[i].height, picks[i].fps, picks[i].choice);
			if (picks[i].backend)
				mc_strbuf_json_string(&b, picks[i].backend);
			else
				mc_strbuf_printf(&b, "null");
			mc_strbuf_printf(&b, ",\"why\":");
			mc_strbuf_json_string(&b, picks[i].why);
			mc_strbuf_printf(&b, "}");
		}
		mc_strbuf_printf(&b, "]");
	}
	mc_strbuf_printf(&b, "}\n");
	if (b.data)
		fputs(b.data, stdout);
	mc_strbuf_free(&b);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' }, { "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' }, { NULL, 0, NULL, 0 },
	};
	const char *conf = NULL;
	bool json = false;
	int c;
	while ((c = getopt_long(argc, argv, "c:jh", opts, NULL)) != -1) {
		switch (c) {
		case 'c': conf = optarg; break;
		case 'j': json = true; break;
		default:
			fprintf(stderr, "usage: %s [-c CONFIG] [--json]\n", argv[0]);
			return c == 'h' ? 0 : 2;
		}
	}
	mc_log_init();
	mc_log_set_level(MC_LOG_WARN);
	struct mc_config *cfg = NULL;
	if (conf) {
		int nerr;
		if (mc_config_load(conf, &cfg, &nerr)) {
			fprintf(stderr, "mixcast-probe: %s: %d error(s) (above)\n", conf, nerr);
			return 1;
		}
	}
	n_v4l2 = mc_probe_v4l2(v4l2, MC_PROBE_MAX_DEVICES);
	n_drm = mc_probe_drm(drm, MC_PROBE_MAX_DEVICES);
	n_va = mc_probe_vaapi(va, MC_PROBE_MAX_DEVICES);
	static struct pick picks[MC_MAX_TRACKS * MC_MAX_LAYERS];
	int n_picks = cfg ? plan(cfg, picks, MC_MAX_TRACKS * MC_MAX_LAYERS) : 0;
	if (json)
		print_json(picks, n_picks, cfg != NULL);
	else
		print_human(picks, n_picks, cfg != NULL);
	mc_config_free(cfg);
	return 0;
}
