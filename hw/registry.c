#include "registry.h"

#include <stddef.h>
#include <string.h>

extern const struct mc_source_ops mc_source_testsrc;
extern const struct mc_source_ops mc_source_file;
extern const struct mc_source_ops mc_source_v4l2;
#ifdef HAVE_LIBDRM
extern const struct mc_source_ops mc_source_kms;
#endif
extern const struct mc_encoder_ops mc_encoder_software;
extern const struct mc_encoder_ops mc_encoder_v4l2m2m;
#ifdef HAVE_OPENH264
extern const struct mc_encoder_ops mc_encoder_openh264;
#endif
#ifdef HAVE_VAAPI
extern const struct mc_encoder_ops mc_encoder_vaapi;
#endif
extern const struct mc_scaler_ops mc_scaler_v4l2m2m;
#ifdef HAVE_VAAPI
extern const struct mc_scaler_ops mc_scaler_vaapi;
#endif
extern const struct mc_scaler_ops mc_scaler_half;
extern const struct mc_scaler_ops mc_scaler_swscale;

const struct mc_source_ops *const mc_source_backends[] = {
	&mc_source_testsrc,
	&mc_source_file,
	&mc_source_v4l2,
#ifdef HAVE_LIBDRM
	&mc_source_kms,
#endif
	NULL,
};

/* Every backend this build has, by name; which ones a layer tries and in what order is
 * mc_encoder_chain()'s (src/media/encoder.c): auto is vaapi, v4l2m2m, software. */
const struct mc_encoder_ops *const mc_encoder_backends[] = {
#ifdef HAVE_VAAPI
	&mc_encoder_vaapi,
#endif
	&mc_encoder_v4l2m2m,
#ifdef HAVE_OPENH264
	&mc_encoder_openh264,
#endif
	&mc_encoder_software,
	NULL,
};

/* The first whose open() accepts the conversion is used: a device scaler (only for a layer whose encoder
 * takes what it makes: src/media/scaler.c), then the exact 2:1 step, libswscale for the rest. */
const struct mc_scaler_ops *const mc_scaler_backends[] = {
#ifdef HAVE_VAAPI
	&mc_scaler_vaapi,
#endif
	&mc_scaler_v4l2m2m,
	&mc_scaler_half,
	&mc_scaler_swscale,
	NULL,
};

const struct mc_source_ops *mc_registry_find_source(const char *type)
{
	for (size_t i = 0; mc_source_backends[i]; i++)
		if (strcmp(mc_source_backends[i]->name, type) == 0)
			return mc_source_backends[i];
	return NULL;
}
