/* Media timing rules, each on its own: the track's frame clock (slots from capture times, or counted for a
 * lossless source), layer decimation on that clock, the keyframe schedule, the RTP timestamp that never
 * stands still, and the sources' pacing clock (a late wake-up does not move a frame's capture time). */
#include <stdbool.h>
#include <stdint.h>

#include "cadence.h"
#include "check.h"
#include "log.h"

static void test_clock_from_capture_times(void)
{
	struct mc_frame_clock c;
	mc_frame_clock_init(&c, 30, 1, false);
	int64_t t0 = 5000000;
	CHECK_EQ(mc_frame_clock_slot(&c, t0), 0);
	CHECK_EQ(mc_frame_clock_slot(&c, t0 + 33333 + 4000), 1); /* jitter rounds to the slot */
	CHECK_EQ(mc_frame_clock_slot(&c, t0 + 2 * 33333 - 9000), 2);
	CHECK_EQ(mc_frame_clock_slot(&c, t0 + 5 * 33333), 5);     /* frames dropped before the track: a gap */
	CHECK_EQ(mc_frame_clock_slot(&c, t0 + 5 * 33333 + 100), 6); /* the same slot twice: the next one */
	CHECK_EQ(mc_frame_clock_slot(&c, t0 + 7 * 33333), 7);
	CHECK_EQ(mc_frame_clock_slot(&c, t0 - 1000), 8);         /* a clock stepping back never goes back */
	/* 30000/1001: slot 1000 is 33.3667 s in */
	mc_frame_clock_init(&c, 30000, 1001, false);
	CHECK_EQ(mc_frame_clock_slot(&c, 0), 0);
	CHECK_EQ(mc_frame_clock_slot(&c, 33366667), 1000);
}

static void test_clock_counted(void)
{
	/* a file read as fast as possible: capture times 2 ms apart are still one frame each */
	struct mc_frame_clock c;
	mc_frame_clock_init(&c, 30, 1, true);
	for (int i = 0; i < 10; i++)
		CHECK_EQ(mc_frame_clock_slot(&c, 1000000 + i * 2000), i);
}

static void test_decimation(void)
{
	/* 15 of 30: every even slot */
	int64_t last = -1;
	for (int s = 0; s < 12; s++)
		CHECK_EQ(mc_layer_slot_due(&last, s, 15, 30), s % 2 == 0);
	/* 10 of 30: slots 0, 3, 6 */
	last = -1;
	int n = 0;
	for (int s = 0; s < 30; s++)
		if (mc_layer_slot_due(&last, s, 10, 30)) {
			CHECK_EQ(s % 3, 0);
			n++;
		}
	CHECK_EQ(n, 10);
	/* a missing slot (dropped before the track) is made up by the next frame of the same interval */
	last = -1;
	CHECK(mc_layer_slot_due(&last, 0, 15, 30));
	CHECK(mc_layer_slot_due(&last, 3, 15, 30));
	CHECK(!mc_layer_slot_due(&last, 3, 15, 30)); /* the same interval: not twice */
	CHECK(mc_layer_slot_due(&last, 4, 15, 30));
	/* a layer asking for more than the source gives takes every frame */
	last = -1;
	for (int s = 0; s < 5; s++)
		CHECK(mc_layer_slot_due(&last, s, 60, 30));
}

static void test_key_schedule(void)
{
	CHECK_EQ(mc_key_slots(2.0, 30, 1), 60);
	CHECK_EQ(mc_key_slots(1.0, 30000, 1001), 30);
	CHECK_EQ(mc_key_slots(0.001, 30, 1), 1);
	int64_t epoch = -1;
	int keys = 0;
	for (int s = 0; s < 180; s++)
		if (mc_key_slot(&epoch, s, 60)) {
			CHECK_EQ(s % 60, 0);
			keys++;
		}
	CHECK_EQ(keys, 3);
	/* a gap over the keyframe slot: the first frame after it opens the period */
	epoch = -1;
	CHECK(mc_key_slot(&epoch, 0, 60));
	CHECK(!mc_key_slot(&epoch, 59, 60));
	CHECK(mc_key_slot(&epoch, 62, 60));
	CHECK(!mc_key_slot(&epoch, 63, 60));
}

static void test_key_owed(void)
{
	/* nothing owed at the start */
	CHECK(!mc_key_owed(100, INT64_MIN, INT64_MIN));
	/* owed from 2000 on: a frame before it (taken before the debt was set) is not the keyframe */
	CHECK(!mc_key_owed(1000, 2000, 0));
	CHECK(mc_key_owed(2000, 2000, 0));
	/* the frame at 2000 was dropped by the mailbox: the next one pays */
	CHECK(mc_key_owed(2033, 2000, 0));
	/* paid: not again */
	CHECK(!mc_key_owed(2066, 2000, 2033));
}

int main(void)
{
	RUN(test_clock_from_capture_times);
	RUN(test_clock_counted);
	RUN(test_decimation);
	RUN(test_key_schedule);
	RUN(test_key_owed);
	return check_done();
}
