/* The VA-API backends' parts that run without a GPU: which DMABUFs are imported and why the others are not
 * (vaapi_import.c), the DRM PRIME wrapper keeping its source frame, the process-wide device cache (one
 * device per node, counted users, thread-safe, a clean error without a device), and on a machine without a
 * VA-API device the VA scaler refusing at open so the core's CPU scalers run. */
#include <drm_fourcc.h>
#include <errno.h>
#include <libavutil/hwcontext.h>
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

#include "check.h"
#include "frame.h"
#include "scaler.h"
#include "vaapi_device.h"
#include "vaapi_import.h"

/* A 640x360 NV12 buffer as a V4L2 camera exports it: one object, one NV12 layer of two planes. */
static AVDRMFrameDescriptor nv12(uint64_t modifier)
{
	AVDRMFrameDescriptor d = { .nb_objects = 1, .nb_layers = 1 };
	d.objects[0] = (AVDRMObjectDescriptor){ .fd = 5, .size = 640 * 360 * 3 / 2, .format_modifier = modifier };
	d.layers[0].format = DRM_FORMAT_NV12;
	d.layers[0].nb_planes = 2;
	d.layers[0].planes[0] = (AVDRMPlaneDescriptor){ .object_index = 0, .offset = 0, .pitch = 640 };
	d.layers[0].planes[1] = (AVDRMPlaneDescriptor){ .object_index = 0, .offset = 640 * 360, .pitch = 640 };
	return d;
}

static bool has(const char *s, const char *sub) { return s && strstr(s, sub); }

static void test_import_rules(void)
{
	AVDRMFrameDescriptor d = nv12(DRM_FORMAT_MOD_LINEAR);
	CHECK(mc_vaapi_import_refusal(&d, 640, 360, MC_VAAPI_IMPORT_ENCODE) == NULL);
	CHECK(mc_vaapi_import_refusal(&d, 640, 360, MC_VAAPI_IMPORT_VPP) == NULL);
	/* Intel's uncompressed tilings import */
	d = nv12(I915_FORMAT_MOD_X_TILED);
	CHECK(mc_vaapi_import_refusal(&d, 640, 360, MC_VAAPI_IMPORT_ENCODE) == NULL);
	d = nv12(I915_FORMAT_MOD_Y_TILED);
	CHECK(mc_vaapi_import_refusal(&d, 640, 360, MC_VAAPI_IMPORT_ENCODE) == NULL);
	/* every compressed (CCS) one goes the copy path, by name */
	static const struct { uint64_t mod; const char *name; } ccs[] = {
		{ I915_FORMAT_MOD_Y_TILED_CCS, "I915_FORMAT_MOD_Y_TILED_CCS" },
		{ I915_FORMAT_MOD_Yf_TILED_CCS, "I915_FORMAT_MOD_Yf_TILED_CCS" },
		{ I915_FORMAT_MOD_Y_TILED_GEN12_RC_CCS, "I915_FORMAT_MOD_Y_TILED_GEN12_RC_CCS" },
		{ I915_FORMAT_MOD_Y_TILED_GEN12_MC_CCS, "I915_FORMAT_MOD_Y_TILED_GEN12_MC_CCS" },
		{ I915_FORMAT_MOD_Y_TILED_GEN12_RC_CCS_CC, "I915_FORMAT_MOD_Y_TILED_GEN12_RC_CCS_CC" },
#ifdef I915_FORMAT_MOD_4_TILED_DG2_RC_CCS
		{ I915_FORMAT_MOD_4_TILED_DG2_RC_CCS, "I915_FORMAT_MOD_4_TILED_DG2_RC_CCS" },
		{ I915_FORMAT_MOD_4_TILED_DG2_MC_CCS, "I915_FORMAT_MOD_4_TILED_DG2_MC_CCS" },
		{ I915_FORMAT_MOD_4_TILED_DG2_RC_CCS_CC, "I915_FORMAT_MOD_4_TILED_DG2_RC_CCS_CC" },
#endif
	};
	for (size_t i = 0; i < sizeof(ccs) / sizeof(ccs[0]); i++) {
		d = nv12(ccs[i].mod);
		const char *why = mc_vaapi_import_refusal(&d, 640, 360, MC_VAAPI_IMPORT_VPP);
		CHECK(has(why, ccs[i].name));
		CHECK(has(why, "compressed (CCS)"));
		CHECK_STR_EQ(mc_vaapi_modifier_name(ccs[i].mod), ccs[i].name);
	}
	/* no modifier, and other vendors' modifiers: not guessed */
	d = nv12(DRM_FORMAT_MOD_INVALID);
	CHECK(has(mc_vaapi_import_refusal(&d, 640, 360, MC_VAAPI_IMPORT_ENCODE), "DRM_FORMAT_MOD_INVALID"));
	d = nv12(DRM_FORMAT_MOD_BROADCOM_UIF);
	CHECK(has(mc_vaapi_import_refusal(&d, 640, 360, MC_VAAPI_IMPORT_ENCODE), "not known to import"));
	CHECK(mc_vaapi_modifier_name(DRM_FORMAT_MOD_BROADCOM_UIF) == NULL);
	CHECK_STR_EQ(mc_vaapi_modifier_name(DRM_FORMAT_MOD_LINEAR), "LINEAR");

	/* NV12 as two layers (R8 + GR88), what separate-layer exporters give */
	d = nv12(DRM_FORMAT_MOD_LINEAR);
	d.nb_layers = 2;
	d.layers[0].format = DRM_FORMAT_R8;
	d.layers[0].nb_planes = 1;
	d.layers[1].format = DRM_FORMAT_GR88;
	d.layers[1].nb_planes = 1;
	d.layers[1].planes[0] = (AVDRMPlaneDescriptor){ .offset = 640 * 360, .pitch = 640 };
	CHECK(mc_vaapi_import_refusal(&d, 640, 360, MC_VAAPI_IMPORT_ENCODE) == NULL);

	/* a KMS framebuffer: XRGB8888 goes to video processing (it converts), not to the encoder */
	AVDRMFrameDescriptor fb = { .nb_objects = 1, .nb_layers = 1 };
	fb.objects[0] = (AVDRMObjectDescriptor){ .fd = 7, .size = 1366 * 4 * 768, .format_modifier = DRM_FORMAT_MOD_LINEAR };
	fb.layers[0] = (AVDRMLayerDescriptor){ .format = DRM_FORMAT_XRGB8888, .nb_planes = 1 };
	fb.layers[0].planes[0].pitch = 1366 * 4;
	CHECK(mc_vaapi_import_refusal(&fb, 1366, 768, MC_VAAPI_IMPORT_VPP) == NULL);
	CHECK(has(mc_vaapi_import_refusal(&fb, 1366, 768, MC_VAAPI_IMPORT_ENCODE), "XR24"));
	CHECK(has(mc_vaapi_import_refusal(&fb, 1366, 768, MC_VAAPI_IMPORT_ENCODE), "not imported for encoding"));
	fb.objects[0].format_modifier = I915_FORMAT_MOD_Y_TILED_GEN12_RC_CCS; /* a compositor's usual scanout */
	CHECK(has(mc_vaapi_import_refusal(&fb, 1366, 768, MC_VAAPI_IMPORT_VPP), "CCS"));

	/* a camera's YUYV: not in FFmpeg 5.1's DRM -> VA format map */
	fb.objects[0].format_modifier = DRM_FORMAT_MOD_LINEAR;
	fb.layers[0].format = DRM_FORMAT_YUYV;
	fb.layers[0].planes[0].pitch = 1366 * 2;
	CHECK(has(mc_vaapi_import_refusal(&fb, 1366, 768, MC_VAAPI_IMPORT_VPP), "YUYV"));

	/* descriptions that would have the GPU read the wrong memory */
	d = nv12(DRM_FORMAT_MOD_LINEAR);
	d.nb_objects = 2;
	CHECK(has(mc_vaapi_import_refusal(&d, 640, 360, MC_VAAPI_IMPORT_ENCODE), "more than one DRM object"));
	d = nv12(DRM_FORMAT_MOD_LINEAR);
	d.objects[0].size = 640 * 360; /* no room for the chroma plane */
	CHECK(has(mc_vaapi_import_refusal(&d, 640, 360, MC_VAAPI_IMPORT_ENCODE), "past the buffer"));
	d = nv12(DRM_FORMAT_MOD_LINEAR);
	d.objects[0].fd = -1;
	CHECK(has(mc_vaapi_import_refusal(&d, 640, 360, MC_VAAPI_IMPORT_ENCODE), "no DMABUF fd"));
	d = nv12(DRM_FORMAT_MOD_LINEAR);
	d.layers[0].nb_planes = 1;
	CHECK(mc_vaapi_import_refusal(&d, 640, 360, MC_VAAPI_IMPORT_ENCODE) != NULL);
	CHECK(has(mc_vaapi_import_refusal(NULL, 640, 360, MC_VAAPI_IMPORT_ENCODE), "no buffer description"));
}

static int freed;
static void count_free(void *opaque, uint8_t *data)
{
	freed++;
	av_free(data);
}

/* The DRM PRIME frame handed to av_hwframe_map keeps the camera's frame (buffer and descriptor) alive. */
static void test_drm_frame(void)
{
	AVFrame *cam = av_frame_alloc();
	cam->format = AV_PIX_FMT_NV12;
	cam->width = 640;
	cam->height = 360;
	uint8_t *pixels = av_malloc(640 * 360 * 3 / 2);
	cam->buf[0] = av_buffer_create(pixels, 640 * 360 * 3 / 2, count_free, NULL, 0);
	cam->data[0] = pixels;
	cam->data[1] = pixels + 640 * 360;
	cam->linesize[0] = cam->linesize[1] = 640;
	struct mc_frame_dmabuf *db = av_mallocz(sizeof(*db));
	db->drm = nv12(DRM_FORMAT_MOD_LINEAR);
	db->map = pixels;
	cam->opaque_ref = av_buffer_create((uint8_t *)db, sizeof(*db), count_free, NULL, 0);
	CHECK_EQ(mc_frame_kind_of(cam), MC_FRAME_CPU | MC_FRAME_DMABUF);
	const AVDRMFrameDescriptor *d = mc_vaapi_frame_descriptor(cam);
	CHECK(d == &db->drm);

	freed = 0;
	AVFrame *drm = mc_vaapi_drm_frame(cam, d);
	CHECK(drm != NULL);
	if (!drm)
		return;
	CHECK_EQ(drm->format, AV_PIX_FMT_DRM_PRIME);
	CHECK_EQ(mc_frame_kind_of(drm), MC_FRAME_DMABUF);
	CHECK(drm->data[0] == (uint8_t *)d);
	CHECK(mc_vaapi_frame_descriptor(drm) == d);
	CHECK_EQ(drm->width, 640);
	av_frame_free(&cam);
	CHECK_EQ(freed, 0); /* the wrapper still holds the camera's buffer and its descriptor */
	AVFrame *ref = av_frame_alloc();
	CHECK_EQ(av_frame_ref(ref, drm), 0); /* what the mapping does: a reference, not a copy */
	CHECK(ref->data[0] == (uint8_t *)d);
	av_frame_free(&drm);
	CHECK_EQ(freed, 0);
	av_frame_free(&ref);
	CHECK_EQ(freed, 2);

	AVFrame *plain = av_frame_alloc();
	CHECK(mc_vaapi_frame_descriptor(plain) == NULL);
	av_frame_free(&plain);
}

/* A stand-in for av_hwdevice_ctx_create: a real (uninitialised) VAAPI device context, no display. */
static int opens, refuse;
static int fake_open(const char *path, AVBufferRef **dev, char *why, size_t n)
{
	if (refuse) {
		snprintf(why, n, "%s: vaInitialize: unknown libva error (no VA-API driver)", path);
		return -ENODEV;
	}
	__atomic_add_fetch(&opens, 1, __ATOMIC_RELAXED);
	usleep(2000); /* a slow driver: a second thread asking meanwhile must wait for this one, not open again */
	*dev = av_hwdevice_ctx_alloc(AV_HWDEVICE_TYPE_VAAPI);
	return *dev ? 0 : -ENOMEM;
}

static pthread_barrier_t barrier;
static AVBufferRef *got[4];
static void *getter(void *arg)
{
	int i = (int)(intptr_t)arg;
	char why[160];
	pthread_barrier_wait(&barrier);
	mc_vaapi_device_get("/dev/dri/renderD128", &got[i], why, sizeof(why));
	return NULL;
}

static void test_device_cache(void)
{
	char why[160] = "";
	mc_vaapi_device_set_opener(fake_open);
	opens = 0;
	AVBufferRef *a = NULL, *b = NULL, *c = NULL;
	CHECK_EQ(mc_vaapi_device_get("/dev/dri/renderD128", &a, why, sizeof(why)), 0);
	CHECK_EQ(mc_vaapi_device_get("/dev/dri/renderD128", &b, why, sizeof(why)), 0);
	CHECK(a && b && a->data == b->data); /* one device for the encoders and the scaler of every layer */
	CHECK(mc_vaapi_same_device(a, b));
	CHECK_EQ(opens, 1);
	CHECK_EQ(mc_vaapi_device_cached(), 1);
	CHECK_STR_EQ(mc_vaapi_device_path(a), "/dev/dri/renderD128");
	CHECK_EQ(mc_vaapi_device_get("/dev/dri/renderD129", &c, why, sizeof(why)), 0);
	CHECK(c && c->data != a->data);
	CHECK(!mc_vaapi_same_device(a, c));
	CHECK_EQ(mc_vaapi_device_cached(), 2);
	AVBufferRef *any = mc_vaapi_device_any();
	CHECK(any && any->data == a->data); /* the scaler takes what the encoders opened */
	/* a frames context outlives its backend: the device with it, the cache entry without it */
	AVBufferRef *frames = av_hwframe_ctx_alloc(c);
	mc_vaapi_device_put(&a);
	CHECK(a == NULL);
	mc_vaapi_device_put(&any);
	CHECK_EQ(mc_vaapi_device_cached(), 2);
	mc_vaapi_device_put(&b);
	CHECK_EQ(mc_vaapi_device_cached(), 1);
	mc_vaapi_device_put(&c);
	CHECK_EQ(mc_vaapi_device_cached(), 0);
	CHECK(((AVHWFramesContext *)frames->data)->device_ctx != NULL);
	av_buffer_unref(&frames);
	mc_vaapi_device_put(&c); /* NULL: nothing */
	CHECK(mc_vaapi_device_any() == NULL);
	CHECK_STR_EQ(mc_vaapi_device_path(NULL), "");

	/* layers opening at once on their threads: one open, one device */
	opens = 0;
	pthread_t th[4];
	pthread_barrier_init(&barrier, NULL, 4);
	for (int i = 0; i < 4; i++)
		pthread_create(&th[i], NULL, getter, (void *)(intptr_t)i);
	for (int i = 0; i < 4; i++)
		pthread_join(th[i], NULL);
	pthread_barrier_destroy(&barrier);
	CHECK_EQ(opens, 1);
	for (int i = 0; i < 4; i++)
		CHECK(got[i] && got[0] && got[i]->data == got[0]->data);
	for (int i = 0; i < 4; i++)
		mc_vaapi_device_put(&got[i]);
	CHECK_EQ(mc_vaapi_device_cached(), 0);

	/* no driver: a clean error with the reason, nothing cached */
	refuse = 1;
	CHECK_EQ(mc_vaapi_device_get("/dev/dri/renderD128", &a, why, sizeof(why)), -ENODEV);
	CHECK(a == NULL);
	CHECK(has(why, "no VA-API driver"));
	CHECK_EQ(mc_vaapi_device_cached(), 0);
	refuse = 0;
	CHECK_EQ(mc_vaapi_device_get("", &a, why, sizeof(why)), -EINVAL);

	/* the real opener on a node this machine lacks: -ENOENT, the node named */
	mc_vaapi_device_set_opener(NULL);
	if (access("/dev/dri/renderD143", F_OK) != 0) {
		CHECK_EQ(mc_vaapi_device_get("/dev/dri/renderD143", &a, why, sizeof(why)), -ENOENT);
		CHECK(has(why, "/dev/dri/renderD143"));
		CHECK(a == NULL);
		CHECK_EQ(mc_vaapi_device_cached(), 0);
	}
}

extern const struct mc_scaler_ops mc_scaler_vaapi;

/* No VA-API device (this machine): the VA scaler refuses at open, fast, and a layer whose encoder takes VA
 * surfaces is scaled by the CPU backends instead. */
static void test_scaler_fallback(void)
{
	if (access("/dev/dri", F_OK) == 0) {
		printf("  /dev/dri exists: the no-device fallback is not what this machine shows, skipped\n");
		CHECK(1);
		return;
	}
	CHECK(mc_scaler_vaapi.on_device);
	CHECK_EQ(mc_scaler_vaapi.makes, MC_FRAME_VAAPI);
	void *priv = calloc(1, mc_scaler_vaapi.priv_size);
	struct mc_scaler_target t = { .width = 320, .height = 180, .format = AV_PIX_FMT_NV12,
				      .takes = MC_FRAME_CPU | MC_FRAME_VAAPI, .name = "video/1" };
	CHECK_EQ(mc_scaler_vaapi.open(priv, 640, 360, AV_PIX_FMT_NV12, MC_FRAME_CPU, &t), -ENODEV);
	mc_scaler_vaapi.close(priv); /* after a failed open too */
	free(priv);

	struct mc_scaler *s = mc_scaler_create_for(&t);
	struct mc_frame_pool *pool = mc_frame_pool_create(640, 360, AV_PIX_FMT_NV12);
	AVFrame *in = mc_frame_pool_get(pool);
	memset(in->data[0], 100, (size_t)in->linesize[0] * 360);
	memset(in->data[1], 128, (size_t)in->linesize[1] * 180);
	for (int i = 0; i < 3; i++) { /* opened once: the same input does not retry the VA scaler */
		AVFrame *out = mc_scaler_run(s, in);
		CHECK(out && out->width == 320 && out->format == AV_PIX_FMT_NV12);
		CHECK_EQ(mc_frame_kind_of(out), MC_FRAME_CPU);
		av_frame_free(&out);
	}
	CHECK_STR_EQ(mc_scaler_backend_name(s), "half");
	CHECK(!mc_scaler_on_device(s));
	av_frame_free(&in);
	mc_frame_pool_destroy(pool);
	mc_scaler_destroy(s);
}

int main(void)
{
	RUN(test_import_rules);
	RUN(test_drm_frame);
	RUN(test_device_cache);
	RUN(test_scaler_fallback);
	return check_done();
}
