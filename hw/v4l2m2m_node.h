/* What the v4l2m2m encoder and scaler share: a mem2mem node opened and told apart (single- or multi-planar
 * API), the ioctl wrapper, and the format and buffer structures filled for either API. */
#ifndef MC_V4L2M2M_NODE_H
#define MC_V4L2M2M_NODE_H

#include <linux/videodev2.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct mc_m2m_node {
	int fd;
	bool mp; /* the multi-planar API (the Pi's) */
	uint32_t out_type, cap_type;
	char path[32];
	char card[32];
};

/* ioctl, retried on EINTR: 0 or -errno. */
int mc_m2m_ioctl(int fd, unsigned long req, void *arg);
/* Opens `path` if it is a streaming mem2mem device: 0, -errno (cannot open), or -ENOTTY (not one). */
int mc_m2m_node_open(struct mc_m2m_node *n, const char *path);
void mc_m2m_node_close(struct mc_m2m_node *n);
/* Is `fourcc` among the formats queue `type` offers (VIDIOC_ENUM_FMT)? The offered ones go to list[] (up to
 * max); *compressed is set when any of them is a compressed format (a codec, not a scaler). */
bool mc_m2m_offers(const struct mc_m2m_node *n, uint32_t type, uint32_t fourcc, uint32_t *list, int *count, int max,
		   bool *compressed);
void mc_m2m_set_layout(const struct mc_m2m_node *n, struct v4l2_format *f, uint32_t type, uint32_t fourcc, int w,
		       int h);
void mc_m2m_get_layout(const struct mc_m2m_node *n, const struct v4l2_format *f, int *w, int *h, int *bpl,
		       size_t *size);
/* VIDIOC_QUERYBUF and mmap of MMAP buffer `index` of queue `type`: 0 with *map and *len, or -errno. */
int mc_m2m_map(const struct mc_m2m_node *n, uint32_t type, int index, int prot, uint8_t **map, size_t *len);
void mc_m2m_fill_buf(const struct mc_m2m_node *n, struct v4l2_buffer *b, struct v4l2_plane *pl, uint32_t type,
		     uint32_t mem, int index);

#endif
