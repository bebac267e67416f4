/* The statistics file front ends rewrite every second: JSON written to a
 * temp file and renamed over the path, so a reader never sees half a file.
 * Never rename over something that is not a regular file: as root, a
 * stats_file=/dev/null would otherwise replace the device node. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rnull/config.h"
#include "rnull/stats.h"

int rnull_stats_file_write(struct rnull_disk *d, const char *path) {
  char tmp[320];
  struct stat st;
  if (rnull_stats_file_usable(path) != 0)
    return -EEXIST;
  if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp", path) >= sizeof tmp)
    return -ENAMETOOLONG;
  /* O_NONBLOCK: a FIFO planted at tmp must not block us in open(2). */
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0644);
  if (fd < 0)
    return -errno;
  FILE *f;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || (f = fdopen(fd, "w")) == NULL) {
    int e = errno ? errno : EEXIST;
    close(fd);
    return -e;
  }
  rnull_stats_json(d, f);
  if (fclose(f) != 0 || rename(tmp, path) != 0) {
    int e = errno;
    unlink(tmp);
    return -e;
  }
  return 0;
}
