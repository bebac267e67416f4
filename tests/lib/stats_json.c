/* Reading the engine's statistics JSON: see stats_json.h. */
#include "stats_json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The end of the object or array opening at p (its closing brace). */
static const char *close_of(const char *p) {
  int depth = 0;
  for (; *p; p++) {
    if (*p == '{' || *p == '[')
      depth++;
    else if ((*p == '}' || *p == ']') && --depth == 0)
      return p;
  }
  return p;
}

/* The number after "key": within [obj, end), or -1. */
static long long field(const char *obj, const char *end, const char *key) {
  char pat[64];
  const char *p;

  snprintf(pat, sizeof pat, "\"%s\":", key);
  p = strstr(obj, pat);
  return p && p < end ? strtoll(p + strlen(pat), NULL, 10) : -1;
}

static void parse_latency(const char *obj, const char *end, struct stats_latency *lat) {
  static const char *const ops[STATS_OPS] = {"read", "write", "flush", "trim",
                                             "zero", "cache", "all"};
  const char *l = strstr(obj, "\"latency\":{");

  for (int i = 0; i < STATS_OPS; i++) {
    char pat[32];
    const char *o, *oend;

    memset(&lat[i], 0xff, sizeof lat[i]); /* -1 */
    snprintf(pat, sizeof pat, "\"%s\":{", ops[i]);
    if (l == NULL || l > end || (o = strstr(l, pat)) == NULL || o > end)
      continue;
    o += strlen(pat) - 1;
    oend = close_of(o);
    lat[i] = (struct stats_latency){field(o, oend, "count"), field(o, oend, "min"),
                                    field(o, oend, "p50"),   field(o, oend, "p90"),
                                    field(o, oend, "p99"),   field(o, oend, "p99_9"),
                                    field(o, oend, "max")};
  }
}

/* The object at obj (its '{'); returns its end. */
static const char *parse_object(const char *obj, struct stats_counts *c) {
  const char *end = close_of(obj);
  const char *lat = strstr(obj, "\"latency\":");
  const char *flat = lat && lat < end ? lat : end; /* the counters come first */

  c->submitted = field(obj, flat, "submitted");
  c->completed = field(obj, flat, "completed");
  c->errors = field(obj, flat, "errors");
  c->timeouts = field(obj, flat, "timeouts");
  c->requeues = field(obj, flat, "requeues");
  c->tag_waits = field(obj, flat, "tag_waits");
  c->bytes_read = field(obj, flat, "bytes_read");
  c->bytes_written = field(obj, flat, "bytes_written");
  parse_latency(obj, end, c->lat);
  return end;
}

int stats_json_parse(const char *text, struct stats_counts *total, struct stats_counts *q,
                     int max) {
  const char *t = strstr(text, "\"total\":{");
  const char *p = strstr(text, "\"queues\":[");
  const char *qend;
  int nq = 0;

  if (t == NULL || p == NULL)
    return -1;
  parse_object(t + strlen("\"total\":"), total);
  p += strlen("\"queues\":");
  qend = close_of(p);
  for (p = strchr(p, '{'); p && p < qend && nq < max; p = strchr(p + 1, '{'))
    p = parse_object(p, &q[nq++]);
  return nq;
}
