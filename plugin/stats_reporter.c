/* The stats reporter thread: see stats_reporter.h. */
#include "stats_reporter.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <nbdkit-plugin.h>

#include "rnull/stats.h"

#define REWRITE_MS 1000

#define WAKE_PRINT 'p' /* from the SIGUSR1 handler */
#define WAKE_QUIT 'q'  /* from rnull_stats_reporter_stop */

static struct {
  bool running;
  int pipe[2];
  pthread_t thread;
  struct rnull_disk *disk;
  char path[300];
  struct sigaction old_usr1;
} rep = {.pipe = {-1, -1}};

/* Async-signal-safe: just wake the thread. */
static void on_sigusr1(int sig) {
  int saved = errno;
  char c = WAKE_PRINT;

  (void)sig;
  if (write(rep.pipe[1], &c, 1) < 0) {
    /* pipe full: a print is already pending */
  }
  errno = saved;
}

/* The engine's writer refuses to rename over a non-regular file. */
static void write_stats_file(void) {
  int r;

  if (rep.path[0] != '\0' && (r = rnull_stats_file_write(rep.disk, rep.path)) != 0)
    nbdkit_debug("rnull: stats_file %s: %s", rep.path, strerror(-r));
}

static uint64_t now_ms(void) {
  struct timespec ts;

  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void *reporter_main(void *arg) {
  uint64_t next = now_ms();

  (void)arg;
  for (;;) {
    struct pollfd pfd = {.fd = rep.pipe[0], .events = POLLIN};
    uint64_t now = now_ms();
    char c;

    if (now >= next) {
      write_stats_file();
      next = now + REWRITE_MS;
    }
    if (poll(&pfd, 1, (int)(next - now)) <= 0)
      continue;
    if (read(rep.pipe[0], &c, 1) != 1)
      continue;
    if (c == WAKE_QUIT)
      break;
    rnull_stats_print(rep.disk, stderr);
    fflush(stderr);
  }
  write_stats_file();
  return NULL;
}

int rnull_stats_reporter_start(struct rnull_disk *disk, const char *stats_file) {
  struct sigaction sa;
  int err;

  if (rep.running)
    return 0;
  rep.disk = disk;
  snprintf(rep.path, sizeof rep.path, "%s", stats_file ? stats_file : "");
  if (pipe2(rep.pipe, O_CLOEXEC | O_NONBLOCK) != 0) {
    nbdkit_error("rnull: stats reporter: pipe: %s", strerror(errno));
    return -1;
  }
  err = pthread_create(&rep.thread, NULL, reporter_main, NULL);
  if (err != 0) {
    nbdkit_error("rnull: stats reporter: pthread_create: %s", strerror(err));
    close(rep.pipe[0]);
    close(rep.pipe[1]);
    rep.pipe[0] = rep.pipe[1] = -1;
    return -1;
  }
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_sigusr1;
  sa.sa_flags = SA_RESTART; /* nbdkit's own syscalls need not see EINTR */
  sigemptyset(&sa.sa_mask);
  sigaction(SIGUSR1, &sa, &rep.old_usr1);
  rep.running = true;
  return 0;
}

void rnull_stats_reporter_stop(void) {
  char c = WAKE_QUIT;

  if (!rep.running)
    return;
  sigaction(SIGUSR1, &rep.old_usr1, NULL);
  /* Blocking write: the quit byte must arrive even if the pipe is full. */
  fcntl(rep.pipe[1], F_SETFL, 0);
  if (write(rep.pipe[1], &c, 1) == 1)
    pthread_join(rep.thread, NULL);
  close(rep.pipe[0]);
  close(rep.pipe[1]);
  rep.pipe[0] = rep.pipe[1] = -1;
  rep.running = false;
}
