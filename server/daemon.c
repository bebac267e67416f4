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

int rnull_pidfile_write(const char *path) {
  char tmp[4200];
  snprintf(tmp, sizeof(tmp), "%s.tmp", path);
  FILE *f = fopen(tmp, "w");
  if (!f)
    return -errno;
  fprintf(f, "%ld\n", (long)getpid());
  if (fclose(f) != 0 || rename(tmp, path) != 0) {
    int e = errno;
    unlink(tmp);
    return -e;
  }
  return 0;
}
