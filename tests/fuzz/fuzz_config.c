/* libFuzzer target: the INI configuration parser (outside input: files written by integrators). */
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	mc_log_set_level(MC_LOG_QUIET);
	struct mc_config *cfg = NULL;
	int errors = 0;
	if (mc_config_load_buffer("fuzz.ini", (const char *)data, size, &cfg, &errors) == 0)
		mc_config_free(cfg);
	return 0;
}
