/* One VA-API device per render node for the whole process: every vaapi encoder and the VA scaler of every
 * layer hold a reference to the same AVHWDeviceContext (one VADisplay), so a surface the scaler makes is a
 * surface the encoder reads, no copy. Any thread (layers open on their own threads). */
#ifndef MC_VAAPI_DEVICE_H
#define MC_VAAPI_DEVICE_H

#include <libavutil/buffer.h>
#include <stdbool.h>
#include <stddef.h>

/* 0 and a new reference to render node `path`'s device (opened on first use), or -errno with the reason in
 * `why` (-ENOENT: no such node; -ENODEV: no VA-API driver for it). Give it back with mc_vaapi_device_put(). */
int mc_vaapi_device_get(const char *path, AVBufferRef **dev, char *why, size_t n);
/* A new reference to a device some backend holds already (the first opened), or NULL: NULL when none. */
AVBufferRef *mc_vaapi_device_any(void);
/* Drops *dev (NULL: nothing) and clears it; the device closes when its last user (frames included) goes. */
void mc_vaapi_device_put(AVBufferRef **dev);
/* The render node `dev` was opened on ("" when it is not from this cache). */
const char *mc_vaapi_device_path(const AVBufferRef *dev);
/* Do `a` and `b` (hw device or frames contexts' devices) share one VADisplay? */
bool mc_vaapi_same_device(const AVBufferRef *a_device, const AVBufferRef *b_device);

/* For the unit test: how the cache opens a node (default: av_hwdevice_ctx_create, VAAPI), and how many
 * nodes it holds open. */
typedef int (*mc_vaapi_device_opener)(const char *path, AVBufferRef **dev, char *why, size_t n);
void mc_vaapi_device_set_opener(mc_vaapi_device_opener open);
int mc_vaapi_device_cached(void);

#endif
