/* Per hw queue statistics, readable while serving (relaxed atomics). */
#ifndef RNULL_STATS_H
#define RNULL_STATS_H

#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>

struct rnull_disk;
struct rnull_hctx;

#define RNULL_LAT_BUCKETS 40 /* bucket i counts latencies in [2^i, 2^(i+1)) ns */

struct rnull_stats {
  uint64_t submitted;
  uint64_t completed; /* ended, with or without error */
  uint64_t errors;    /* ended with an error */
  uint64_t timeouts;
  uint64_t requeues;
  uint64_t tag_waits; /* a tag was wanted and none was free */
  uint64_t inflight;
  uint64_t inflight_hwm;
  uint64_t bytes_read;
  uint64_t bytes_written;
  uint64_t lat[RNULL_LAT_BUCKETS];
};

/* Live counters inside a hctx. */
struct rnull_stats_live {
  _Atomic uint64_t submitted, completed, errors, timeouts, requeues, tag_waits;
  _Atomic uint64_t inflight, inflight_hwm, bytes_read, bytes_written;
  _Atomic uint64_t lat[RNULL_LAT_BUCKETS];
};

void rnull_hctx_stats(struct rnull_hctx *hctx, struct rnull_stats *out);
/* Sum over all hw queues. */
void rnull_disk_stats(struct rnull_disk *d, struct rnull_stats *out);

/* Latency percentile (0..100) from a histogram: the upper bound of the
 * bucket it falls in, in ns; 0 when empty. */
uint64_t rnull_stats_percentile(const struct rnull_stats *s, double pct);

/* A readable table, one row per hw queue and a total. */
void rnull_stats_print(struct rnull_disk *d, FILE *out);
/* One JSON object: {"disk":..., "queues":[{...}], "total":{...}}. */
void rnull_stats_json(struct rnull_disk *d, FILE *out);

/* The stats_file: 0 if path is absent or a regular file; -EEXIST if it
 * exists as anything else (a device, a directory, a FIFO, a link). */
int rnull_stats_file_usable(const char *path);
/* Rewrite path with rnull_stats_json via a temp file and rename (never over
 * a non-regular file). 0 or -errno. */
int rnull_stats_file_write(struct rnull_disk *d, const char *path);

#endif
