/* Front-end API: per hw queue statistics, readable while serving (relaxed
 * atomics), as a struct, a table or JSON. The counters are listed once, in
 * RNULL_STATS_COUNTERS; the struct, the JSON keys, the table and the sums
 * are all generated from that list. */
#ifndef RNULL_STATS_H
#define RNULL_STATS_H

#include <stdint.h>
#include <stdio.h>

#include "rnull/export.h"

struct rnull_disk;
struct rnull_hctx;

#define RNULL_LAT_BUCKETS 40 /* bucket i counts latencies in [2^i, 2^(i+1)) ns */

/* X(name, table column heading, its width; NULL, 0 when not in the table) */
#define RNULL_STATS_COUNTERS(X)                                                                    \
  X(submitted, "submitted", 12)                                                                    \
  X(completed, "completed", 12) /* ended, with or without error */                                 \
  X(errors, "errors", 8)        /* ended with an error */                                          \
  X(timeouts, "timeouts", 8)                                                                       \
  X(requeues, "requeues", 8)                                                                       \
  X(tag_waits, "tag_waits", 9) /* a tag was wanted and none was free */                            \
  X(inflight, NULL, 0)                                                                             \
  X(inflight_hwm, "hwm", 6) /* summed over queues: an upper bound */                               \
  X(bytes_read, "bytes_read", 14)                                                                  \
  X(bytes_written, "bytes_written", 14)

struct rnull_stats {
#define RNULL_STAT_FIELD(name, col, width) uint64_t name;
  RNULL_STATS_COUNTERS(RNULL_STAT_FIELD)
#undef RNULL_STAT_FIELD
  uint64_t lat[RNULL_LAT_BUCKETS];
};

RNULL_API void rnull_hctx_stats(struct rnull_hctx *hctx, struct rnull_stats *out);
/* Sum over all hw queues. */
RNULL_API void rnull_disk_stats(struct rnull_disk *d, struct rnull_stats *out);

/* Latency percentile (0..100) from a histogram: the upper bound of the
 * bucket it falls in, in ns; 0 when empty. */
RNULL_API uint64_t rnull_stats_percentile(const struct rnull_stats *s, double pct);

/* A readable table, one row per hw queue and a total. */
RNULL_API void rnull_stats_print(struct rnull_disk *d, FILE *out);
/* One JSON object: {"disk":..., "queues":[{...}], "total":{...}}. */
RNULL_API void rnull_stats_json(struct rnull_disk *d, FILE *out);

/* Rewrite path with rnull_stats_json via a temp file and rename (never over
 * a non-regular file, see rnull_stats_file_usable in config.h). 0 or -errno. */
RNULL_API int rnull_stats_file_write(struct rnull_disk *d, const char *path);

#endif
