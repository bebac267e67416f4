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
  o->submitted = LOAD(s->submitted);
  o->completed = LOAD(s->completed);
  o->errors = LOAD(s->errors);
  o->timeouts = LOAD(s->timeouts);
  o->requeues = LOAD(s->requeues);
  o->tag_waits = LOAD(s->tag_waits);
  o->inflight = LOAD(s->inflight);
  o->inflight_hwm = LOAD(s->inflight_hwm);
  o->bytes_read = LOAD(s->bytes_read);
  o->bytes_written = LOAD(s->bytes_written);
  for (unsigned i = 0; i < RNULL_LAT_BUCKETS; i++)
    o->lat[i] = LOAD(s->lat[i]);
}

void rnull_disk_stats(struct rnull_disk *d, struct rnull_stats *o) {
  memset(o, 0, sizeof *o);
  for (unsigned q = 0; d->state == RNULL_DISK_ADDED && q < d->nr_hctx; q++) {
    struct rnull_stats s;
    rnull_hctx_stats(&d->hctxs[q], &s);
    o->submitted += s.submitted;
    o->completed += s.completed;
    o->errors += s.errors;
    o->timeouts += s.timeouts;
    o->requeues += s.requeues;
    o->tag_waits += s.tag_waits;
    o->inflight += s.inflight;
    o->inflight_hwm += s.inflight_hwm; /* sum of per-queue marks: an upper bound */
    o->bytes_read += s.bytes_read;
    o->bytes_written += s.bytes_written;
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
  fprintf(out,
          "%-6s %12" PRIu64 " %12" PRIu64 " %8" PRIu64 " %8" PRIu64 " %8" PRIu64 " %9" PRIu64
          " %6" PRIu64 " %14" PRIu64 " %14" PRIu64 " %10" PRIu64 " %10" PRIu64 "\n",
          label, s->submitted, s->completed, s->errors, s->timeouts, s->requeues, s->tag_waits,
          s->inflight_hwm, s->bytes_read, s->bytes_written, rnull_stats_percentile(s, 50),
          rnull_stats_percentile(s, 99));
}

void rnull_stats_print(struct rnull_disk *d, FILE *out) {
  fprintf(out, "rnull %s statistics (%u hw queues):\n", d->cfg.name, d->nr_hctx);
  fprintf(out, "%-6s %12s %12s %8s %8s %8s %9s %6s %14s %14s %10s %10s\n", "queue", "submitted",
          "completed", "errors", "timeouts", "requeues", "tag_waits", "hwm", "bytes_read",
          "bytes_written", "p50_ns", "p99_ns");
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
  fprintf(out,
          "{\"submitted\":%" PRIu64 ",\"completed\":%" PRIu64 ",\"errors\":%" PRIu64
          ",\"timeouts\":%" PRIu64 ",\"requeues\":%" PRIu64 ",\"tag_waits\":%" PRIu64
          ",\"inflight\":%" PRIu64 ",\"inflight_hwm\":%" PRIu64 ",\"bytes_read\":%" PRIu64
          ",\"bytes_written\":%" PRIu64 ",\"latency_ns_log2\":[",
          s->submitted, s->completed, s->errors, s->timeouts, s->requeues, s->tag_waits,
          s->inflight, s->inflight_hwm, s->bytes_read, s->bytes_written);
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
