/* A daemon whose start-up fails before its event loop exists (signalfd/eventfd: no descriptor left) exits
 * with status 2 and closes only what it opened: before the fix, its zeroed netloop made it close fd 0. */
#include "check.h"
#include "config.h"
#include "daemon.h"
#include "fdlimit.h"

static struct mc_config g_cfg; /* never reached: start-up fails first */

static void test_no_fds_at_start(void)
{
	struct fdlimit f;
	bool limited = fdlimit_begin(&f);
	CHECK(limited);
	struct mc_daemon_options opt = { 0 };
	int status = limited ? mc_daemon_run(&g_cfg, &opt) : -1;
	fdlimit_end(&f);
	CHECK_EQ(status, 2);
	CHECK(fdlimit_fd0_intact(&f));
}

int main(void)
{
	RUN(test_no_fds_at_start);
	return check_done();
}
