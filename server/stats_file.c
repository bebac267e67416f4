/* --stats-file (see stats_file.h). */
#include "stats_file.h"

#include <stdio.h>
#include <string.h>

/* The engine's writer: temp file + rename, never over a non-regular file. */
static void write_stats(struct stats_file *sf) {
  int r = rnull_stats_file_write(sf->disk, sf->path);
  if (r != 0)
    fprintf(stderr, "rnull-server: stats file %s: %s\n", sf->path, strerror(-r));
}

static void tick_cb(struct ev_loop *ev, ev_timer *w, int revents) {
  (void)ev;
  (void)revents;
  write_stats(w->data);
}

void rnull_stats_file_start(struct stats_file *sf, struct ev_loop *ev, struct rnull_disk *d,
                            const char *path) {
  sf->disk = d;
  sf->path = path;
  write_stats(sf);
  ev_timer_init(&sf->tick, tick_cb, 1.0, 1.0);
  sf->tick.data = sf;
  ev_timer_start(ev, &sf->tick);
}

void rnull_stats_file_stop(struct stats_file *sf, struct ev_loop *ev) {
  if (!sf->path)
    return;
  ev_timer_stop(ev, &sf->tick);
  write_stats(sf);
}
