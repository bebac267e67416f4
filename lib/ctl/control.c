/* The control socket: a Unix socket, mode 0600, serving the line protocol
 * (rnull_ctl_exec) to clients whose SO_PEERCRED uid is root or ours. One
 * thread accepts; each client gets a thread of its own, so a client left
 * open (socat in a terminal) blocks nobody. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "registry.h"

#define LINE_MAX_BYTES 4096

struct listen_state {
  int fd;
  int stop[2]; /* a pipe: writing ends the accept thread */
  char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
  pthread_t thread;
  atomic_uint clients;
};

struct client {
  struct rnull_ctl *ctl;
  struct listen_state *ls;
  int fd;
};

static void send_all(int fd, const char *p, size_t n) {
  while (n) {
    ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
    if (w < 0 && errno == EINTR)
      continue;
    if (w <= 0)
      return;
    p += w;
    n -= (size_t)w;
  }
}

static void reply_line(struct client *cl, const char *line) {
  char *buf = NULL;
  size_t len = 0;
  FILE *m = open_memstream(&buf, &len);
  if (!m)
    return;
  rnull_ctl_exec(cl->ctl, line, m);
  fclose(m);
  send_all(cl->fd, buf, len);
  free(buf);
}

/* Root or the server's own uid, as the kernel's configfs is root's. */
static bool peer_allowed(int fd, char *why, size_t len) {
  struct ucred cr;
  socklen_t sl = sizeof cr;
  if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &sl) < 0) {
    snprintf(why, len, "cannot read the peer's credentials: %s", strerror(errno));
    return false;
  }
  if (cr.uid == 0 || cr.uid == geteuid())
    return true;
  snprintf(why, len, "permission denied: uid %u is neither root nor the server's uid %u",
           (unsigned)cr.uid, (unsigned)geteuid());
  return false;
}

static void *client_main(void *arg) {
  struct client *cl = arg;
  char why[160];
  if (!peer_allowed(cl->fd, why, sizeof why)) {
    char msg[200];
    int n = snprintf(msg, sizeof msg, "error: %s\n", why);
    send_all(cl->fd, msg, (size_t)n);
    goto out;
  }
  char buf[LINE_MAX_BYTES + 1];
  size_t have = 0;
  for (;;) {
    ssize_t n = recv(cl->fd, buf + have, LINE_MAX_BYTES - have, 0);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      break;
    have += (size_t)n;
    char *start = buf, *nl;
    while ((nl = memchr(start, '\n', have - (size_t)(start - buf)))) {
      *nl = 0;
      if (nl > start && nl[-1] == '\r')
        nl[-1] = 0;
      if (*start) /* blank lines are ignored (socat, interactive use) */
        reply_line(cl, start);
      start = nl + 1;
    }
    have -= (size_t)(start - buf);
    memmove(buf, start, have);
    if (have == LINE_MAX_BYTES) {
      const char *e = "error: line longer than 4096 bytes\n";
      send_all(cl->fd, e, strlen(e));
      break;
    }
  }
  if (have) { /* a last command without its newline (printf | socat) */
    buf[have] = 0;
    reply_line(cl, buf);
  }
out:
  close(cl->fd);
  atomic_fetch_sub(&cl->ls->clients, 1);
  free(cl);
  return NULL;
}

static void *accept_main(void *arg) {
  struct rnull_ctl *ctl = arg;
  struct listen_state *ls = ctl->listen_state;
  for (;;) {
    struct pollfd p[2] = {{.fd = ls->fd, .events = POLLIN}, {.fd = ls->stop[0], .events = POLLIN}};
    if (poll(p, 2, -1) < 0) {
      if (errno == EINTR)
        continue;
      break;
    }
    if (p[1].revents)
      break;
    int fd = accept4(ls->fd, NULL, NULL, SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EMFILE || errno == ENFILE)
        usleep(100000);
      continue;
    }
    struct client *cl = malloc(sizeof *cl);
    pthread_t t;
    pthread_attr_t at;
    pthread_attr_init(&at);
    pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
    if (cl) {
      *cl = (struct client){.ctl = ctl, .ls = ls, .fd = fd};
      atomic_fetch_add(&ls->clients, 1);
    }
    if (!cl || pthread_create(&t, &at, client_main, cl) != 0) {
      if (cl)
        atomic_fetch_sub(&ls->clients, 1);
      free(cl);
      close(fd);
    }
    pthread_attr_destroy(&at);
  }
  return NULL;
}

static void stop_listen(struct rnull_ctl *ctl) {
  struct listen_state *ls = ctl->listen_state;
  if (write(ls->stop[1], "x", 1) < 0) {
    /* the pipe is ours and empty: cannot fail */
  }
  pthread_join(ls->thread, NULL);
  close(ls->fd);
  unlink(ls->path);
  /* client threads finish their current command and see EOF soon; wait a
   * bounded time for them (they hold the registry) */
  for (int i = 0; i < 500 && atomic_load(&ls->clients); i++)
    usleep(10000);
  close(ls->stop[0]);
  close(ls->stop[1]);
  free(ls);
  ctl->listen_state = NULL;
  ctl->stop_listen = NULL;
}

int rnull_ctl_listen(struct rnull_ctl *ctl, const char *path, char *err, size_t errlen) {
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  if (strlen(path) >= sizeof sa.sun_path) {
    snprintf(err, errlen, "--control %s: path longer than %zu bytes", path, sizeof sa.sun_path - 1);
    return -ENAMETOOLONG;
  }
  if (ctl->listen_state) {
    snprintf(err, errlen, "--control %s: a control socket is already open", path);
    return -EBUSY;
  }
  struct listen_state *ls = calloc(1, sizeof *ls);
  if (!ls)
    return -ENOMEM;
  strcpy(sa.sun_path, path);
  strcpy(ls->path, path);
  ls->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int r = 0;
  if (ls->fd < 0 || pipe2(ls->stop, O_CLOEXEC) < 0) {
    r = -errno;
    snprintf(err, errlen, "--control %s: %s", path, strerror(errno));
    goto fail;
  }
  /* created 0600 from the start: no window where others may connect */
  mode_t old = umask(0177);
  r = bind(ls->fd, (struct sockaddr *)&sa, sizeof sa);
  umask(old);
  if (r < 0 || chmod(path, 0600) < 0 || listen(ls->fd, 16) < 0) {
    r = -errno;
    snprintf(err, errlen, "--control %s: %s", path, strerror(errno));
    goto fail;
  }
  ctl->listen_state = ls;
  ctl->stop_listen = stop_listen;
  sigset_t all, prev;
  sigfillset(&all);
  pthread_sigmask(SIG_BLOCK, &all, &prev); /* the threads take no signals */
  r = pthread_create(&ls->thread, NULL, accept_main, ctl);
  pthread_sigmask(SIG_SETMASK, &prev, NULL);
  if (r != 0) {
    ctl->listen_state = NULL;
    ctl->stop_listen = NULL;
    unlink(path);
    snprintf(err, errlen, "--control %s: cannot start its thread", path);
    r = -r;
    goto fail;
  }
  return 0;
fail:
  if (ls->fd >= 0)
    close(ls->fd);
  if (ls->stop[0] > 0) {
    close(ls->stop[0]);
    close(ls->stop[1]);
  }
  free(ls);
  return r;
}
