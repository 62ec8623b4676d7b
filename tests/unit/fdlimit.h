/* For tests of start-up failures: run with no file descriptor left to open (RLIMIT_NOFILE lowered to the
 * lowest free descriptor), and check that fd 0 (stdin) survives a cleanup that must close only what it
 * opened. */
#ifndef MC_TEST_FDLIMIT_H
#define MC_TEST_FDLIMIT_H

#include <fcntl.h>
#include <stdbool.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

struct fdlimit {
	struct rlimit saved;
	struct stat fd0; /* what fd 0 was before */
};

/* Makes sure fd 0 is open (CTest may start a test without stdin), then lowers the limit so that the next
 * open(), eventfd(), epoll_create() ... fails with EMFILE. false if that cannot be arranged. */
static inline bool fdlimit_begin(struct fdlimit *f)
{
	if (fcntl(0, F_GETFD) < 0 && open("/dev/null", O_RDONLY) != 0)
		return false;
	if (fstat(0, &f->fd0) || getrlimit(RLIMIT_NOFILE, &f->saved))
		return false;
	int lowest = dup(0);
	if (lowest < 0)
		return false;
	close(lowest);
	struct rlimit low = { .rlim_cur = (rlim_t)lowest, .rlim_max = f->saved.rlim_max };
	return setrlimit(RLIMIT_NOFILE, &low) == 0 && dup(0) < 0;
}

static inline void fdlimit_end(struct fdlimit *f) { setrlimit(RLIMIT_NOFILE, &f->saved); }

/* fd 0 is still open and still the same file. */
static inline bool fdlimit_fd0_intact(const struct fdlimit *f)
{
	struct stat now;
	return fcntl(0, F_GETFD) >= 0 && fstat(0, &now) == 0 && now.st_dev == f->fd0.st_dev &&
	       now.st_ino == f->fd0.st_ino;
}

#endif
