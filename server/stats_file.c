/* --stats-file (see stats_file.h). */
#include "stats_file.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

/* The engine's writer: temp file + rename, never over or through a
 * non-regular file, never blocking in open. */
static void write_stats(struct stats_file *sf) {
  int r = rnull_stats_file_write(sf->disk, sf->path);
  if (r != 0)
    fprintf(stderr, "%s: stats file %s: %s\n", sf->progname, sf->path, strerror(-r));
}

static void *writer_main(void *arg) {
  struct stats_file *sf = arg;
  pthread_mutex_lock(&sf->lock);
  while (!sf->quit) {
    pthread_mutex_unlock(&sf->lock);
    write_stats(sf);
    pthread_mutex_lock(&sf->lock);
    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_sec += 1;
    while (!sf->quit && pthread_cond_timedwait(&sf->cond, &sf->lock, &until) != ETIMEDOUT)
      ;
  }
  pthread_mutex_unlock(&sf->lock);
  write_stats(sf); /* the final figures */
  return NULL;
}

void rnull_stats_file_start(struct stats_file *sf, struct ev_loop *ev, struct rnull_disk *d,
                            const char *path) {
  (void)ev;
  pthread_condattr_t ca;
  sf->disk = d;
  sf->path = path;
  sf->quit = false;
  pthread_mutex_init(&sf->lock, NULL);
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  pthread_cond_init(&sf->cond, &ca);
  pthread_condattr_destroy(&ca);
  /* The thread takes no process signals: the main loop does. */
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_BLOCK, &all, &old);
  sf->running = pthread_create(&sf->thread, NULL, writer_main, sf) == 0;
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  if (!sf->running)
    fprintf(stderr, "%s: stats file %s: cannot start its thread\n", sf->progname, path);
}

void rnull_stats_file_stop(struct stats_file *sf, struct ev_loop *ev) {
  (void)ev;
  if (!sf->running)
    return;
  pthread_mutex_lock(&sf->lock);
  sf->quit = true;
  pthread_cond_signal(&sf->cond);
  pthread_mutex_unlock(&sf->lock);
  pthread_join(sf->thread, NULL);
  sf->running = false;
}
