#include "pace.h"

#include <errno.h>
#include <time.h>

#include "log.h"

void mc_pace_init(struct mc_pace *p, int fps_num, int fps_den)
{
	*p = (struct mc_pace){ .fps_num = fps_num > 0 ? fps_num : 30, .fps_den = fps_num > 0 && fps_den > 0 ? fps_den : 1 };
}

int64_t mc_pace_slot_us(const struct mc_pace *p, int64_t n)
{
	return p->start_us + n * 1000000 * p->fps_den / p->fps_num;
}

int64_t mc_pace_next(struct mc_pace *p, int64_t now)
{
	if (p->start_us == 0) {
		p->start_us = now;
		p->n = 0;
	}
	int64_t due = mc_pace_slot_us(p, p->n);
	if (now - due > mc_pace_slot_us(p, p->n + 1) - due) {
		/* the latest slot at or before now */
		int64_t latest = (now - p->start_us) * p->fps_num / ((int64_t)1000000 * p->fps_den);
		if (latest > p->n) {
			p->skipped += (uint64_t)(latest - p->n);
			p->n = latest;
		}
	}
	return mc_pace_slot_us(p, p->n);
}

int64_t mc_pace_wait(struct mc_pace *p, const bool *stop)
{
	int64_t now = mc_now_us();
	int64_t due = mc_pace_next(p, now);
	while (now < due) {
		if (__atomic_load_n(stop, __ATOMIC_ACQUIRE))
			return -1;
		int64_t until = due - now > 100000 ? now + 100000 : due;
		struct timespec ts = { .tv_sec = until / 1000000, .tv_nsec = (until % 1000000) * 1000 };
		int rc = clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
		if (rc && rc != EINTR)
			break;
		now = mc_now_us();
	}
	p->n++;
	return due;
}
