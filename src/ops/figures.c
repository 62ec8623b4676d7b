#include "figures.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "daemon.h"
#include "encoder.h"
#include "log.h"
#include "output_cc.h"
#include "threadcpu.h"

/* ---- getters of figures that are not a plain counter ------------------------------------------------- */

static double counter_at(const void *base, size_t off) { return (double)mc_count_get((const mc_counter *)((const char *)base + off)); }

static const char *obj_name(const struct mc_fig_obj *o) { return o->label_value[0]; }
static double obj_index(const struct mc_fig_obj *o) { return o->index; }

#define PROC(f) \
	static double proc_##f(const struct mc_fig_obj *o) { return (double)o->proc->f; }
PROC(cpu_user_s)
PROC(cpu_sys_s)
PROC(rss_peak_kb)
PROC(start_time_s)
PROC(uptime_s)
PROC(rss_bytes)
PROC(vsize_bytes)
PROC(open_fds)
PROC(max_fds)
static double proc_cpu_s(const struct mc_fig_obj *o) { return o->proc->cpu_user_s + o->proc->cpu_sys_s; }
static const char *proc_version(const struct mc_fig_obj *o) { return MIXCAST_VERSION; }
static double thread_cpu_s(const struct mc_fig_obj *o) { return mc_thread_cpu_seconds(o->cpu); }

static const char *src_type(const struct mc_fig_obj *o) { return o->s->ops->name; }
static double src_fps(const struct mc_fig_obj *o)
{
	const struct mc_source_stats *st = &o->s->stats;
	uint64_t den = mc_count_get(&st->fps_den);
	return den ? (double)mc_count_get(&st->fps_num) / (double)den : 0;
}
static double src_ended(const struct mc_fig_obj *o) { return mc_producer_ended(&o->s->out); }
static double src_state(const struct mc_fig_obj *o) { return (double)mc_count_get(&o->s->stats.state); }
static const char *src_state_str(const struct mc_fig_obj *o)
{
	return mc_source_state_name((enum mc_source_state)mc_count_get(&o->s->stats.state));
}
static const char *src_state_name(int i) { return i <= MC_SOURCE_ENDED ? mc_source_state_name((enum mc_source_state)i) : NULL; }
static const char *src_error(const struct mc_fig_obj *o)
{
	int err = (int)mc_count_get(&o->s->stats.last_error);
	return err ? strerror(err) : ""; /* glibc: the table's constant strings for known errnos */
}
static const char *src_path(const struct mc_fig_obj *o)
{
	const char *path = __atomic_load_n(&o->s->stats.path, __ATOMIC_ACQUIRE);
	return path ? path : "";
}
static double src_copies_per_frame(const struct mc_fig_obj *o)
{
	uint64_t frames = mc_count_get(&o->s->stats.frames);
	return frames ? (double)mc_count_get(&o->s->stats.backend.copies) / (double)frames : 0.0;
}

static double mix_width(const struct mc_fig_obj *o) { return o->m->cfg->width; }
static double mix_height(const struct mc_fig_obj *o) { return o->m->cfg->height; }
static double mix_fps(const struct mc_fig_obj *o) { return o->m->cfg->fps; }
static double mix_ended(const struct mc_fig_obj *o) { return mc_producer_ended(&o->m->out); }
static const char *mix_input_name(const struct mc_fig_obj *o) { return o->label_value[1]; }
static double mix_input_dropped(const struct mc_fig_obj *o)
{
	return (double)mc_mailbox_dropped((struct mc_mailbox *)&o->m->inputs[o->index].mailbox);
}

static const char *track_codec(const struct mc_fig_obj *o) { return o->t->cfg->codec == MC_CODEC_VP8 ? "vp8" : "h264"; }
/* the mailbox's count is under its lock, held by the media threads only for a pointer swap */
static double track_dropped(const struct mc_fig_obj *o) { return (double)mc_mailbox_dropped(&o->t->input); }

static double layer_width(const struct mc_fig_obj *o) { return o->l->cfg->width; }
static double layer_height(const struct mc_fig_obj *o) { return o->l->cfg->height; }
static double layer_fps(const struct mc_fig_obj *o) { return o->l->cfg->fps; }
static double layer_bitrate(const struct mc_fig_obj *o) { return o->l->cfg->bitrate; }
static const char *layer_encoder(const struct mc_fig_obj *o) { return o->l->encoder ? mc_encoder_backend_name(o->l->encoder) : ""; }
static const char *layer_scaler(const struct mc_fig_obj *o) { return o->l->scaler ? mc_scaler_backend_name(o->l->scaler) : ""; }
static double layer_fallbacks(const struct mc_fig_obj *o) { return o->l->encoder ? (double)mc_encoder_fallbacks(o->l->encoder) : 0; }
static double layer_encoder_copies(const struct mc_fig_obj *o) { return o->l->encoder ? (double)mc_encoder_copies(o->l->encoder) : 0; }
static double layer_dropped(const struct mc_fig_obj *o) { return (double)mc_layer_dropped(o->l); }
static double layer_encoded_age_ms(const struct mc_fig_obj *o)
{
	uint64_t last = mc_count_get(&o->l->stats.last_encoded_us);
	return last ? (double)(mc_now_us() - (int64_t)last) / 1e3 : -1.0;
}

static const char *out_track(const struct mc_fig_obj *o) { return o->label_value[1]; }
static double out_packets(const struct mc_fig_obj *o)
{
	uint64_t n = 0;
	for (int l = 0; l < o->o->n_layers; l++)
		n += mc_count_get(&o->o->layer_stats[l].packets);
	return (double)n;
}
static double out_bytes(const struct mc_fig_obj *o)
{
	uint64_t n = 0;
	for (int l = 0; l < o->o->n_layers; l++)
		n += mc_count_get(&o->o->layer_stats[l].bytes);
	return (double)n;
}
static double out_queue_dropped(const struct mc_fig_obj *o) { return (double)mc_count_get(&o->o->queue.dropped); }
static bool out_has_cc(const struct mc_fig_obj *o) { return o->o->cc != NULL; }
static bool out_has_rtx(const struct mc_fig_obj *o) { return o->o->cfg->rtx; }
static double out_cc_enabled(const struct mc_fig_obj *o) { return o->o->cfg->cc; }
static double out_pacing_enabled(const struct mc_fig_obj *o) { return o->o->cfg->pacing; }
static double pacer_sent(const struct mc_fig_obj *o) { return (double)mc_count_get(&o->o->pacer.sent); }
static double pacer_queued(const struct mc_fig_obj *o) { return (double)mc_count_get(&o->o->pacer.queued_now); }
static double pacer_age(const struct mc_fig_obj *o) { return (double)mc_count_get(&o->o->pacer.queue_age_us); }
static double pacer_dropped_old(const struct mc_fig_obj *o) { return (double)mc_count_get(&o->o->pacer.dropped_old); }
static double pacer_dropped_full(const struct mc_fig_obj *o) { return (double)mc_count_get(&o->o->pacer.dropped_full); }
static double ol_ssrc(const struct mc_fig_obj *o) { return mc_output_ssrc(o->o, o->index); }
static double ol_port(const struct mc_fig_obj *o) { return ntohs(o->o->rtp_dest[o->index].sin_port); }
static double ol_rtx_ssrc(const struct mc_fig_obj *o) { return o->o->rtx[o->index].ssrc; }
static double ol_target(const struct mc_fig_obj *o) { return (double)mc_count_get(&o->o->cc->layer_target[o->index]); }
static double ol_paused(const struct mc_fig_obj *o) { return mc_count_get(&o->o->cc->layer_paused[o->index]) != 0; }

/* ---- the tables -------------------------------------------------------------------------------------- */

/* a counter or histogram at a field of a base: CT(kind, SRC(field)) */
#define CT(kind_, ...) CT_(kind_, __VA_ARGS__)
#define CT_(kind_, base_, type_, field_) .kind = (kind_), .base = (base_), .off = offsetof(type_, field_)
#define US 1e-6 /* microseconds to seconds */

static const struct mc_figure process_figs[] = {
	{ .key = "version", .name = "mixcast_build", .kind = MC_FIG_INFO, .label = "version", .str = proc_version,
	  .help = "The mixcastd version running" },
	{ .key = "uptime_s", .name = "mixcast_uptime_seconds", .kind = MC_FIG_GAUGE, .json = MC_JSON_F3, .get = proc_uptime_s,
	  .help = "Seconds since the daemon started" },
	{ .key = "cpu_user_s", .group = "process", .kind = MC_FIG_GAUGE, .json = MC_JSON_F3, .get = proc_cpu_user_s },
	{ .key = "cpu_sys_s", .group = "process", .kind = MC_FIG_GAUGE, .json = MC_JSON_F3, .get = proc_cpu_sys_s },
	{ .name = "cpu_seconds", .kind = MC_FIG_COUNTER, .json = MC_JSON_NONE, .get = proc_cpu_s,
	  .help = "User and system CPU time of the process" },
	{ .key = "rss_peak_kb", .group = "process", .kind = MC_FIG_GAUGE, .get = proc_rss_peak_kb },
	{ .key = "rss_bytes", .group = "process", .name = "resident_memory_bytes", .kind = MC_FIG_GAUGE, .get = proc_rss_bytes,
	  .help = "Resident memory size" },
	{ .key = "virtual_bytes", .group = "process", .name = "virtual_memory_bytes", .kind = MC_FIG_GAUGE,
	  .get = proc_vsize_bytes, .help = "Virtual memory size" },
	{ .key = "start_time_s", .group = "process", .name = "start_time_seconds", .kind = MC_FIG_GAUGE, .json = MC_JSON_F3,
	  .get = proc_start_time_s, .help = "Start time of the process since the Unix epoch" },
	{ .key = "open_fds", .group = "process", .name = "open_fds", .kind = MC_FIG_GAUGE, .get = proc_open_fds,
	  .help = "Open file descriptors" },
	{ .key = "max_fds", .group = "process", .name = "max_fds", .kind = MC_FIG_GAUGE, .get = proc_max_fds,
	  .help = "The limit of open file descriptors (RLIMIT_NOFILE)" },
};

static const struct mc_figure thread_figs[] = {
	{ .key = "name", .kind = MC_FIG_INFO, .str = obj_name },
	{ .key = "cpu_s", .name = "cpu_seconds", .kind = MC_FIG_COUNTER, .json = MC_JSON_F3, .get = thread_cpu_s,
	  .help = "CPU time of a media or network thread" },
};

#define SRC(f) MC_BASE_SOURCE, struct mc_source, stats.f
static const struct mc_figure source_figs[] = {
	{ .key = "name", .kind = MC_FIG_INFO, .str = obj_name },
	{ .key = "type", .name = "type", .kind = MC_FIG_INFO, .label = "type", .str = src_type, .help = "The source's backend" },
	{ .key = "width", .name = "width_pixels", CT(MC_FIG_GAUGE, SRC(width)), .help = "Picture width the source delivers" },
	{ .key = "height", .name = "height_pixels", CT(MC_FIG_GAUGE, SRC(height)), .help = "Picture height the source delivers" },
	{ .key = "fps", .name = "nominal_fps", .kind = MC_FIG_GAUGE, .json = MC_JSON_F3, .get = src_fps,
	  .help = "The source's nominal frame rate" },
	{ .key = "frames", .name = "frames", CT(MC_FIG_COUNTER, SRC(frames)), .help = "Frames the backend delivered" },
	{ .key = "ended", .name = "ended", .kind = MC_FIG_GAUGE, .json = MC_JSON_BOOL, .get = src_ended,
	  .help = "1 once the source reached its end or failed" },
	{ .key = "state", .name = "state", .kind = MC_FIG_STATE, .label = "state", .get = src_state, .str = src_state_str,
	  .state_name = src_state_name, .help = "The source's signal state: live, no-signal (sending the placeholder), ended" },
	{ .key = "signal_losses", .name = "signal_losses", CT(MC_FIG_COUNTER, SRC(signal_losses)),
	  .help = "Times the signal went away (or was absent at start)" },
	{ .key = "placeholder_frames", .name = "placeholder_frames", CT(MC_FIG_COUNTER, SRC(placeholder_frames)),
	  .help = "Placeholder pictures sent while without signal" },
	{ .key = "last_error", .name = "last_error", .kind = MC_FIG_INFO, .label = "error", .str = src_error,
	  .help = "The error of the last signal loss or failed reopen (empty: none)" },
	{ .key = "last_restore_us", .name = "last_restore_seconds", CT(MC_FIG_GAUGE, SRC(last_restore_us)), .prom_scale = US,
	  .help = "The last loss-to-first-frame time" },
	{ .key = "path", .name = "path", .kind = MC_FIG_INFO, .label = "path", .str = src_path,
	  .help = "How the source makes its frames (format, memory, conversion)" },
	{ .key = "copies", .name = "copies", CT(MC_FIG_COUNTER, SRC(backend.copies)),
	  .help = "Picture copies, conversions or decodes between the device's buffer and the frame handed on" },
	{ .key = "copies_per_frame", .kind = MC_FIG_GAUGE, .json = MC_JSON_F3, .get = src_copies_per_frame },
	{ .key = "corrupt_frames", .name = "corrupt_frames", CT(MC_FIG_COUNTER, SRC(backend.corrupt)),
	  .help = "Frames the device delivered that were skipped (corrupt, an error flag)" },
	{ .key = "capture_wait", .group = "timing_us", .name = "capture_wait_seconds", CT(MC_FIG_HISTOGRAM, SRC(capture_wait)),
	  .help = "Time a frame read took: pacing wait plus reading" },
};

#define MIX(f) MC_BASE_MIX, struct mc_mixer, f
static const struct mc_figure mix_figs[] = {
	{ .key = "name", .kind = MC_FIG_INFO, .str = obj_name },
	{ .key = "width", .name = "width_pixels", .kind = MC_FIG_GAUGE, .get = mix_width, .help = "Picture width of the mix" },
	{ .key = "height", .name = "height_pixels", .kind = MC_FIG_GAUGE, .get = mix_height, .help = "Picture height of the mix" },
	{ .key = "fps", .name = "nominal_fps", .kind = MC_FIG_GAUGE, .get = mix_fps, .help = "The rate the mix ticks at" },
	{ .key = "frames", .name = "frames", CT(MC_FIG_COUNTER, MIX(frames)), .help = "Pictures the mix delivered" },
	{ .key = "frames_repeated", .name = "frames_repeated", CT(MC_FIG_COUNTER, MIX(frames_repeated)),
	  .help = "Ticks on which no input changed: the last picture went out again, nothing composed" },
	{ .key = "ended", .name = "ended", .kind = MC_FIG_GAUGE, .json = MC_JSON_BOOL, .get = mix_ended,
	  .help = "1 once the mix stopped (every input ended)" },
	{ .key = "compose", .group = "timing_us", .name = "compose_seconds", CT(MC_FIG_HISTOGRAM, MIX(compose)),
	  .help = "Time composing one picture from the inputs' frames" },
};

static const struct mc_figure mix_input_figs[] = {
	{ .key = "name", .kind = MC_FIG_INFO, .str = mix_input_name },
	{ .key = "frames_dropped", .name = "frames_dropped", .kind = MC_FIG_COUNTER, .get = mix_input_dropped,
	  .xlabel = "reason=\"mailbox\"", .help = "An input's frames replaced by a newer one before the mix took them" },
};

#define TRK(f) MC_BASE_TRACK, struct mc_track, f
static const struct mc_figure track_figs[] = {
	{ .key = "name", .kind = MC_FIG_INFO, .str = obj_name },
	{ .key = "codec", .name = "codec", .kind = MC_FIG_INFO, .label = "codec", .str = track_codec, .help = "The track's codec" },
	{ .key = "frames_in", .name = "frames_in", CT(MC_FIG_COUNTER, TRK(frames_in)), .help = "Frames the track took from its input" },
	{ .key = "frames_dropped", .name = "frames_dropped", .kind = MC_FIG_COUNTER, .get = track_dropped,
	  .xlabel = "reason=\"mailbox\"", .help = "Input frames dropped, by reason (mailbox: replaced by a newer one before the track took it)" },
	{ .key = "frames_unchanged", .name = "frames_unchanged", CT(MC_FIG_COUNTER, TRK(frames_unchanged)),
	  .help = "Frames equal to the previous one (skip_unchanged)" },
	{ .key = "mailbox_age", .group = "timing_us", .name = "mailbox_age_seconds", CT(MC_FIG_HISTOGRAM, TRK(mailbox_age)),
	  .help = "Age of a frame when the track took it from the source's mailbox" },
	{ .key = "compare", .group = "timing_us", .name = "compare_seconds", CT(MC_FIG_HISTOGRAM, TRK(compare)),
	  .help = "Time comparing a frame with the previous one" },
};

#define LY(f) MC_BASE_LAYER, struct mc_layer, f
static const struct mc_figure layer_figs[] = {
	{ .key = "index", .kind = MC_FIG_GAUGE, .get = obj_index },
	{ .key = "width", .name = "width_pixels", .kind = MC_FIG_GAUGE, .get = layer_width, .help = "The layer's configured width" },
	{ .key = "height", .name = "height_pixels", .kind = MC_FIG_GAUGE, .get = layer_height, .help = "The layer's configured height" },
	{ .key = "fps", .name = "configured_fps", .kind = MC_FIG_GAUGE, .get = layer_fps, .help = "The layer's configured frame rate" },
	{ .key = "bitrate", .name = "configured_bitrate_bytes_per_second", .prom_scale = 0.125, .kind = MC_FIG_GAUGE, .get = layer_bitrate,
	  .help = "The layer's configured bitrate" },
	{ .key = "encoder", .name = "encoder", .kind = MC_FIG_INFO, .label = "backend", .str = layer_encoder,
	  .help = "The encoder backend in use" },
	{ .key = "scaler", .name = "scaler", .kind = MC_FIG_INFO, .label = "backend", .str = layer_scaler,
	  .help = "The scaler backend that made the layer's last picture (none: the input passed through)" },
	{ .key = "encoder_fallbacks", .name = "encoder_fallbacks", .kind = MC_FIG_COUNTER, .get = layer_fallbacks,
	  .help = "Times the encoder failed and the next backend took over" },
	{ .key = "copies", .name = "scaler_copies", CT(MC_FIG_COUNTER, LY(stats.copies)),
	  .help = "Pictures the layer's scaler made on the CPU rather than passed through" },
	{ .key = "device_scaled", .name = "device_scaled", CT(MC_FIG_COUNTER, LY(stats.device_scaled)),
	  .help = "Pictures a device scaler made (the layer's encoder imports them: no CPU pass, no copy)" },
	{ .key = "device_frames", .name = "device_frames", CT(MC_FIG_COUNTER, LY(stats.device_frames)),
	  .help = "Frames handed to the encoder that are a device's buffer (no copy)" },
	{ .key = "encoder_copies", .name = "encoder_copies", .kind = MC_FIG_COUNTER, .get = layer_encoder_copies,
	  .help = "Pictures the encoder backend copied into its own buffers (a hardware encoder given a CPU frame)" },
	{ .key = "frames_in", .name = "frames_in", CT(MC_FIG_COUNTER, LY(stats.frames_in)), .help = "Frames handed to the layer" },
	{ .key = "frames_encoded", .name = "frames_encoded", CT(MC_FIG_COUNTER, LY(stats.frames_encoded)), .help = "Frames encoded" },
	{ .key = "frames_dropped", .name = "frames_dropped", .kind = MC_FIG_COUNTER, .get = layer_dropped, .xlabel = "reason=\"mailbox\"",
	  .help = "Frames not encoded or not sent, by reason (mailbox: replaced before the encoder took it; network_queue: "
		  "encoded, then dropped on an output's full queue; paused: the layer paused by congestion control; "
		  "encode_error: refused by the encoder)" },
	{ .key = "keyframes", .name = "keyframes", CT(MC_FIG_COUNTER, LY(stats.keyframes)), .help = "Keyframes encoded" },
	{ .key = "bytes", .name = "encoded_bytes", CT(MC_FIG_COUNTER, LY(stats.bytes)), .help = "Bytes the encoder produced" },
	{ .key = "bitrate_now", .name = "target_bitrate_bytes_per_second", CT(MC_FIG_GAUGE, LY(bitrate_now)), .prom_scale = 0.125,
	  .help = "The bitrate the encoder is set to now (congestion control may lower it)" },
	{ .key = "paused", .name = "paused", CT(MC_FIG_GAUGE, LY(paused_now)), .json = MC_JSON_BOOL,
	  .help = "1 while congestion control pauses the layer" },
	{ .key = "frames_paused", .name = "frames_dropped", CT(MC_FIG_COUNTER, LY(frames_paused)), .xlabel = "reason=\"paused\"" },
	{ .key = "bitrate_changes", .name = "bitrate_changes", CT(MC_FIG_COUNTER, LY(bitrate_changes)),
	  .help = "Times the encoder's bitrate was changed" },
	{ .key = "keyframes_requested", .name = "keyframes_requested", CT(MC_FIG_COUNTER, LY(stats.keyframes_requested)),
	  .help = "Keyframe requests (PLI/FIR, start of a viewer)" },
	{ .key = "frames_dropped_net", .name = "frames_dropped", CT(MC_FIG_COUNTER, LY(stats.frames_dropped_net)),
	  .xlabel = "reason=\"network_queue\"" },
	{ .key = "encode_errors", .name = "frames_dropped", CT(MC_FIG_COUNTER, LY(stats.encode_errors)),
	  .xlabel = "reason=\"encode_error\"" },
	{ .key = "last_encoded_age_ms", .kind = MC_FIG_GAUGE, .json = MC_JSON_F1, .get = layer_encoded_age_ms },
	{ .name = "last_encoded_age_seconds", .kind = MC_FIG_GAUGE, .json = MC_JSON_NONE, .get = layer_encoded_age_ms,
	  .prom_scale = 1e-3, .help = "Time since the layer last encoded a frame (-0.001: never)" },
	/* the track's, repeated in each layer for the readers of a layer alone: JSON only */
	{ .key = "mailbox_age", .group = "timing_us", .kind = MC_FIG_HISTOGRAM, .base = MC_BASE_TRACK,
	  .off = offsetof(struct mc_track, mailbox_age) },
	{ .key = "queue_age", .group = "timing_us", .name = "queue_age_seconds", CT(MC_FIG_HISTOGRAM, LY(stats.queue_age)),
	  .help = "Age of a frame when the layer took it from the track" },
	{ .key = "scale", .group = "timing_us", .name = "scale_seconds", CT(MC_FIG_HISTOGRAM, LY(stats.scale)),
	  .help = "Time scaling a frame to the layer's size" },
	{ .key = "encode", .group = "timing_us", .name = "encode_seconds", CT(MC_FIG_HISTOGRAM, LY(stats.encode)),
	  .help = "Time encoding a frame" },
};

#define FB(f) MC_BASE_OUTPUT, struct mc_output, fb.f
#define CC(f) MC_BASE_CC, struct mc_output_cc, f
static const struct mc_figure output_figs[] = {
	{ .key = "name", .kind = MC_FIG_INFO, .str = obj_name },
	{ .key = "track", .kind = MC_FIG_INFO, .str = out_track },
	{ .key = "datagrams", .group = "feedback", .name = "rtcp_datagrams", CT(MC_FIG_COUNTER, FB(datagrams)),
	  .help = "Datagrams read on the output's sockets" },
	{ .key = "rtcp_packets", .group = "feedback", .name = "rtcp_packets", CT(MC_FIG_COUNTER, FB(rtcp_packets)),
	  .help = "RTCP packets understood" },
	{ .key = "malformed", .group = "feedback", .name = "rtcp_ignored", CT(MC_FIG_COUNTER, FB(malformed)), .xlabel = "reason=\"malformed\"",
	  .help = "Datagrams or RTCP packets ignored, by reason" },
	{ .key = "unknown", .group = "feedback", .name = "rtcp_ignored", CT(MC_FIG_COUNTER, FB(unknown)), .xlabel = "reason=\"unknown_type\"" },
	{ .key = "rejected", .group = "feedback", .name = "rtcp_ignored", CT(MC_FIG_COUNTER, FB(rejected)), .xlabel = "reason=\"other_host\"" },
	{ .key = "srtcp_failed", .group = "feedback", .name = "rtcp_ignored", CT(MC_FIG_COUNTER, FB(srtcp_failed)),
	  .xlabel = "reason=\"srtcp_auth\"" },
	{ .key = "not_rtcp", .group = "feedback", .name = "rtcp_ignored", CT(MC_FIG_COUNTER, FB(not_rtcp)), .xlabel = "reason=\"not_rtcp\"" },
	{ .key = "unknown_ssrc", .group = "feedback", .name = "rtcp_ignored", CT(MC_FIG_COUNTER, FB(unknown_ssrc)),
	  .xlabel = "reason=\"unknown_ssrc\"" },
	{ .key = "remb", .group = "feedback", .name = "remb", CT(MC_FIG_COUNTER, FB(remb)), .help = "REMB messages accepted" },
	{ .key = "remb_rejected", .group = "feedback", .name = "rtcp_ignored", CT(MC_FIG_COUNTER, FB(remb_rejected)),
	  .xlabel = "reason=\"remb_out_of_range\"" },
	{ .key = "remb_bps", .group = "feedback", .name = "remb_bytes_per_second", CT(MC_FIG_GAUGE, FB(remb_bps)), .prom_scale = 0.125,
	  .help = "The last accepted REMB estimate" },
	{ .key = "twcc", .group = "feedback", .name = "twcc_feedback_packets", CT(MC_FIG_COUNTER, FB(twcc)),
	  .help = "Transport-wide congestion control feedback packets" },
	{ .key = "byes", .group = "feedback", .name = "rtcp_byes", CT(MC_FIG_COUNTER, FB(byes)), .help = "RTCP BYEs received" },
	{ .key = "enabled", .group = "cc", .name = "cc_enabled", .kind = MC_FIG_GAUGE, .json = MC_JSON_BOOL, .get = out_cc_enabled,
	  .present = out_has_cc, .help = "1 when congestion control sets the layers' bitrates" },
	{ .key = "estimate_bps", .group = "cc", .name = "cc_estimate_bytes_per_second", CT(MC_FIG_GAUGE, CC(estimate_bps)), .prom_scale = 0.125,
	  .present = out_has_cc, .help = "Congestion control: the bandwidth estimate" },
	{ .key = "delay_bps", .group = "cc", .name = "cc_delay_estimate_bytes_per_second", CT(MC_FIG_GAUGE, CC(delay_bps)), .prom_scale = 0.125,
	  .present = out_has_cc, .help = "Congestion control: the delay-based estimate" },
	{ .key = "loss_bps", .group = "cc", .name = "cc_loss_estimate_bytes_per_second", CT(MC_FIG_GAUGE, CC(loss_bps)), .prom_scale = 0.125,
	  .present = out_has_cc, .help = "Congestion control: the loss-based estimate" },
	{ .key = "acked_bps", .group = "cc", .name = "cc_acked_bytes_per_second", CT(MC_FIG_GAUGE, CC(acked_bps)), .prom_scale = 0.125,
	  .present = out_has_cc, .help = "Congestion control: the acknowledged rate" },
	{ .key = "remb_bps", .group = "cc", .name = "cc_remb_bytes_per_second", CT(MC_FIG_GAUGE, CC(remb_bps)), .prom_scale = 0.125,
	  .present = out_has_cc, .help = "Congestion control: the REMB cap in force" },
	{ .key = "pacing_bps", .group = "cc", .name = "cc_pacing_bytes_per_second", CT(MC_FIG_GAUGE, CC(pacing_bps)), .prom_scale = 0.125,
	  .present = out_has_cc, .help = "Congestion control: the pacing rate" },
	{ .key = "twcc_feedback", .group = "cc", .name = "cc_twcc_feedback", CT(MC_FIG_COUNTER, CC(twcc_feedback)),
	  .present = out_has_cc, .help = "TWCC feedback packets used" },
	{ .key = "twcc_malformed", .group = "cc", .name = "cc_twcc_malformed", CT(MC_FIG_COUNTER, CC(twcc_malformed)),
	  .present = out_has_cc, .help = "TWCC feedback packets that did not parse" },
	{ .key = "twcc_unknown_seq", .group = "cc", .name = "cc_twcc_unknown_seq", CT(MC_FIG_COUNTER, CC(twcc_unknown_seq)),
	  .present = out_has_cc, .help = "TWCC reports of sequence numbers not sent or forgotten" },
	{ .key = "overuses", .group = "cc", .name = "cc_overuses", CT(MC_FIG_COUNTER, CC(overuses)),
	  .present = out_has_cc, .help = "Delay overuse detections" },
	{ .key = "loss_decreases", .group = "cc", .name = "cc_loss_decreases", CT(MC_FIG_COUNTER, CC(loss_decreases)),
	  .present = out_has_cc, .help = "Estimate decreases for loss" },
	{ .key = "probes", .group = "cc", .name = "cc_probes", CT(MC_FIG_COUNTER, CC(probes)),
	  .present = out_has_cc, .help = "Bandwidth probes sent" },
	{ .key = "probes_ok", .group = "cc", .name = "cc_probes_ok", CT(MC_FIG_COUNTER, CC(probes_ok)),
	  .present = out_has_cc, .help = "Bandwidth probes that raised the estimate" },
	{ .key = "remb_caps", .group = "cc", .name = "cc_remb_caps", CT(MC_FIG_COUNTER, CC(remb_caps)),
	  .present = out_has_cc, .help = "Times REMB capped the estimate" },
	{ .key = "enabled", .group = "pacer", .name = "pacing_enabled", .kind = MC_FIG_GAUGE, .json = MC_JSON_BOOL,
	  .get = out_pacing_enabled, .present = out_has_cc, .help = "1 when the output paces its packets" },
	{ .key = "sent", .group = "pacer", .name = "pacer_sent_packets", .kind = MC_FIG_COUNTER, .get = pacer_sent,
	  .present = out_has_cc, .help = "Packets the pacer sent" },
	{ .key = "queued", .group = "pacer", .name = "pacer_queued_packets", .kind = MC_FIG_GAUGE, .get = pacer_queued,
	  .present = out_has_cc, .help = "Packets in the pacer's queue" },
	{ .key = "queue_age_ms", .group = "pacer", .name = "pacer_queue_age_seconds", .kind = MC_FIG_GAUGE, .json = MC_JSON_F1,
	  .get = pacer_age, .json_scale = 1e-3, .prom_scale = US, .present = out_has_cc,
	  .help = "Age of the oldest packet in the pacer's queue" },
	{ .key = "dropped_old", .group = "pacer", .name = "pacer_dropped_packets", .kind = MC_FIG_COUNTER, .get = pacer_dropped_old,
	  .xlabel = "reason=\"too_old\"", .present = out_has_cc, .help = "Packets the pacer dropped, by reason" },
	{ .key = "dropped_full", .group = "pacer", .name = "pacer_dropped_packets", .kind = MC_FIG_COUNTER, .get = pacer_dropped_full,
	  .xlabel = "reason=\"queue_full\"", .present = out_has_cc },
	{ .key = "packets_sent", .kind = MC_FIG_COUNTER, .get = out_packets },
	{ .key = "bytes_sent", .kind = MC_FIG_COUNTER, .get = out_bytes },
	{ .key = "send_errors", .name = "send_errors", CT(MC_FIG_COUNTER, MC_BASE_OUTPUT, struct mc_output, send_errors),
	  .help = "Sends that failed (all layers and RTCP)" },
	{ .key = "icmp_errors", .name = "icmp_errors", CT(MC_FIG_COUNTER, MC_BASE_OUTPUT, struct mc_output, icmp_errors),
	  .help = "ICMP errors reported on the socket (port unreachable...)" },
	{ .key = "rtcp_sent", .name = "rtcp_sent_packets", CT(MC_FIG_COUNTER, MC_BASE_OUTPUT, struct mc_output, rtcp_sent),
	  .help = "RTCP packets sent (SR, SDES, BYE)" },
	{ .key = "frames_dropped", .name = "frames_dropped", .kind = MC_FIG_COUNTER, .get = out_queue_dropped,
	  .xlabel = "reason=\"network_queue\"", .help = "Frames dropped on the output's full network queue" },
};

#define OL(f) MC_BASE_OUT_LAYER, struct mc_output_layer_stats, f
#define FL(f) MC_BASE_FB_LAYER, struct mc_feedback_layer_stats, f
static const struct mc_figure output_layer_figs[] = {
	{ .key = "index", .kind = MC_FIG_GAUGE, .get = obj_index },
	{ .key = "ssrc", .name = "ssrc", .kind = MC_FIG_INFO, .label = "ssrc", .get = ol_ssrc, .help = "The layer's RTP SSRC" },
	{ .key = "port", .name = "port", .kind = MC_FIG_INFO, .label = "port", .get = ol_port, .help = "The layer's destination port" },
	{ .key = "frames", .name = "frames", CT(MC_FIG_COUNTER, OL(frames)), .help = "Frames sent" },
	{ .key = "packets", .name = "packets", CT(MC_FIG_COUNTER, OL(packets)), .help = "RTP packets sent" },
	{ .key = "bytes", .name = "sent_bytes", CT(MC_FIG_COUNTER, OL(bytes)), .help = "Bytes sent on the wire (after SRTP)" },
	{ .key = "send_errors", .name = "send_errors", CT(MC_FIG_COUNTER, OL(send_errors)), .help = "Packets that failed to send" },
	{ .key = "frames_dropped", .name = "frames_dropped", CT(MC_FIG_COUNTER, OL(frames_dropped)), .xlabel = "reason=\"network_queue\"",
	  .help = "Frames never sent, by reason (network_queue: the queue was full)" },
	{ .key = "ts_adjusted", .name = "ts_adjusted_frames", CT(MC_FIG_COUNTER, OL(ts_adjusted)),
	  .help = "Frames whose RTP timestamp was raised to keep it increasing" },
	{ .key = "rtx_ssrc", .name = "rtx_ssrc", .kind = MC_FIG_INFO, .label = "rtx_ssrc", .get = ol_rtx_ssrc, .present = out_has_rtx,
	  .help = "The layer's RFC 4588 RTX SSRC" },
	{ .key = "target_bps", .name = "cc_target_bytes_per_second", .prom_scale = 0.125, .kind = MC_FIG_GAUGE, .get = ol_target, .present = out_has_cc,
	  .help = "The bitrate congestion control gives the layer" },
	{ .key = "paused", .name = "cc_paused", .kind = MC_FIG_GAUGE, .json = MC_JSON_BOOL, .get = ol_paused, .present = out_has_cc,
	  .help = "1 while congestion control pauses the layer" },
	{ .key = "plis", .name = "plis", CT(MC_FIG_COUNTER, FL(plis)), .help = "RTCP PLIs naming the layer" },
	{ .key = "firs", .name = "firs", CT(MC_FIG_COUNTER, FL(firs)), .help = "RTCP FIRs naming the layer" },
	{ .key = "keyframes_requested", .name = "keyframe_requests", CT(MC_FIG_COUNTER, FL(keyframes_requested)),
	  .xlabel = "outcome=\"passed_on\"", .help = "Keyframe requests from PLI/FIR, by outcome" },
	{ .key = "keyframes_rate_limited", .name = "keyframe_requests", CT(MC_FIG_COUNTER, FL(keyframes_rate_limited)),
	  .xlabel = "outcome=\"rate_limited\"" },
	{ .key = "keyframes_repeated", .name = "keyframe_requests", CT(MC_FIG_COUNTER, FL(keyframes_repeated)),
	  .xlabel = "outcome=\"repeated\"" },
	{ .key = "nacks", .name = "nacked_packets", CT(MC_FIG_COUNTER, FL(nacks)), .help = "Sequence numbers NACKed" },
	{ .key = "resent", .name = "retransmitted_packets", CT(MC_FIG_COUNTER, FL(resent)), .help = "Packets sent again (as RTX or plain)" },
	{ .key = "resend_too_old", .name = "nacks_unanswered", CT(MC_FIG_COUNTER, FL(resend_too_old)), .xlabel = "reason=\"too_old\"",
	  .help = "NACKed packets not sent again, by reason" },
	{ .key = "resend_too_recent", .name = "nacks_unanswered", CT(MC_FIG_COUNTER, FL(resend_too_recent)),
	  .xlabel = "reason=\"too_recent\"" },
	{ .key = "resend_unknown", .name = "nacks_unanswered", CT(MC_FIG_COUNTER, FL(resend_unknown)), .xlabel = "reason=\"unknown\"" },
	{ .key = "rr_received", .name = "receiver_reports", CT(MC_FIG_COUNTER, FL(rr_received)), .help = "RTCP receiver report blocks" },
	{ .key = "rtt_ms", .name = "rtt_seconds", CT(MC_FIG_GAUGE, FL(rtt_us)), .json = MC_JSON_F3, .json_scale = 1e-3,
	  .prom_scale = US, .help = "Round-trip time from the last receiver report (0: none yet)" },
	{ .key = "fraction_lost", .name = "fraction_lost_ratio", CT(MC_FIG_GAUGE, FL(fraction_lost)), .json = MC_JSON_F4,
	  .json_scale = 1.0 / 256, .prom_scale = 1.0 / 256, .help = "Fraction lost in the last receiver report" },
	{ .key = "cumulative_lost", .name = "lost_packets", CT(MC_FIG_GAUGE, FL(cumulative_lost)),
	  .help = "Cumulative packets lost in the last receiver report" },
	{ .key = "jitter_ms", .name = "jitter_seconds", CT(MC_FIG_GAUGE, FL(jitter_us)), .json = MC_JSON_F3, .json_scale = 1e-3,
	  .prom_scale = US, .help = "Interarrival jitter in the last receiver report" },
	{ .key = "net_queue", .group = "timing_us", .name = "net_queue_seconds", CT(MC_FIG_HISTOGRAM, OL(net_queue)),
	  .help = "Encoder done to the network thread picking the frame up" },
	{ .key = "packetize", .group = "timing_us", .name = "packetize_seconds", CT(MC_FIG_HISTOGRAM, OL(packetize)),
	  .help = "Time packetizing a frame" },
	{ .key = "srtp", .group = "timing_us", .name = "srtp_seconds", CT(MC_FIG_HISTOGRAM, OL(srtp)), .help = "Time protecting a frame's packets" },
	{ .key = "send", .group = "timing_us", .name = "send_seconds", CT(MC_FIG_HISTOGRAM, OL(send)), .help = "Time sending a frame's packets" },
	{ .key = "capture_to_wire", .group = "timing_us", .name = "capture_to_wire_seconds", CT(MC_FIG_HISTOGRAM, OL(capture_to_wire)),
	  .help = "Capture to the frame's last packet handed to the kernel" },
	{ .key = "pacer_wait", .group = "timing_us", .name = "pacer_wait_seconds", CT(MC_FIG_HISTOGRAM, OL(pacer_wait)),
	  .help = "A frame's last packet: packetized to handed to the kernel" },
	{ .key = "pli_to_wire", .group = "timing_us", .name = "pli_to_wire_seconds", CT(MC_FIG_HISTOGRAM, OL(pli_to_wire)),
	  .help = "A PLI/FIR passed on to the keyframe's last packet handed to the kernel" },
};

#define TABLE(p, t) { p, t, (int)(sizeof(t) / sizeof(t[0])) }
const struct mc_fig_table mc_fig_tables[MC_SCOPE_N] = {
	[MC_SCOPE_PROCESS] = TABLE("process", process_figs),
	[MC_SCOPE_THREAD] = TABLE("mixcast_thread", thread_figs),
	[MC_SCOPE_SOURCE] = TABLE("mixcast_source", source_figs),
	[MC_SCOPE_MIX] = TABLE("mixcast_mix", mix_figs),
	[MC_SCOPE_MIX_INPUT] = TABLE("mixcast_mix_input", mix_input_figs),
	[MC_SCOPE_TRACK] = TABLE("mixcast_track", track_figs),
	[MC_SCOPE_LAYER] = TABLE("mixcast_layer", layer_figs),
	[MC_SCOPE_OUTPUT] = TABLE("mixcast_output", output_figs),
	[MC_SCOPE_OUTPUT_LAYER] = TABLE("mixcast_output_layer", output_layer_figs),
};

/* ---- reading ------------------------------------------------------------------------------------------ */

bool mc_fig_present(const struct mc_figure *f, const struct mc_fig_obj *o) { return !f->present || f->present(o); }

static const void *base_of(const struct mc_figure *f, const struct mc_fig_obj *o)
{
	switch (f->base) {
	case MC_BASE_SOURCE: return o->s;
	case MC_BASE_MIX: return o->m;
	case MC_BASE_TRACK: return o->t;
	case MC_BASE_LAYER: return o->l;
	case MC_BASE_OUTPUT: return o->o;
	case MC_BASE_CC: return o->o->cc;
	case MC_BASE_OUT_LAYER: return &o->o->layer_stats[o->index];
	case MC_BASE_FB_LAYER: return &o->o->fb.layers[o->index];
	case MC_BASE_NONE: break;
	}
	return NULL;
}

double mc_fig_value(const struct mc_figure *f, const struct mc_fig_obj *o)
{
	if (f->get)
		return f->get(o);
	const void *b = base_of(f, o);
	return b && f->kind != MC_FIG_HISTOGRAM ? counter_at(b, f->off) : 0;
}

const struct mc_histogram *mc_fig_hist(const struct mc_figure *f, const struct mc_fig_obj *o)
{
	if (f->kind != MC_FIG_HISTOGRAM)
		return NULL;
	const void *b = base_of(f, o);
	return b ? (const struct mc_histogram *)((const char *)b + f->off) : NULL;
}

static long proc_statm_pages(int field)
{
	FILE *f = fopen("/proc/self/statm", "re");
	long v[2] = { 0, 0 };
	if (f) {
		if (fscanf(f, "%ld %ld", &v[0], &v[1]) != 2)
			v[0] = v[1] = 0;
		fclose(f);
	}
	return v[field];
}

static int count_fds(void)
{
	DIR *dir = opendir("/proc/self/fd");
	if (!dir)
		return -1;
	int n = 0;
	for (struct dirent *e; (e = readdir(dir));)
		n += e->d_name[0] != '.';
	closedir(dir);
	return n - 1; /* the directory's own */
}

void mc_proc_figures_read(const struct mc_daemon *d, struct mc_proc_figures *p)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	memset(p, 0, sizeof(*p));
	p->cpu_user_s = (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6;
	p->cpu_sys_s = (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
	p->rss_peak_kb = ru.ru_maxrss;
	int64_t now = mc_now_us();
	p->uptime_s = (double)(now - d->start_us) / 1e6;
	p->start_time_s = (double)(mc_wall_us() - (now - d->start_us)) / 1e6;
	long page = sysconf(_SC_PAGESIZE);
	p->vsize_bytes = (double)proc_statm_pages(0) * (double)page;
	p->rss_bytes = (double)proc_statm_pages(1) * (double)page;
	p->open_fds = count_fds();
	struct rlimit rl;
	p->max_fds = getrlimit(RLIMIT_NOFILE, &rl) == 0 ? (double)rl.rlim_cur : 0;
}

static struct mc_fig_obj *add(struct mc_fig_obj *out, int *n, int max, const struct mc_daemon *d,
			      const struct mc_proc_figures *p)
{
	if (*n >= max)
		return NULL;
	struct mc_fig_obj *o = &out[(*n)++];
	memset(o, 0, sizeof(*o));
	o->d = d;
	o->proc = p;
	return o;
}

static void label(struct mc_fig_obj *o, const char *name, const char *fmt, const char *a, int i)
{
	if (o->n_labels >= MC_FIG_MAX_LABELS)
		return;
	o->label_name[o->n_labels] = name;
	snprintf(o->label_value[o->n_labels], sizeof(o->label_value[0]), fmt, a, i);
	o->n_labels++;
}

static void thread_obj(struct mc_fig_obj *out, int *n, int max, const struct mc_daemon *d, const char *prefix,
		       const char *name, int index, const struct mc_thread_cpu *cpu)
{
	struct mc_fig_obj *o = add(out, n, max, d, NULL);
	if (!o)
		return;
	o->cpu = cpu;
	o->n_labels = 1;
	o->label_name[0] = "thread";
	if (index >= 0)
		snprintf(o->label_value[0], sizeof(o->label_value[0]), "%s.%s.%d", prefix, name, index);
	else
		snprintf(o->label_value[0], sizeof(o->label_value[0]), "%s.%s", prefix, name);
}

const void *mc_fig_parent(enum mc_fig_scope scope, const struct mc_fig_obj *o)
{
	switch (scope) {
	case MC_SCOPE_MIX: return o->m;
	case MC_SCOPE_TRACK: return o->t;
	case MC_SCOPE_OUTPUT: return o->o;
	default: return NULL;
	}
}

int mc_fig_objects(const struct mc_daemon *d, const struct mc_proc_figures *p, enum mc_fig_scope scope,
		   const void *parent, struct mc_fig_obj *out, int max)
{
	int n = 0;
	struct mc_fig_obj *o;
	switch (scope) {
	case MC_SCOPE_PROCESS:
		add(out, &n, max, d, p);
		break;
	case MC_SCOPE_THREAD:
		for (int i = 0; i < d->n_sources; i++)
			thread_obj(out, &n, max, d, "src", d->sources[i]->cfg->name, -1, &d->sources[i]->cpu);
		for (int i = 0; i < d->n_mixes; i++)
			thread_obj(out, &n, max, d, "mix", d->mixes[i]->cfg->name, -1, &d->mixes[i]->cpu);
		for (int i = 0; i < d->n_tracks; i++) {
			const struct mc_track *t = d->tracks[i];
			thread_obj(out, &n, max, d, "track", t->cfg->name, -1, &t->cpu);
			for (int l = 0; l < t->n_layers; l++)
				thread_obj(out, &n, max, d, "enc", t->cfg->name, l, &t->layers[l].cpu);
		}
		thread_obj(out, &n, max, d, "net", "loop", -1, &d->net.cpu);
		break;
	case MC_SCOPE_SOURCE:
		for (int i = 0; i < d->n_sources && (o = add(out, &n, max, d, p)); i++) {
			o->s = d->sources[i];
			label(o, "source", "%s", o->s->cfg->name, 0);
		}
		break;
	case MC_SCOPE_MIX:
	case MC_SCOPE_MIX_INPUT:
		for (int i = 0; i < d->n_mixes; i++) {
			const struct mc_mixer *m = d->mixes[i];
			if (parent && parent != m)
				continue;
			int k_end = scope == MC_SCOPE_MIX_INPUT ? m->n_inputs : 1;
			for (int k = 0; k < k_end && (o = add(out, &n, max, d, p)); k++) {
				o->m = m;
				label(o, "mix", "%s", m->cfg->name, 0);
				if (scope == MC_SCOPE_MIX_INPUT) {
					o->index = k;
					label(o, "input", "%s", m->inputs[k].from->name, 0);
				}
			}
		}
		break;
	case MC_SCOPE_TRACK:
	case MC_SCOPE_LAYER:
		for (int i = 0; i < d->n_tracks; i++) {
			struct mc_track *t = d->tracks[i];
			if (parent && parent != t)
				continue;
			for (int l = 0; l < (scope == MC_SCOPE_LAYER ? t->n_layers : 1) && (o = add(out, &n, max, d, p)); l++) {
				o->t = t;
				label(o, "track", "%s", t->cfg->name, 0);
				if (scope == MC_SCOPE_LAYER) {
					o->l = &t->layers[l];
					o->index = l;
					label(o, "layer", "%.0s%d", "", l);
				}
			}
		}
		break;
	case MC_SCOPE_OUTPUT:
	case MC_SCOPE_OUTPUT_LAYER:
		for (int i = 0; i < d->n_outputs; i++) {
			const struct mc_output *out_i = d->outputs[i];
			if (parent && parent != out_i)
				continue;
			for (int l = 0; l < (scope == MC_SCOPE_OUTPUT_LAYER ? out_i->n_layers : 1) && (o = add(out, &n, max, d, p)); l++) {
				o->o = out_i;
				label(o, "output", "%s", out_i->cfg->name, 0);
				label(o, "track", "%s", d->output_track[i], 0);
				if (scope == MC_SCOPE_OUTPUT_LAYER) {
					o->index = l;
					label(o, "layer", "%.0s%d", "", l);
				}
			}
		}
		break;
	case MC_SCOPE_N:
		break;
	}
	return n;
}
