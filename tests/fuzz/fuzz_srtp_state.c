/* libFuzzer target: the SRTP index state file parser (src/net/srtp_state.c). The file is written by mixcastd
 * itself, but a disk, an editor or another program can leave anything there, and a wrong parse would rewind
 * SRTP indexes: it must refuse, never crash or accept garbage. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "srtp_state.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct mc_srtp_state st;
	static const uint8_t key[30] = { 1, 2, 3 };
	mc_srtp_state_init(&st, "/nonexistent", "out", key, sizeof(key));
	if (mc_srtp_state_parse(&st, (const char *)data, size) == 0) {
		/* what parsed must hold together: distinct SSRCs, in-range marks */
		for (int i = 0; i < st.n_entries; i++)
			if (st.entries[i].srtcp == 0 || st.entries[i].srtp >= (1ull << 48) ||
			    mc_srtp_state_find(&st, st.entries[i].ssrc) != &st.entries[i])
				abort();
	}
	return 0;
}
