/* v4l2m2m: a V4L2 mem2mem scaler, a device whose OUTPUT and CAPTURE queues both take raw pictures: the
 * Raspberry Pi 4's ISP node (bcm2835-codec, /dev/video12, multi-planar API: "one size per open", so one
 * instance per layer) and, in the kernel lane, vim2m (single-planar, RGB). The layer pyramid is then scaled
 * without the CPU: the encoder imports what this makes.
 *
 * - The node: the track's scaler_device, else the first /dev/videoN that is a mem2mem device with no
 *   compressed format on either queue and takes the input's format on OUTPUT and the target's on CAPTURE at
 *   the two sizes. S_FMT must keep both sizes: a device that cannot scale this ratio changes one.
 * - OUTPUT: a frame that carries its buffer as a DMABUF in the layout the driver set (a camera's, or this
 *   scaler's own output one layer up) is queued as V4L2_MEMORY_DMABUF, no copy; another frame is written once
 *   into an MMAP buffer (a copy: the core counts it as one, not as a device-made picture). The memory type
 *   follows the kind of frames, as in the encoder (a lost camera's placeholder frames are CPU frames).
 * - CAPTURE: MMAP buffers, each exported (VIDIOC_EXPBUF) and mapped: an output frame is a CPU frame that
 *   carries its DMABUF (frame.h), so a v4l2m2m encoder imports it and a software fallback reads it.
 * - One picture in, one out, per scale(): synchronous, bounded by a 1 s poll. A CAPTURE buffer goes back
 *   to the driver only when the last reference to its frame is gone (the encoder may hold it for a few
 *   frames): the frame's release marks it free, the next scale() queues it. The buffers are reference-counted
 *   so frames still out when the scaler closes stay valid. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "log.h"
#include "scaler.h"
#include "v4l2m2m_node.h"
#include "v4l2m2m_select.h"

#define MOD "v4l2m2m"
#define N_OUT 2
#define N_CAP 8 /* the layer's mailbox, the encoder's queue (4), the next layer's scale, one in flight */

struct capbuf {
	uint8_t *map;
	size_t len;
	struct mc_frame_dmabuf dmabuf;
	bool out;      /* a frame holds it (atomic: released on the encoder's thread) */
	bool queued;
};

/* Shared by the scaler and the frames it made: freed by the last of them. */
struct capset {
	int refs; /* atomic */
	int fd;
	int n;
	struct capbuf buf[N_CAP];
};

struct m2ms {
	struct mc_m2m_node node;
	struct mc_scaler_target t;
	const struct mc_m2m_format *in, *outf;
	int in_w, in_h, in_bpl, cap_bpl;
	size_t in_size, cap_size;
	enum v4l2_memory out_mem;
	bool out_on, cap_on, copied;
	uint8_t *omap[N_OUT];
	size_t olen[N_OUT];
	int n_out;
	struct capset *caps;
};

static void capset_unref(struct capset *c)
{
	if (!c || __atomic_sub_fetch(&c->refs, 1, __ATOMIC_ACQ_REL))
		return;
	for (int i = 0; i < c->n; i++) {
		if (c->buf[i].map)
			munmap(c->buf[i].map, c->buf[i].len);
		if (c->buf[i].dmabuf.drm.objects[0].fd >= 0)
			close(c->buf[i].dmabuf.drm.objects[0].fd);
	}
	if (c->fd >= 0)
		close(c->fd);
	free(c);
}

/* The frame's buffer reference: its release gives the CAPTURE buffer back (to the next scale()). */
struct capref {
	struct capset *set;
	int index;
};

static void release_capture(void *opaque, uint8_t *data)
{
	struct capref *r = opaque;
	(void)data;
	__atomic_store_n(&r->set->buf[r->index].out, false, __ATOMIC_RELEASE);
	capset_unref(r->set);
	free(r);
}

static void release_descriptor(void *opaque, uint8_t *data)
{
	(void)data;
	capset_unref(opaque);
}

/* A single-planar buffer of `f` at bytesperline x h: the planes' offsets and pitches. */
static void plane_layout(const struct mc_m2m_format *f, int bpl, int h, ptrdiff_t off[3], int pitch[3])
{
	off[0] = 0, pitch[0] = bpl;
	off[1] = (ptrdiff_t)bpl * h, pitch[1] = f->planes == 3 ? bpl / 2 : bpl;
	off[2] = off[1] + (ptrdiff_t)(bpl / 2) * (h / 2), pitch[2] = bpl / 2;
}

static int set_formats(struct m2ms *s, int in_w, int in_h, char *why, size_t n)
{
	struct mc_m2m_node *nd = &s->node;
	struct v4l2_format f;
	int w, h, rc;
	mc_m2m_set_layout(nd, &f, nd->out_type, s->in->v4l2, in_w, in_h);
	if ((rc = mc_m2m_ioctl(nd->fd, VIDIOC_S_FMT, &f))) {
		snprintf(why, n, "S_FMT OUTPUT %dx%d: %s", in_w, in_h, strerror(-rc));
		return rc;
	}
	mc_m2m_get_layout(nd, &f, &w, &h, &s->in_bpl, &s->in_size);
	if (w != in_w || h != in_h || f.fmt.pix.pixelformat != s->in->v4l2) {
		snprintf(why, n, "OUTPUT: %dx%d asked, the driver set %dx%d", in_w, in_h, w, h);
		return -ERANGE;
	}
	mc_m2m_set_layout(nd, &f, nd->cap_type, s->outf->v4l2, s->t.width, s->t.height);
	if ((rc = mc_m2m_ioctl(nd->fd, VIDIOC_S_FMT, &f))) {
		snprintf(why, n, "S_FMT CAPTURE %dx%d: %s", s->t.width, s->t.height, strerror(-rc));
		return rc;
	}
	mc_m2m_get_layout(nd, &f, &w, &h, &s->cap_bpl, &s->cap_size);
	if (w != s->t.width || h != s->t.height || f.fmt.pix.pixelformat != s->outf->v4l2) {
		snprintf(why, n, "does not scale %dx%d to %dx%d (CAPTURE: the driver set %dx%d)", in_w, in_h, s->t.width,
			 s->t.height, w, h);
		return -ERANGE;
	}
	s->in_w = in_w, s->in_h = in_h;
	return 0;
}

/* Is `path` a scaler for this conversion? Leaves the node open and the formats set on success. */
static int try_node(struct m2ms *s, const char *path, int in_w, int in_h, char *why, size_t n)
{
	int rc = mc_m2m_node_open(&s->node, path);
	if (rc)
		return rc;
	bool compressed = false;
	bool takes = mc_m2m_offers(&s->node, s->node.out_type, s->in->v4l2, NULL, NULL, 0, &compressed);
	bool makes = mc_m2m_offers(&s->node, s->node.cap_type, s->outf->v4l2, NULL, NULL, 0, &compressed);
	char a[5] = { 0 }, b[5] = { 0 };
	memcpy(a, &s->in->v4l2, 4);
	memcpy(b, &s->outf->v4l2, 4);
	if (compressed)
		rc = -ENOTTY; /* a codec (vicodec, the Pi's encoder), not a scaler: not worth a message */
	else if (!takes || !makes)
		snprintf(why, n, "%s (%s): no %s -> %s", path, s->node.card, a, b), rc = -ENOTSUP;
	else if ((rc = set_formats(s, in_w, in_h, why + strlen(why), n - strlen(why))) == 0)
		return 0;
	if (rc == -ERANGE) {
		char w[160];
		snprintf(w, sizeof(w), "%s", why);
		snprintf(why, n, "%s (%s): %s", path, s->node.card, w);
	}
	mc_m2m_node_close(&s->node);
	return rc;
}

static int setup_capture(struct m2ms *s)
{
	struct mc_m2m_node *nd = &s->node;
	struct v4l2_requestbuffers rb = { .count = N_CAP, .type = nd->cap_type, .memory = V4L2_MEMORY_MMAP };
	int rc = mc_m2m_ioctl(nd->fd, VIDIOC_REQBUFS, &rb);
	if (rc || rb.count < 2)
		return rc ? rc : -ENOMEM;
	struct capset *c = s->caps;
	c->n = rb.count > N_CAP ? N_CAP : (int)rb.count;
	ptrdiff_t off[3];
	int pitch[3];
	plane_layout(s->outf, s->cap_bpl, s->t.height, off, pitch);
	for (int i = 0; i < c->n; i++) {
		uint8_t *m;
		size_t len;
		if ((rc = mc_m2m_map(nd, nd->cap_type, i, PROT_READ, &m, &len)))
			return rc;
		c->buf[i].map = m;
		c->buf[i].len = len;
		struct v4l2_exportbuffer eb = { .type = nd->cap_type, .index = (uint32_t)i, .flags = O_RDONLY | O_CLOEXEC };
		if ((rc = mc_m2m_ioctl(nd->fd, VIDIOC_EXPBUF, &eb)))
			return rc; /* without a DMABUF nothing downstream imports it: the CPU scalers do better */
		AVDRMFrameDescriptor *d = &c->buf[i].dmabuf.drm;
		d->nb_objects = 1;
		d->objects[0] = (AVDRMObjectDescriptor){ .fd = eb.fd, .size = len, .format_modifier = 0 /* LINEAR */ };
		d->nb_layers = 1;
		d->layers[0].format = s->outf->drm;
		d->layers[0].nb_planes = s->outf->planes;
		for (int p = 0; p < s->outf->planes; p++)
			d->layers[0].planes[p] = (AVDRMPlaneDescriptor){ 0, off[p], pitch[p] };
		c->buf[i].dmabuf.map = m;
	}
	int type = (int)nd->cap_type;
	if ((rc = mc_m2m_ioctl(nd->fd, VIDIOC_STREAMON, &type)))
		return rc;
	s->cap_on = true;
	return 0;
}

static int v4l2m2m_open(void *priv, int in_w, int in_h, enum AVPixelFormat in_fmt, unsigned in_kind,
			const struct mc_scaler_target *t)
{
	struct m2ms *s = priv;
	s->node.fd = -1;
	s->t = *t;
	if (!(in_kind & MC_FRAME_CPU) || !(s->in = mc_m2m_format_av(in_fmt)) || !(s->outf = mc_m2m_format_av(t->format)))
		return -ENOTSUP;
	char why[200] = "";
	int rc = -ENODEV;
	if (t->device && t->device[0] && strncmp(t->device, "/dev/dri/", 9) != 0) { /* /dev/dri/: the VA scaler's */
		if ((rc = try_node(s, t->device, in_w, in_h, why, sizeof(why))))
			mc_warn(MOD, "%s: scaler_device %s: %s; scaling on the CPU", t->name, t->device,
				why[0] ? why : rc == -ENOTTY ? "not a mem2mem scaler" : strerror(-rc));
	} else if (!t->device || !t->device[0]) {
		for (int i = 0; i < 64 && rc; i++) {
			char path[32];
			snprintf(path, sizeof(path), "/dev/video%d", i);
			why[0] = 0;
			rc = try_node(s, path, in_w, in_h, why, sizeof(why));
			if (rc && why[0])
				mc_debug(MOD, "%s: %s", t->name, why);
		}
	}
	if (rc)
		return rc;
	if (!(s->caps = calloc(1, sizeof(*s->caps))))
		return -ENOMEM;
	s->caps->refs = 1;
	s->caps->fd = -1;
	for (int i = 0; i < N_CAP; i++)
		s->caps->buf[i].dmabuf.drm.objects[0].fd = -1;
	if ((rc = setup_capture(s))) {
		mc_warn(MOD, "%s: %s: CAPTURE buffers: %s; scaling on the CPU", t->name, s->node.path, strerror(-rc));
		return rc;
	}
	return 0;
}

static void stop_output(struct m2ms *s)
{
	if (!s->out_on)
		return;
	int type = (int)s->node.out_type;
	mc_m2m_ioctl(s->node.fd, VIDIOC_STREAMOFF, &type);
	s->out_on = false;
}

/* (Re)starts the OUTPUT queue with `mem` buffers. */
static int start_output(struct m2ms *s, enum v4l2_memory mem)
{
	struct mc_m2m_node *nd = &s->node;
	stop_output(s);
	for (int i = 0; i < s->n_out; i++)
		munmap(s->omap[i], s->olen[i]);
	s->n_out = 0;
	struct v4l2_requestbuffers rb = { .count = 0, .type = nd->out_type, .memory = s->out_mem ? s->out_mem : mem };
	if (s->out_mem)
		mc_m2m_ioctl(nd->fd, VIDIOC_REQBUFS, &rb);
	rb = (struct v4l2_requestbuffers){ .count = N_OUT, .type = nd->out_type, .memory = mem };
	int rc = mc_m2m_ioctl(nd->fd, VIDIOC_REQBUFS, &rb);
	if (rc || rb.count < 1)
		return rc ? rc : -ENOMEM;
	s->out_mem = mem;
	int n = rb.count > N_OUT ? N_OUT : (int)rb.count;
	for (int i = 0; mem == V4L2_MEMORY_MMAP && i < n; i++) {
		if ((rc = mc_m2m_map(nd, nd->out_type, i, PROT_READ | PROT_WRITE, &s->omap[i], &s->olen[i])))
			return rc;
		s->n_out = i + 1;
	}
	int type = (int)nd->out_type;
	if ((rc = mc_m2m_ioctl(nd->fd, VIDIOC_STREAMON, &type)))
		return rc;
	s->out_on = true;
	mc_debug(MOD, "%s: %s: OUTPUT queue of %s buffers", s->t.name, nd->path, mem == V4L2_MEMORY_DMABUF ? "DMABUF" : "MMAP");
	return 0;
}

/* Queues the free CAPTURE buffers (frames released since the last call); the number queued now. */
static int queue_free_captures(struct m2ms *s)
{
	struct capset *c = s->caps;
	int queued = 0;
	for (int i = 0; i < c->n; i++) {
		struct capbuf *b = &c->buf[i];
		if (!b->queued && !__atomic_load_n(&b->out, __ATOMIC_ACQUIRE)) {
			struct v4l2_buffer vb;
			struct v4l2_plane pl;
			mc_m2m_fill_buf(&s->node, &vb, &pl, s->node.cap_type, V4L2_MEMORY_MMAP, i);
			if (s->node.mp)
				pl.length = (uint32_t)b->len;
			else
				vb.length = (uint32_t)b->len;
			if (mc_m2m_ioctl(s->node.fd, VIDIOC_QBUF, &vb) == 0)
				b->queued = true;
		}
		queued += b->queued;
	}
	return queued;
}

/* Waits for the next buffer of queue `type` (bounded); its index, or -errno. */
static int dequeue(struct m2ms *s, uint32_t type, enum v4l2_memory mem, uint32_t *bytesused)
{
	for (int tries = 0; tries < 2; tries++) {
		struct v4l2_buffer b;
		struct v4l2_plane pl;
		mc_m2m_fill_buf(&s->node, &b, &pl, type, mem, 0);
		int rc = mc_m2m_ioctl(s->node.fd, VIDIOC_DQBUF, &b);
		if (rc == 0) {
			if (bytesused)
				*bytesused = s->node.mp ? pl.bytesused : b.bytesused;
			return (b.flags & V4L2_BUF_FLAG_ERROR) ? -EIO : (int)b.index;
		}
		if (rc != -EAGAIN)
			return rc;
		struct pollfd pfd = { .fd = s->node.fd, .events = POLLIN | POLLOUT };
		if (poll(&pfd, 1, 1000) <= 0)
			return -ETIMEDOUT;
	}
	return -ETIMEDOUT;
}

static AVFrame *wrap_capture(struct m2ms *s, int i)
{
	struct capset *c = s->caps;
	struct capbuf *b = &c->buf[i];
	AVFrame *f = av_frame_alloc();
	struct capref *r = malloc(sizeof(*r));
	if (!f || !r)
		goto fail;
	*r = (struct capref){ c, i };
	__atomic_store_n(&b->out, true, __ATOMIC_RELEASE);
	b->queued = false;
	__atomic_add_fetch(&c->refs, 1, __ATOMIC_ACQ_REL);
	if (!(f->buf[0] = av_buffer_create(b->map, b->len, release_capture, r, AV_BUFFER_FLAG_READONLY))) {
		release_capture(r, NULL);
		r = NULL;
		goto fail;
	}
	__atomic_add_fetch(&c->refs, 1, __ATOMIC_ACQ_REL);
	if (!(f->opaque_ref = av_buffer_create((uint8_t *)&b->dmabuf, sizeof(b->dmabuf), release_descriptor, c,
					       AV_BUFFER_FLAG_READONLY)))
		capset_unref(c);
	f->format = s->t.format;
	f->width = s->t.width;
	f->height = s->t.height;
	ptrdiff_t off[3];
	int pitch[3];
	plane_layout(s->outf, s->cap_bpl, s->t.height, off, pitch);
	for (int p = 0; p < s->outf->planes; p++) {
		f->data[p] = b->map + off[p];
		f->linesize[p] = pitch[p];
	}
	return f;
fail:
	free(r);
	av_frame_free(&f);
	return NULL;
}

static AVFrame *v4l2m2m_scale(void *priv, const AVFrame *in)
{
	struct m2ms *s = priv;
	struct mc_m2m_node *nd = &s->node;
	const struct mc_frame_dmabuf *db = mc_frame_get_dmabuf(in);
	bool dma = db && mc_m2m_dmabuf_fits(&db->drm, s->in->v4l2, s->in_bpl, s->in_h, s->in_size);
	enum v4l2_memory mem = dma ? V4L2_MEMORY_DMABUF : V4L2_MEMORY_MMAP;
	int rc;
	if (mem != s->out_mem || !s->out_on) {
		if ((rc = start_output(s, mem))) {
			mc_err(MOD, "%s: %s: OUTPUT queue: %s", s->t.name, nd->path, strerror(-rc));
			return NULL;
		}
	}
	if (queue_free_captures(s) == 0) {
		mc_warn(MOD, "%s: %s: every CAPTURE buffer is held downstream; frame skipped", s->t.name, nd->path);
		return NULL;
	}
	struct v4l2_buffer b;
	struct v4l2_plane pl;
	mc_m2m_fill_buf(nd, &b, &pl, nd->out_type, mem, 0);
	uint32_t used = (uint32_t)s->in_size;
	if (dma) {
		if (nd->mp)
			pl.m.fd = db->drm.objects[0].fd, pl.length = (uint32_t)db->drm.objects[0].size;
		else
			b.m.fd = db->drm.objects[0].fd, b.length = (uint32_t)db->drm.objects[0].size;
	} else {
		const uint8_t *src[3] = { in->data[0], in->data[1], in->data[2] };
		int stride[3] = { in->linesize[0], in->linesize[1], in->linesize[2] };
		used = (uint32_t)mc_m2m_write_frame(s->omap[0], s->in_bpl, s->in_h, src, stride, in->width, in->height,
						    s->in->av);
	}
	s->copied = !dma;
	if (nd->mp)
		pl.bytesused = used;
	else
		b.bytesused = used;
	b.field = V4L2_FIELD_NONE;
	if ((rc = mc_m2m_ioctl(nd->fd, VIDIOC_QBUF, &b))) {
		mc_err(MOD, "%s: %s: QBUF OUTPUT: %s", s->t.name, nd->path, strerror(-rc));
		return NULL;
	}
	/* the picture out, then the input back (the driver is done with it once the output is there) */
	int ci = dequeue(s, nd->cap_type, V4L2_MEMORY_MMAP, NULL);
	int oi = dequeue(s, nd->out_type, mem, NULL);
	if (ci < 0 || oi < 0) {
		mc_err(MOD, "%s: %s: %s", s->t.name, nd->path, strerror(-(ci < 0 ? ci : oi)));
		stop_output(s); /* the input buffer comes back; the next frame restarts the queue */
		if (ci >= 0)
			s->caps->buf[ci].queued = false;
		return NULL;
	}
	return wrap_capture(s, ci);
}

static bool v4l2m2m_copied(void *priv) { return ((struct m2ms *)priv)->copied; }

static void v4l2m2m_close(void *priv)
{
	struct m2ms *s = priv;
	stop_output(s);
	for (int i = 0; i < s->n_out; i++)
		munmap(s->omap[i], s->olen[i]);
	if (s->caps) {
		if (s->cap_on) {
			int type = (int)s->node.cap_type;
			mc_m2m_ioctl(s->node.fd, VIDIOC_STREAMOFF, &type);
		}
		/* the fd goes with the last frame: the frames' buffers stay mapped until then */
		s->caps->fd = s->node.fd;
		s->node.fd = -1;
		capset_unref(s->caps);
	}
	mc_m2m_node_close(&s->node);
}

const struct mc_scaler_ops mc_scaler_v4l2m2m = {
	.name = "v4l2m2m",
	.priv_size = sizeof(struct m2ms),
	.makes = MC_FRAME_CPU | MC_FRAME_DMABUF,
	.on_device = true,
	.open = v4l2m2m_open,
	.scale = v4l2m2m_scale,
	.copied = v4l2m2m_copied,
	.close = v4l2m2m_close,
};
