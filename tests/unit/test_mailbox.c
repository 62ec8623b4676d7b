/* The latest-frame mailbox: replace-and-count in the default mode, blocking put in lossless mode, close
 * waking a blocked take. Every wait on another thread is bounded so that a bug fails instead of hanging. */
#include <errno.h>
#include <libavutil/frame.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "log.h"
#include "mailbox.h"

static AVFrame *frame_with_pts(int64_t pts)
{
	AVFrame *f = av_frame_alloc();
	if (!f) {
		fprintf(stderr, "av_frame_alloc failed\n");
		exit(1);
	}
	f->pts = pts;
	return f;
}

static void sleep_ms(int ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) == -1 && errno == EINTR) {
	}
}

/* A thread doing one put or one take; `done` is set when the call has returned. */
struct worker {
	pthread_t thread;
	struct mc_mailbox *mb;
	AVFrame *frame; /* to put, or taken */
	int64_t put_us;
	int rc;
	atomic_bool done;
};

static void *do_take(void *arg)
{
	struct worker *w = arg;
	w->rc = mc_mailbox_take(w->mb, &w->frame, &w->put_us);
	atomic_store(&w->done, true);
	return NULL;
}

static void *do_put(void *arg)
{
	struct worker *w = arg;
	w->rc = mc_mailbox_put(w->mb, w->frame);
	atomic_store(&w->done, true);
	return NULL;
}

static void start(struct worker *w, struct mc_mailbox *mb, AVFrame *frame, void *(*fn)(void *))
{
	w->mb = mb;
	w->frame = frame;
	w->rc = 1;
	w->put_us = 0;
	atomic_store(&w->done, false);
	if (pthread_create(&w->thread, NULL, fn, w) != 0) {
		fprintf(stderr, "pthread_create failed\n");
		exit(1);
	}
}

/* Waits up to `ms` for the worker to finish; true if it did (and was joined). A worker that stays blocked
 * past the bound is a failed test: report and exit rather than hang until the CTest timeout. */
static bool finish(struct worker *w, int ms)
{
	for (int waited = 0; waited < ms; waited += 5) {
		if (atomic_load(&w->done)) {
			pthread_join(w->thread, NULL);
			return true;
		}
		sleep_ms(5);
	}
	return false;
}

#define MUST_FINISH(w)                                                                         \
	do {                                                                                   \
		if (!finish((w), 5000)) {                                                      \
			CHECK_FAIL_("a blocked mailbox call did not return within 5 s");      \
			printf("%d checks, %d failed\n", check_total_, check_failures_);      \
			exit(1);                                                               \
		}                                                                              \
	} while (0)

static void test_latest_frame(void)
{
	struct mc_mailbox mb;
	mc_mailbox_init(&mb, false);
	CHECK_EQ(mc_mailbox_dropped(&mb), 0);
	int64_t before = mc_now_us();
	CHECK_EQ(mc_mailbox_put(&mb, frame_with_pts(1)), 0);
	CHECK_EQ(mc_mailbox_put(&mb, frame_with_pts(2)), 0); /* replaces 1, which is freed and counted */
	CHECK_EQ(mc_mailbox_dropped(&mb), 1);
	CHECK_EQ(mc_mailbox_put(&mb, frame_with_pts(3)), 0);
	CHECK_EQ(mc_mailbox_dropped(&mb), 2);
	AVFrame *f = NULL;
	int64_t put_us = 0;
	CHECK_EQ(mc_mailbox_take(&mb, &f, &put_us), 0);
	CHECK(f != NULL);
	if (f)
		CHECK_EQ(f->pts, 3);
	CHECK(put_us >= before && put_us <= mc_now_us());
	av_frame_free(&f);

	/* taken in time: nothing dropped; put_us may be NULL */
	CHECK_EQ(mc_mailbox_put(&mb, frame_with_pts(4)), 0);
	CHECK_EQ(mc_mailbox_take(&mb, &f, NULL), 0);
	if (f)
		CHECK_EQ(f->pts, 4);
	av_frame_free(&f);
	CHECK_EQ(mc_mailbox_dropped(&mb), 2);

	/* a frame left in the mailbox is freed by finish (ASan's leak check sees it otherwise) */
	CHECK_EQ(mc_mailbox_put(&mb, frame_with_pts(5)), 0);
	mc_mailbox_finish(&mb);
}

static void test_take_waits_for_put(void)
{
	struct mc_mailbox mb;
	mc_mailbox_init(&mb, false);
	struct worker w;
	start(&w, &mb, NULL, do_take);
	sleep_ms(50);
	CHECK(!atomic_load(&w.done)); /* nothing to take yet */
	CHECK_EQ(mc_mailbox_put(&mb, frame_with_pts(42)), 0);
	MUST_FINISH(&w);
	CHECK_EQ(w.rc, 0);
	CHECK(w.frame != NULL);
	if (w.frame)
		CHECK_EQ(w.frame->pts, 42);
	av_frame_free(&w.frame);
	CHECK_EQ(mc_mailbox_dropped(&mb), 0);
	mc_mailbox_finish(&mb);
}

static void test_close_wakes_take(void)
{
	struct mc_mailbox mb;
	mc_mailbox_init(&mb, false);
	struct worker w;
	start(&w, &mb, NULL, do_take);
	sleep_ms(50);
	CHECK(!atomic_load(&w.done));
	mc_mailbox_close(&mb);
	MUST_FINISH(&w);
	CHECK_EQ(w.rc, -EPIPE);
	CHECK(w.frame == NULL);

	/* closed: put refuses (and frees the frame), take returns -EPIPE at once */
	CHECK_EQ(mc_mailbox_put(&mb, frame_with_pts(1)), -EPIPE);
	AVFrame *f = NULL;
	CHECK_EQ(mc_mailbox_take(&mb, &f, NULL), -EPIPE);
	CHECK(f == NULL);
	CHECK_EQ(mc_mailbox_dropped(&mb), 0);
	mc_mailbox_finish(&mb);

	/* a frame put before close is still delivered, then -EPIPE */
	mc_mailbox_init(&mb, false);
	CHECK_EQ(mc_mailbox_put(&mb, frame_with_pts(7)), 0);
	mc_mailbox_close(&mb);
	CHECK_EQ(mc_mailbox_take(&mb, &f, NULL), 0);
	if (f)
		CHECK_EQ(f->pts, 7);
	av_frame_free(&f);
	CHECK_EQ(mc_mailbox_take(&mb, &f, NULL), -EPIPE);
	mc_mailbox_finish(&mb);
}

struct producer {
	struct mc_mailbox *mb;
	int64_t first;
	int n, failed;
};

static void *produce(void *arg)
{
	struct producer *p = arg;
	for (int i = 0; i < p->n; i++)
		if (mc_mailbox_put(p->mb, frame_with_pts(p->first + i)) != 0)
			p->failed++;
	mc_mailbox_close(p->mb);
	return NULL;
}

static void test_lossless(void)
{
	struct mc_mailbox mb;
	mc_mailbox_init(&mb, true);
	CHECK_EQ(mc_mailbox_put(&mb, frame_with_pts(1)), 0); /* room for one */
	struct worker w;
	start(&w, &mb, frame_with_pts(2), do_put);
	sleep_ms(100);
	CHECK(!atomic_load(&w.done)); /* the second put waits for a take */
	AVFrame *f = NULL;
	CHECK_EQ(mc_mailbox_take(&mb, &f, NULL), 0);
	if (f)
		CHECK_EQ(f->pts, 1);
	av_frame_free(&f);
	MUST_FINISH(&w);
	CHECK_EQ(w.rc, 0);
	CHECK_EQ(mc_mailbox_take(&mb, &f, NULL), 0);
	if (f)
		CHECK_EQ(f->pts, 2);
	av_frame_free(&f);
	CHECK_EQ(mc_mailbox_dropped(&mb), 0); /* nothing is ever dropped */

	/* a producer far ahead of the consumer: every frame arrives, in order, none dropped. The producer
	 * closes the mailbox after its last put, so a lost frame ends the loop instead of blocking it. */
	struct mc_mailbox mb2;
	mc_mailbox_init(&mb2, true);
	struct producer prod = { .mb = &mb2, .first = 100, .n = 200 };
	pthread_t t;
	CHECK_EQ(pthread_create(&t, NULL, produce, &prod), 0);
	int got = 0;
	bool in_order = true;
	for (;;) {
		if (got % 50 == 0)
			sleep_ms(10); /* let the producer run into the full mailbox */
		if (mc_mailbox_take(&mb2, &f, NULL) != 0)
			break;
		in_order &= f->pts == prod.first + got;
		got++;
		av_frame_free(&f);
	}
	pthread_join(t, NULL);
	CHECK_EQ(got, prod.n);
	CHECK(in_order);
	CHECK_EQ(prod.failed, 0);
	CHECK_EQ(mc_mailbox_dropped(&mb2), 0);
	mc_mailbox_finish(&mb2);

	/* close wakes a blocked lossless put: -EPIPE, its frame freed */
	CHECK_EQ(mc_mailbox_put(&mb, frame_with_pts(9)), 0);
	start(&w, &mb, frame_with_pts(10), do_put);
	sleep_ms(50);
	CHECK(!atomic_load(&w.done));
	mc_mailbox_close(&mb);
	MUST_FINISH(&w);
	CHECK_EQ(w.rc, -EPIPE);
	CHECK_EQ(mc_mailbox_take(&mb, &f, NULL), 0); /* the one that was there */
	if (f)
		CHECK_EQ(f->pts, 9);
	av_frame_free(&f);
	mc_mailbox_finish(&mb);
}

/* The last line of defence against a hang the bounded waits above do not cover (a take that never
 * returns on the main thread): fail clearly well before CTest's timeout. */
static void watchdog(int sig)
{
	(void)sig;
	static const char msg[] = "test_mailbox: watchdog: a mailbox call blocked for 20 s\n";
	if (write(STDERR_FILENO, msg, sizeof(msg) - 1) < 0) {
	}
	_exit(1);
}

int main(void)
{
	signal(SIGALRM, watchdog);
	alarm(20);
	RUN(test_latest_frame);
	RUN(test_take_waits_for_put);
	RUN(test_close_wakes_take);
	RUN(test_lossless);
	return check_done();
}
