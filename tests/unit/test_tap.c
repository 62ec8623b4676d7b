/* The snapshot tap: a producer's frames are references only while someone asks; the asker gets a frame
 * offered after its request (sharing the pixels, not a copy), or NULL after its timeout. */
#include <libavutil/frame.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

#include "check.h"
#include "log.h"
#include "tap.h"

static struct mc_tap g_tap;
static bool g_stop;

static AVFrame *frame(int64_t pts)
{
	AVFrame *f = av_frame_alloc();
	f->width = 16;
	f->height = 16;
	f->format = AV_PIX_FMT_GRAY8;
	if (av_frame_get_buffer(f, 0) < 0)
		exit(1);
	f->pts = pts;
	return f;
}

/* offers a frame every 5 ms with increasing pts until told to stop */
static void *producer(void *arg)
{
	AVFrame *f = frame(0);
	for (int64_t i = 1; !__atomic_load_n(&g_stop, __ATOMIC_ACQUIRE) && i < 4000; i++) {
		f->pts = i;
		mc_tap_offer(&g_tap, f);
		struct timespec ts = { 0, 5000000 };
		nanosleep(&ts, NULL);
	}
	av_frame_free(&f);
	return arg;
}

static void test_not_asked(void)
{
	mc_tap_init(&g_tap);
	AVFrame *f = frame(1);
	mc_tap_offer(&g_tap, f);
	CHECK(g_tap.frame == NULL);
	CHECK_EQ(av_buffer_get_ref_count(f->buf[0]), 1); /* no reference taken */
	int64_t t0 = mc_now_us();
	CHECK(mc_tap_grab(&g_tap, 50) == NULL); /* nobody offers: the timeout */
	int64_t waited = mc_now_us() - t0;
	CHECK(waited >= 45000 && waited < 1000000);
	av_frame_free(&f);
	mc_tap_finish(&g_tap);
}

static void test_grab(void)
{
	mc_tap_init(&g_tap);
	g_stop = false;
	pthread_t th;
	CHECK_EQ(pthread_create(&th, NULL, producer, NULL), 0);
	int64_t last = 0;
	for (int i = 0; i < 5; i++) {
		AVFrame *got = mc_tap_grab(&g_tap, 2000);
		CHECK(got != NULL);
		if (!got)
			break;
		CHECK(got->pts > last); /* a frame offered after the request, not a stale one */
		CHECK_EQ(got->width, 16);
		last = got->pts;
		av_frame_free(&got);
	}
	__atomic_store_n(&g_stop, true, __ATOMIC_RELEASE);
	pthread_join(th, NULL);
	CHECK(!__atomic_load_n(&g_tap.wanted, __ATOMIC_ACQUIRE));
	mc_tap_finish(&g_tap);
}

int main(void)
{
	RUN(test_not_asked);
	RUN(test_grab);
	return check_done();
}
