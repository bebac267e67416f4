/* Statistics: counted under the hctx lock, read with relaxed atomics while
 * serving, printed as a table or JSON. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "mq.h"

#define LOAD(x) atomic_load_explicit(&(x), memory_order_relaxed)
#define ADD(x, n) atomic_fetch_add_explicit(&(x), (n), memory_order_relaxed)

/* ---- the log-linear histogram ---- */

#define SUB (1u << RNULL_HIST_SUB_BITS)

unsigned rnull_hist_index(uint64_t ns) {
  if (ns < SUB)
    return (unsigned)ns;
  unsigned e = 63u - (unsigned)__builtin_clzll(ns); /* ns in [2^e, 2^(e+1)) */
  if (e >= RNULL_HIST_MAX_EXP)
    return RNULL_HIST_BUCKETS - 1;
  unsigned shift = e - RNULL_HIST_SUB_BITS;
  return (shift << RNULL_HIST_SUB_BITS) + (unsigned)(ns >> shift); /* ns >> shift in [SUB, 2 SUB) */
}

uint64_t rnull_hist_low(unsigned idx) {
  if (idx < 2 * SUB)
    return idx;
  unsigned shift = idx / SUB - 1;
  return (uint64_t)(idx - shift * SUB) << shift;
}

uint64_t rnull_hist_high(unsigned idx) {
  if (idx < 2 * SUB)
    return idx;
  return rnull_hist_low(idx) + (1ull << (idx / SUB - 1)) - 1;
}

uint64_t rnull_hist_percentile(const struct rnull_hist *h, double pct) {
  if (!h->count)
    return 0;
  double w = (double)h->count * pct / 100.0;
  uint64_t want = (uint64_t)w, seen = 0;
  if ((double)want < w || want == 0)
    want++; /* the rank: ceil, at least 1 */
  for (unsigned i = 0; i < RNULL_HIST_BUCKETS; i++) {
    seen += h->bucket[i];
    if (seen >= want) {
      uint64_t v = rnull_hist_high(i);
      return v > h->max ? h->max : v < h->min ? h->min : v;
    }
  }
  return h->max;
}

static void hist_record(struct rnull_hist_live *l, uint64_t ns) {
  /* under the hctx lock: one writer, readers use relaxed loads */
  uint64_t n = LOAD(l->count);
  if (n == 0 || ns < LOAD(l->min))
    atomic_store_explicit(&l->min, ns, memory_order_relaxed);
  if (ns > LOAD(l->max))
    atomic_store_explicit(&l->max, ns, memory_order_relaxed);
  ADD(l->bucket[rnull_hist_index(ns)], 1);
  ADD(l->count, 1);
}

/* Add a live histogram into out (min, max merged). */
static void hist_add(struct rnull_hist *out, const struct rnull_hist_live *l) {
  uint64_t n = LOAD(l->count);
  if (!n)
    return;
  uint64_t mn = LOAD(l->min), mx = LOAD(l->max);
  if (!out->count || mn < out->min)
    out->min = mn;
  if (mx > out->max)
    out->max = mx;
  out->count += n;
  for (unsigned i = 0; i < RNULL_HIST_BUCKETS; i++)
    out->bucket[i] += LOAD(l->bucket[i]);
}

static void hctx_latency_add(struct rnull_hctx *h, enum rnull_op op, struct rnull_hist *out) {
  for (unsigned o = 0; o < RNULL_OP_MAX; o++)
    if (op == RNULL_OP_MAX || o == (unsigned)op)
      hist_add(out, &h->stats.lat[o]);
}

void rnull_hctx_latency(struct rnull_hctx *h, enum rnull_op op, struct rnull_hist *out) {
  memset(out, 0, sizeof *out);
  hctx_latency_add(h, op, out);
}

void rnull_disk_latency(struct rnull_disk *d, enum rnull_op op, struct rnull_hist *out) {
  memset(out, 0, sizeof *out);
  for (unsigned q = 0; d->state == RNULL_DISK_ADDED && q < d->nr_hctx; q++)
    hctx_latency_add(&d->hctxs[q], op, out);
}

const char *rnull_op_name(enum rnull_op op) {
  static const char *const names[] = {"read", "write", "flush", "trim", "zero", "cache", "all"};
  return (unsigned)op <= RNULL_OP_MAX ? names[op] : "?";
}

/* ---- counting ---- */

/* The kernel's diskstats groups (zeroes are writes there; cache is none). */
static void account_op(struct rnull_stats_live *s, enum rnull_op op, int status, uint64_t len,
                       uint64_t ns) {
  switch (op) {
  case RNULL_OP_READ:
    ADD(s->reads, 1);
    ADD(s->read_ns, ns);
    ADD(s->bytes_read, status ? 0 : len);
    break;
  case RNULL_OP_WRITE:
    ADD(s->writes, 1);
    ADD(s->write_ns, ns);
    ADD(s->bytes_written, status ? 0 : len);
    break;
  case RNULL_OP_FLUSH:
    ADD(s->flushes, 1);
    ADD(s->flush_ns, ns);
    break;
  case RNULL_OP_DISCARD:
    ADD(s->trims, 1);
    ADD(s->trim_ns, ns);
    ADD(s->bytes_trimmed, status ? 0 : len);
    break;
  case RNULL_OP_WRITE_ZEROES:
    ADD(s->zeroes, 1);
    ADD(s->zero_ns, ns);
    ADD(s->bytes_zeroed, status ? 0 : len);
    break;
  default:
    break;
  }
}

void rnull_stats_account_end(struct rnull_hctx *h, const struct rnull_rq *rq, int status,
                             uint64_t now) {
  struct rnull_stats_live *s = &h->stats;
  uint64_t ns = now > rq->start_ns ? now - rq->start_ns : 0;
  ADD(s->completed, 1);
  if (status)
    ADD(s->errors, 1);
  account_op(s, rq->io.op, status, rq->io.len, ns);
  if ((unsigned)rq->io.op < RNULL_OP_MAX)
    hist_record(&s->lat[rq->io.op], ns);
}

/* The kernel's io_ticks (part_stat's update_io_ticks), lock held, at each
 * change of the in-flight count: the time since the last change counts as
 * busy if a request was in flight through it. */
void rnull_stats_account_busy(struct rnull_hctx *h, uint64_t now, bool was_busy) {
  struct rnull_stats_live *s = &h->stats;
  uint64_t stamp = LOAD(s->busy_stamp);
  if (was_busy && now > stamp)
    ADD(s->busy_ns, now - stamp);
  atomic_store_explicit(&s->busy_stamp, now, memory_order_relaxed);
}

void rnull_hctx_stats(struct rnull_hctx *h, struct rnull_stats *o) {
  struct rnull_stats_live *s = &h->stats;
#define LOAD_ONE(name, col, width) o->name = LOAD(s->name);
  RNULL_STATS_COUNTERS(LOAD_ONE)
#undef LOAD_ONE
  /* the busy period in progress, as diskstats_show does: busy_ns was read
   * before the stamp, so a change in between only undercounts, briefly */
  uint64_t stamp = LOAD(s->busy_stamp), now = disk_now(h->disk);
  if (o->inflight && now > stamp)
    o->busy_ns += now - stamp;
}

void rnull_disk_stats(struct rnull_disk *d, struct rnull_stats *o) {
  memset(o, 0, sizeof *o);
  for (unsigned q = 0; d->state == RNULL_DISK_ADDED && q < d->nr_hctx; q++) {
    struct rnull_stats s;
    rnull_hctx_stats(&d->hctxs[q], &s);
    uint64_t busy = o->busy_ns > s.busy_ns ? o->busy_ns : s.busy_ns;
#define SUM_ONE(name, col, width) o->name += s.name;
    RNULL_STATS_COUNTERS(SUM_ONE)
#undef SUM_ONE
    o->busy_ns = busy; /* the busiest queue: never more than the time elapsed */
  }
}

/* ---- the table ---- */

static void print_row(FILE *out, const char *label, const struct rnull_stats *s,
                      const struct rnull_hist *lat) {
  fprintf(out, "%-6s", label);
#define CELL(name, col, width)                                                                     \
  if (col)                                                                                         \
    fprintf(out, " %*" PRIu64, width, s->name);
  RNULL_STATS_COUNTERS(CELL)
#undef CELL
  fprintf(out, " %10" PRIu64 " %10" PRIu64 "\n", rnull_hist_percentile(lat, 50),
          rnull_hist_percentile(lat, 99));
}

/* Per operation, over all queues: count and the percentiles, in ns. */
static void print_latency(struct rnull_disk *d, FILE *out, struct rnull_hist *lat) {
  fprintf(out, "%-6s %12s %12s %12s %12s %12s %12s\n", "op", "count", "p50_ns", "p90_ns", "p99_ns",
          "p99.9_ns", "max_ns");
  for (unsigned op = 0; op <= RNULL_OP_MAX; op++) {
    rnull_disk_latency(d, (enum rnull_op)op, lat);
    if (!lat->count && op != RNULL_OP_MAX)
      continue;
    fprintf(out,
            "%-6s %12" PRIu64 " %12" PRIu64 " %12" PRIu64 " %12" PRIu64 " %12" PRIu64 " %12" PRIu64
            "\n",
            rnull_op_name((enum rnull_op)op), lat->count, rnull_hist_percentile(lat, 50),
            rnull_hist_percentile(lat, 90), rnull_hist_percentile(lat, 99),
            rnull_hist_percentile(lat, 99.9), lat->max);
  }
}

void rnull_stats_print(struct rnull_disk *d, FILE *out) {
  struct rnull_hist *lat = malloc(sizeof *lat); /* 35 KiB: not on a thread's stack */
  if (!lat)
    return;
  fprintf(out, "rnull %s statistics (%u hw queues):\n", d->params.name, d->nr_hctx);
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
    rnull_hctx_latency(&d->hctxs[q], RNULL_OP_MAX, lat);
    print_row(out, label, &s, lat);
  }
  rnull_disk_stats(d, &s);
  rnull_disk_latency(d, RNULL_OP_MAX, lat);
  print_row(out, "total", &s, lat);
  print_latency(d, out, lat);
  fflush(out);
  free(lat);
}

/* ---- biolatency's histogram ---- */

#define HIST_SLOTS 64
#define HIST_STARS 40

/* biolatency's slot of a value in us: 0 for 0..1, else floor(log2). */
static unsigned us_slot(uint64_t us) { return us < 2 ? 0 : 63u - (unsigned)__builtin_clzll(us); }

/* One operation's distribution in power-of-two us slots, as bcc's
 * biolatency prints it: each log-linear bucket goes to its low end's slot
 * (a bucket is 1/128 of its value wide, so a count lands at most one
 * bucket off a slot's edge). */
static void print_slots(FILE *out, const struct rnull_hist *h) {
  uint64_t slot[HIST_SLOTS] = {0}, top = 0;
  unsigned last = 0;
  for (unsigned i = 0; i < RNULL_HIST_BUCKETS; i++)
    if (h->bucket[i]) {
      unsigned k = us_slot(rnull_hist_low(i) / 1000);
      slot[k] += h->bucket[i];
      last = k > last ? k : last;
    }
  for (unsigned k = 0; k <= last; k++)
    top = slot[k] > top ? slot[k] : top;
  fprintf(out, "%10s%14s: %-8s %s\n", "usecs", "", "count", "distribution");
  for (unsigned k = 0; k <= last; k++) {
    uint64_t lo = k ? 1ull << k : 0, hi = (2ull << k) - 1;
    unsigned stars = top ? (unsigned)(slot[k] * HIST_STARS / top) : 0;
    char bar[HIST_STARS + 1];
    memset(bar, '*', stars);
    memset(bar + stars, ' ', HIST_STARS - stars);
    bar[HIST_STARS] = 0;
    fprintf(out, "%10" PRIu64 " -> %-10" PRIu64 ": %-8" PRIu64 " |%s|\n", lo, hi, slot[k], bar);
  }
}

void rnull_stats_hist_print(struct rnull_disk *d, FILE *out) {
  struct rnull_hist *lat = malloc(sizeof *lat); /* 35 KiB: not on a thread's stack */
  if (!lat)
    return;
  bool any = false;
  for (unsigned op = 0; op < RNULL_OP_MAX; op++) {
    rnull_disk_latency(d, (enum rnull_op)op, lat);
    if (!lat->count)
      continue;
    fprintf(out, "%sdisk = %s, operation = %s (%" PRIu64 " requests)\n", any ? "\n" : "",
            d->params.name, rnull_op_name((enum rnull_op)op), lat->count);
    print_slots(out, lat);
    any = true;
  }
  if (!any)
    fprintf(out, "disk = %s: no requests yet\n", d->params.name);
  free(lat);
}

/* ---- JSON ---- */

static void json_hist(FILE *out, const struct rnull_hist *h, bool buckets) {
  fprintf(out,
          "{\"count\":%" PRIu64 ",\"min\":%" PRIu64 ",\"p50\":%" PRIu64 ",\"p90\":%" PRIu64
          ",\"p99\":%" PRIu64 ",\"p99_9\":%" PRIu64 ",\"max\":%" PRIu64,
          h->count, h->min, rnull_hist_percentile(h, 50), rnull_hist_percentile(h, 90),
          rnull_hist_percentile(h, 99), rnull_hist_percentile(h, 99.9), h->max);
  if (buckets) {
    const char *sep = "";
    fputs(",\"buckets\":[", out);
    for (unsigned i = 0; i < RNULL_HIST_BUCKETS; i++)
      if (h->bucket[i]) {
        fprintf(out, "%s[%" PRIu64 ",%" PRIu64 ",%" PRIu64 "]", sep, rnull_hist_low(i),
                rnull_hist_high(i), h->bucket[i]);
        sep = ",";
      }
    fputc(']', out);
  }
  fputc('}', out);
}

/* The counters, then "latency" per operation: of one queue (hctx) or of
 * the disk (hctx NULL, with the buckets). */
static void json_obj(FILE *out, struct rnull_disk *d, struct rnull_hctx *hctx,
                     const struct rnull_stats *s, struct rnull_hist *lat) {
  const char *sep = "{";
#define JSON_ONE(name, col, width)                                                                 \
  fprintf(out, "%s\"" #name "\":%" PRIu64, sep, s->name);                                          \
  sep = ",";
  RNULL_STATS_COUNTERS(JSON_ONE)
#undef JSON_ONE
  fputs(",\"latency\":{", out);
  for (unsigned op = 0; op <= RNULL_OP_MAX; op++) {
    if (hctx)
      rnull_hctx_latency(hctx, (enum rnull_op)op, lat);
    else
      rnull_disk_latency(d, (enum rnull_op)op, lat);
    fprintf(out, "%s\"%s\":", op ? "," : "", rnull_op_name((enum rnull_op)op));
    json_hist(out, lat, !hctx);
  }
  fputs("}}", out);
}

void rnull_stats_json(struct rnull_disk *d, FILE *out) {
  struct rnull_hist *lat = malloc(sizeof *lat); /* 35 KiB: not on a thread's stack */
  /* the name is at most 31 bytes of the user's: escape what JSON needs */
  fputs("{\"disk\":\"", out);
  for (const char *p = d->params.name; *p; p++) {
    if (*p == '"' || *p == '\\')
      fputc('\\', out);
    if ((unsigned char)*p < 0x20)
      fprintf(out, "\\u%04x", *p);
    else
      fputc(*p, out);
  }
  fprintf(out, "\",\"latency_bucket_sub_bits\":%u,\"queues\":[", RNULL_HIST_SUB_BITS);
  struct rnull_stats s;
  for (unsigned q = 0; lat && d->state == RNULL_DISK_ADDED && q < d->nr_hctx; q++) {
    rnull_hctx_stats(&d->hctxs[q], &s);
    if (q)
      fputc(',', out);
    json_obj(out, d, &d->hctxs[q], &s, lat);
  }
  fputs("],\"total\":", out);
  rnull_disk_stats(d, &s);
  if (lat)
    json_obj(out, d, NULL, &s, lat);
  else
    fputs("{}", out);
  fputs("}\n", out);
  free(lat);
}
