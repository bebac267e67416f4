/* Listening sockets: Unix, TCP (IPv4/IPv6), and systemd socket activation. */
#ifndef RNULL_SERVER_LISTEN_H
#define RNULL_SERVER_LISTEN_H

#include <stdbool.h>
#include <stddef.h>

#define RNULL_MAX_LISTEN 16

struct listeners {
  int fd[RNULL_MAX_LISTEN];
  bool tcp[RNULL_MAX_LISTEN];
  unsigned n;
  const char *unix_path; /* to unlink at exit (we created it) */
};

/* systemd: LISTEN_PID == getpid() and LISTEN_FDS = n -> fds 3..3+n-1.
 * Returns the count taken (0: not activated), or -errno with err set. */
int rnull_listen_systemd(struct listeners *ls, char *err, size_t errlen);
int rnull_listen_unix(struct listeners *ls, const char *path, char *err, size_t errlen);
/* Numeric address (IPv4 or IPv6) and port. */
int rnull_listen_tcp(struct listeners *ls, const char *addr, unsigned port, char *err,
                     size_t errlen);
void rnull_listen_close(struct listeners *ls);

#endif
