/* The v4l2m2m encoder's test mode (hw/encoder_v4l2m2m.c; never in production): MIXCAST_TEST_V4L2M2M=fwht:DIR
 * makes the backend encode FWHT (vicodec has no H.264, and no browser decodes FWHT) and write per layer
 * DIR/<layer>.fwht (the bitstream), DIR/<layer>.yuv (the first MIXCAST_TEST_V4L2M2M_RAW input pictures, 30 by
 * default, the layer's format at its visible size) and DIR/<layer>.idx (one line per frame: "send PTS KEY",
 * "recv PTS BYTES KEY"), so that the kernel lane decodes the stream with vicodec's decoder and compares it
 * with the input. */
#ifndef MC_V4L2M2M_DUMP_H
#define MC_V4L2M2M_DUMP_H

#include <libavcodec/packet.h>
#include <libavutil/frame.h>
#include <stdbool.h>

struct mc_m2m_dump;

/* DIR when the test mode is on, else NULL. */
const char *mc_m2m_test_dir(void);
struct mc_m2m_dump *mc_m2m_dump_open(const char *dir, const char *layer);
void mc_m2m_dump_close(struct mc_m2m_dump *d);
void mc_m2m_dump_input(struct mc_m2m_dump *d, const AVFrame *f, int width, int height, enum AVPixelFormat fmt);
void mc_m2m_dump_sent(struct mc_m2m_dump *d, int64_t pts, bool key);
/* Writes the bitstream of one frame and makes the packet that goes on the wire: one H.264 NAL unit of the
 * reserved type 23, which decoders ignore (H.264 7.4.1), emulation-prevented, with a stop byte so that the
 * packetizer's trailing-zero rule keeps the payload whole (not 24..31: the packetizer drops those, RFC 6184
 * uses them for its own structures). So the RTP stream runs on, and receivers skip it. 0 or -ENOMEM. */
int mc_m2m_dump_output(struct mc_m2m_dump *d, const uint8_t *data, size_t len, int64_t pts, bool key, AVPacket *pkt);

#endif
