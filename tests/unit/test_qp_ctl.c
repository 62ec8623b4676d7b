/* The QP controller (src/media/qp_ctl.c) against two encoder models: H.264's (a frame's size falls by 2^(1/6)
 * per QP step) and FWHT's (the size goes with 1/qp, vicodec): it must bring P-frame sizes to the budget
 * and follow a new bitrate, not swing on keyframes, and stay in its range when the budget cannot be met. */
#include <math.h>
#include <stdlib.h>

#include "check.h"
#include "qp_ctl.h"

/* bytes of a P frame at qp: content `k` (scene complexity), noise of +-10 % */
static size_t h264(double k, int qp) { return (size_t)(k * pow(2.0, -qp / 6.0) * (0.9 + 0.2 * rand() / RAND_MAX)); }
static size_t fwht(double k, int qp) { return (size_t)(k / qp * (0.9 + 0.2 * rand() / RAND_MAX)); }

/* Runs `n` frames (every 30th a keyframe of 5x the size) and returns the mean P-frame size of the last 20. */
static double run(struct mc_qp_ctl *c, size_t (*model)(double, int), double k, int n)
{
	double sum = 0;
	int cnt = 0;
	for (int i = 0; i < n; i++) {
		bool key = i % 30 == 0;
		size_t b = model(k, c->qp) * (key ? 5 : 1);
		mc_qp_ctl_frame(c, b, key);
		if (!key && i >= n - 20)
			sum += (double)b, cnt++;
	}
	return sum / cnt;
}

static void test_h264_converges_and_follows(void)
{
	srand(1);
	struct mc_qp_ctl c;
	/* 100 kB at qp 0, about 3.1 kB at 30; 1 Mbit/s at 30 fps is 4167 bytes a frame: qp about 27.5 */
	mc_qp_ctl_init(&c, 1000000, 30, 26, 10, 51, pow(2.0, 1 / 6.0));
	double mean = run(&c, h264, 100000, 120);
	CHECK(fabs(mean / 4166.7 - 1) < 0.2);
	/* congestion control halves the rate: the QP rises about 6 */
	int before = c.qp;
	mc_qp_ctl_set_bitrate(&c, 500000, 30);
	mean = run(&c, h264, 100000, 120);
	CHECK(fabs(mean / 2083.3 - 1) < 0.2);
	CHECK(c.qp >= before + 4 && c.qp <= before + 8);
	/* a harder scene (4x the bits): the QP rises again (to about 45.5), the size comes back to the budget */
	mean = run(&c, h264, 400000, 120);
	CHECK(fabs(mean / 2083.3 - 1) < 0.2);
}

static void test_fwht_model(void)
{
	srand(2);
	struct mc_qp_ctl c;
	/* vicodec 640x360: about 60 kB at qp 20 -> k = 1.2e6; 2 Mbit/s at 5 fps is 50 kB a frame */
	mc_qp_ctl_init(&c, 2000000, 5, 20, 1, 31, 1.1);
	double mean = run(&c, fwht, 1.2e6, 120);
	CHECK(fabs(mean / 50000 - 1) < 0.2);
}

static void test_keyframes_and_range(void)
{
	struct mc_qp_ctl c;
	mc_qp_ctl_init(&c, 1000000, 30, 26, 20, 40, pow(2.0, 1 / 6.0));
	/* a keyframe, however large, moves nothing */
	CHECK_EQ(mc_qp_ctl_frame(&c, 1000000, true), 26);
	/* at most 2 steps a frame */
	CHECK_EQ(mc_qp_ctl_frame(&c, 1000000, false), 28);
	/* a budget it cannot meet: the QP stops at its bound */
	for (int i = 0; i < 50; i++)
		mc_qp_ctl_frame(&c, 1000000, false);
	CHECK_EQ(c.qp, 40);
	for (int i = 0; i < 200; i++)
		mc_qp_ctl_frame(&c, 10, false);
	CHECK_EQ(c.qp, 20);
	/* no budget (bitrate 0): untouched */
	mc_qp_ctl_set_bitrate(&c, 0, 30);
	CHECK_EQ(mc_qp_ctl_frame(&c, 1000000, false), 20);
}

int main(void)
{
	RUN(test_h264_converges_and_follows);
	RUN(test_fwht_model);
	RUN(test_keyframes_and_range);
	return check_done();
}
