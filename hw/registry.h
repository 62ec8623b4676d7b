/* The backends this build has, in the order `auto` tries them. Adding a backend: its file in hw/, a guarded
 * block in CMakeLists.txt, and one line here. */
#ifndef MC_REGISTRY_H
#define MC_REGISTRY_H

#include "config.h"
#include "encoder.h"
#include "scaler.h"
#include "source.h"

/* The source backend whose name is `type`, or NULL. */
const struct mc_source_ops *mc_registry_find_source(const char *type);
/* NULL-terminated; encoders and scalers in probe order. */
extern const struct mc_source_ops *const mc_source_backends[];
extern const struct mc_encoder_ops *const mc_encoder_backends[];
extern const struct mc_scaler_ops *const mc_scaler_backends[];

#endif
