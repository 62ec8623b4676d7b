/* The process-wide VA device cache (vaapi_device.h). An entry counts its users (the backends that called
 * get); the AVBufferRef's own count also includes frames contexts and frames, which may outlive their
 * backend: the entry goes with its last user, the device with its last reference. */
#include "vaapi_device.h"

#include <errno.h>
#include <libavutil/hwcontext.h>
#include <libavutil/hwcontext_vaapi.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "probe.h"

#define MAX_NODES 16

static struct node {
	char path[32];
	AVBufferRef *dev;
	int users;
} nodes[MAX_NODES];
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

/* Asks the node silently first (hw/probe_vaapi.c): av_hwdevice_ctx_create on a node without a driver would
 * print libva's and libavutil's errors on every layer's attempt. */
static int open_vaapi(const char *path, AVBufferRef **dev, char *why, size_t n)
{
	int rc = mc_vaapi_node_usable(path, why, n);
	if (rc)
		return rc;
	rc = av_hwdevice_ctx_create(dev, AV_HWDEVICE_TYPE_VAAPI, path, NULL, 0);
	if (rc < 0) {
		snprintf(why, n, "%s: av_hwdevice_ctx_create: %s", path, av_err2str(rc));
		return -ENODEV;
	}
	return 0;
}

static mc_vaapi_device_opener opener = open_vaapi;

void mc_vaapi_device_set_opener(mc_vaapi_device_opener open)
{
	pthread_mutex_lock(&lock);
	opener = open ? open : open_vaapi;
	pthread_mutex_unlock(&lock);
}

int mc_vaapi_device_get(const char *path, AVBufferRef **dev, char *why, size_t n)
{
	*dev = NULL;
	if (!path || !*path || strlen(path) >= sizeof(nodes[0].path)) {
		snprintf(why, n, "no render node named");
		return -EINVAL;
	}
	pthread_mutex_lock(&lock);
	struct node *free_slot = NULL;
	int rc = 0;
	for (int i = 0; i < MAX_NODES; i++) {
		if (nodes[i].dev && strcmp(nodes[i].path, path) == 0) {
			if (!(*dev = av_buffer_ref(nodes[i].dev))) {
				rc = -ENOMEM;
				goto unlock;
			}
			nodes[i].users++;
			goto unlock;
		}
		if (!nodes[i].dev && !free_slot)
			free_slot = &nodes[i];
	}
	if (!free_slot) {
		snprintf(why, n, "%s: more than %d VA-API devices open", path, MAX_NODES);
		rc = -EMFILE;
		goto unlock;
	}
	/* opened under the lock: two layers asking at once get one device, not two displays */
	AVBufferRef *d = NULL;
	if ((rc = opener(path, &d, why, n)))
		goto unlock;
	if (!(*dev = av_buffer_ref(d))) {
		av_buffer_unref(&d);
		rc = -ENOMEM;
		goto unlock;
	}
	snprintf(free_slot->path, sizeof(free_slot->path), "%s", path);
	free_slot->dev = d;
	free_slot->users = 1;
unlock:
	pthread_mutex_unlock(&lock);
	return rc;
}

AVBufferRef *mc_vaapi_device_any(void)
{
	AVBufferRef *r = NULL;
	pthread_mutex_lock(&lock);
	for (int i = 0; i < MAX_NODES && !r; i++)
		if (nodes[i].dev && (r = av_buffer_ref(nodes[i].dev)))
			nodes[i].users++;
	pthread_mutex_unlock(&lock);
	return r;
}

void mc_vaapi_device_put(AVBufferRef **dev)
{
	if (!dev || !*dev)
		return;
	pthread_mutex_lock(&lock);
	for (int i = 0; i < MAX_NODES; i++)
		if (nodes[i].dev && nodes[i].dev->data == (*dev)->data) {
			if (--nodes[i].users == 0) {
				av_buffer_unref(&nodes[i].dev);
				nodes[i].path[0] = 0;
			}
			break;
		}
	av_buffer_unref(dev);
	pthread_mutex_unlock(&lock);
}

const char *mc_vaapi_device_path(const AVBufferRef *dev)
{
	const char *p = "";
	pthread_mutex_lock(&lock);
	for (int i = 0; i < MAX_NODES; i++)
		if (dev && nodes[i].dev && nodes[i].dev->data == dev->data)
			p = nodes[i].path; /* stable while the caller holds its reference */
	pthread_mutex_unlock(&lock);
	return p;
}

bool mc_vaapi_same_device(const AVBufferRef *a, const AVBufferRef *b)
{
	if (!a || !b)
		return false;
	if (a->data == b->data)
		return true;
	const AVHWDeviceContext *da = (const AVHWDeviceContext *)a->data, *db = (const AVHWDeviceContext *)b->data;
	if (da->type != AV_HWDEVICE_TYPE_VAAPI || db->type != AV_HWDEVICE_TYPE_VAAPI)
		return false;
	VADisplay x = ((const AVVAAPIDeviceContext *)da->hwctx)->display;
	return x && x == ((const AVVAAPIDeviceContext *)db->hwctx)->display;
}

int mc_vaapi_device_cached(void)
{
	int k = 0;
	pthread_mutex_lock(&lock);
	for (int i = 0; i < MAX_NODES; i++)
		k += nodes[i].dev != NULL;
	pthread_mutex_unlock(&lock);
	return k;
}
