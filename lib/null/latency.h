/* Realistic devices (the latency keys): per-operation service-time
 * distributions, a size-proportional transfer time, and channels, the
 * number of requests the device serves at once. The null driver asks, per
 * request, when it completes; the core completes it then, so requests
 * complete out of order whenever the draws say so.
 *
 * Settings are one immutable snapshot (struct null_latency): a request reads
 * the disk's current snapshot once, so a live change (replacing the
 * snapshot) never mixes old and new values within one request; the channels'
 * state belongs to the snapshot, so a new one starts with every channel free
 * (the old snapshot must live on until the requests that hold it are done:
 * the driver keeps it until free_disk). Random draws
 * come from a generator per hw queue, seeded from `seed`: a run on a
 * virtual clock repeats exactly. */
#ifndef RNULL_NULL_LATENCY_H
#define RNULL_NULL_LATENCY_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "rnull/io.h"
#include "rnull/null.h"

/* xoshiro256**: fast, 2^256 period, seeded by splitmix64. */
struct null_rng {
  uint64_t s[4];
};

void null_rng_seed(struct null_rng *r, uint64_t seed);
uint64_t null_rng_next(struct null_rng *r);
/* Uniform in (0, 1): never 0, never 1. */
double null_rng_unit(struct null_rng *r);

/* One distribution, ready to draw from (parameters precomputed). */
struct null_dist {
  enum rnull_dist_kind kind;
  double p1, p2;    /* kind's parameters in ns (lognormal: mu, sigma) */
  size_t n;         /* hist: entries */
  uint64_t *values; /* hist: latencies */
  double *cum;      /* hist: cumulative weights */
};

int null_dist_init(struct null_dist *d, const struct rnull_latency_attr *a, char *err,
                   size_t errlen);
void null_dist_destroy(struct null_dist *d);
/* One draw in ns, clamped to [0, RNULL_LATENCY_MAX_NS]. */
uint64_t null_dist_draw(const struct null_dist *d, struct null_rng *r);

/* Channels: when each of N channels frees, as a min-heap. */
struct null_channels {
  pthread_mutex_t lock;
  unsigned n;
  uint64_t *free_at;
};

/* A request arriving at `arrival` needing `service` ns: it takes the
 * channel that frees first (in arrival order, FIFO), starts when that
 * channel frees (or at arrival), and holds it until it completes.
 * Returns its completion time. */
uint64_t null_channels_serve(struct null_channels *c, uint64_t arrival, uint64_t service);

/* One snapshot of the latency settings of a disk. */
struct null_latency {
  struct null_dist op[RNULL_OP_MAX];
  uint64_t per_kib;              /* ns per KiB of reads and writes */
  struct null_channels channels; /* n = 0: unlimited */
};

/* Build the snapshot of cfg; NULL with *r = 0 when no latency key, channels
 * or latency_per_kib is set (the model is off); NULL with *r < 0 and err on
 * error (a hist file unreadable since the key was parsed, no memory). */
struct null_latency *null_latency_create(const struct rnull_null_params *cfg, int *r, char *err,
                                         size_t errlen);
void null_latency_free(struct null_latency *l);

/* The service time of io: its operation's draw plus its transfer time. */
uint64_t null_latency_service(const struct null_latency *l, struct null_rng *r,
                              const struct rnull_io *io);
/* When a request arriving at `arrival` completes (channels applied). */
uint64_t null_latency_complete_time(struct null_latency *l, uint64_t arrival, uint64_t service);

#endif
