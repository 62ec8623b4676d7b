#include "pace.h"

#include <errno.h>
#include <time.h>

#include "log.h"

void mc_pace_init(struct mc_pace *p, int fps_num, int fps_den)
{
	p->period_us = fps_num > 0 ? (int64_t)1000000 * fps_den / fps_num : 33333;
	p->next_us = 0;
	p->skipped = 0;
}

int64_t mc_pace_wait(struct mc_pace *p, const bool *stop)
{
	int64_t now = mc_now_us();
	if (p->next_us == 0)
		p->next_us = now;
	/* Behind by more than a frame (a stall): start again from now rather than send a burst. */
	if (now - p->next_us > p->period_us) {
		p->skipped += (uint64_t)((now - p->next_us) / p->period_us);
		p->next_us = now;
	}
	while (now < p->next_us) {
		if (__atomic_load_n(stop, __ATOMIC_ACQUIRE))
			return -1;
		int64_t until = p->next_us - now > 100000 ? now + 100000 : p->next_us;
		struct timespec ts = { .tv_sec = until / 1000000, .tv_nsec = (until % 1000000) * 1000 };
		int rc = clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
		if (rc && rc != EINTR)
			break;
		now = mc_now_us();
	}
	int64_t due = p->next_us;
	p->next_us += p->period_us;
	return due;
}
