/* Latency distributions, their draws and the channels of a device. */
#include "latency.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- the generator ---- */

static uint64_t splitmix64(uint64_t *x) {
  uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

void null_rng_seed(struct null_rng *r, uint64_t seed) {
  for (unsigned i = 0; i < 4; i++)
    r->s[i] = splitmix64(&seed);
}

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

uint64_t null_rng_next(struct null_rng *r) {
  uint64_t *s = r->s, out = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
  s[2] ^= s[0];
  s[3] ^= s[1];
  s[1] ^= s[2];
  s[0] ^= s[3];
  s[2] ^= t;
  s[3] = rotl(s[3], 45);
  return out;
}

double null_rng_unit(struct null_rng *r) {
  /* 53 random bits, shifted half a step off 0: in (0, 1) */
  return ((double)(null_rng_next(r) >> 11) + 0.5) * 0x1.0p-53;
}

/* A standard normal draw (Box-Muller, one of the pair). */
static double std_normal(struct null_rng *r) {
  double u1 = null_rng_unit(r), u2 = null_rng_unit(r);
  return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

/* ---- distributions ---- */

#define Z99 2.3263478740408408 /* the standard normal's 99th percentile */

int null_dist_init(struct null_dist *d, const struct rnull_latency_attr *a, char *err,
                   size_t errlen) {
  memset(d, 0, sizeof *d);
  d->kind = a->kind;
  d->p1 = (double)a->a;
  d->p2 = (double)a->b;
  switch (a->kind) {
  case RNULL_DIST_LOGNORMAL: /* fitted: median e^mu = P50, e^(mu + z99 sigma) = P99 */
    d->p1 = log((double)a->a);
    d->p2 = (log((double)a->b) - d->p1) / Z99;
    break;
  case RNULL_DIST_PARETO:
    d->p2 = a->alpha;
    break;
  case RNULL_DIST_HIST:
    return rnull_latency_hist_load(a->file, &d->values, &d->cum, &d->n, err, errlen);
  default:
    break;
  }
  return 0;
}

void null_dist_destroy(struct null_dist *d) {
  free(d->values);
  free(d->cum);
  d->values = NULL;
  d->cum = NULL;
}

/* hist: the first entry whose cumulative weight reaches u * total. */
static double hist_draw(const struct null_dist *d, struct null_rng *r) {
  double want = null_rng_unit(r) * d->cum[d->n - 1];
  size_t lo = 0, hi = d->n - 1;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (d->cum[mid] < want)
      lo = mid + 1;
    else
      hi = mid;
  }
  return (double)d->values[lo];
}

/* normal truncated at 0: draws below 0 are drawn again (a few tries, then 0) */
static double normal_draw(const struct null_dist *d, struct null_rng *r) {
  for (unsigned i = 0; i < 64; i++) {
    double x = d->p1 + d->p2 * std_normal(r);
    if (x >= 0)
      return x;
  }
  return 0;
}

static double draw(const struct null_dist *d, struct null_rng *r) {
  switch (d->kind) {
  case RNULL_DIST_NONE:
    return 0;
  case RNULL_DIST_FIXED:
    return d->p1;
  case RNULL_DIST_UNIFORM:
    return d->p1 + (d->p2 - d->p1) * null_rng_unit(r);
  case RNULL_DIST_NORMAL:
    return normal_draw(d, r);
  case RNULL_DIST_EXP:
    return -d->p1 * log(null_rng_unit(r));
  case RNULL_DIST_LOGNORMAL:
    return exp(d->p1 + d->p2 * std_normal(r));
  case RNULL_DIST_PARETO:
    return d->p1 / pow(null_rng_unit(r), 1.0 / d->p2);
  case RNULL_DIST_HIST:
    return hist_draw(d, r);
  }
  return 0;
}

uint64_t null_dist_draw(const struct null_dist *d, struct null_rng *r) {
  double x = draw(d, r);
  if (!(x >= 0)) /* NaN too */
    return 0;
  return x >= (double)RNULL_LATENCY_MAX_NS ? RNULL_LATENCY_MAX_NS : (uint64_t)(x + 0.5);
}

/* ---- channels ---- */

static void heap_sift_down(uint64_t *h, unsigned n, unsigned i) {
  for (;;) {
    unsigned l = 2 * i + 1, m = i;
    if (l < n && h[l] < h[m])
      m = l;
    if (l + 1 < n && h[l + 1] < h[m])
      m = l + 1;
    if (m == i)
      return;
    uint64_t t = h[i];
    h[i] = h[m];
    h[m] = t;
    i = m;
  }
}

uint64_t null_channels_serve(struct null_channels *c, uint64_t arrival, uint64_t service) {
  pthread_mutex_lock(&c->lock);
  uint64_t start = c->free_at[0] > arrival ? c->free_at[0] : arrival;
  uint64_t done = start + service;
  c->free_at[0] = done; /* the root frees first: it is this request's now */
  heap_sift_down(c->free_at, c->n, 0);
  pthread_mutex_unlock(&c->lock);
  return done;
}

/* ---- snapshots ---- */

/* The key of each operation, `latency` where it has none of its own. */
static const struct rnull_latency_attr *op_attr(const struct rnull_null_params *cfg,
                                                enum rnull_op op) {
  const struct rnull_latency_attr *own = NULL;
  switch (op) {
  case RNULL_OP_READ:
    own = &cfg->read_latency;
    break;
  case RNULL_OP_WRITE:
    own = &cfg->write_latency;
    break;
  case RNULL_OP_FLUSH:
    own = &cfg->flush_latency;
    break;
  case RNULL_OP_DISCARD:
    own = &cfg->trim_latency;
    break;
  case RNULL_OP_WRITE_ZEROES:
    own = &cfg->zero_latency;
    break;
  default: /* cache: the general key only */
    break;
  }
  return own && own->kind != RNULL_DIST_NONE ? own : &cfg->latency;
}

static bool latency_configured(const struct rnull_null_params *cfg) {
  if (cfg->latency_per_kib || cfg->channels)
    return true;
  for (unsigned op = 0; op < RNULL_OP_MAX; op++)
    if (op_attr(cfg, (enum rnull_op)op)->kind != RNULL_DIST_NONE)
      return true;
  return false;
}

struct null_latency *null_latency_create(const struct rnull_null_params *cfg, int *r, char *err,
                                         size_t errlen) {
  *r = 0;
  if (!latency_configured(cfg))
    return NULL;
  struct null_latency *l = calloc(1, sizeof *l);
  if (l && cfg->channels)
    l->channels.free_at = calloc(cfg->channels, sizeof *l->channels.free_at);
  if (!l || (cfg->channels && !l->channels.free_at)) {
    free(l);
    snprintf(err, errlen, "latency: out of memory");
    *r = -ENOMEM;
    return NULL;
  }
  pthread_mutex_init(&l->channels.lock, NULL);
  l->channels.n = (unsigned)cfg->channels;
  l->per_kib = cfg->latency_per_kib;
  /* an irqmode=timer disk with channels: completion_nsec is its fixed service time */
  struct rnull_latency_attr timer = {.kind = RNULL_DIST_FIXED, .a = cfg->completion_nsec};
  for (unsigned op = 0; op < RNULL_OP_MAX; op++) {
    const struct rnull_latency_attr *a = op_attr(cfg, (enum rnull_op)op);
    if (cfg->irqmode == RNULL_IRQ_TIMER)
      a = &timer;
    if ((*r = null_dist_init(&l->op[op], a, err, errlen)) < 0) {
      null_latency_free(l);
      return NULL;
    }
  }
  return l;
}

void null_latency_free(struct null_latency *l) {
  if (!l)
    return;
  for (unsigned op = 0; op < RNULL_OP_MAX; op++)
    null_dist_destroy(&l->op[op]);
  pthread_mutex_destroy(&l->channels.lock);
  free(l->channels.free_at);
  free(l);
}

uint64_t null_latency_service(const struct null_latency *l, struct null_rng *r,
                              const struct rnull_io *io) {
  uint64_t ns = null_dist_draw(&l->op[io->op < RNULL_OP_MAX ? io->op : RNULL_OP_CACHE], r);
  if (l->per_kib && (io->op == RNULL_OP_READ || io->op == RNULL_OP_WRITE))
    ns += io->len / 1024 * l->per_kib + io->len % 1024 * l->per_kib / 1024; /* no overflow */
  return ns;
}

uint64_t null_latency_complete_time(struct null_latency *l, uint64_t arrival, uint64_t service) {
  if (!l->channels.n)
    return arrival + service;
  return null_channels_serve(&l->channels, arrival, service);
}
