/* --stats-file: the disk's statistics as JSON, rewritten every second
 * (written to PATH.tmp, then renamed over PATH: readers never see half).
 * A thread of its own does the writing: a slow file system (or anything
 * else in the way) never blocks the event loop. */
#ifndef RNULL_SERVER_STATS_FILE_H
#define RNULL_SERVER_STATS_FILE_H

#include <pthread.h>
#include <stdbool.h>

#include <ev.h>

#include "rnull/rnull.h"

struct stats_file {
  struct rnull_disk *disk;
  const char *path;
  const char *progname; /* prefix of messages (set before start) */
  pthread_t thread;
  pthread_mutex_t lock;
  pthread_cond_t cond;
  bool running, quit;
};

void rnull_stats_file_start(struct stats_file *sf, struct ev_loop *ev, struct rnull_disk *d,
                            const char *path);
/* Stop, and write the final figures once more. */
void rnull_stats_file_stop(struct stats_file *sf, struct ev_loop *ev);

#endif
