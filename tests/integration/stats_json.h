/* Reading the engine's statistics JSON (rnull_stats_json: {"disk":..,
 * "queues":[{..},..],"total":{..}}) in tests, without a JSON library: the
 * format is flat and known, so a few strstr calls do. */
#ifndef RNULL_TEST_STATS_JSON_H
#define RNULL_TEST_STATS_JSON_H

#include <stdint.h>

#define STATS_LAT_BUCKETS 40

struct stats_counts {
  long long submitted, completed, errors, timeouts, requeues, tag_waits;
  long long bytes_read, bytes_written;
  long long lat[STATS_LAT_BUCKETS]; /* bucket i: latencies in [2^i, 2^(i+1)) ns */
};

/* Parse a snapshot: total, and up to max per-queue objects into q.
 * Returns the number of queues, or -1 if text is not a snapshot. */
int stats_json_parse(const char *text, struct stats_counts *total, struct stats_counts *q, int max);

#endif
