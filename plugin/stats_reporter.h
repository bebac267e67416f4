/* Statistics while serving: SIGUSR1 prints the table to stderr, and with
 * stats_file set the file is rewritten every second as JSON. One reporter
 * thread does both, so the signal handler only writes a byte to a pipe. */
#ifndef RNULL_PLUGIN_STATS_REPORTER_H
#define RNULL_PLUGIN_STATS_REPORTER_H

struct rnull_disk;

/* Install the SIGUSR1 handler and start the thread. stats_file may be NULL
 * or "" (no file). 0, or -1 with an nbdkit error. */
int rnull_stats_reporter_start(struct rnull_disk *disk, const char *stats_file);

/* Write the file a last time, stop the thread, restore SIGUSR1. Idempotent. */
void rnull_stats_reporter_stop(void);

#endif
