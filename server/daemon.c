/* Daemon mode and pidfile (see daemon.h). */
#include "daemon.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

static int ready_fd = -1;

int rnull_daemonize(void) {
  int p[2];
  if (pipe2(p, O_CLOEXEC) < 0)
    return -errno;
  pid_t pid = fork();
  if (pid < 0)
    return -errno;
  if (pid > 0) {
    /* Parent: exit 0 once the child says it serves, 1 if it died first. */
    close(p[1]);
    char b;
    ssize_t n;
    do
      n = read(p[0], &b, 1);
    while (n < 0 && errno == EINTR);
    _exit(n == 1 ? 0 : 1);
  }
  close(p[0]);
  ready_fd = p[1];
  if (setsid() < 0)
    return -errno;
  if (chdir("/") < 0)
    return -errno;
  int null = open("/dev/null", O_RDWR);
  if (null >= 0) {
    dup2(null, 0);
    dup2(null, 1);
    dup2(null, 2);
    if (null > 2)
      close(null);
  }
  return 0;
}

void rnull_daemon_ready(void) {
  if (ready_fd < 0)
    return;
  ssize_t n = write(ready_fd, "r", 1);
  (void)n;
  close(ready_fd);
  ready_fd = -1;
}

/* The temp file is created, never opened: O_EXCL|O_NOFOLLOW refuse a file or
 * symlink planted at <path>.tmp (a stale one of ours is removed once: unlink
 * removes a symlink, never what it points to), then renamed into place. */
static int create_tmp(const char *tmp) {
  int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
  if (fd < 0 && errno == EEXIST && unlink(tmp) == 0)
    fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
  return fd < 0 ? -errno : fd;
}

int rnull_pidfile_write(const char *path) {
  char tmp[4200], buf[32];
  if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= sizeof(tmp))
    return -ENAMETOOLONG;
  int fd = create_tmp(tmp);
  if (fd < 0)
    return fd;
  int n = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());
  int e = 0;
  if (write(fd, buf, (size_t)n) != n)
    e = errno ? errno : EIO;
  if (close(fd) != 0 && !e)
    e = errno;
  if (!e && rename(tmp, path) != 0)
    e = errno;
  if (e) {
    unlink(tmp);
    return -e;
  }
  return 0;
}
