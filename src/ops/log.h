/* Logging: one line per message to stderr, "LEVEL module: text", with a "<N>" syslog priority prefix when
 * stderr is the journal (systemd sets JOURNAL_STREAM), so journald keeps the level. Thread-safe. */
#ifndef MC_LOG_H
#define MC_LOG_H

#include <stdbool.h>
#include <stdint.h>

enum mc_log_level { MC_LOG_QUIET = -1 /* fuzzers */, MC_LOG_ERROR = 0, MC_LOG_WARN, MC_LOG_INFO, MC_LOG_DEBUG };

void mc_log_init(void);
void mc_log_set_level(enum mc_log_level level);
enum mc_log_level mc_log_get_level(void);
/* Parse "error|warn|info|debug"; returns -EINVAL for anything else. */
int mc_log_level_parse(const char *s, enum mc_log_level *out);

void mc_log(enum mc_log_level level, const char *module, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* The last warnings and errors (any thread), for the status page: a ring under the log's lock, which a
 * logging thread holds only to print one line. */
#define MC_LOG_RECENT 16
struct mc_log_entry {
	int64_t wall_us;
	enum mc_log_level level;
	char module[24];
	char text[232];
};
/* Copies the recent entries, oldest first, into `out`; returns how many (at most `max`). */
int mc_log_recent(struct mc_log_entry *out, int max);
/* Warnings and errors logged since start (MC_LOG_ERROR, MC_LOG_WARN). */
uint64_t mc_log_count(enum mc_log_level level);

/* A rate limiter for repeated errors: allows `burst` messages per `interval_ms`, then counts suppressed
 * ones and reports their number with the next message that gets through. Not shared between threads. */
struct mc_ratelimit {
	int64_t interval_ms;
	int burst;
	int64_t window_start_ms;
	int printed;
	uint64_t suppressed;
};
#define MC_RATELIMIT_INIT(ms, n) { .interval_ms = (ms), .burst = (n) }
/* true if this message may be printed; *suppressed receives how many were dropped since the last one. */
bool mc_ratelimit_ok(struct mc_ratelimit *rl, uint64_t *suppressed);

#define mc_err(mod, ...) mc_log(MC_LOG_ERROR, mod, __VA_ARGS__)
#define mc_warn(mod, ...) mc_log(MC_LOG_WARN, mod, __VA_ARGS__)
#define mc_info(mod, ...) mc_log(MC_LOG_INFO, mod, __VA_ARGS__)
#define mc_debug(mod, ...) \
	do { if (mc_log_get_level() >= MC_LOG_DEBUG) mc_log(MC_LOG_DEBUG, mod, __VA_ARGS__); } while (0)

/* Monotonic and wall clocks in microseconds. */
int64_t mc_now_us(void);
int64_t mc_wall_us(void);

#endif
