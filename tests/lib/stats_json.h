/* Reading the engine's statistics JSON (rnull_stats_json: {"disk":..,
 * "queues":[{..},..],"total":{..}}) in tests, without a JSON library: the
 * format is known, so brace matching and a few strstr calls do. */
#ifndef RNULL_TEST_STATS_JSON_H
#define RNULL_TEST_STATS_JSON_H

#include <stdint.h>

/* One operation's latency summary, ns ("latency":{"read":{...}}). */
struct stats_latency {
  long long count, min, p50, p90, p99, p99_9, max;
};

enum {
  STATS_READ,
  STATS_WRITE,
  STATS_FLUSH,
  STATS_TRIM,
  STATS_ZERO,
  STATS_CACHE,
  STATS_ALL,
  STATS_OPS
};

struct stats_counts {
  long long submitted, completed, errors, timeouts, requeues, tag_waits;
  long long bytes_read, bytes_written;
  struct stats_latency lat[STATS_OPS]; /* -1 where absent */
};

/* Parse a snapshot: total, and up to max per-queue objects into q.
 * Returns the number of queues, or -1 if text is not a snapshot. */
int stats_json_parse(const char *text, struct stats_counts *total, struct stats_counts *q, int max);

#endif
