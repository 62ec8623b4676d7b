/* The network loop's set-up and tear-down: a failed init (no descriptor left) returns -EMFILE and leaves
 * something finish() can take apart without closing fd 0; a good init/finish closes what it opened. */
#include <errno.h>
#include <fcntl.h>

#include <pthread.h>

#include "check.h"
#include "fdlimit.h"
#include "netloop.h"

static void test_init_fails_without_fds(void)
{
	struct fdlimit f;
	struct mc_netloop nl;
	bool limited = fdlimit_begin(&f);
	CHECK(limited);
	int rc = mc_netloop_init(&nl);
	fdlimit_end(&f);
	CHECK_EQ(rc, -EMFILE);
	CHECK_EQ(nl.epfd, -1);
	CHECK_EQ(nl.wake_fd, -1);
	CHECK_EQ(nl.timer_fd, -1);
	mc_netloop_finish(&nl);
	mc_netloop_finish(&nl); /* twice: still nothing to close */
	CHECK(fdlimit_fd0_intact(&f));
}

static void test_finish_of_empty(void)
{
	struct fdlimit f;
	bool limited = fdlimit_begin(&f);
	fdlimit_end(&f);
	CHECK(limited);
	struct mc_netloop nl = MC_NETLOOP_EMPTY;
	mc_netloop_finish(&nl);
	CHECK(fdlimit_fd0_intact(&f));
}

static void test_init_and_finish(void)
{
	struct mc_netloop nl;
	CHECK_EQ(mc_netloop_init(&nl), 0);
	int fds[3] = { nl.epfd, nl.wake_fd, nl.timer_fd };
	for (int i = 0; i < 3; i++)
		CHECK(fds[i] > 2 && fcntl(fds[i], F_GETFD) >= 0);
	mc_netloop_finish(&nl);
	for (int i = 0; i < 3; i++)
		CHECK(fcntl(fds[i], F_GETFD) < 0);
	CHECK_EQ(nl.epfd, -1);
}

struct call_arg {
	pthread_t thread;
	int calls;
};

static void record(struct mc_netloop *nl, void *arg)
{
	struct call_arg *a = arg;
	a->thread = pthread_self();
	a->calls++;
}

/* mc_netloop_call runs the function on the network thread and returns when it has run; before the thread
 * starts and after it ended, on the caller's. */
static void test_call(void)
{
	struct mc_netloop nl;
	CHECK_EQ(mc_netloop_init(&nl), 0);
	struct call_arg a = { 0 };
	mc_netloop_call(&nl, record, &a);
	CHECK_EQ(a.calls, 1);
	CHECK(pthread_equal(a.thread, pthread_self()));
	CHECK_EQ(mc_netloop_start(&nl), 0);
	for (int i = 0; i < 50; i++)
		mc_netloop_call(&nl, record, &a);
	CHECK_EQ(a.calls, 51);
	CHECK(pthread_equal(a.thread, nl.thread));
	mc_netloop_stop(&nl);
	mc_netloop_call(&nl, record, &a);
	CHECK_EQ(a.calls, 52);
	CHECK(pthread_equal(a.thread, pthread_self()));
	mc_netloop_finish(&nl);
}

int main(void)
{
	RUN(test_init_fails_without_fds);
	RUN(test_finish_of_empty);
	RUN(test_init_and_finish);
	RUN(test_call);
	return check_done();
}
