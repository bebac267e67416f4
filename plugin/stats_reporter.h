/* Statistics while serving: SIGUSR1 prints the table to stderr, and with
 * stats_file set the file is rewritten every second as JSON, with stats_dir
 * the kernel's diskstats and block/<disk>/stat files of every disk. The engine's
 * writer thread (rnull_stats_writer_start, rnull/stats.h) does both; this
 * is the plugin's glue: the signal handler and nbdkit's messages. */
#ifndef RNULL_PLUGIN_STATS_REPORTER_H
#define RNULL_PLUGIN_STATS_REPORTER_H

struct rnull_disk;
struct rnull_ctl;

/* Start the writer and install the SIGUSR1 handler. stats_file, stats_dir
 * may be NULL or "" (none); stats_dir lists ctl's powered disks (ctl NULL:
 * disk alone). 0, or -1 with an nbdkit error. */
int rnull_stats_reporter_start(struct rnull_disk *disk, const char *stats_file,
                               const char *stats_dir, struct rnull_ctl *ctl);

/* Restore SIGUSR1, write the file a last time, stop the thread. Idempotent. */
void rnull_stats_reporter_stop(void);

#endif
