/* The null driver's live settings as one immutable snapshot (struct
 * null_live): what a request reads, made anew by every live change. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "null_dev.h"

/* seed covers every draw; fault_seed, when set, still decides the faults'. */
uint64_t null_fault_seed(const struct null_dev *nd, uint64_t cfg_fault_seed) {
  if (cfg_fault_seed)
    return cfg_fault_seed;
  if (nd->params.seed)
    return nd->params.seed;
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 20) ^ (uint64_t)(uintptr_t)nd;
}

/* A fault carried over to a new snapshot keeps its progress (times left,
 * space, interval count, random sequence); a changed one starts afresh. */
static void fault_carry(struct rnull_fault *to, const struct rnull_fault *from) {
  atomic_init(&to->times, atomic_load(&from->times));
  atomic_init(&to->space, atomic_load(&from->space));
  atomic_init(&to->count, atomic_load(&from->count));
  atomic_init(&to->rng, atomic_load(&from->rng));
}

/* A snapshot of nd->live_params. changed: the key just set (NULL: all
 * fresh); old: the snapshot it replaces, whose unchanged faults carry over
 * and whose latency model is kept unless a change staged a new one. */
struct null_live *null_live_new(struct null_dev *nd, const struct null_live *old,
                                const char *changed) {
  struct null_live *lv = calloc(1, sizeof *lv);
  if (!lv)
    return NULL;
  const struct rnull_null_params *c = &nd->live_params;
  if (!old || nd->latency_staged) {
    lv->latency = nd->staged_latency;
    lv->owns_latency = true;
    nd->staged_latency = NULL;
    nd->latency_staged = false;
  } else {
    lv->latency = old->latency;
  }
  lv->mbps = c->mbps;
  lv->iops = c->iops;
  lv->completion_nsec = c->completion_nsec;
  uint64_t seed = null_fault_seed(nd, c->fault_seed);
  rnull_fault_init(&lv->timeout_fault, &c->timeout_inject, seed);
  rnull_fault_init(&lv->requeue_fault, &c->requeue_inject, seed + 1);
  rnull_fault_init(&lv->error_fault, &c->error_inject, seed + 2);
  if (old && changed && strcmp(changed, "fault_seed") != 0) {
    if (strcmp(changed, "timeout") != 0)
      fault_carry(&lv->timeout_fault, &old->timeout_fault);
    if (strcmp(changed, "requeue") != 0)
      fault_carry(&lv->requeue_fault, &old->requeue_fault);
    if (strcmp(changed, "error") != 0)
      fault_carry(&lv->error_fault, &old->error_fault);
  }
  return lv;
}
