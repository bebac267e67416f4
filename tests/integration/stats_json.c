/* Reading the engine's statistics JSON: see stats_json.h. */
#include "stats_json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The number after "key": within [obj, end), or -1. */
static long long field(const char *obj, const char *end, const char *key) {
  char pat[64];
  const char *p;

  snprintf(pat, sizeof pat, "\"%s\":", key);
  p = strstr(obj, pat);
  return p && p < end ? strtoll(p + strlen(pat), NULL, 10) : -1;
}

static void parse_object(const char *obj, struct stats_counts *c) {
  const char *end = strchr(obj, '}');
  const char *lat;

  if (end == NULL)
    end = obj + strlen(obj);
  c->submitted = field(obj, end, "submitted");
  c->completed = field(obj, end, "completed");
  c->errors = field(obj, end, "errors");
  c->timeouts = field(obj, end, "timeouts");
  c->requeues = field(obj, end, "requeues");
  c->tag_waits = field(obj, end, "tag_waits");
  c->bytes_read = field(obj, end, "bytes_read");
  c->bytes_written = field(obj, end, "bytes_written");
  lat = strstr(obj, "\"latency_ns_log2\":[");
  for (int i = 0; i < STATS_LAT_BUCKETS; i++)
    c->lat[i] = -1;
  if (lat == NULL || lat > end)
    return;
  lat += strlen("\"latency_ns_log2\":[");
  for (int i = 0; i < STATS_LAT_BUCKETS && lat < end; i++) {
    char *next;

    c->lat[i] = strtoll(lat, &next, 10);
    lat = next + 1; /* past the comma */
  }
}

int stats_json_parse(const char *text, struct stats_counts *total, struct stats_counts *q,
                     int max) {
  const char *t = strstr(text, "\"total\":{");
  const char *p = strstr(text, "\"queues\":[");
  int nq = 0;

  if (t == NULL || p == NULL)
    return -1;
  parse_object(t + strlen("\"total\":"), total);
  for (p = strchr(p, '{'); p && p < t && nq < max; p = strchr(p + 1, '{'))
    parse_object(p, &q[nq++]);
  return nq;
}
