#include "log.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static enum mc_log_level g_level = MC_LOG_INFO;
static bool g_journal;
static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;

static struct mc_log_entry g_recent[MC_LOG_RECENT];
static unsigned g_recent_next; /* total entries ever written; the ring's next slot is this modulo its size */
static uint64_t g_counts[2];    /* under g_lock */

static const char *const level_names[] = { "error", "warn", "info", "debug" };
/* syslog priorities: LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG */
static const int level_prio[] = { 3, 4, 6, 7 };

void mc_log_init(void)
{
	/* systemd connects stderr to the journal and says so in JOURNAL_STREAM (systemd.exec(5)). */
	g_journal = getenv("JOURNAL_STREAM") != NULL;
}

void mc_log_set_level(enum mc_log_level level) { __atomic_store_n(&g_level, level, __ATOMIC_RELAXED); }
enum mc_log_level mc_log_get_level(void) { return __atomic_load_n(&g_level, __ATOMIC_RELAXED); }

int mc_log_level_parse(const char *s, enum mc_log_level *out)
{
	for (int i = 0; i <= MC_LOG_DEBUG; i++) {
		if (strcmp(s, level_names[i]) == 0) {
			*out = (enum mc_log_level)i;
			return 0;
		}
	}
	return -EINVAL;
}

void mc_log(enum mc_log_level level, const char *module, const char *fmt, ...)
{
	if (level > mc_log_get_level())
		return;
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);

	pthread_mutex_lock(&g_lock);
	if (level <= MC_LOG_WARN && level >= MC_LOG_ERROR) {
		struct mc_log_entry *e = &g_recent[g_recent_next++ % MC_LOG_RECENT];
		e->wall_us = mc_wall_us();
		e->level = level;
		/* truncated to the entry's size (a status page line) */
		snprintf(e->module, sizeof(e->module), "%.*s", (int)sizeof(e->module) - 1, module);
		snprintf(e->text, sizeof(e->text), "%.*s", (int)sizeof(e->text) - 1, msg);
		g_counts[level]++;
	}
	if (g_journal)
		fprintf(stderr, "<%d>%s: %s\n", level_prio[level], module, msg);
	else
		fprintf(stderr, "%-5s %s: %s\n", level_names[level], module, msg);
	pthread_mutex_unlock(&g_lock);
}

int mc_log_recent(struct mc_log_entry *out, int max)
{
	pthread_mutex_lock(&g_lock);
	unsigned total = g_recent_next, n = total < MC_LOG_RECENT ? total : MC_LOG_RECENT;
	if ((int)n > max)
		n = (unsigned)max;
	for (unsigned i = 0; i < n; i++)
		out[i] = g_recent[(total - n + i) % MC_LOG_RECENT];
	pthread_mutex_unlock(&g_lock);
	return (int)n;
}

uint64_t mc_log_count(enum mc_log_level level)
{
	if (level < MC_LOG_ERROR || level > MC_LOG_WARN)
		return 0;
	pthread_mutex_lock(&g_lock);
	uint64_t n = g_counts[level];
	pthread_mutex_unlock(&g_lock);
	return n;
}

bool mc_ratelimit_ok(struct mc_ratelimit *rl, uint64_t *suppressed)
{
	int64_t now = mc_now_us() / 1000;
	if (rl->window_start_ms == 0 || now - rl->window_start_ms >= rl->interval_ms) {
		rl->window_start_ms = now;
		rl->printed = 0;
	}
	if (rl->printed < rl->burst) {
		rl->printed++;
		if (suppressed)
			*suppressed = rl->suppressed;
		rl->suppressed = 0;
		return true;
	}
	rl->suppressed++;
	return false;
}

int64_t mc_now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t mc_wall_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}
