/* The control socket: a Unix socket, mode 0600, serving the line protocol
 * (rnull_ctl_exec) to clients whose SO_PEERCRED uid is root or ours. Treated
 * as a network protocol: one thread polls every client (accept, reads, idle
 * timeouts), a fixed pool of workers runs their commands, so an idle
 * client (socat left open in a terminal) costs a slot and a descriptor,
 * never a thread, and a slow command (a power off) blocks no other client.
 * Every length is bounded: at most max_clients clients (the next one gets a
 * one-line error), a line of RNULL_CTL_LINE_MAX bytes, an idle client
 * closed after idle_timeout_ms, a reply sent within SEND_TIMEOUT_MS. The
 * NBD acceptor never starves: the clients' descriptors are capped, and when
 * the process runs out of them the oldest idle control client goes first. */
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
#include <time.h>
#include <unistd.h>

#include "preload.h"
#include "registry.h"

#define DEFAULT_MAX_CLIENTS 64
#define DEFAULT_IDLE_MS 60000u
#define SEND_TIMEOUT_MS 5000
#define WORKERS 4
#define EMFILE_BACKOFF_MS 100

enum cstate { C_FREE, C_POLL, C_QUEUED, C_EXEC };

struct client {
  enum cstate state; /* C_POLL: the loop's; C_QUEUED, C_EXEC: a worker's */
  int fd;
  bool eof;
  uint64_t last_ms; /* last byte received or reply sent */
  size_t have;
  struct client *next; /* the work queue */
  char buf[RNULL_CTL_LINE_MAX + 1];
};

struct listen_state {
  struct rnull_ctl *ctl;
  int fd;
  int stop[2]; /* a pipe: writing ends the loop */
  int wake[2]; /* a pipe: a worker gave a client back */
  char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
  unsigned max_clients, idle_ms;
  pthread_t thread, workers[WORKERS];
  unsigned nworkers;
  pthread_mutex_t mu; /* the states, the queue, stopping */
  pthread_cond_t work;
  struct client *head, *tail;
  bool stopping;
  struct client *clients; /* max_clients slots */
  struct pollfd *pfd;     /* 3 + max_clients */
  struct client **pcl;
};

static uint64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* The whole reply, within SEND_TIMEOUT_MS (a client that reads nothing
 * loses its connection, not a worker). false: the client is gone. */
static bool send_all(int fd, const char *p, size_t n) {
  uint64_t until = now_ms() + SEND_TIMEOUT_MS;
  while (n) {
    ssize_t w = send(fd, p, n, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (w < 0 && errno == EINTR)
      continue;
    if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      uint64_t t = now_ms();
      struct pollfd pf = {.fd = fd, .events = POLLOUT};
      if (t >= until || poll(&pf, 1, (int)(until - t)) < 0)
        return false;
      continue;
    }
    if (w <= 0)
      return false;
    p += w;
    n -= (size_t)w;
  }
  return true;
}

static bool reply_line(struct listen_state *ls, struct client *cl, const char *line, size_t len) {
  char *buf = NULL, err[160];
  size_t blen = 0;
  FILE *m = open_memstream(&buf, &blen);
  if (!m)
    return false;
  if (ctl_check_line(line, len, err, sizeof err) < 0)
    fprintf(m, "error: %s\n", err);
  else
    rnull_ctl_exec(ls->ctl, line, m);
  fclose(m);
  bool ok = send_all(cl->fd, buf, blen);
  free(buf);
  return ok;
}

/* A worker's turn: every complete line in the buffer, then the last one
 * without its newline at EOF (printf | socat). false: close the client. */
static bool run_lines(struct listen_state *ls, struct client *cl) {
  char *start = cl->buf, *nl;
  bool ok = true;
  while (ok && (nl = memchr(start, '\n', cl->have - (size_t)(start - cl->buf)))) {
    size_t len = (size_t)(nl - start);
    *nl = 0;
    if (len && start[len - 1] == '\r')
      start[--len] = 0;
    bool blank = strspn(start, " \t") == len && !memchr(start, 0, len);
    if (!blank) /* blank lines are ignored (socat, interactive use) */
      ok = reply_line(ls, cl, start, len);
    start = nl + 1;
  }
  cl->have -= (size_t)(start - cl->buf);
  memmove(cl->buf, start, cl->have);
  if (ok && cl->eof && cl->have) {
    cl->buf[cl->have] = 0;
    reply_line(ls, cl, cl->buf, cl->have);
  }
  return ok && !cl->eof;
}

static void close_client(struct client *cl) {
  close(cl->fd);
  cl->fd = -1;
  cl->have = 0;
  cl->eof = false;
  cl->state = C_FREE;
}

static void wake_loop(struct listen_state *ls) {
  if (write(ls->wake[1], "w", 1) < 0) {
    /* full: the loop is awake already */
  }
}

static void *worker_main(void *arg) {
  struct listen_state *ls = arg;
  pthread_mutex_lock(&ls->mu);
  for (;;) {
    while (!ls->head && !ls->stopping)
      pthread_cond_wait(&ls->work, &ls->mu);
    if (!ls->head)
      break;
    struct client *cl = ls->head;
    ls->head = cl->next;
    if (!ls->head)
      ls->tail = NULL;
    cl->state = C_EXEC;
    bool stopping = ls->stopping;
    pthread_mutex_unlock(&ls->mu);
    bool keep = !stopping && run_lines(ls, cl);
    pthread_mutex_lock(&ls->mu);
    if (keep && !ls->stopping) {
      cl->last_ms = now_ms();
      cl->state = C_POLL;
    } else {
      close_client(cl);
    }
    wake_loop(ls);
  }
  pthread_mutex_unlock(&ls->mu);
  return NULL;
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

static void refuse(int fd, const char *why) {
  char msg[240];
  int n = snprintf(msg, sizeof msg, "error: %s\n", why);
  if (send(fd, msg, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT) < 0) {
    /* it gets EOF instead */
  }
  close(fd);
}

/* The idle client polled longest ago, or NULL. Under mu. */
static struct client *oldest_idle(struct listen_state *ls) {
  struct client *old = NULL;
  for (unsigned i = 0; i < ls->max_clients; i++) {
    struct client *cl = &ls->clients[i];
    if (cl->state == C_POLL && (!old || cl->last_ms < old->last_ms))
      old = cl;
  }
  return old;
}

/* One new client: refused (one line) when over the cap or not allowed.
 * false: out of descriptors (the caller backs off). */
static bool accept_one(struct listen_state *ls) {
  int fd = accept4(ls->fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
  if (fd < 0) {
    if (errno != EMFILE && errno != ENFILE)
      return true;
    pthread_mutex_lock(&ls->mu); /* the oldest idle control client goes first */
    struct client *old = oldest_idle(ls);
    if (old) {
      refuse(old->fd, "out of file descriptors: the oldest idle control client is closed");
      old->fd = -1;
      close_client(old);
    }
    pthread_mutex_unlock(&ls->mu);
    return false;
  }
  char why[200];
  if (!peer_allowed(fd, why, sizeof why)) {
    refuse(fd, why);
    return true;
  }
  pthread_mutex_lock(&ls->mu);
  struct client *cl = NULL;
  for (unsigned i = 0; i < ls->max_clients && !cl; i++)
    if (ls->clients[i].state == C_FREE)
      cl = &ls->clients[i];
  if (cl) {
    cl->fd = fd;
    cl->have = 0;
    cl->eof = false;
    cl->last_ms = now_ms();
    cl->state = C_POLL;
  }
  pthread_mutex_unlock(&ls->mu);
  if (!cl) {
    snprintf(why, sizeof why, "too many control clients (at most %u): try again later",
             ls->max_clients);
    refuse(fd, why);
  }
  return true;
}

/* Hand cl to the workers. Under mu. */
static void queue_client(struct listen_state *ls, struct client *cl) {
  cl->state = C_QUEUED;
  cl->next = NULL;
  if (ls->tail)
    ls->tail->next = cl;
  else
    ls->head = cl;
  ls->tail = cl;
  pthread_cond_signal(&ls->work);
}

/* Read what cl sent; queue it when a line (or EOF) is there. Loop only. */
static void read_client(struct listen_state *ls, struct client *cl) {
  ssize_t n = recv(cl->fd, cl->buf + cl->have, RNULL_CTL_LINE_MAX - cl->have, MSG_DONTWAIT);
  if (n < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK))
    return;
  pthread_mutex_lock(&ls->mu);
  if (n <= 0) {
    cl->eof = true;
    if (cl->have && n == 0)
      queue_client(ls, cl);
    else
      close_client(cl);
  } else {
    size_t old = cl->have;
    cl->have += (size_t)n;
    cl->last_ms = now_ms();
    if (memchr(cl->buf + old, '\n', (size_t)n)) {
      queue_client(ls, cl);
    } else if (cl->have == RNULL_CTL_LINE_MAX) {
      char why[80];
      snprintf(why, sizeof why, "line longer than %d bytes", RNULL_CTL_LINE_MAX - 1);
      refuse(cl->fd, why);
      cl->fd = -1;
      close_client(cl);
    }
  }
  pthread_mutex_unlock(&ls->mu);
}

/* Close the clients idle too long; the poll timeout until the next one. */
static int expire_idle(struct listen_state *ls) {
  uint64_t t = now_ms(), next = UINT64_MAX;
  pthread_mutex_lock(&ls->mu);
  for (unsigned i = 0; i < ls->max_clients; i++) {
    struct client *cl = &ls->clients[i];
    if (cl->state != C_POLL)
      continue;
    uint64_t due = cl->last_ms + ls->idle_ms;
    if (due <= t) {
      char why[80];
      snprintf(why, sizeof why, "idle for %u ms: closed", ls->idle_ms);
      refuse(cl->fd, why);
      cl->fd = -1;
      close_client(cl);
    } else if (due < next) {
      next = due;
    }
  }
  pthread_mutex_unlock(&ls->mu);
  return next == UINT64_MAX ? -1 : (int)(next - t);
}

static void *loop_main(void *arg) {
  struct listen_state *ls = arg;
  uint64_t backoff_until = 0;
  for (;;) {
    int timeout = expire_idle(ls);
    uint64_t t = now_ms();
    bool listening = t >= backoff_until;
    if (!listening && (timeout < 0 || (uint64_t)timeout > backoff_until - t))
      timeout = (int)(backoff_until - t);
    nfds_t n = 0;
    ls->pfd[n++] = (struct pollfd){.fd = ls->stop[0], .events = POLLIN};
    ls->pfd[n++] = (struct pollfd){.fd = ls->wake[0], .events = POLLIN};
    ls->pfd[n++] = (struct pollfd){.fd = listening ? ls->fd : -1, .events = POLLIN};
    pthread_mutex_lock(&ls->mu);
    for (unsigned i = 0; i < ls->max_clients; i++)
      if (ls->clients[i].state == C_POLL) {
        ls->pcl[n] = &ls->clients[i];
        ls->pfd[n++] = (struct pollfd){.fd = ls->clients[i].fd, .events = POLLIN};
      }
    pthread_mutex_unlock(&ls->mu);
    if (poll(ls->pfd, n, timeout) < 0) {
      if (errno == EINTR)
        continue;
      break;
    }
    if (ls->pfd[0].revents)
      break;
    if (ls->pfd[1].revents) {
      char drain[64];
      while (read(ls->wake[0], drain, sizeof drain) > 0)
        ;
    }
    for (nfds_t i = 3; i < n; i++) /* still C_POLL: only this thread leaves it */
      if (ls->pfd[i].revents)
        read_client(ls, ls->pcl[i]);
    if (ls->pfd[2].revents && !accept_one(ls))
      backoff_until = now_ms() + EMFILE_BACKOFF_MS;
  }
  return NULL;
}

static void free_state(struct listen_state *ls) {
  for (int i = 0; i < 2; i++) {
    if (ls->stop[i] >= 0)
      close(ls->stop[i]);
    if (ls->wake[i] >= 0)
      close(ls->wake[i]);
  }
  if (ls->fd >= 0)
    close(ls->fd);
  pthread_cond_destroy(&ls->work);
  pthread_mutex_destroy(&ls->mu);
  free(ls->clients);
  free(ls->pfd);
  free(ls->pcl);
  free(ls);
}

/* Stop the loop and the workers; commands under way finish first (a power
 * off is bounded by its own deadline); the clients are closed. */
static void stop_threads(struct listen_state *ls) {
  if (write(ls->stop[1], "x", 1) < 0) {
    /* the pipe is ours and empty: cannot fail */
  }
  pthread_join(ls->thread, NULL);
  pthread_mutex_lock(&ls->mu);
  ls->stopping = true;
  for (unsigned i = 0; i < ls->max_clients; i++)
    if (ls->clients[i].state != C_FREE) /* a worker's send ends at once */
      shutdown(ls->clients[i].fd, SHUT_RDWR);
  pthread_cond_broadcast(&ls->work);
  pthread_mutex_unlock(&ls->mu);
  for (unsigned i = 0; i < ls->nworkers; i++)
    pthread_join(ls->workers[i], NULL);
  for (unsigned i = 0; i < ls->max_clients; i++)
    if (ls->clients[i].state != C_FREE)
      close_client(&ls->clients[i]);
}

static void stop_listen(struct rnull_ctl *ctl) {
  struct listen_state *ls = ctl->listen_state;
  stop_threads(ls);
  unlink(ls->path);
  free_state(ls);
  ctl->listen_state = NULL;
  ctl->stop_listen = NULL;
}

/* A socket already at path: a stale one of an earlier run (nobody accepts
 * on it) is removed, as --unix does; a live one (another server) or a file
 * that is no socket is refused. */
static int clear_stale(const char *path, const struct sockaddr_un *sa, char *err, size_t errlen) {
  struct stat st;
  if (lstat(path, &st) < 0)
    return 0;
  if (!S_ISSOCK(st.st_mode)) {
    snprintf(err, errlen, "--control %s: exists and is not a socket", path);
    return -EEXIST;
  }
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    snprintf(err, errlen, "--control %s: %s", path, strerror(errno));
    return -errno;
  }
  int r = connect(fd, (const struct sockaddr *)sa, sizeof *sa);
  int e = errno;
  close(fd);
  if (r == 0 || e == EAGAIN) {
    snprintf(err, errlen, "--control %s: another server is listening on it", path);
    return -EADDRINUSE;
  }
  if (e != ECONNREFUSED) {
    snprintf(err, errlen, "--control %s: %s", path, strerror(e));
    return -e;
  }
  unlink(path); /* a stale socket of an earlier run */
  return 0;
}

static int start_threads(struct rnull_ctl *ctl, struct listen_state *ls, char *err, size_t errlen) {
  sigset_t all, prev;
  sigfillset(&all);
  pthread_sigmask(SIG_BLOCK, &all, &prev); /* the threads take no signals */
  int r = 0;
  for (; ls->nworkers < WORKERS && r == 0; ls->nworkers++)
    if ((r = pthread_create(&ls->workers[ls->nworkers], NULL, worker_main, ls)) != 0)
      break;
  if (r == 0)
    r = pthread_create(&ls->thread, NULL, loop_main, ls);
  pthread_sigmask(SIG_SETMASK, &prev, NULL);
  if (r != 0) {
    pthread_mutex_lock(&ls->mu);
    ls->stopping = true;
    pthread_cond_broadcast(&ls->work);
    pthread_mutex_unlock(&ls->mu);
    for (unsigned i = 0; i < ls->nworkers; i++)
      pthread_join(ls->workers[i], NULL);
    snprintf(err, errlen, "--control %s: cannot start its threads", ls->path);
    return -r;
  }
  ctl->listen_state = ls;
  ctl->stop_listen = stop_listen;
  return 0;
}

static struct listen_state *new_state(struct rnull_ctl *ctl, const char *path,
                                      const struct rnull_ctl_limits *lim) {
  struct listen_state *ls = calloc(1, sizeof *ls);
  if (!ls)
    return NULL;
  ls->ctl = ctl;
  ls->fd = ls->stop[0] = ls->stop[1] = ls->wake[0] = ls->wake[1] = -1;
  ls->max_clients = lim && lim->max_clients ? lim->max_clients : DEFAULT_MAX_CLIENTS;
  ls->idle_ms = lim && lim->idle_timeout_ms ? lim->idle_timeout_ms : DEFAULT_IDLE_MS;
  strcpy(ls->path, path);
  pthread_mutex_init(&ls->mu, NULL);
  pthread_cond_init(&ls->work, NULL);
  ls->clients = calloc(ls->max_clients, sizeof *ls->clients);
  ls->pfd = calloc(3 + ls->max_clients, sizeof *ls->pfd);
  ls->pcl = calloc(3 + ls->max_clients, sizeof *ls->pcl);
  if (!ls->clients || !ls->pfd || !ls->pcl) {
    free_state(ls);
    return NULL;
  }
  for (unsigned i = 0; i < ls->max_clients; i++)
    ls->clients[i].fd = -1;
  return ls;
}

int rnull_ctl_listen_limits(struct rnull_ctl *ctl, const char *path,
                            const struct rnull_ctl_limits *lim, char *err, size_t errlen) {
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  if (strlen(path) >= sizeof sa.sun_path) {
    snprintf(err, errlen, "--control %s: path longer than %zu bytes", path, sizeof sa.sun_path - 1);
    return -ENAMETOOLONG;
  }
  if (ctl->listen_state) {
    snprintf(err, errlen, "--control %s: a control socket is already open", path);
    return -EBUSY;
  }
  if (lim && lim->max_clients > 4096) {
    snprintf(err, errlen, "--control %s: at most 4096 clients", path);
    return -EINVAL;
  }
  strcpy(sa.sun_path, path);
  int r = clear_stale(path, &sa, err, errlen);
  if (r < 0)
    return r;
  struct listen_state *ls = new_state(ctl, path, lim);
  if (!ls) {
    snprintf(err, errlen, "--control %s: out of memory", path);
    return -ENOMEM;
  }
  ls->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (ls->fd < 0 || pipe2(ls->stop, O_CLOEXEC) < 0 || pipe2(ls->wake, O_CLOEXEC | O_NONBLOCK) < 0) {
    r = -errno;
    snprintf(err, errlen, "--control %s: %s", path, strerror(errno));
    free_state(ls);
    return r;
  }
  /* created 0600 from the start: no window where others may connect */
  mode_t old = umask(0177);
  r = bind(ls->fd, (struct sockaddr *)&sa, sizeof sa);
  umask(old);
  if (r < 0 || chmod(path, 0600) < 0 || listen(ls->fd, 64) < 0) {
    r = -errno;
    snprintf(err, errlen, "--control %s: %s", path, strerror(errno));
    if (r != -EADDRINUSE)
      unlink(path);
    free_state(ls);
    return r;
  }
  if ((r = start_threads(ctl, ls, err, errlen)) < 0) {
    unlink(path);
    free_state(ls);
  }
  return r;
}

int rnull_ctl_listen(struct rnull_ctl *ctl, const char *path, char *err, size_t errlen) {
  return rnull_ctl_listen_limits(ctl, path, NULL, err, errlen);
}
