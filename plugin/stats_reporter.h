/* Statistics while serving: SIGUSR1 prints the table to stderr, and with
 * stats_file set the file is rewritten every second as JSON. The engine's
 * writer thread (rnull_stats_writer_start, rnull/stats.h) does both; this
 * is the plugin's glue: the signal handler and nbdkit's messages. */
#ifndef RNULL_PLUGIN_STATS_REPORTER_H
#define RNULL_PLUGIN_STATS_REPORTER_H

struct rnull_disk;

/* Start the writer and install the SIGUSR1 handler. stats_file may be NULL
 * or "" (no file). 0, or -1 with an nbdkit error. */
int rnull_stats_reporter_start(struct rnull_disk *disk, const char *stats_file);

/* Restore SIGUSR1, write the file a last time, stop the thread. Idempotent. */
void rnull_stats_reporter_stop(void);

#endif
