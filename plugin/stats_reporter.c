/* The plugin's glue to the engine's statistics writer (see stats_reporter.h
 * and rnull_stats_writer_start in rnull/stats.h): nbdkit's debug log for a
 * failed rewrite, and SIGUSR1 asking the writer's thread for the table. */
#include "stats_reporter.h"

#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <string.h>

#include <nbdkit-plugin.h>

#include "rnull/ctl.h"
#include "rnull/stats.h"

static struct {
  struct rnull_stats_writer *writer;
  struct sigaction old_usr1;
} rep;

/* Async-signal-safe (rnull_stats_writer_print only writes to a pipe). */
static void on_sigusr1(int sig) {
  (void)sig;
  rnull_stats_writer_print(rep.writer);
}

static void on_write_error(void *arg, const char *path, int err) {
  (void)arg;
  nbdkit_debug("rnull: statistics %s: %s", path, strerror(-err));
}

/* stats_dir lists the registry's powered disks (ours among them). */
static void each_ctl_disk(void *arg, rnull_stats_visit_fn visit, void *ctx) {
  rnull_ctl_each_powered(arg, visit, ctx);
}

int rnull_stats_reporter_start(struct rnull_disk *disk, const char *stats_file,
                               const char *stats_dir, struct rnull_ctl *ctl) {
  if (rep.writer)
    return 0;
  struct rnull_stats_writer_opts o = {.path = stats_file,
                                      .dir = stats_dir,
                                      .each_disk = ctl ? each_ctl_disk : NULL,
                                      .each_disk_arg = ctl,
                                      .on_error = on_write_error};
  int r = rnull_stats_writer_start(&rep.writer, disk, &o);
  if (r < 0) {
    nbdkit_error("rnull: stats reporter: %s", strerror(-r));
    return -1;
  }
  struct sigaction sa = {.sa_handler = on_sigusr1};
  sa.sa_flags = SA_RESTART; /* nbdkit's own syscalls need not see EINTR */
  sigemptyset(&sa.sa_mask);
  sigaction(SIGUSR1, &sa, &rep.old_usr1);
  return 0;
}

void rnull_stats_reporter_stop(void) {
  if (!rep.writer)
    return;
  sigaction(SIGUSR1, &rep.old_usr1, NULL);
  rnull_stats_writer_stop(rep.writer);
  rep.writer = NULL;
}
