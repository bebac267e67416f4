/* The statistics file front ends rewrite every second: JSON written to a
 * temp file and renamed over the path, so a reader never sees half a file.
 * Never rename over something that is not a regular file: as root, a
 * stats_file=/dev/null would otherwise replace the device node. The writer
 * thread that does it for both front ends is below (rnull/stats.h). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
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

/* The writer thread (rnull/stats.h): a pipe wakes it (a print request, or
 * stop), poll's timeout paces the rewrites. */
#define WAKE_PRINT 'p' /* rnull_stats_writer_print */
#define WAKE_QUIT 'q'  /* rnull_stats_writer_stop */

struct rnull_stats_writer {
  struct rnull_disk *disk;
  struct rnull_stats_writer_opts o;
  char *path; /* our copy, NULL for none */
  int pipe[2];
  pthread_t thread;
};

static void writer_write(struct rnull_stats_writer *w) {
  int r;
  if (w->path && (r = rnull_stats_file_write(w->disk, w->path)) != 0 && w->o.on_error)
    w->o.on_error(w->o.arg, w->path, r);
}

static uint64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Rewrite every period from the start of the last rewrite; print when
 * asked; leave on WAKE_QUIT after the final rewrite. */
static void *writer_main(void *arg) {
  struct rnull_stats_writer *w = arg;
  uint64_t next = now_ms();
  for (;;) {
    uint64_t now = now_ms();
    if (now >= next) {
      writer_write(w);
      next = now + w->o.period_ms;
    }
    struct pollfd pfd = {.fd = w->pipe[0], .events = POLLIN};
    char c;
    if (poll(&pfd, 1, (int)(next - now)) <= 0 || read(w->pipe[0], &c, 1) != 1)
      continue;
    if (c == WAKE_QUIT)
      break;
    rnull_stats_print(w->disk, w->o.print_to);
    fflush(w->o.print_to);
  }
  writer_write(w); /* the final figures */
  return NULL;
}

static void writer_free(struct rnull_stats_writer *w) {
  if (w->pipe[0] >= 0)
    close(w->pipe[0]);
  if (w->pipe[1] >= 0)
    close(w->pipe[1]);
  free(w->path);
  free(w);
}

int rnull_stats_writer_start(struct rnull_stats_writer **out, struct rnull_disk *d,
                             const struct rnull_stats_writer_opts *opts) {
  *out = NULL;
  struct rnull_stats_writer *w = calloc(1, sizeof(*w));
  if (!w)
    return -ENOMEM;
  w->disk = d;
  w->o = *opts;
  w->o.period_ms = w->o.period_ms ? w->o.period_ms : RNULL_STATS_WRITER_PERIOD_MS;
  w->o.print_to = w->o.print_to ? w->o.print_to : stderr;
  w->pipe[0] = w->pipe[1] = -1;
  if (opts->path && opts->path[0] && !(w->path = strdup(opts->path))) {
    writer_free(w);
    return -ENOMEM;
  }
  if (pipe2(w->pipe, O_CLOEXEC | O_NONBLOCK) != 0) {
    int e = errno;
    writer_free(w);
    return -e;
  }
  /* The thread takes no process signals: the front end's threads do. */
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_BLOCK, &all, &old);
  int e = pthread_create(&w->thread, NULL, writer_main, w);
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  if (e != 0) {
    writer_free(w);
    return -e;
  }
  *out = w;
  return 0;
}

void rnull_stats_writer_print(struct rnull_stats_writer *w) {
  int saved = errno;
  char c = WAKE_PRINT;
  if (w && write(w->pipe[1], &c, 1) < 0) {
    /* pipe full: prints are already pending */
  }
  errno = saved;
}

void rnull_stats_writer_stop(struct rnull_stats_writer *w) {
  if (!w)
    return;
  char c = WAKE_QUIT;
  /* Blocking write: the quit byte must arrive even if the pipe is full. */
  fcntl(w->pipe[1], F_SETFL, 0);
  if (write(w->pipe[1], &c, 1) == 1)
    pthread_join(w->thread, NULL);
  writer_free(w);
}
