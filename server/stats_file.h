/* --stats-file: the disk's statistics as JSON, rewritten every second
 * (written to PATH.tmp, then renamed over PATH: readers never see half). */
#ifndef RNULL_SERVER_STATS_FILE_H
#define RNULL_SERVER_STATS_FILE_H

#include <ev.h>

#include "rnull/rnull.h"

struct stats_file {
  ev_timer tick;
  struct rnull_disk *disk;
  const char *path;
};

void rnull_stats_file_start(struct stats_file *sf, struct ev_loop *ev, struct rnull_disk *d,
                            const char *path);
/* Stop, and write the final figures once more. */
void rnull_stats_file_stop(struct stats_file *sf, struct ev_loop *ev);

#endif
