#include "stats.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "daemon.h"
#include "log.h"
#include "output_cc.h"

static void hist(struct mc_strbuf *b, const char *name, const struct mc_histogram *h, bool comma)
{
	struct mc_hist_summary s;
	mc_hist_summarize(h, &s);
	mc_strbuf_printf(b, "\"%s\":{\"count\":%llu,\"mean\":%.1f,\"p50\":%.1f,\"p99\":%.1f,\"max\":%.1f}%s", name,
			 (unsigned long long)s.count, s.mean, s.p50, s.p99, s.max, comma ? "," : "");
}

static void thread_entry(struct mc_strbuf *b, bool *first, const char *prefix, const char *name, int index,
			 const struct mc_thread_cpu *cpu)
{
	mc_strbuf_printf(b, "%s{\"name\":\"%s.%s", *first ? "" : ",", prefix, name);
	if (index >= 0)
		mc_strbuf_printf(b, ".%d", index);
	mc_strbuf_printf(b, "\",\"cpu_s\":%.3f}", mc_thread_cpu_seconds(cpu));
	*first = false;
}

#define C(x) (unsigned long long)mc_count_get(&(x))

static void feedback_json(struct mc_strbuf *b, const struct mc_feedback_stats *f)
{
	mc_strbuf_printf(b, "\"feedback\":{\"datagrams\":%llu,\"rtcp_packets\":%llu,\"malformed\":%llu,\"unknown\":%llu,"
			    "\"rejected\":%llu,\"srtcp_failed\":%llu,\"not_rtcp\":%llu,\"unknown_ssrc\":%llu,\"remb\":%llu,"
			    "\"remb_rejected\":%llu,\"remb_bps\":%llu,\"twcc\":%llu,\"byes\":%llu},",
			 C(f->datagrams), C(f->rtcp_packets), C(f->malformed), C(f->unknown), C(f->rejected),
			 C(f->srtcp_failed), C(f->not_rtcp), C(f->unknown_ssrc), C(f->remb), C(f->remb_rejected),
			 C(f->remb_bps), C(f->twcc), C(f->byes));
}

static void feedback_layer_json(struct mc_strbuf *b, const struct mc_feedback_layer_stats *f)
{
	mc_strbuf_printf(b, "\"plis\":%llu,\"firs\":%llu,\"keyframes_requested\":%llu,\"keyframes_rate_limited\":%llu,"
			    "\"keyframes_repeated\":%llu,\"nacks\":%llu,\"resent\":%llu,\"resend_too_old\":%llu,\"resend_too_recent\":%llu,"
			    "\"resend_unknown\":%llu,\"rr_received\":%llu,\"rtt_ms\":%.3f,\"fraction_lost\":%.4f,"
			    "\"cumulative_lost\":%llu,\"jitter_ms\":%.3f,",
			 C(f->plis), C(f->firs), C(f->keyframes_requested), C(f->keyframes_rate_limited), C(f->keyframes_repeated),
			 C(f->nacks),
			 C(f->resent), C(f->resend_too_old), C(f->resend_too_recent), C(f->resend_unknown),
			 C(f->rr_received), (double)mc_count_get(&f->rtt_us) / 1000,
			 (double)mc_count_get(&f->fraction_lost) / 256, C(f->cumulative_lost),
			 (double)mc_count_get(&f->jitter_us) / 1000);
}

static void cc_json(struct mc_strbuf *b, const struct mc_output *o)
{
	const struct mc_output_cc *c = o->cc;
	if (!c)
		return;
	mc_strbuf_printf(b, "\"cc\":{\"enabled\":%s,\"estimate_bps\":%llu,\"delay_bps\":%llu,\"loss_bps\":%llu,"
			    "\"acked_bps\":%llu,\"remb_bps\":%llu,\"pacing_bps\":%llu,\"twcc_feedback\":%llu,"
			    "\"twcc_malformed\":%llu,\"twcc_unknown_seq\":%llu,\"overuses\":%llu,\"loss_decreases\":%llu,"
			    "\"probes\":%llu,\"probes_ok\":%llu,\"remb_caps\":%llu},",
			 o->cfg->cc ? "true" : "false", C(c->estimate_bps), C(c->delay_bps), C(c->loss_bps), C(c->acked_bps),
			 C(c->remb_bps), C(c->pacing_bps), C(c->twcc_feedback), C(c->twcc_malformed), C(c->twcc_unknown_seq),
			 C(c->overuses), C(c->loss_decreases), C(c->probes), C(c->probes_ok), C(c->remb_caps));
	mc_strbuf_printf(b, "\"pacer\":{\"enabled\":%s,\"sent\":%llu,\"queued\":%llu,\"queue_age_ms\":%.1f,"
			    "\"dropped_old\":%llu,\"dropped_full\":%llu},",
			 o->cfg->pacing ? "true" : "false", C(o->pacer.sent), C(o->pacer.queued_now),
			 (double)mc_count_get(&o->pacer.queue_age_us) / 1000, C(o->pacer.dropped_old), C(o->pacer.dropped_full));
}

void mc_stats_json(const struct mc_daemon *d, struct mc_strbuf *b)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	mc_strbuf_printf(b, "{\"version\":\"%s\",\"uptime_s\":%.3f,", MIXCAST_VERSION,
			 (double)(mc_now_us() - d->start_us) / 1e6);
	mc_strbuf_printf(b, "\"process\":{\"cpu_user_s\":%.3f,\"cpu_sys_s\":%.3f,\"rss_peak_kb\":%ld},",
			 (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6,
			 (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6, ru.ru_maxrss);

	bool first = true;
	mc_strbuf_printf(b, "\"threads\":[");
	for (int i = 0; i < d->n_sources; i++)
		thread_entry(b, &first, "src", d->sources[i]->cfg->name, -1, &d->sources[i]->cpu);
	for (int i = 0; i < d->n_tracks; i++) {
		const struct mc_track *t = d->tracks[i];
		thread_entry(b, &first, "track", t->cfg->name, -1, &t->cpu);
		for (int l = 0; l < t->n_layers; l++)
			thread_entry(b, &first, "enc", t->cfg->name, l, &t->layers[l].cpu);
	}
	thread_entry(b, &first, "net", "loop", -1, &d->net.cpu);
	mc_strbuf_printf(b, "],");

	mc_strbuf_printf(b, "\"sources\":[");
	for (int i = 0; i < d->n_sources; i++) {
		const struct mc_source *s = d->sources[i];
		mc_strbuf_printf(b, "%s{\"name\":", i ? "," : "");
		mc_strbuf_json_string(b, s->cfg->name);
		const struct mc_source_stats *st = &s->stats;
		uint64_t frames = mc_count_get(&st->frames), copies = mc_count_get(&st->backend.copies);
		int err = (int)mc_count_get(&st->last_error);
		mc_strbuf_printf(b, ",\"type\":\"%s\",\"width\":%d,\"height\":%d,\"fps\":%.3f,\"frames\":%llu,\"ended\":%s,",
				 s->ops->name, (int)mc_count_get(&st->width), (int)mc_count_get(&st->height),
				 mc_count_get(&st->fps_den) ? (double)mc_count_get(&st->fps_num) / (double)mc_count_get(&st->fps_den) : 0,
				 (unsigned long long)frames, __atomic_load_n(&s->ended, __ATOMIC_ACQUIRE) ? "true" : "false");
		/* the signal: a state of a running source; the reason is the errno of the last loss or reopen */
		mc_strbuf_printf(b, "\"state\":\"%s\",\"signal_losses\":%llu,\"placeholder_frames\":%llu,\"last_error\":",
				 mc_source_state_name((enum mc_source_state)mc_count_get(&st->state)),
				 (unsigned long long)mc_count_get(&st->signal_losses),
				 (unsigned long long)mc_count_get(&st->placeholder_frames));
		mc_strbuf_json_string(b, err ? strerror(err) : "");
		mc_strbuf_printf(b, ",\"last_restore_us\":%llu,\"path\":", (unsigned long long)mc_count_get(&st->last_restore_us));
		const char *path = __atomic_load_n(&st->path, __ATOMIC_ACQUIRE);
		mc_strbuf_json_string(b, path ? path : "");
		/* picture copies (conversions, decodes) between the device's buffer and the frame handed on */
		mc_strbuf_printf(b, ",\"copies\":%llu,\"copies_per_frame\":%.3f,\"corrupt_frames\":%llu,",
				 (unsigned long long)copies, frames ? (double)copies / (double)frames : 0.0,
				 (unsigned long long)mc_count_get(&st->backend.corrupt));
		mc_strbuf_printf(b, "\"timing_us\":{");
		hist(b, "capture_wait", &s->stats.capture_wait, false);
		mc_strbuf_printf(b, "}}");
	}
	mc_strbuf_printf(b, "],\"tracks\":[");
	for (int i = 0; i < d->n_tracks; i++) {
		struct mc_track *t = d->tracks[i];
		mc_strbuf_printf(b, "%s{\"name\":", i ? "," : "");
		mc_strbuf_json_string(b, t->cfg->name);
		mc_strbuf_printf(b, ",\"codec\":\"%s\",\"frames_in\":%llu,\"frames_dropped\":%llu,\"frames_unchanged\":%llu,"
				    "\"timing_us\":{",
				 t->cfg->codec == MC_CODEC_VP8 ? "vp8" : "h264", (unsigned long long)mc_count_get(&t->frames_in),
				 (unsigned long long)mc_mailbox_dropped(&t->input), (unsigned long long)mc_count_get(&t->frames_unchanged));
		hist(b, "mailbox_age", &t->mailbox_age, true);
		hist(b, "compare", &t->compare, false);
		mc_strbuf_printf(b, "},\"layers\":[");
		for (int l = 0; l < t->n_layers; l++) {
			struct mc_layer *ly = &t->layers[l];
			const struct mc_layer_stats *st = &ly->stats;
			mc_strbuf_printf(b, "%s{\"index\":%d,\"width\":%d,\"height\":%d,\"fps\":%d,\"bitrate\":%d,", l ? "," : "",
					 l, ly->cfg->width, ly->cfg->height, ly->cfg->fps, ly->cfg->bitrate);
			mc_strbuf_printf(b, "\"encoder\":\"%s\",\"encoder_fallbacks\":%llu,",
					 ly->encoder ? mc_encoder_backend_name(ly->encoder) : "",
					 (unsigned long long)(ly->encoder ? mc_encoder_fallbacks(ly->encoder) : 0));
			/* copies: pictures this layer's scaler made; device_frames: frames the encoder got that are
			 * the device's buffer itself; encoder_copies: pictures the encoder backend copied into
			 * device memory (v4l2m2m's MMAP path). With the source's copies, the whole path's count. */
			mc_strbuf_printf(b, "\"copies\":%llu,\"device_frames\":%llu,\"encoder_copies\":%llu,",
					 (unsigned long long)mc_count_get(&st->copies), (unsigned long long)mc_count_get(&st->device_frames),
					 (unsigned long long)(ly->encoder ? mc_encoder_copies(ly->encoder) : 0));
			mc_strbuf_printf(b, "\"frames_in\":%llu,\"frames_encoded\":%llu,\"frames_dropped\":%llu,"
					    "\"keyframes\":%llu,\"bytes\":%llu,",
					 (unsigned long long)mc_count_get(&st->frames_in),
					 (unsigned long long)mc_count_get(&st->frames_encoded),
					 (unsigned long long)mc_layer_dropped(ly), (unsigned long long)mc_count_get(&st->keyframes),
					 (unsigned long long)mc_count_get(&st->bytes));
			mc_strbuf_printf(b, "\"bitrate_now\":%llu,\"paused\":%s,\"frames_paused\":%llu,\"bitrate_changes\":%llu,",
					 C(ly->bitrate_now), mc_count_get(&ly->paused_now) ? "true" : "false",
					 C(ly->frames_paused), C(ly->bitrate_changes));
			mc_strbuf_printf(b, "\"keyframes_requested\":%llu,\"frames_dropped_net\":%llu,\"encode_errors\":%llu,"
					    "\"last_encoded_age_ms\":%.1f,\"timing_us\":{",
					 (unsigned long long)mc_count_get(&st->keyframes_requested),
					 (unsigned long long)mc_count_get(&st->frames_dropped_net),
					 (unsigned long long)mc_count_get(&st->encode_errors),
					 mc_count_get(&st->last_encoded_us)
						 ? (double)(mc_now_us() - (int64_t)mc_count_get(&st->last_encoded_us)) / 1e3
						 : -1.0);
			hist(b, "mailbox_age", &t->mailbox_age, true);
			hist(b, "queue_age", &st->queue_age, true);
			hist(b, "scale", &st->scale, true);
			hist(b, "encode", &st->encode, false);
			mc_strbuf_printf(b, "}}");
		}
		mc_strbuf_printf(b, "]}");
	}
	mc_strbuf_printf(b, "],\"outputs\":[");
	for (int i = 0; i < d->n_outputs; i++) {
		const struct mc_output *o = d->outputs[i];
		mc_strbuf_printf(b, "%s{\"name\":", i ? "," : "");
		mc_strbuf_json_string(b, o->cfg->name);
		uint64_t packets = 0, bytes = 0;
		for (int l = 0; l < o->n_layers; l++)
			packets += mc_count_get(&o->layer_stats[l].packets), bytes += mc_count_get(&o->layer_stats[l].bytes);
		mc_strbuf_printf(b, ",\"track\":");
		mc_strbuf_json_string(b, d->output_track[i]);
		mc_strbuf_printf(b, ",");
		feedback_json(b, &o->fb);
		cc_json(b, o);
		mc_strbuf_printf(b, "\"packets_sent\":%llu,\"bytes_sent\":%llu,\"send_errors\":%llu,\"icmp_errors\":%llu,"
				    "\"rtcp_sent\":%llu,\"frames_dropped\":%llu,\"layers\":[",
				 (unsigned long long)packets, (unsigned long long)bytes,
				 (unsigned long long)mc_count_get(&o->send_errors), (unsigned long long)mc_count_get(&o->icmp_errors),
				 (unsigned long long)mc_count_get(&o->rtcp_sent), (unsigned long long)mc_count_get(&o->queue.dropped));
		for (int l = 0; l < o->n_layers; l++) {
			const struct mc_output_layer_stats *st = &o->layer_stats[l];
			mc_strbuf_printf(b, "%s{\"index\":%d,\"ssrc\":%u,\"port\":%u,\"frames\":%llu,\"packets\":%llu,"
					    "\"bytes\":%llu,\"send_errors\":%llu,",
					 l ? "," : "", l, mc_output_ssrc(o, l), ntohs(o->rtp_dest[l].sin_port),
					 (unsigned long long)mc_count_get(&st->frames), (unsigned long long)mc_count_get(&st->packets),
					 (unsigned long long)mc_count_get(&st->bytes), (unsigned long long)mc_count_get(&st->send_errors));
			mc_strbuf_printf(b, "\"frames_dropped\":%llu,\"ts_adjusted\":%llu,",
					 (unsigned long long)mc_count_get(&st->frames_dropped),
					 (unsigned long long)mc_count_get(&st->ts_adjusted));
			if (o->cfg->rtx)
				mc_strbuf_printf(b, "\"rtx_ssrc\":%u,", o->rtx[l].ssrc);
			if (o->cc)
				mc_strbuf_printf(b, "\"target_bps\":%llu,\"paused\":%s,", C(o->cc->layer_target[l]),
						 mc_count_get(&o->cc->layer_paused[l]) ? "true" : "false");
			feedback_layer_json(b, &o->fb.layers[l]);
			mc_strbuf_printf(b, "\"timing_us\":{");
			hist(b, "net_queue", &st->net_queue, true);
			hist(b, "packetize", &st->packetize, true);
			hist(b, "srtp", &st->srtp, true);
			hist(b, "send", &st->send, true);
			hist(b, "capture_to_wire", &st->capture_to_wire, true);
			hist(b, "pacer_wait", &st->pacer_wait, true);
			hist(b, "pli_to_wire", &st->pli_to_wire, false);
			mc_strbuf_printf(b, "}}");
		}
		mc_strbuf_printf(b, "]}");
	}
	mc_strbuf_printf(b, "]}\n");
}

int mc_stats_write_file(const struct mc_daemon *d, const char *path)
{
	struct mc_strbuf b = { 0 };
	mc_stats_json(d, &b);
	int rc = 0;
	FILE *f = b.failed ? NULL : fopen(path, "we");
	if (!f || fwrite(b.data, 1, b.len, f) != b.len)
		rc = b.failed ? -ENOMEM : -errno;
	if (f && fclose(f) && !rc)
		rc = -errno;
	if (rc)
		mc_err("stats", "cannot write '%s': %s", path, strerror(-rc));
	mc_strbuf_free(&b);
	return rc;
}
