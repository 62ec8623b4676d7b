/* Transport-wide congestion control feedback (draft-holmer-rmcat-transport-wide-cc-extensions-01 §3.1):
 * the packet status chunks and receive deltas of one feedback message, decoded into one entry per packet.
 * Pure; nothing in the packet is trusted (a count or a delta that runs past the bytes stops the walk). */
#ifndef MC_TWCC_H
#define MC_TWCC_H

#include <stddef.h>
#include <stdint.h>

#include "rtcp_parse.h"

#define MC_TWCC_MAX_PACKETS 1024 /* more in one message is refused (a browser's hold ~100-300) */

struct mc_twcc_packet {
	uint16_t seq;
	bool received;
	int64_t arrival_us; /* receiver's clock: reference time + deltas; only differences mean anything */
};

/* Decodes `fb` into out[0..*n). Returns 0, or -EBADMSG when the chunks or deltas do not fit the bytes or
 * the count is above MC_TWCC_MAX_PACKETS (nothing usable then: *n = 0). */
int mc_twcc_decode(const struct mc_rtcp_twcc *fb, struct mc_twcc_packet *out, int *n);

#endif
