/* Statistics: counted under the hctx lock, read with relaxed atomics while
 * serving, printed as a table or JSON. */
#include <inttypes.h>
#include <string.h>

#include "mq.h"

#define LOAD(x) atomic_load_explicit(&(x), memory_order_relaxed)
#define ADD(x, n) atomic_fetch_add_explicit(&(x), (n), memory_order_relaxed)

static unsigned lat_bucket(uint64_t ns) {
  unsigned b = ns ? 63u - (unsigned)__builtin_clzll(ns) : 0;
  return b < RNULL_LAT_BUCKETS ? b : RNULL_LAT_BUCKETS - 1;
}

void rnull_stats_account_end(struct rnull_hctx *h, const struct rnull_rq *rq, int status,
                             uint64_t now) {
  struct rnull_stats_live *s = &h->stats;
  ADD(s->completed, 1);
  if (status)
    ADD(s->errors, 1);
  else if (rq->io.op == RNULL_OP_READ)
    ADD(s->bytes_read, rq->io.len);
  else if (rq->io.op == RNULL_OP_WRITE)
    ADD(s->bytes_written, rq->io.len);
  ADD(s->lat[lat_bucket(now > rq->start_ns ? now - rq->start_ns : 0)], 1);
}

void rnull_hctx_stats(struct rnull_hctx *h, struct rnull_stats *o) {
  struct rnull_stats_live *s = &h->stats;
#define LOAD_ONE(name, col, width) o->name = LOAD(s->name);
  RNULL_STATS_COUNTERS(LOAD_ONE)
#undef LOAD_ONE
  for (unsigned i = 0; i < RNULL_LAT_BUCKETS; i++)
    o->lat[i] = LOAD(s->lat[i]);
}

void rnull_disk_stats(struct rnull_disk *d, struct rnull_stats *o) {
  memset(o, 0, sizeof *o);
  for (unsigned q = 0; d->state == RNULL_DISK_ADDED && q < d->nr_hctx; q++) {
    struct rnull_stats s;
    rnull_hctx_stats(&d->hctxs[q], &s);
#define SUM_ONE(name, col, width) o->name += s.name;
    RNULL_STATS_COUNTERS(SUM_ONE)
#undef SUM_ONE
    for (unsigned i = 0; i < RNULL_LAT_BUCKETS; i++)
      o->lat[i] += s.lat[i];
  }
}

uint64_t rnull_stats_percentile(const struct rnull_stats *s, double pct) {
  uint64_t total = 0, seen = 0;
  for (unsigned i = 0; i < RNULL_LAT_BUCKETS; i++)
    total += s->lat[i];
  if (!total)
    return 0;
  uint64_t want = (uint64_t)((double)total * pct / 100.0 + 0.5);
  if (want == 0)
    want = 1;
  for (unsigned i = 0; i < RNULL_LAT_BUCKETS; i++) {
    seen += s->lat[i];
    if (seen >= want)
      return i >= 63 ? UINT64_MAX : (2ull << i) - 1;
  }
  return UINT64_MAX;
}

static void print_row(FILE *out, const char *label, const struct rnull_stats *s) {
  fprintf(out, "%-6s", label);
#define CELL(name, col, width)                                                                     \
  if (col)                                                                                         \
    fprintf(out, " %*" PRIu64, width, s->name);
  RNULL_STATS_COUNTERS(CELL)
#undef CELL
  fprintf(out, " %10" PRIu64 " %10" PRIu64 "\n", rnull_stats_percentile(s, 50),
          rnull_stats_percentile(s, 99));
}

void rnull_stats_print(struct rnull_disk *d, FILE *out) {
  fprintf(out, "rnull %s statistics (%u hw queues):\n", d->cfg.name, d->nr_hctx);
  fprintf(out, "%-6s", "queue");
#define HEADING(name, col, width)                                                                  \
  if (col)                                                                                         \
    fprintf(out, " %*s", width, col ? col : "");
  RNULL_STATS_COUNTERS(HEADING)
#undef HEADING
  fprintf(out, " %10s %10s\n", "p50_ns", "p99_ns");
  struct rnull_stats s;
  for (unsigned q = 0; d->state == RNULL_DISK_ADDED && q < d->nr_hctx; q++) {
    char label[16];
    snprintf(label, sizeof label, "%u", q);
    rnull_hctx_stats(&d->hctxs[q], &s);
    print_row(out, label, &s);
  }
  rnull_disk_stats(d, &s);
  print_row(out, "total", &s);
  fflush(out);
}

static void json_obj(FILE *out, const struct rnull_stats *s) {
  const char *sep = "{";
#define JSON_ONE(name, col, width)                                                                 \
  fprintf(out, "%s\"" #name "\":%" PRIu64, sep, s->name);                                          \
  sep = ",";
  RNULL_STATS_COUNTERS(JSON_ONE)
#undef JSON_ONE
  fprintf(out, ",\"latency_ns_log2\":[");
  for (unsigned i = 0; i < RNULL_LAT_BUCKETS; i++)
    fprintf(out, "%s%" PRIu64, i ? "," : "", s->lat[i]);
  fprintf(out, "]}");
}

void rnull_stats_json(struct rnull_disk *d, FILE *out) {
  /* the name is at most 31 bytes of the user's: escape what JSON needs */
  fputs("{\"disk\":\"", out);
  for (const char *p = d->cfg.name; *p; p++) {
    if (*p == '"' || *p == '\\')
      fputc('\\', out);
    if ((unsigned char)*p < 0x20)
      fprintf(out, "\\u%04x", *p);
    else
      fputc(*p, out);
  }
  fputs("\",\"queues\":[", out);
  struct rnull_stats s;
  for (unsigned q = 0; d->state == RNULL_DISK_ADDED && q < d->nr_hctx; q++) {
    rnull_hctx_stats(&d->hctxs[q], &s);
    if (q)
      fputc(',', out);
    json_obj(out, &s);
  }
  fputs("],\"total\":", out);
  rnull_disk_stats(d, &s);
  json_obj(out, &s);
  fputs("}\n", out);
}
