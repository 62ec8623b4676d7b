#include "v4l2m2m_node.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

int mc_m2m_ioctl(int fd, unsigned long req, void *arg)
{
	int r;
	do
		r = ioctl(fd, req, arg);
	while (r < 0 && errno == EINTR);
	return r < 0 ? -errno : 0;
}

int mc_m2m_node_open(struct mc_m2m_node *n, const char *path)
{
	int fd = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	struct v4l2_capability cap = { 0 };
	int rc = mc_m2m_ioctl(fd, VIDIOC_QUERYCAP, &cap);
	uint32_t caps = cap.capabilities & V4L2_CAP_DEVICE_CAPS ? cap.device_caps : cap.capabilities;
	if (rc || !(caps & (V4L2_CAP_VIDEO_M2M | V4L2_CAP_VIDEO_M2M_MPLANE)) || !(caps & V4L2_CAP_STREAMING)) {
		close(fd);
		return -ENOTTY;
	}
	n->fd = fd;
	n->mp = !(caps & V4L2_CAP_VIDEO_M2M);
	n->out_type = n->mp ? V4L2_BUF_TYPE_VIDEO_OUTPUT_MPLANE : V4L2_BUF_TYPE_VIDEO_OUTPUT;
	n->cap_type = n->mp ? V4L2_BUF_TYPE_VIDEO_CAPTURE_MPLANE : V4L2_BUF_TYPE_VIDEO_CAPTURE;
	snprintf(n->path, sizeof(n->path), "%s", path);
	snprintf(n->card, sizeof(n->card), "%s", (const char *)cap.card);
	return 0;
}

void mc_m2m_node_close(struct mc_m2m_node *n)
{
	if (n->fd >= 0)
		close(n->fd);
	n->fd = -1;
}

bool mc_m2m_offers(const struct mc_m2m_node *n, uint32_t type, uint32_t fourcc, uint32_t *list, int *count, int max,
		   bool *compressed)
{
	bool found = false;
	for (uint32_t i = 0; i < 64; i++) {
		struct v4l2_fmtdesc f = { .index = i, .type = type };
		if (mc_m2m_ioctl(n->fd, VIDIOC_ENUM_FMT, &f))
			break;
		found |= f.pixelformat == fourcc;
		if (compressed && (f.flags & V4L2_FMT_FLAG_COMPRESSED))
			*compressed = true;
		if (list && *count < max)
			list[(*count)++] = f.pixelformat;
	}
	return found;
}

void mc_m2m_get_layout(const struct mc_m2m_node *n, const struct v4l2_format *f, int *w, int *h, int *bpl,
		       size_t *size)
{
	if (n->mp) {
		*w = (int)f->fmt.pix_mp.width, *h = (int)f->fmt.pix_mp.height;
		*bpl = (int)f->fmt.pix_mp.plane_fmt[0].bytesperline, *size = f->fmt.pix_mp.plane_fmt[0].sizeimage;
	} else {
		*w = (int)f->fmt.pix.width, *h = (int)f->fmt.pix.height;
		*bpl = (int)f->fmt.pix.bytesperline, *size = f->fmt.pix.sizeimage;
	}
}

void mc_m2m_set_layout(const struct mc_m2m_node *n, struct v4l2_format *f, uint32_t type, uint32_t fourcc, int w,
		       int h)
{
	memset(f, 0, sizeof(*f));
	f->type = type;
	if (n->mp) {
		f->fmt.pix_mp.width = (uint32_t)w, f->fmt.pix_mp.height = (uint32_t)h;
		f->fmt.pix_mp.pixelformat = fourcc, f->fmt.pix_mp.num_planes = 1;
		f->fmt.pix_mp.field = V4L2_FIELD_NONE;
	} else {
		f->fmt.pix.width = (uint32_t)w, f->fmt.pix.height = (uint32_t)h;
		f->fmt.pix.pixelformat = fourcc, f->fmt.pix.field = V4L2_FIELD_NONE;
	}
}

void mc_m2m_fill_buf(const struct mc_m2m_node *n, struct v4l2_buffer *b, struct v4l2_plane *pl, uint32_t type,
		     uint32_t mem, int index)
{
	memset(b, 0, sizeof(*b));
	b->type = type;
	b->memory = mem;
	b->index = (uint32_t)index;
	if (n->mp) {
		memset(pl, 0, sizeof(*pl));
		b->m.planes = pl;
		b->length = 1;
	}
}

int mc_m2m_map(const struct mc_m2m_node *n, uint32_t type, int index, int prot, uint8_t **map, size_t *len)
{
	struct v4l2_buffer b;
	struct v4l2_plane pl;
	mc_m2m_fill_buf(n, &b, &pl, type, V4L2_MEMORY_MMAP, index);
	int rc = mc_m2m_ioctl(n->fd, VIDIOC_QUERYBUF, &b);
	if (rc)
		return rc;
	*len = n->mp ? pl.length : b.length;
	void *m = mmap(NULL, *len, prot, MAP_SHARED, n->fd, n->mp ? pl.m.mem_offset : b.m.offset);
	if (m == MAP_FAILED)
		return -errno;
	*map = m;
	return 0;
}
