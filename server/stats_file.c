/* --stats-file (see stats_file.h). */
#include "stats_file.h"

#include <stdio.h>

static void write_stats(struct stats_file *sf) {
  char tmp[300];
  snprintf(tmp, sizeof(tmp), "%s.tmp", sf->path);
  FILE *f = fopen(tmp, "w");
  if (!f) {
    fprintf(stderr, "rnull-server: stats file %s: %m\n", tmp);
    return;
  }
  rnull_stats_json(sf->disk, f);
  if (fclose(f) != 0 || rename(tmp, sf->path) != 0)
    fprintf(stderr, "rnull-server: stats file %s: %m\n", sf->path);
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
