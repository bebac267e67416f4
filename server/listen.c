/* Listening sockets (see listen.h). All non-blocking and close-on-exec. */
#include "listen.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define BACKLOG 512

static int set_flags(int fd) {
  int fl = fcntl(fd, F_GETFL);
  if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
    return -errno;
  if (fcntl(fd, F_SETFD, FD_CLOEXEC) < 0)
    return -errno;
  return 0;
}

int rnull_listen_systemd(struct listeners *ls, char *err, size_t errlen) {
  const char *pid = getenv("LISTEN_PID");
  const char *fds = getenv("LISTEN_FDS");
  if (!pid || !fds)
    return 0;
  char *end;
  long p = strtol(pid, &end, 10);
  if (*end || p != (long)getpid())
    return 0;
  long n = strtol(fds, &end, 10);
  if (*end || n <= 0 || n > RNULL_MAX_LISTEN) {
    snprintf(err, errlen, "LISTEN_FDS=%s: expected 1..%d", fds, RNULL_MAX_LISTEN);
    return -EINVAL;
  }
  unsetenv("LISTEN_PID");
  unsetenv("LISTEN_FDS");
  unsetenv("LISTEN_FDNAMES");
  for (long i = 0; i < n; i++) {
    int fd = 3 + (int)i;
    int r = set_flags(fd);
    if (r < 0) {
      snprintf(err, errlen, "LISTEN_FDS: fd %d: %s", fd, strerror(-r));
      return r;
    }
    struct sockaddr_storage sa;
    socklen_t sl = sizeof(sa);
    bool tcp = getsockname(fd, (struct sockaddr *)&sa, &sl) == 0 &&
               (sa.ss_family == AF_INET || sa.ss_family == AF_INET6);
    ls->tcp[ls->n] = tcp;
    ls->fd[ls->n++] = fd;
  }
  return (int)n;
}

int rnull_listen_unix(struct listeners *ls, const char *path, char *err, size_t errlen) {
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  if (strlen(path) >= sizeof(sa.sun_path)) {
    snprintf(err, errlen, "--unix %s: path longer than %zu bytes", path, sizeof(sa.sun_path) - 1);
    return -ENAMETOOLONG;
  }
  strcpy(sa.sun_path, path);
  struct stat st;
  if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode))
    unlink(path); /* a stale socket of an earlier run */
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, BACKLOG) < 0) {
    int e = errno;
    snprintf(err, errlen, "--unix %s: %s", path, strerror(e));
    if (fd >= 0)
      close(fd);
    return -e;
  }
  ls->tcp[ls->n] = false;
  ls->fd[ls->n++] = fd;
  ls->unix_path = path;
  return 0;
}

int rnull_listen_tcp(struct listeners *ls, const char *addr, unsigned port, char *err,
                     size_t errlen) {
  char ps[16];
  snprintf(ps, sizeof(ps), "%u", port);
  struct addrinfo hints = {.ai_family = AF_UNSPEC,
                           .ai_socktype = SOCK_STREAM,
                           .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE};
  struct addrinfo *ai;
  int r = getaddrinfo(addr, ps, &hints, &ai);
  if (r) {
    snprintf(err, errlen, "--bind %s: not a numeric IPv4 or IPv6 address (%s)", addr,
             gai_strerror(r));
    return -EINVAL;
  }
  int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  int one = 1;
  if (fd >= 0) {
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (ai->ai_family == AF_INET6)
      setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
  }
  if (fd < 0 || bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, BACKLOG) < 0) {
    int e = errno;
    snprintf(err, errlen, "--bind %s --port %u: %s", addr, port, strerror(e));
    if (fd >= 0)
      close(fd);
    freeaddrinfo(ai);
    return -e;
  }
  freeaddrinfo(ai);
  ls->tcp[ls->n] = true;
  ls->fd[ls->n++] = fd;
  return 0;
}

void rnull_listen_close(struct listeners *ls) {
  for (unsigned i = 0; i < ls->n; i++)
    close(ls->fd[i]);
  ls->n = 0;
  if (ls->unix_path) {
    unlink(ls->unix_path);
    ls->unix_path = NULL;
  }
}
